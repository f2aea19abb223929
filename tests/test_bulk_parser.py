"""The bulk list parser: every accepted format, every bad-file message, and round-trip properties."""

from __future__ import annotations

import codecs
import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invite.bulk.parser import (
    MAX_BYTES,
    MAX_LINE_CHARS,
    MAX_ROWS,
    TEMPLATE_CSV,
    BulkInputError,
    InputRow,
    parse_bulk,
    role_from_text,
)


def row(number, email, role_text="", role=None, teams=()):
    return InputRow(number=number, email=email, role_text=role_text, role=role, teams=tuple(teams))


def simple(rows):
    """(number, email, role_text, role, teams) of each row, for compact comparisons."""
    return [(r.number, r.email, r.role_text, r.role, r.teams) for r in rows]


def error_of(data) -> str:
    with pytest.raises(BulkInputError) as caught:
        parse_bulk(data)
    assert str(caught.value) == caught.value.message
    return caught.value.message


EMPTY = "The list is empty: paste the addresses, one per line, or upload a CSV file with an email column."
HEADER_ONLY = (
    "The list has a header row and nothing else: add one row per person under it, with their email address."
)
BINARY = (
    "This is not a text list (it holds binary data, like an Excel workbook or an image): save the list "
    "as “CSV UTF-8” and upload that, or paste the addresses."
)
UNDECODABLE = (
    "The file's characters cannot be read because it is neither UTF-8 nor UTF-16 text: in Excel, save it "
    "as “CSV UTF-8” or “Unicode Text” and upload it again."
)


def unclosed(where: str) -> str:
    return (
        f"The list cannot be read {where}: a quotation mark (\") there is probably never closed, so the rows "
        "after it run together; close it or remove it."
    )


# ------------------------------------------------------------------------------------------ formats


def test_limits_are_the_issues():
    assert (MAX_BYTES, MAX_ROWS, MAX_LINE_CHARS) == (1_000_000, 5_000, 9_999)


