"""The audit trail's CSV written by PostgreSQL itself (COPY), cell for cell what export.csv_lines writes.

Kept apart from export.py: this is SQL for one engine, tested against a real PostgreSQL
(tests/test_activity.py compares its cells with csv_lines' for every outcome kind, action and formula rule),
while export.py is plain Python the mutation run checks on every build.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache

from sqlalchemy import ColumnElement, Select, String, case, cast, func, literal, literal_column
from sqlalchemy import select as sa_select

from invite.activity.export import _FORMULA_STARTS, _OPENING_SPACE, COLUMNS
from invite.adapters.storage import ACTIONS, Action, db
from invite.core import vocabulary

# A million rows through Python cost about 25 µs each even as plain rows (issue 25: 27–30 s against a 30 s
# target). On PostgreSQL the server writes the CSV itself, `COPY (SELECT …) TO STDOUT (FORMAT csv)`, and the app
# only passes its bytes on. The cells are the ones csv_lines writes: the same columns and order, each cell
# through the SQL twin of safe_cell, and the outcome's words looked up in a CASE built from the vocabulary's own
# label() for every kind and action, so the words still have one source. Two differences in the bytes, none in
# the cells: lines end in LF (COPY's) rather than CRLF, and a cell is quoted where PostgreSQL's rules say.

COPY_CHUNK_BYTES = 64 * 1024  # bytes handed on at a time (a chunk per row would be a write per row)


@cache
def _spaces() -> str:
    """Every character str.lstrip() strips (str.isspace), as safe_cell skips them."""
    return "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace())


def _safe_sql(value: ColumnElement) -> ColumnElement:
    """safe_cell in SQL. Most cells start with neither a space nor a formula's character, which one look at the
    first character's code tells: only the others are matched against the pattern (any run of spaces, then a
    formula's start). An empty text is quoted by COPY (""), an empty cell all the same."""
    starts = "".join(_FORMULA_STARTS).replace("-", "") + "-"  # in a bracket, "-" last is itself
    risky = func.left(value, 1, type_=String).in_(_OPENING_SPACE) | value.regexp_match(f"^[{_spaces()}]*[{starts}]")
    maybe = func.ascii(value).in_(sorted({ord(ch) for ch in _spaces() + "".join(_FORMULA_STARTS)}))
    return case((maybe, case((risky, func.concat("'", value)), else_=value)), else_=value)


def _words_sql() -> ColumnElement:
    """vocabulary.label(outcome_kind, action) for every row, as a CASE: each kind the vocabulary knows, by
    action where its words depend on it; any other kind as label() reads it (unknown)."""

    def by_action(kind: str | None) -> ColumnElement:
        words = {action: vocabulary.label(kind, action) for action in ACTIONS}
        other = vocabulary.label(kind, None)
        if set(words.values()) == {other}:
            return literal(other)
        return case({action: literal(text) for action, text in words.items()}, value=Action.action,
                    else_=literal(other))

    return case({kind: by_action(kind) for kind in vocabulary.OUTCOMES}, value=Action.outcome_kind,
                else_=by_action(None))


def _action_words_sql() -> ColumnElement:
    """vocabulary.action_words(action) for every row, as a CASE: an action this version does not know reads as
    its stored name, as action_words() reads it."""
    return case({action: literal(words) for action, words in vocabulary.ACTION_WORDS.items()},
                value=Action.action, else_=Action.action)


def _moment_text() -> ColumnElement:
    """created_at in UTC as PostgreSQL writes a timestamp under DateStyle ISO: '2026-12-07 05:12:00.1234'
    (the fraction without its trailing zeros, none when it is zero). Far cheaper than to_char."""
    return cast(func.timezone("UTC", Action.created_at), String)


def _moment_sql(text: ColumnElement) -> ColumnElement:
    """That text as datetime.isoformat() writes a UTC moment: six digits of fraction when there is one."""
    padded = func.rpad(text, case((func.length(text) > 19, 26), else_=19), "0")
    return func.concat(func.overlay(padded, "T", 11), "+00:00")


def _teams_sql(key: str, separator: str) -> ColumnElement:
    """Each team's `key` in the row's order, joined as _team_ids and _team_names join them (nothing to join,
    the usual case, is told from the text alone: a subquery per row is what the whole file cost most)."""
    sql = ("(CASE WHEN CAST(actions.teams AS TEXT) <> '[]' THEN "  # noqa: S608 - key, separator: our constants
           f"(SELECT string_agg(team ->> '{key}', '{separator}' ORDER BY n) "
           "FROM json_array_elements(CASE WHEN json_typeof(actions.teams) = 'array' THEN actions.teams END) "
           "WITH ORDINALITY AS t(team, n)) END)")
    return literal_column(sql, String)


def copy_statement(query: Select) -> tuple[str, dict]:
    """The COPY for `query`'s rows, oldest first, and its parameters (bound by the driver, client-side: COPY
    takes none of its own).

    Each cell's value is worked out once, in an inner SELECT, and made safe in the outer one: safe_sql names
    its value up to four times, and the planner would otherwise repeat each team list's subquery in every
    place (OFFSET 0 keeps the inner SELECT from being merged into the outer)."""
    plain = [Action.actor_email, Action.actor_role, Action.action, Action.target_email, Action.role]
    values = [_moment_text(), *plain, _teams_sql("id", " "), _teams_sql("name", "; "), Action.outcome_kind,
              cast(Action.http_status, String), Action.request_id, Action.junction_request_id, Action.client_addr,
              Action.invite_id, Action.channel, Action.os_user, Action.host, Action.own_request_id, _words_sql(),
              _action_words_sql()]
    inner = (query.with_only_columns(Action.id.label("row_id"),
                                     *(value.label(name) for value, name in zip(values, COLUMNS, strict=True)))
             .order_by(Action.id).offset(0).subquery("row"))
    cells = [(_moment_sql(inner.c[name]) if name == "when_utc" else inner.c[name] if name == "junction_http_status"
              else _safe_sql(inner.c[name])).label(name) for name in COLUMNS]
    select = sa_select(*cells).order_by(inner.c.row_id)
    compiled = select.compile(dialect=db.engine.dialect, compile_kwargs={"render_postcompile": True})
    return f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER)", dict(compiled.params)


def copied_csv(query: Select) -> Iterator[bytes]:
    """The CSV of `query`'s rows as PostgreSQL writes it, in chunks of about COPY_CHUNK_BYTES: one statement,
    one snapshot, in flat memory. A reader who goes away mid-file leaves a connection in the middle of a COPY:
    it is closed rather than pooled."""
    statement, params = copy_statement(query)
    connection = db.engine.raw_connection()
    finished = False
    try:
        with connection.cursor() as cursor:
            # The moments are read as PostgreSQL writes timestamps in ISO style (_moment_text); no JIT, which
            # compiling this statement's many expressions made slower, not faster (40 s against 28 s).
            cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            cursor.execute("SET LOCAL jit = off")
            with cursor.copy(statement, params) as copy:
                pending: list[bytes] = []
                size = 0
                for data in copy:
                    pending.append(bytes(data))
                    size += len(data)
                    if size >= COPY_CHUNK_BYTES:
                        yield b"".join(pending)
                        pending, size = [], 0
                if pending:
                    yield b"".join(pending)
        finished = True
    finally:
        if finished:
            connection.rollback()  # it only read
            connection.close()
        else:
            connection.invalidate()
