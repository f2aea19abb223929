"""Bulk jobs: the channel a job was started from (web or cli), and for the command line the OS user and host

Revision ID: 0006_bulk_channel
Revises: 0005_bulk

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_bulk_channel'
down_revision = '0005_bulk'
branch_labels = None
depends_on = None


def upgrade():
    # Every job stored before this migration was started from the pages.
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=8), server_default='web', nullable=False))
        batch_op.add_column(sa.Column('os_user', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('host', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.drop_column('host')
        batch_op.drop_column('os_user')
        batch_op.drop_column('channel')
