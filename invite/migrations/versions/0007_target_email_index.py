"""Actions: an index on the lower-cased target address, for the per-address send limits

Revision ID: 0007_target_email_index
Revises: 0006_bulk_channel

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_target_email_index'
down_revision = '0006_bulk_channel'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_actions_target_email_lower', 'actions', [sa.text('lower(target_email)')])


def downgrade():
    op.drop_index('ix_actions_target_email_lower', table_name='actions')