def test_one_address_per_line_as_typed_into_the_page():
    text = "ada@example.com\r\n  grace@example.com  \r\nalan@example.com"
    assert parse_bulk(text) == [
        row(1, "ada@example.com"),
        row(2, "grace@example.com"),
        row(3, "alan@example.com"),
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_with_header_every_line_ending(newline):
    text = newline.join([
        "email,role,teams",
        "ada@example.com,team_admin,Cardiology;Oncology",
        "grace@example.com,No role,",
        "alan@example.com,,Lab Operations",
    ]) + newline
    assert simple(parse_bulk(text.encode())) == [
        (2, "ada@example.com", "team_admin", "team_admin", ("Cardiology", "Oncology")),
        (3, "grace@example.com", "No role", "no_role", ()),
        (4, "alan@example.com", "", None, ("Lab Operations",)),
    ]


def test_csv_without_header_takes_email_role_teams_in_order():
    text = "ada@example.com,org_admin,Cardiology\ngrace@example.com\nalan@example.com,team_admin\n"
    assert simple(parse_bulk(text)) == [
        (1, "ada@example.com", "org_admin", "org_admin", ("Cardiology",)),
        (2, "grace@example.com", "", None, ()),
        (3, "alan@example.com", "team_admin", "team_admin", ()),
    ]


def test_without_header_cells_past_the_third_are_more_teams():
    # Never silently dropped: a name that is no team shows up in the preview as an unknown team.
    assert simple(parse_bulk("ada@example.com,no_role,Cardiology,Jane Doe;X,, extra \n")) == [
        (1, "ada@example.com", "no_role", "no_role", ("Cardiology", "Jane Doe", "X", "extra")),
    ]


def test_an_unquoted_team_list_in_a_semicolon_file_keeps_every_team():
    data = b"email;role;teams\r\nada@example.com;team_admin;Cardiology;Oncology\r\nbob@example.com;;A;;B;\r\n"
    assert simple(parse_bulk(data)) == [
        (2, "ada@example.com", "team_admin", "team_admin", ("Cardiology", "Oncology")),
        (3, "bob@example.com", "", None, ("A", "B")),
    ]


def test_cells_past_a_last_teams_column_count_from_its_last_named_column():
    text = "email,role,teams,,\nada@example.com,,A,B,C\n"
    assert simple(parse_bulk(text)) == [(2, "ada@example.com", "", None, ("A", "B", "C"))]


def test_cells_past_the_header_are_ignored_when_teams_is_not_last():
    text = "teams,email,notes\nA,ada@example.com,note,B\nC,bob@example.com\n"
    assert simple(parse_bulk(text)) == [
        (2, "ada@example.com", "", None, ("A",)),
        (3, "bob@example.com", "", None, ("C",)),
    ]
    text = "email,role\nada@example.com,no_role,Cardiology\n"
    assert simple(parse_bulk(text)) == [(2, "ada@example.com", "no_role", "no_role", ())]


def test_header_columns_in_any_order_with_other_columns_and_other_spellings():
    text = (
        "Name,Team Names,E-mail Address,Department,ROLE\n"
        "Ada Lovelace,Cardiology|Oncology,ada@example.com,R&D,Team Admin\n"
        "Grace Hopper,,grace@example.com,Navy,\n"
    )
    assert simple(parse_bulk(text)) == [
        (2, "ada@example.com", "Team Admin", "team_admin", ("Cardiology", "Oncology")),
        (3, "grace@example.com", "", None, ()),
    ]


@pytest.mark.parametrize(
    ("email_title", "role_title", "teams_title"),
    [
        ("email", "role", "teams"),
        ("Emails", "Roles", "Team"),
        ("e_mail", "role", "team_ids"),
        ("Mail", "role", "TEAM IDS"),
        ("EMAIL ADDRESS", "role", "team-names"),
    ],
)
def test_header_names_recognised(email_title, role_title, teams_title):
    text = f"{teams_title}\t{role_title}\t{email_title}\nCardiology\tno_role\tada@example.com\n"
    assert simple(parse_bulk(text)) == [(2, "ada@example.com", "no_role", "no_role", ("Cardiology",))]


def test_only_an_email_column_named():
    text = "email\nada@example.com\n\ngrace@example.com\n"
    assert simple(parse_bulk(text)) == [(2, "ada@example.com", "", None, ()), (4, "grace@example.com", "", None, ())]


def test_a_repeated_column_name_uses_the_first():
    text = "email,email,teams,team\nada@example.com,other@example.com,A,B\n"
    assert simple(parse_bulk(text)) == [(2, "ada@example.com", "", None, ("A",))]


def test_cells_missing_from_a_short_row_are_empty():
    text = "teams,role,email\nCardiology,no_role\n,,grace@example.com\n"
    assert simple(parse_bulk(text)) == [
        (2, "", "no_role", "no_role", ("Cardiology",)),
        (3, "grace@example.com", "", None, ()),
    ]


def test_tsv_in_utf8():
    data = b"email\trole\tteams\nada@example.com\tteam_admin\tCardiology; Primary Care (Boston)\n"
    assert simple(parse_bulk(data)) == [
        (2, "ada@example.com", "team_admin", "team_admin", ("Cardiology", "Primary Care (Boston)")),
    ]


def test_tsv_without_header_team_names_with_commas():
    data = b"ada@example.com\tteam_admin\tCardiology, Boston|Oncology, Paris\n"
    assert simple(parse_bulk(data)) == [
        (1, "ada@example.com", "team_admin", "team_admin", ("Cardiology, Boston", "Oncology, Paris")),
    ]


def test_utf8_with_bom_keeps_the_header_recognised():
    data = codecs.BOM_UTF8 + "email,role\nzoë@example.com,no_role\n".encode()
    assert simple(parse_bulk(data)) == [(2, "zoë@example.com", "no_role", "no_role", ())]


def test_a_bom_in_pasted_text_is_dropped():
    assert simple(parse_bulk("\ufeffemail\nada@example.com")) == [(2, "ada@example.com", "", None, ())]


def test_excel_semicolon_export():
    # Excel in a locale whose list separator is ';' quotes a cell holding one.
    data = (
        "email;role;teams\r\n"
        'ada@example.com;Team admin;"Cardiology;Oncology"\r\n'
        "grace@example.com;No role;Cardiology|Primary Care, Boston\r\n"
    ).encode("utf-8-sig")
    assert simple(parse_bulk(data)) == [
        (2, "ada@example.com", "Team admin", "team_admin", ("Cardiology", "Oncology")),
        (3, "grace@example.com", "No role", "no_role", ("Cardiology", "Primary Care, Boston")),
    ]


def test_semicolon_export_without_header():
    data = b"ada@example.com;team_admin;Cardiology\r\ngrace@example.com;;\r\n"
    assert simple(parse_bulk(data)) == [
        (1, "ada@example.com", "team_admin", "team_admin", ("Cardiology",)),
        (2, "grace@example.com", "", None, ()),
    ]


def test_comma_csv_whose_teams_are_separated_by_semicolons():
    data = b"ada@example.com,team_admin,Cardiology;Oncology\ngrace@example.com,,Oncology;Cardiology\n"
    assert simple(parse_bulk(data)) == [
        (1, "ada@example.com", "team_admin", "team_admin", ("Cardiology", "Oncology")),
        (2, "grace@example.com", "", None, ("Oncology", "Cardiology")),
    ]


def test_the_header_decides_the_delimiter_when_no_row_has_an_address():
    assert simple(parse_bulk("email;teams\nnot an address;A,B\n")) == [(2, "not an address", "", None, ("A,B",))]
    assert simple(parse_bulk("email\tteams\nnot an address\tA,B;C\n")) == [
        (2, "not an address", "", None, ("A,B", "C")),
    ]


def test_a_tab_file_with_empty_trailing_cells_is_read_as_tabs():
    data = b"ada@example.com\t\t\ngrace@example.com\tno_role\tCardiology, Boston\n"
    assert simple(parse_bulk(data)) == [
        (1, "ada@example.com", "", None, ()),
        (2, "grace@example.com", "no_role", "no_role", ("Cardiology, Boston",)),
    ]


def test_excel_unicode_text_utf16_le_with_bom():
    text = "email\trole\tteams\r\nzoë@example.com\tTeam admin\tMünchen Labs;Cardiology\r\n"
    data = text.encode("utf-16-le")
    assert simple(parse_bulk(codecs.BOM_UTF16_LE + data)) == [
        (2, "zoë@example.com", "Team admin", "team_admin", ("München Labs", "Cardiology")),
    ]


def test_utf16_big_endian_with_bom():
    data = codecs.BOM_UTF16_BE + "ada@example.com\tno_role\r\n".encode("utf-16-be")
    assert simple(parse_bulk(data)) == [(1, "ada@example.com", "no_role", "no_role", ())]


def test_quoted_cells_with_delimiters_quotes_and_spaces():
    text = 'email,role,teams\n" ada@example.com ","team_admin"," Primary Care (Boston), Annex ; ""Quoted"" "\n'
    assert simple(parse_bulk(text)) == [
        (2, "ada@example.com", "team_admin", "team_admin", ("Primary Care (Boston), Annex", '"Quoted"')),
    ]


def test_team_lists_drop_empty_entries_and_split_on_both_separators():
    assert parse_bulk("ada@example.com,,;A ;| B||C;\n")[0].teams == ("A", "B", "C")
    assert parse_bulk("ada@example.com,, ; | \n")[0].teams == ()


def test_blank_lines_count_as_rows_and_are_skipped():
    text = "\n\nemail,role\n\n   \nada@example.com,no_role\n,,\n\t\ngrace@example.com\n\n\n"
    assert simple(parse_bulk(text)) == [
        (6, "ada@example.com", "no_role", "no_role", ()),
        (9, "grace@example.com", "", None, ()),
    ]


def test_row_numbers_follow_records_not_lines_when_an_ignored_cell_spans_lines():
    text = 'email,notes\nada@example.com,"line one\nline two"\ngrace@example.com,\n'
    assert [(r.number, r.email) for r in parse_bulk(text)] == [(2, "ada@example.com"), (3, "grace@example.com")]


def test_a_row_with_no_address_is_kept_for_the_preview_to_judge():
    assert simple(parse_bulk("email,role\nada@example.com\n,team_admin\n")) == [
        (2, "ada@example.com", "", None, ()),
        (3, "", "team_admin", "team_admin", ()),
    ]


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://x\",\"y\")", "+1 555", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"])
def test_formula_like_cells_are_plain_text(cell):
    quoted = '"' + cell.replace('"', '""') + '"'
    rows = parse_bulk(f"email,role,teams\n{quoted},{quoted},{quoted}\n")
    teams = tuple(t.strip() for t in cell.replace("|", ";").split(";") if t.strip())
    assert simple(rows) == [(2, cell, cell, None, teams)]


def test_first_row_without_address_and_no_known_name_is_data_when_no_row_has_an_address():
    assert simple(parse_bulk("first person\nsecond person\n")) == [
        (1, "first person", "", None, ()),
        (2, "second person", "", None, ()),
    ]


def test_first_row_with_a_known_name_is_a_header_even_without_addresses_below():
    assert simple(parse_bulk("Email\nnot yet known\n")) == [(2, "not yet known", "", None, ())]


def test_a_first_row_with_an_address_is_never_a_header():
    assert simple(parse_bulk("email@example.com,role\nada@example.com,teams\n")) == [
        (1, "email@example.com", "role", None, ()),
        (2, "ada@example.com", "teams", None, ()),
    ]


def test_a_lone_surrogate_in_pasted_text_does_not_crash():
    assert [r.email for r in parse_bulk("ada\ud800@example.com\n")] == ["ada\ud800@example.com"]


def test_the_template_reads_back():
    assert TEMPLATE_CSV.startswith("email,role,teams\r\n")
    assert TEMPLATE_CSV.count("\r\n") == 3
    assert simple(parse_bulk(TEMPLATE_CSV)) == [
        (2, "ada.lovelace@example.com", "team_admin", "team_admin", ("Cardiology", "Clinical Research")),
        (3, "grace.hopper@example.com", "no_role", "no_role", ()),
    ]


# ------------------------------------------------------------------------------------------ roles


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("org_admin", "org_admin"),
        ("team_admin", "team_admin"),
        ("no_role", "no_role"),
        ("Org admin", "org_admin"),
        ("Team admin", "team_admin"),
        ("No role", "no_role"),
        ("ORG_ADMIN", "org_admin"),
        ("team-admin", "team_admin"),
        ("  No   Role ", "no_role"),
        ("no_-role", "no_role"),
        ("Team\tAdmin", "team_admin"),
        ("admin", None),
        ("orgadmin", None),
        ("owner", None),
        ("", None),
        ("org admin x", None),
    ],
)
def test_role_from_text(text, role):
    assert role_from_text(text) == role


