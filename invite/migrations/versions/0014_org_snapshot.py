"""The org's people as the worker last copied them (issue 25), and which copy a bulk preview was checked against

`org_people` holds the members and pending invitations, keyed by address lower-cased; `org_snapshot` its one
row: when the copy was taken, and which worker holds the lease to take the next one. A bulk preview checked
against the copy keeps the copy's moment in `bulk_jobs.checked_as_of` (NULL: Junction itself was asked).

Revision ID: 0014_org_snapshot
Revises: 0013_claim_in_one_round_trip

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_org_snapshot'
down_revision = '0013_claim_in_one_round_trip'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'org_people',
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('junction_id', sa.String(length=64), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('address', sa.String(length=320), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=True),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('team_ids', sa.JSON(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('resent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('creator', sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint('kind', 'junction_id'),
    )
    op.create_index('ix_org_people_email', 'org_people', ['email'])
    snapshot = op.create_table(
        'org_snapshot',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('members', sa.Integer(), nullable=False),
        sa.Column('invites', sa.Integer(), nullable=False),
        sa.Column('refreshing_by', sa.String(length=200), nullable=True),
        sa.Column('refreshing_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(snapshot, [{'id': 1, 'taken_at': None, 'members': 0, 'invites': 0}])
    with op.batch_alter_table('bulk_jobs') as batch:
        batch.add_column(sa.Column('checked_as_of', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('bulk_jobs') as batch:
        batch.drop_column('checked_as_of')
    op.drop_table('org_snapshot')
    op.drop_index('ix_org_people_email', table_name='org_people')
    op.drop_table('org_people')
