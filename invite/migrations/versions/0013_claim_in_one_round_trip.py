"""Actions: a send's claim in one round trip on PostgreSQL (the earlier mailings of an address, read afresh)

A send's claim takes an advisory lock on its address, inserts the write-ahead row and reads the address's
earlier mailings, so that two channels sending at once cannot both slip under a send limit. As a transaction of
its own that was five round trips (BEGIN, the lock, the insert, the read, COMMIT); as one statement it is one
(issue 25: the invite path on PostgreSQL missed its CPU and latency targets). But one statement reads with one
snapshot, taken before it waited for the lock, and would miss the row of the claim it waited for. This function
is that read: a VOLATILE PL/pgSQL function's every query sees what was committed when it starts, so called after
the lock it sees every earlier holder's row. The kinds and actions that count as mailings are its arguments, so
they keep one source (invite/adapters/storage.py). SQLite has no such function and needs none: it has one writer
at a time.

Revision ID: 0013_claim_in_one_round_trip
Revises: 0011_access_drift

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013_claim_in_one_round_trip'
down_revision = '0011_access_drift'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
CREATE FUNCTION invite_earlier_mailings(address text, since timestamptz, before_id integer,
                                        mailing_actions text[], mailing_kinds text[]) RETURNS timestamptz[]
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN ARRAY(SELECT created_at FROM actions
                 WHERE lower(target_email) = address AND action = ANY(mailing_actions)
                   AND outcome_kind = ANY(mailing_kinds)
                   AND created_at >= since AND id < before_id
                 ORDER BY created_at);
END
$$
""")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS invite_earlier_mailings(text, timestamptz, integer, text[], text[])")
