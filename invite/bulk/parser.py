"""Read a pasted or uploaded list of people to invite into rows: plain Python, no Flask, no HTTP.

What comes in: CSV or TSV text, typed into the page or uploaded as a file: UTF-8 with or without a BOM,
Excel's semicolon-separated exports, Excel's UTF-16 "Unicode text" (tab separated, with a BOM). The columns
are email (required), role and teams (optional). A header row is optional: the first row is one when it
holds no address and either names a column or sits above rows that do hold addresses. Without one the
columns are taken in that order. When teams is the last column, cells past it are more teams (a team list
separated by the file's own delimiter), never silently dropped. The delimiter (comma, semicolon or tab)
is the one under which the header names an email column, else under which the most rows hold an address.

What goes out: one InputRow per non-blank row, holding the cells as typed (stripped). Nothing is judged
here beyond what is needed to read the list; whether an address, a role or a team is any good is
preview.py's business. A bad file raises BulkInputError with one sentence saying what is wrong and what
to do. A cell starting with =, +, - or @ is text like any other: nothing here evaluates anything.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass

from invite.core.invite_rules import ROLE_LABELS

__all__ = [
    "MAX_BYTES",
    "MAX_LINE_CHARS",
    "MAX_ROWS",
    "TEMPLATE_CSV",
    "BulkInputError",
    "InputRow",
    "parse_bulk",
    "role_from_text",
    "split_teams",
]

MAX_BYTES = 1_000_000
MAX_ROWS = 5_000
# The longest line read. A row of a list of addresses is a few hundred characters; a line of 10,000 is a
# file that is not such a list (or whose line breaks were lost).
MAX_LINE_CHARS = 9_999

TEMPLATE_CSV = (
    "email,role,teams\r\n"
    "ada.lovelace@example.com,team_admin,Cardiology;Clinical Research\r\n"
    "grace.hopper@example.com,no_role,\r\n"
)

# Tried in this order; on a tie (say a list of bare addresses) the first wins.
_DELIMITERS = (",", ";", "\t")
_TEAM_SEPARATOR = re.compile(r"[;|]")
# What an address looks like for telling delimiters apart: an @ with neither whitespace nor a delimiter.
_ADDRESS_LIKE = re.compile(r"[^\s,;]+@[^\s,;]+")
# A row that is empty but for separators (a spreadsheet writes ",," for an empty row).
_BLANK = re.compile(r"[\s,;|]*")
# Characters no text list holds (tab, line feed and carriage return are fine).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# Header cells, compared without case, spaces, hyphens and underscores.
_COLUMNS = {
    "email": "email",
    "emails": "email",
    "emailaddress": "email",
    "mail": "email",
    "role": "role",
    "roles": "role",
    "team": "teams",
    "teams": "teams",
    "teamnames": "teams",
    "teamids": "teams",
}


class BulkInputError(Exception):
    """The list cannot be read; .message says what is wrong and what to do, in one sentence."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class InputRow:
    number: int  # the row as the person sees it in their file or text (a header is row 1)
    email: str  # as typed, stripped
    role_text: str  # as typed, stripped ('' when empty)
    role: str | None  # 'org_admin', 'team_admin' or 'no_role'; None when empty or not recognised
    teams: tuple[str, ...]  # names or ids as typed, split on ';' or '|', stripped, empties dropped


def _role_key(text: str) -> str:
    return " ".join(re.split(r"[\s_-]+", text.casefold())).strip()


# A role is its API code or the form's label, without case and with spaces, hyphens and underscores alike.
_ROLES_BY_KEY = {_role_key(key): code for code, label in ROLE_LABELS.items() for key in (code, label)}


def role_from_text(text: str) -> str | None:
    """The role's code for a cell's text ("Team admin", "team_admin", "TEAM-ADMIN"), or None."""
    return _ROLES_BY_KEY.get(_role_key(text))


def split_teams(text: str) -> tuple[str, ...]:
    """A teams cell's names or ids: split on ';' or '|', stripped, empties dropped."""
    return tuple(t.strip() for t in _TEAM_SEPARATOR.split(text) if t.strip())


def parse_bulk(data: bytes | str) -> list[InputRow]:
    """The rows of a list, in order, blank rows left out. Raises BulkInputError for a list it cannot read."""
    text = _decode(data)
    if not text.strip():
        raise BulkInputError(_EMPTY)
    _check_line_lengths(text)
    records = _read_records(text)
    numbered = [(number, record) for number, record in enumerate(records, 1) if not _is_blank(record)]
    if not numbered:
        raise BulkInputError(_EMPTY)

    first_number, first = numbered[0]
    if _is_header(first, numbered[1:]):
        columns = _header_columns(first, first_number)
        width = max(index for index, cell in enumerate(first) if cell.strip()) + 1
        numbered = numbered[1:]
        if not numbered:
            raise BulkInputError(
                "The list has a header row and nothing else: add one row per person under it, "
                "with their email address."
            )
    else:
        columns = {"email": 0, "role": 1, "teams": 2}
        width = 3

    if len(numbered) > MAX_ROWS:
        raise BulkInputError(
            f"The list has {len(numbered):,} rows and at most {MAX_ROWS:,} can be invited at once: "
            "split it into smaller lists."
        )
    return [_row(number, record, columns, width) for number, record in numbered]