def test_role_text_is_kept_as_typed_and_an_unknown_role_is_none():
    (parsed,) = parse_bulk("ada@example.com, Administrator ,\n")
    assert (parsed.role_text, parsed.role) == ("Administrator", None)


# ------------------------------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    "data",
    [
        b"", "", b"   \r\n\n\t", "\n\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, "\ufeff",
        b",,\n;;\n\t\t\n", " , , ", "|;\n,|",
    ],
)
def test_empty(data):
    assert error_of(data) == EMPTY


@pytest.mark.parametrize("data", ["email,role,teams\n", "\nEmail\n\n\n", b"email;role\r\n;\r\n", "teams\tEmail"])
def test_header_only(data):
    assert error_of(data) == HEADER_ONLY


def test_no_email_column_names_what_the_header_has():
    assert error_of("Name,Role, Teams ,\nAda,no_role,A\n") == (
        "The header row (row 1: “Name”, “Role”, “Teams”) has no email column: name the column of addresses "
        "“email” (the others may be “role” and “teams”)."
    )


def test_no_email_column_when_the_addresses_are_under_another_name():
    assert error_of("\n\nName;Address\nAda;ada@example.com\n") == (
        "The header row (row 3: “Name”, “Address”) has no email column: name the column of addresses "
        "“email” (the others may be “role” and “teams”)."
    )


