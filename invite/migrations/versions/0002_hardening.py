"""Hardening (#13): room for what Junction and the proxy send, and our own request id beside the proxy's

Revision ID: 0002_hardening
Revises: 0001_actions

Values are also cut to these lengths before they are written (storage._fitted), so a longer one is
shortened on purpose rather than refused by PostgreSQL, which left rows pending for ever.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_hardening'
down_revision = '0001_actions'
branch_labels = None
depends_on = None

WIDENED = [
    ('actor_role', 32, 64),
    ('role', 32, 64),
    ('junction_request_id', 128, 256),
    ('client_addr', 64, 128),
]


def upgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        for name, old, new in WIDENED:
            batch_op.alter_column(name, existing_type=sa.String(length=old), type_=sa.String(length=new),
                                  existing_nullable=True)
        batch_op.add_column(sa.Column('own_request_id', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_column('own_request_id')
        for name, old, new in WIDENED:
            # Cut first: PostgreSQL refuses to narrow a column holding longer values.
            batch_op.execute(sa.text(f"UPDATE actions SET {name} = substr({name}, 1, {old}) "
                                     f"WHERE length({name}) > {old}"))
            batch_op.alter_column(name, existing_type=sa.String(length=new), type_=sa.String(length=old),
                                  existing_nullable=True)
