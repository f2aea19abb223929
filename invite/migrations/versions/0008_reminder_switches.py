"""Reminders (issue 26): reminders switched off for one invitation, or paused for all, with who and when

Revision ID: 0008_reminder_switches
Revises: 0007_target_email_index

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_reminder_switches'
down_revision = '0007_target_email_index'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reminder_switches',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('scope', sa.String(length=64), nullable=False),
        sa.Column('off', sa.Boolean(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=True),
        sa.Column('actor_email', sa.String(length=320), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_reminder_switches_scope', 'reminder_switches', ['scope', 'id'])


def downgrade():
    op.drop_index('ix_reminder_switches_scope', table_name='reminder_switches')
    op.drop_table('reminder_switches')