@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",  # an .xlsx (a zip)
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"ada@example.com\x00\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",  # an old .xls
        b"ada@example.com\x01,no_role\n",  # a control character, no NUL
        b"ada@example.com\x7f\n",
        b"ada@example.com\x1f\n",
        b"ada@example.com\x0b\n",
        b"ada@example.com\x0c\n",
        b"ada@example.com\x0e\n",
        b"ada@example.com\x08\n",
        "ada@example.com\x1b[0m\n",  # pasted text too
        codecs.BOM_UTF8 + b"ada@example.com\x00\n",
        codecs.BOM_UTF16_LE + "ada@example.com\x00\n".encode("utf-16-le"),
        codecs.BOM_UTF16_LE + "ada@example.com\n".encode("utf-32-le")[2:],  # UTF-32 read as UTF-16
    ],
)
def test_binary(data):
    assert error_of(data) == BINARY


@pytest.mark.parametrize("text", ["a\tb", "a\nb", "a\rb", "a\r\nb", "a b"])
def test_tab_and_line_breaks_are_not_control_characters(text):
    assert parse_bulk(text)


@pytest.mark.parametrize(
    "data",
    [
        "café@example.com\n".encode("latin-1"),
        "zoë@example.com\n".encode("cp1252"),
        b"ada@example.com\n\xff\n",
        codecs.BOM_UTF8 + b"caf\xe9@example.com\n",
        codecs.BOM_UTF16_LE + b"a\x00b",  # an odd number of bytes
        codecs.BOM_UTF16_BE + b"\xd8\x00\x00a",  # a lone surrogate
    ],
)
def test_undecodable(data):
    assert error_of(data) == UNDECODABLE