# ------------------------------------------------------------------------------------------ bytes to text

_EMPTY = (
    "The list is empty: paste the addresses, one per line, or upload a CSV file with an email column."
)
_BINARY = (
    "This is not a text list (it holds binary data, like an Excel workbook or an image): save the list "
    "as “CSV UTF-8” and upload that, or paste the addresses."
)
_UNDECODABLE = (
    "The file's characters cannot be read because it is neither UTF-8 nor UTF-16 text: in Excel, save it "
    "as “CSV UTF-8” or “Unicode Text” and upload it again."
)


def _decode(data: bytes | str) -> str:
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > MAX_BYTES:
        raise BulkInputError(
            f"The list is {size:,} bytes and at most {MAX_BYTES:,} bytes (1 MB) can be read at once: "
            "split it into smaller lists."
        )
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    elif data.startswith(codecs.BOM_UTF8):
        text = _decode_as(data[len(codecs.BOM_UTF8):], "utf-8")
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _decode_as(data, "utf-16")  # the codec reads the BOM and drops it
    elif b"\x00" in data:
        raise BulkInputError(_BINARY)
    else:
        text = _decode_as(data, "utf-8")
    if _CONTROL.search(text):
        raise BulkInputError(_BINARY)
    return text


def _decode_as(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise BulkInputError(_UNDECODABLE) from None


def _check_line_lengths(text: str) -> None:
    for number, line in enumerate(_LINE_BREAK.split(text), 1):
        if len(line) > MAX_LINE_CHARS:
            raise BulkInputError(
                f"Line {number} is {len(line):,} characters long, longer than any row of a list of addresses "
                f"({MAX_LINE_CHARS:,} at most): check that this is the right file and that each person is "
                "on a line of their own."
            )


# ------------------------------------------------------------------------------------------ text to records


def _read_records(text: str) -> list[list[str]]:
    """The records under the delimiter for which the header names an email column, else the most rows
    hold an address; on a tie (a list of bare addresses, say) the first in _DELIMITERS."""

    def score(records: list[list[str]]) -> tuple[bool, int]:
        filled = [record for record in records if not _is_blank(record)]
        names_email = bool(filled) and any(_column_name(cell) == "email" for cell in filled[0])
        return names_email, sum(any(_ADDRESS_LIKE.fullmatch(c.strip()) for c in record) for record in filled)

    return max((_read_with(text, delimiter) for delimiter in _DELIMITERS), key=score)  # max keeps the first


def _read_with(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    starts_at = 1  # the line the record being read starts on
    try:
        for record in reader:
            records.append(record)
            starts_at = reader.line_num + 1
    except csv.Error:  # a cell over csv's size limit: a quotation mark that swallowed the rest
        raise BulkInputError(_unclosed_quote(f"at line {starts_at}")) from None
    return records


def _unclosed_quote(where: str) -> str:
    return (
        f"The list cannot be read {where}: a quotation mark (\") there is probably never closed, so the rows "
        "after it run together; close it or remove it."
    )


def _is_blank(record: list[str]) -> bool:
    return _BLANK.fullmatch("".join(record)) is not None


def _column_name(cell: str) -> str | None:
    return _COLUMNS.get(re.sub(r"[\s_-]+", "", cell.casefold()))


def _is_header(first: list[str], rest: list[tuple[int, list[str]]]) -> bool:
    """A first row without an address that names a column, or above rows that have addresses."""
    if any("@" in cell for cell in first):
        return False
    return any(_column_name(cell) for cell in first) or any("@" in c for _, record in rest for c in record)


def _header_columns(header: list[str], number: int) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _column_name(cell)
        if name is not None and name not in columns:
            columns[name] = index
    if "email" not in columns:
        found = ", ".join(f"“{cell.strip()}”" for cell in header if cell.strip())
        raise BulkInputError(
            f"The header row (row {number}: {found}) has no email column: name the column of addresses "
            "“email” (the others may be “role” and “teams”)."
        )
    return columns


def _row(number: int, record: list[str], columns: dict[str, int], width: int) -> InputRow:
    """One row; when teams is the last column, cells past it are more teams (a list of teams separated by
    the file's own delimiter, unquoted), so that none is silently dropped."""

    def cell(index: int | None) -> str:
        value = record[index] if index is not None and index < len(record) else ""
        if "\n" in value or "\r" in value:
            raise BulkInputError(_unclosed_quote(f"at row {number}"))
        return value.strip()

    teams_at = columns.get("teams")
    teams = [cell(teams_at)]
    if teams_at == width - 1:
        teams.extend(cell(index) for index in range(width, len(record)))
    role_text = cell(columns.get("role"))
    return InputRow(
        number=number,
        email=cell(columns["email"]),
        role_text=role_text,
        role=role_from_text(role_text),
        teams=tuple(t for text in teams for t in split_teams(text)),
    )
