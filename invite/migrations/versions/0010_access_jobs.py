"""Bulk jobs of kind "access": the plan a job applies (its id and the file's sha256), and per row the change

An `invite access apply` (issue 27) is a bulk job whose rows are a plan's changes. The job says its kind
("invite" for every job stored before this migration), the plan's id (unique: one plan is applied once) and
the sha256 of the file the plan was made from; each row says its operation (invite, update, reinvite, revoke,
remove) and keeps the change as the plan gave it (before, after, the member's or invitation's id).

Revision ID: 0010_access_jobs
Revises: 0009_trail_search_trigrams

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_access_jobs'
down_revision = '0009_trail_search_trigrams'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='invite', nullable=False))
        batch_op.add_column(sa.Column('plan_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('file_sha256', sa.String(length=64), nullable=True))
        # NULLs (every invite job) never clash, on SQLite and PostgreSQL alike.
        batch_op.create_index('ix_bulk_jobs_plan_id', ['plan_id'], unique=True)
    with op.batch_alter_table('bulk_rows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('operation', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('change', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('bulk_rows', schema=None) as batch_op:
        batch_op.drop_column('change')
        batch_op.drop_column('operation')
    with op.batch_alter_table('bulk_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_bulk_jobs_plan_id')
        batch_op.drop_column('file_sha256')
        batch_op.drop_column('plan_id')
        batch_op.drop_column('kind')