def test_a_line_of_ten_thousand_characters():
    data = ("email\nada@example.com\n" + "x" * 10_000 + "\n").encode()
    assert error_of(data) == (
        "Line 3 is 10,000 characters long, longer than any row of a list of addresses (9,999 at most): check "
        "that this is the right file and that each person is on a line of their own."
    )


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
def test_the_longest_line_accepted_and_one_more(newline):
    longest = "a@" + "b" * (MAX_LINE_CHARS - 2)
    assert parse_bulk(f"email{newline}{longest}{newline}")[0].email == longest
    error = error_of(f"email{newline}{longest}b{newline}")
    assert error.startswith("Line 2 is 10,000 characters long")


def test_too_many_bytes():
    data = b"ada@example.com\n" + b"x" * MAX_BYTES
    assert error_of(data) == (
        "The list is 1,000,016 bytes and at most 1,000,000 bytes (1 MB) can be read at once: split it into "
        "smaller lists."
    )


def test_exactly_the_byte_limit_is_read():
    line = "a" * 178 + "@example.com,no_role,\n"  # 200 bytes
    data = (line * (MAX_BYTES // len(line))).encode()
    assert len(data) == MAX_BYTES
    assert len(parse_bulk(data)) == MAX_BYTES // len(line)
    assert error_of(data + b"\n") == (
        "The list is 1,000,001 bytes and at most 1,000,000 bytes (1 MB) can be read at once: split it into "
        "smaller lists."
    )


def test_pasted_text_is_measured_in_utf8_bytes():
    text = "é" * 500_001  # 1,000,002 bytes in UTF-8, half as many characters
    assert error_of(text).startswith("The list is 1,000,002 bytes")


def test_too_many_rows():
    rows = "".join(f"person{i}@example.com\n" for i in range(MAX_ROWS + 1))
    assert error_of(rows) == (
        "The list has 5,001 rows and at most 5,000 can be invited at once: split it into smaller lists."
    )


def test_the_row_limit_counts_people_not_the_header_or_blank_lines():
    rows = "email\n\n" + "".join(f"person{i}@example.com\n\n" for i in range(MAX_ROWS))
    parsed = parse_bulk(rows)
    assert len(parsed) == MAX_ROWS
    assert parsed[-1].number == 2 + 2 * MAX_ROWS - 1


def test_an_unclosed_quote_that_swallows_the_rest():
    text = 'email,role\n"ada@example.com,no_role\ngrace@example.com,no_role\n'
    assert error_of(text) == unclosed("at row 2")


def test_an_unclosed_quote_in_a_file_with_carriage_returns_only():
    text = 'ada@example.com,"no_role\rgrace@example.com,no_role\r'
    assert error_of(text) == unclosed("at row 1")


def test_an_unclosed_quote_too_long_for_a_cell():
    text = 'ada@example.com,"no_role\n' + ("x" * 9_000 + "\n") * 16
    assert error_of(text) == unclosed("at line 1")


def test_an_unclosed_quote_past_the_sniffed_rows_too_long_for_a_cell():
    text = "ada@example.com\n" * 200 + '"x\n' + ("x" * 9_000 + "\n") * 16
    assert error_of(text) == unclosed("at line 201")


def test_bad_files_are_reported_before_rows_are_counted():
    # An oversized file is refused on its size, not read.
    assert error_of(b"\x00" * (MAX_BYTES + 1)).startswith("The list is 1,000,001 bytes")


# ------------------------------------------------------------------------------------------ properties

LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-'", min_size=1, max_size=20)
DOMAIN = st.sampled_from(["example.com", "acmehealth.com", "xn--bcher-kva.example", "Example.ORG", "mail.co.uk"])
EMAILS = st.builds(lambda local, domain: f"{local}@{domain}", LOCAL, DOMAIN)
ROLE_TEXTS = st.sampled_from(["", "org_admin", "team_admin", "no_role", "Org admin", "Team admin", "No role", "boss"])
# Team names: anything but the two separators, '@' (the delimiter is told by cells holding one) and
# characters the parser refuses; never blank, never padded (cells are stripped).
TEAM_NAME = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters=";|@\x85", max_codepoint=0x2FF
    ),
    min_size=1,
    max_size=15,
).map(str.strip).filter(bool)
PEOPLE = st.lists(st.tuples(EMAILS, ROLE_TEXTS, st.lists(TEAM_NAME, max_size=4)), min_size=1, max_size=12)


