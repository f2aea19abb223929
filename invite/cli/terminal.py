"""Writing for people and for programs: colour only on a terminal (and never with NO_COLOR), aligned tables
streamed row by row, JSON Lines.

The bulk commands' progress bar uses `interactive()` too: no bar when the output is not a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import click

STYLES = {
    "ok": {"fg": "green", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "error": {"fg": "red", "bold": True},
    "header": {"bold": True},
}


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON (one object per line) for programs instead of text for people.")


def interactive(stream: IO[str] | None = None) -> bool:
    """Whether `stream` is a terminal a person is watching (colour, progress bars)."""
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def colour(stream: IO[str] | None = None, env: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set to anything (https://no-color.org)."""
    env = os.environ if env is None else env
    return interactive(stream) and not env.get("NO_COLOR")


def asked(question: str) -> bool:
    """A yes/no on stderr; no answer (end of input, Ctrl-C at the prompt) means no."""
    try:
        answer = click.confirm(question, err=True)
    except click.Abort:
        answer = False
    if not interactive(sys.stdin):
        click.echo(err=True)  # an answer that was not typed did not end the prompt's line
    return answer


def say(text: str, style: str | None = None, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    use_colour = colour(stream)
    if style and use_colour:
        text = click.style(text, **STYLES[style])
    click.echo(text, err=err, color=use_colour)


def emit_json(record: Mapping[str, Any]) -> None:
    click.echo(json.dumps(record, ensure_ascii=False, default=str), color=False)


@dataclass(frozen=True)
class Column:
    title: str
    width: int | None  # None: the last column, never cut


def _fit(text: str, width: int | None) -> str:
    if width is None:
        return text
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.ljust(width)


def table(columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> int:
    """Print a header and then each row as it arrives (fixed widths, so nothing waits for the last page).

    Returns how many rows were printed.
    """
    say("  ".join(_fit(c.title, c.width) for c in columns).rstrip(), "header")
    count = 0
    for row in rows:
        click.echo("  ".join(_fit(value, c.width) for value, c in zip(row, columns, strict=True)).rstrip())
        count += 1
    return count


def lines(records: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    for record in records:
        emit_json(record)
        count += 1
    return count


def stream(rows: Iterable[Any], *, as_json: bool, to_json: Callable[[Any], Mapping[str, Any]],
           columns: Sequence[Column], to_cells: Callable[[Any], Sequence[str]], noun: str) -> int:
    """A table for people (with a count at the end) or JSON Lines for programs; returns the number of rows."""
    if as_json:
        return lines(to_json(row) for row in rows)
    count = table(columns, (to_cells(row) for row in rows))
    say(f"({count} {noun})" if count != 1 else f"(1 {noun.rstrip('s')})")
    return count
