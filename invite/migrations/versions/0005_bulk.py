"""Bulk jobs and their rows; each send of a row is an action carrying its job id

Revision ID: 0005_bulk
Revises: 0004_channel

"""
from alembic import op
import sqlalchemy as sa

revision = '0005_bulk'
down_revision = '0004_channel'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'bulk_jobs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=320), nullable=False),
        sa.Column('created_by_role', sa.String(length=32), nullable=True),
        sa.Column('client_addr', sa.String(length=64), nullable=True),
        sa.Column('source', sa.String(length=255), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('runner', sa.String(length=200), nullable=True),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token'),
    )
    op.create_index('ix_bulk_jobs_created_at', 'bulk_jobs', ['created_at'])
    op.create_index('ix_bulk_jobs_state', 'bulk_jobs', ['state'])
    op.create_table(
        'bulk_rows',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('job_id', sa.Integer(), sa.ForeignKey('bulk_jobs.id'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=True),
        sa.Column('teams', sa.JSON(), nullable=False),
        sa.Column('verdict', sa.String(length=32), nullable=False),
        sa.Column('preview_message', sa.Text(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('confirmed_by', sa.String(length=320), nullable=True),
        sa.Column('confirmed_by_role', sa.String(length=32), nullable=True),
        sa.Column('action_id', sa.Integer(), nullable=True),
        sa.Column('outcome_kind', sa.String(length=32), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('field_errors', sa.JSON(), nullable=True),
        sa.Column('invite_id', sa.String(length=64), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_bulk_rows_job_id', 'bulk_rows', ['job_id'])
    op.create_index('ix_bulk_rows_outcome_kind', 'bulk_rows', ['outcome_kind'])
    op.create_index('ix_bulk_rows_job_state', 'bulk_rows', ['job_id', 'state', 'position'])
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bulk_job_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_actions_bulk_job_id', ['bulk_job_id'], unique=False)


def downgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_index('ix_actions_bulk_job_id')
        batch_op.drop_column('bulk_job_id')
    op.drop_table('bulk_rows')
    op.drop_table('bulk_jobs')