@st.composite
def written_lists(draw):
    """(what was written as bytes or text, the rows expected back)."""
    people = draw(PEOPLE)
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    header = draw(st.booleans())
    order = draw(st.permutations([0, 1, 2])) if header else [0, 1, 2]
    separator = draw(st.sampled_from([";", "|"]))
    titles = ("email", "role", "teams")

    records: list[list[str] | None] = []  # None: a blank line
    if header:
        records.append([titles[i] for i in order])
    for email, role_text, teams in people:
        records.extend([None] * draw(st.integers(0, 2)))
        cells = (email, role_text, separator.join(teams))
        records.append([cells[i] for i in order])
    records.extend([None] * draw(st.integers(0, 2)))

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    expected = []
    number = 0
    for record in records:
        number += 1
        if record is None:
            out.write(newline)
            continue
        writer.writerow(record)
        if header and number == 1:
            continue
        email, role_text, teams = (record[order.index(i)] for i in range(3))
        expected.append((number, email, role_text, role_from_text(role_text) if role_text else None,
                         tuple(t for t in teams.replace("|", ";").split(";") if t)))
    text = out.getvalue()
    encoding = draw(st.sampled_from(["str", "str-bom", "utf-8", "utf-8-sig", "utf-16"]))
    data = {
        "str": text,
        "str-bom": "\ufeff" + text,
        "utf-8": text.encode("utf-8"),
        "utf-8-sig": text.encode("utf-8-sig"),
        "utf-16": text.encode("utf-16"),
    }[encoding]
    return data, expected


@settings(max_examples=300, deadline=None)
@given(written_lists())
def test_any_mix_of_bom_delimiter_quoting_blank_lines_and_header_round_trips(case):
    data, expected = case
    assert simple(parse_bulk(data)) == expected


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_any_input_gives_rows_or_one_clear_message(data):
    try:
        rows = parse_bulk(data)
    except BulkInputError as exc:
        assert exc.message.endswith(".")
        assert "\n" not in exc.message
        return
    assert rows
    assert all(isinstance(r.email, str) and r.email == r.email.strip() for r in rows)
    assert all(r.number >= 1 for r in rows)
    assert [r.number for r in rows] == sorted({r.number for r in rows})
    assert all(all(t and t == t.strip() and ";" not in t and "|" not in t for t in r.teams) for r in rows)
