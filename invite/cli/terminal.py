"""Writing for people and for programs: colour only on a terminal (and never with NO_COLOR), aligned tables
streamed row by row, JSON Lines.

Everything printed for people passes invite.core.safe_text.clean_text: an address, a file name or Junction's
words carry no terminal escapes or bidi overrides to the screen. JSON keeps every character, with the
ones a terminal would act on written as \\u escapes.

The bulk commands' progress bar uses `interactive()` too: no bar when the output is not a terminal.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import IO, Any, NoReturn

import click

from invite.cli import exits
from invite.core.safe_text import BIDI_CONTROLS, clean_text

STYLES = {
    "ok": {"fg": "green", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "error": {"fg": "red", "bold": True},
    "header": {"bold": True},
}


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON (one object per line) for programs instead of text for people.")

# json.dumps escapes C0 controls itself; with ensure_ascii=False it leaves C1 controls (0x9b is a CSI to
# some terminals), the bidi controls and the Unicode line breaks as they are.
_JSON_ESCAPES = str.maketrans({code: f"\\u{code:04x}" for code in (
    *range(0x7F, 0xA0), *map(ord, BIDI_CONTROLS), 0x2028, 0x2029)})


def shown(text: str) -> str:
    """`text` as it may reach a terminal: without control characters or bidi overrides."""
    return text if text.isascii() and text.isprintable() else clean_text(text)


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
    text = shown(text)
    if style and use_colour:
        text = click.style(text, **STYLES[style])
    click.echo(text, err=err, color=use_colour)


def emit_json(record: Mapping[str, Any]) -> None:
    click.echo(json.dumps(record, ensure_ascii=False, default=str).translate(_JSON_ESCAPES), color=False)


@dataclass(frozen=True)
class Column:
    title: str
    width: int | None  # None: the last column, never cut


def _fit(text: str, width: int | None) -> str:
    text = shown(text)
    if width is None:
        return text
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.ljust(width)


def table(columns: Sequence[Column], rows: Iterable[Sequence[str]]) -> int:
    """Print a header and then each row as it arrives (fixed widths, so nothing waits for the last page).

    The header waits for the first row (or the end): a list whose first page fails prints nothing on
    stdout. Returns how many rows were printed.
    """
    rows = iter(rows)
    first = next(rows, None)
    say("  ".join(_fit(c.title, c.width) for c in columns).rstrip(), "header")
    count = 0
    for row in chain([first], rows) if first is not None else ():
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


def end(code: int, title: str, text: str = "", *, as_json: bool = False, **data: Any) -> NoReturn:
    """End the command with one closing message (stderr unless all went well) or, with --json, one summary
    object carrying `data`."""
    if as_json:
        emit_json({"type": "summary", "exit_code": code, "title": title, "text": text, **data})
    else:
        err = code != exits.DONE
        say(title, "ok" if code == exits.DONE else "error", err=err)
        if text:
            say(f"  {text}", err=err)
    click.get_current_context().exit(code)
