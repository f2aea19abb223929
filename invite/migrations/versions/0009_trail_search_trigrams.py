"""Actions: trigram indexes for searching the trail by a part of an address (PostgreSQL only)

/activity's "who" and "target" filters match any part of an address (LIKE '%…%'), which a btree index cannot
serve: on a million rows each search read the whole table (issue 25). pg_trgm's GIN indexes can. pg_trgm is a
trusted extension since PostgreSQL 13, so the database's owner may create it. SQLite has no such index and
keeps scanning; a trail that size belongs on PostgreSQL.

Revision ID: 0009_trail_search_trigrams
Revises: 0008_reminder_switches

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_trail_search_trigrams'
down_revision = '0008_reminder_switches'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_actions_target_email_trgm ON actions USING gin (lower(target_email) gin_trgm_ops)")
    op.execute("CREATE INDEX ix_actions_actor_email_trgm ON actions USING gin (lower(actor_email) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_actions_actor_email_trgm")
    op.execute("DROP INDEX IF EXISTS ix_actions_target_email_trgm")
