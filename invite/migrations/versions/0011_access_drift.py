"""Access as code (issue 27): the plans /access made, kept until applied, and the drift check's latest report

Revision ID: 0011_access_drift
Revises: 0010_access_jobs

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_access_drift'
down_revision = '0010_access_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'access_plans',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_email', sa.String(length=320), nullable=False),
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.Column('file_text', sa.Text(), nullable=False),
        sa.Column('plan', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('job_id', sa.Integer(), nullable=True),
        sa.Column('applied_by', sa.String(length=320), nullable=True),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'access_drift_reports',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('source', sa.String(length=255), nullable=False),
        sa.Column('problem', sa.Text(), nullable=True),
        sa.Column('counts', sa.JSON(), nullable=True),
        sa.Column('plan', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('access_drift_reports')
    op.drop_table('access_plans')
