"""Read and check an access file (`access.yaml`, or `access.toml`): who should have which role and teams.

The file, in YAML (TOML when its name ends in .toml):

    manage: [invites, members]      # what the file owns; `removals` is off unless written
    ignore: ["*@vital.io"]          # addresses never touched (fnmatch patterns, without case)
    defaults:                       # what a person gets when their entry leaves a key out
      role: no_role
    people:
      - email: ada@example.com
        role: team_admin
        teams: [Cardiology, Berlin Clinic]   # by name (without case) or by id
      - grace@example.com                    # an address alone: the defaults

Everything is checked before anything else happens, and every problem is reported at once with its line:
YAML (or TOML) that cannot be read, unknown keys (with the closest known one), addresses that are not
addresses (the invite form's own rules), the same address twice (without case), roles other than
org_admin, team_admin and no_role, unknown team names (with the closest names) and names two teams share,
a Team admin whose teams are not written (`teams: []` says "none" on purpose), a person the file's own
`ignore` would leave alone. Pure: no I/O beyond the bytes given.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml
from rapidfuzz import fuzz, process

from invite.core.access import DEFAULT_MANAGED, MANAGED, AccessFile, OrgState, Person
from invite.core.invite_rules import MAX_EMAIL_CHARS, ROLE_LABELS, email_errors
from invite.junction.models import ROLES, Team

__all__ = ["MAX_BYTES", "AccessFileError", "Problem", "parse_access_file", "render_access_file", "resolve_teams"]

# An access file for an org of many thousands of people is a few hundred kilobytes.
MAX_BYTES = 2_000_000
TOP_KEYS = ("manage", "ignore", "defaults", "people")
DEFAULT_KEYS = ("role", "teams")
PERSON_KEYS = ("email", "role", "teams")
# Close team names offered for an unknown one, as bulk invites offer them (invite.bulk.preview): at most
# three, sharing at least 75 % of their characters (rapidfuzz's ratio).
MAX_SUGGESTIONS = 3
SUGGESTION_CUTOFF = 75
# Deeper than any access file goes (people → person → teams → team is four): a deeper one is not one.
_MAX_DEPTH = 32


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based; the file's first line for a problem of the whole file
    message: str


class AccessFileError(ValueError):
    """The file cannot be used as it is; .problems holds every problem found, in line order."""

    def __init__(self, problems: Sequence[Problem], *, filename: str = ""):
        self.problems = sorted(problems, key=lambda p: p.line)  # stable: a line's problems in the order found
        self.filename = filename
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        """One line per problem, as compilers write them: `access.yaml:12: …`."""
        where = self.filename or "line"
        sep = ":" if self.filename else " "
        return [f"{where}{sep}{p.line}: {p.message}" for p in self.problems]

    @property
    def summary(self) -> str:
        count = len(self.problems)
        name = self.filename or "The file"
        return f"{name} has {count} problem{'s' if count != 1 else ''}; nothing was planned."


# ------------------------------------------------------------------------------------------- the tree

SCALAR, NULL, LIST, MAP = "scalar", "null", "list", "map"


@dataclass(eq=False)
class _Node:
    """A value as written, YAML's or TOML's alike, with the line it starts on."""

    kind: str
    line: int
    text: str = ""  # a scalar's text, as written (YAML's `no` stays "no")
    items: list[_Node] = field(default_factory=list)
    pairs: list[tuple[_Node, _Node]] = field(default_factory=list)


class _Unreadable(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.message)
        self.problem = problem


def _decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise _Unreadable(Problem(1, f"The file is {len(data):,} bytes, more than the {MAX_BYTES:,} an access "
                                     "file may be: check that this is the right file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise _Unreadable(Problem(line, "The file is not UTF-8 text here: save it as UTF-8.")) from None
    if not text.strip():
        raise _Unreadable(Problem(1, "The file is empty: write a `people:` list (`invite access export` writes "
                                     "today's org as a file to start from)."))
    return text


class _TooDeep(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


class _Loader(yaml.BaseLoader):
    """PyYAML's base loader (every value text, as the C one below), stopped early at a depth no access file
    has: a file of thousands of `[` would otherwise recurse through Python's limit, slowly."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > _MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_BRACKET = re.compile(r"[\[\]{}]")


def _flow_too_deep(text: str) -> int:
    """The line where `[` and `{` nest deeper than any access file does, else 0. PyYAML's scanner takes time
    that grows with the square of the nesting, so this is counted before it reads anything (quotes are not
    told apart: no team name holds dozens of unclosed brackets)."""
    depth = 0
    for match in _BRACKET.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > _MAX_DEPTH:
            return text.count("\n", 0, match.start()) + 1
    return 0


# libyaml's loader when PyYAML was built with it (the wheels are): about six times faster than PyYAML's own,
# and it refuses nesting past its own limit itself. The pure Python one stops at _MAX_DEPTH (above). Base
# loaders: no value is resolved to a boolean, number or date (an access file's values are all text, `no`
# included), which also spares a regular expression per value; only an empty value is told apart (_null).
_FAST_LOADER: Any = getattr(yaml, "CBaseLoader", None)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


def _null(node: yaml.ScalarNode) -> bool:
    if node.tag == "tag:yaml.org,2002:null":  # written `!!null`
        return True
    return not node.style and node.value in _NULLS  # plain (libyaml says '', PyYAML None): `teams:`, `role: ~`


def _from_yaml(text: str) -> _Node:
    if line := _flow_too_deep(text):
        raise _Unreadable(Problem(line, "The file is nested far deeper than an access file is."))
    try:
        root = yaml.compose(text, Loader=_FAST_LOADER or _Loader)
    except _TooDeep as exc:
        raise _Unreadable(Problem(exc.line, "The file is nested far deeper than an access file is.")) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "it cannot be read"
        raise _Unreadable(Problem(mark.line + 1 if mark else 1,
                                  f"This is not valid YAML ({what}): check the indentation, and put text that "
                                  "holds “: ” or starts with a special character in quotes.")) from None
    except yaml.YAMLError as exc:  # a character YAML does not allow (the reader's error has no mark)
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else 1
        raise _Unreadable(Problem(line, "This is not valid YAML: the file holds a character YAML does not "
                                        "allow (a control character?).")) from None
    if root is None:
        raise _Unreadable(Problem(1, "The file holds only comments: write a `people:` list."))
    memo: dict[int, _Node] = {}

    def convert(node: yaml.Node, depth: int) -> _Node:
        # An alias is the very node it names: converted once (a file of aliases of aliases is not expanded,
        # and one that names itself ends).
        if id(node) in memo:
            return memo[id(node)]
        line = node.start_mark.line + 1
        if depth > _MAX_DEPTH:
            raise _Unreadable(Problem(line, "The file is nested far deeper than an access file is."))
        if isinstance(node, yaml.ScalarNode):
            null = _null(node)
            memo[id(node)] = done = _Node(NULL if null else SCALAR, line, "" if null else str(node.value))
            return done
        if isinstance(node, yaml.SequenceNode):
            memo[id(node)] = done = _Node(LIST, line)
            done.items = [convert(child, depth + 1) for child in node.value]
            return done
        memo[id(node)] = done = _Node(MAP, line)
        done.pairs = [(convert(key, depth + 1), convert(value, depth + 1)) for key, value in node.value]
        return done

    return convert(root, 0)


_TOML_ERROR_AT = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)\s*$")
_TOML_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]")
_TOML_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\"|'[^']*')\s*=")


class _TomlLines:
    """Where a TOML file writes each table and key. tomllib gives values without lines; an access file's
    shape is simple enough to find them again: `[[people]]` headers, `[defaults]`, and `key =` lines."""

    def __init__(self, text: str):
        self.keys: dict[tuple[str, int, str], int] = {}
        self.tables: dict[tuple[str, int], int] = {}
        self.lines = text.splitlines()
        table, index, counts = "", 0, dict[str, int]()
        for number, line in enumerate(self.lines, 1):
            if match := _TOML_ARRAY_TABLE.match(line):
                table = match.group(1)
                index = counts[table] = counts.get(table, -1) + 1
                self.tables[(table, index)] = number
            elif match := _TOML_TABLE.match(line):
                table, index = match.group(1), 0
                self.tables.setdefault((table, index), number)
            elif match := _TOML_KEY.match(line):
                self.keys.setdefault((table, index, match.group(1).strip("\"'")), number)

    def find(self, text: str, start: int) -> int:
        """The first line from `start` on that holds `text` (an address in an inline table), else `start`."""
        for number in range(max(start, 1), len(self.lines) + 1):
            if text and text in self.lines[number - 1]:
                return number
        return start


def _from_toml(text: str) -> _Node:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _TOML_ERROR_AT.search(message)
        line = int(at.group(1)) if at and at.group(1) else max(len(text.splitlines()), 1)
        raise _Unreadable(Problem(line,
                                  f"This is not valid TOML ({_TOML_ERROR_AT.sub('', message)}).")) from None
    where = _TomlLines(text)

    def convert(value: object, line: int, table: str, index: int) -> _Node:
        if isinstance(value, dict):
            node = _Node(MAP, line)
            for key, child in value.items():
                key_line = where.keys.get((table, index, key)) or where.tables.get((key, 0)) or line
                node.pairs.append((_Node(SCALAR, key_line, key), convert(child, key_line, key, 0)))
            return node
        if isinstance(value, list):
            node = _Node(LIST, line)
            last = line
            for number, child in enumerate(value):
                header = where.tables.get((table, number))
                if header is not None and isinstance(child, dict):  # [[people]]: a table of its own
                    node.items.append(convert(child, header, table, number))
                    continue
                # An inline item: on the line that holds its address (or its own text), else its list's.
                mark = child.get("email") if isinstance(child, dict) else child
                last = where.find(f"{mark}" if isinstance(mark, str) else "", last)
                node.items.append(convert(child, last, f"{table}[{number}]", 0))
            return node
        if isinstance(value, bool):
            return _Node(SCALAR, line, "true" if value else "false")
        return _Node(SCALAR, line, str(value))

    return convert(data, 1, "", 0)


# ------------------------------------------------------------------------------------------- checking


@functools.lru_cache(maxsize=50_000)
def _not_an_address(text: str) -> bool:
    """The invite form's own rules (invite.core.invite_rules), remembered: a drift check reads the same few
    thousand addresses again and again, and each costs a fraction of a millisecond."""
    return bool(email_errors(text))


def _closest(text: str, choices: Sequence[str], cutoff: int = SUGGESTION_CUTOFF) -> list[str]:
    close = process.extract(text.casefold(), [c.casefold() for c in choices], scorer=fuzz.ratio, processor=None,
                            limit=MAX_SUGGESTIONS, score_cutoff=cutoff)
    return [choices[index] for _name, _score, index in close]


def _or_list(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _kind_words(node: _Node) -> str:
    return {SCALAR: "a single value", NULL: "empty", LIST: "a list", MAP: "a mapping of keys"}[node.kind]


class _TeamIndex:
    def __init__(self, teams: Sequence[Team]):
        self.by_id = {team.id.strip().lower(): team for team in teams}
        self.by_name: dict[str, list[Team]] = {}
        for team in teams:
            self.by_name.setdefault(team.name.strip().casefold(), []).append(team)
        self.names = sorted({team.name.strip() for team in teams}, key=str.casefold)

    def find(self, text: str) -> tuple[Team | None, str]:
        """The team `text` names (an id, or a name without case), or what is wrong with it."""
        wanted = text.strip()
        if not wanted:
            return None, "A team is empty: write its name or its id."
        team = self.by_id.get(wanted.lower())
        if team is not None:
            return team, ""
        same = self.by_name.get(wanted.casefold(), [])
        if len(same) == 1:
            return same[0], ""
        if same:
            return None, (f"{len(same)} teams are named “{wanted}”: write the id of the one you mean instead "
                          f"({', '.join(t.id for t in same)}).")
        close = _closest(wanted, self.names)
        hint = f" Did you mean {_or_list(close)}?" if close else " `invite teams` lists the org's teams."
        return None, f"The org has no team named “{wanted}”.{hint}"


def resolve_teams(texts: Sequence[str], teams: Sequence[Team]) -> tuple[list[Team], list[str]]:
    """Teams by name (without case) or id, each once, in order, and a sentence per one that names none."""
    index = _TeamIndex(teams)
    found: list[Team] = []
    problems: list[str] = []
    for text in texts:
        team, problem = index.find(text)
        if team is None:
            problems.append(problem)
        elif team not in found:
            found.append(team)
    return found, problems


@dataclass
class _Teams:
    written: bool  # a `teams` key was written (perhaps empty, on purpose)
    ids: tuple[str, ...] = ()
    line: int = 0


class _Checker:
    def __init__(self, teams: Sequence[Team]):
        self.problems: list[Problem] = []
        self.teams = _TeamIndex(teams)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def keys(self, node: _Node, allowed: Sequence[str], where: str) -> dict[str, _Node]:
        """A mapping's known keys; an unknown key or one written twice is a problem."""
        found: dict[str, _Node] = {}
        first_line: dict[str, int] = {}
        for key, value in node.pairs:
            name = key.text.strip() if key.kind == SCALAR else ""
            if name in allowed:
                if name in found:
                    self.problem(key.line, f"“{name}” is written twice {where} (first at line "
                                           f"{first_line[name]}): keep one.")
                    continue
                found[name] = value
                first_line[name] = key.line
                continue
            close = _closest(name, allowed, cutoff=60) if name else []
            hint = f" Did you mean “{close[0]}”?" if close else ""
            self.problem(key.line, f"“{name or key.text}” is not a key {where}: the keys are "
                                   f"{', '.join(allowed)}.{hint}")
        return found

    def text(self, node: _Node, what: str) -> str | None:
        if node.kind == SCALAR:
            return node.text.strip()
        self.problem(node.line, f"{what} should be one value, not {_kind_words(node)}.")
        return None

    def texts(self, node: _Node, what: str) -> list[tuple[str, int]] | None:
        """A list of values (a single value is a list of one; empty is an empty list)."""
        if node.kind == NULL:
            return []
        if node.kind == SCALAR:
            return [(node.text.strip(), node.line)]
        if node.kind == MAP:
            self.problem(node.line, f"{what} should be a list, not {_kind_words(node)}.")
            return None
        found = []
        for item in node.items:
            if item.kind == SCALAR:
                found.append((item.text.strip(), item.line))
            else:
                self.problem(item.line, f"Each of {what} should be one value, not {_kind_words(item)}.")
        return found

    def role(self, node: _Node, where: str) -> str | None:
        if node.kind == NULL:
            self.problem(node.line, f"The role {where} is empty: write org_admin, team_admin or no_role (or "
                                    "leave the key out to use defaults' role).")
            return None
        text = self.text(node, f"The role {where}")
        if text is None:
            return None
        if text in ROLES:
            return text
        by_label = {label.casefold(): code for code, label in ROLE_LABELS.items()}
        code = by_label.get(text.casefold().replace("_", " ")) or by_label.get(text.casefold())
        close = [code] if code else _closest(text, ROLES, cutoff=60)
        hint = f" (did you mean {close[0]}?)" if close else ""
        self.problem(node.line, f"“{text}” is not a role: write org_admin, team_admin or no_role{hint}.")
        return None

    def team_list(self, node: _Node, where: str) -> _Teams | None:
        values = self.texts(node, f"the teams {where}")
        if values is None:
            return None
        ids: list[str] = []
        ok = True
        for text, line in values:
            team, problem = self.teams.find(text)
            if team is None:
                self.problem(line, problem)
                ok = False
            elif team.id not in ids:
                ids.append(team.id)
        return _Teams(True, tuple(ids), node.line) if ok else None

    def manage(self, node: _Node) -> frozenset[str] | None:
        values = self.texts(node, "manage")
        if values is None:
            return None
        chosen = set()
        for text, line in values:
            if text in MANAGED:
                chosen.add(text)
            else:
                close = _closest(text, MANAGED, cutoff=60)
                hint = f" Did you mean “{close[0]}”?" if close else ""
                self.problem(line, f"“{text}” is not something a file can manage: write {', '.join(MANAGED)}."
                                   f"{hint}")
        return frozenset(chosen)

    def ignore(self, node: _Node) -> tuple[str, ...]:
        patterns = []
        for text, line in self.texts(node, "ignore") or []:
            if text:
                patterns.append(text)
            else:
                self.problem(line, "An ignore pattern is empty: write an address or a pattern like *@vital.io.")
        return tuple(patterns)


def parse_access_file(data: bytes, teams: Sequence[Team], *, filename: str) -> AccessFile:
    """The file as checked, team names resolved to ids against `teams`; or AccessFileError with every problem.

    TOML when `filename` ends in .toml, YAML otherwise."""
    try:
        text = _decode(data)
        root = _from_toml(text) if filename.lower().endswith(".toml") else _from_yaml(text)
    except _Unreadable as unreadable:
        raise AccessFileError([unreadable.problem], filename=filename) from None
    check = _Checker(teams)
    if root.kind != MAP:
        check.problem(root.line, "The file should be a mapping with a `people:` list (and optionally manage, "
                                 f"ignore and defaults), not {_kind_words(root)}.")
        raise AccessFileError(check.problems, filename=filename)
    top = check.keys(root, TOP_KEYS, "at the top of the file")
    manage = (check.manage(top["manage"]) or frozenset()) if "manage" in top else DEFAULT_MANAGED
    ignore = check.ignore(top["ignore"]) if "ignore" in top else ()

    default_role: str | None = None
    default_teams = _Teams(False)
    if "defaults" in top:
        node = top["defaults"]
        if node.kind == MAP:
            defaults = check.keys(node, DEFAULT_KEYS, "under defaults")
            if "role" in defaults:
                default_role = check.role(defaults["role"], "under defaults")
            if "teams" in defaults:
                default_teams = check.team_list(defaults["teams"], "under defaults") or _Teams(True)
        elif node.kind != NULL:
            check.problem(node.line, f"defaults should be a mapping (role, teams), not {_kind_words(node)}.")

    people: list[Person] = []
    if "people" not in top:
        check.problem(root.line, "The file has no `people:` list: write one entry per person (an address, or "
                                 "email, role and teams).")
    else:
        node = top["people"]
        if node.kind == LIST:
            people = _people(check, node.items, default_role, default_teams, ignore)
        elif node.kind != NULL:
            check.problem(node.line, f"people should be a list (one entry per person), not {_kind_words(node)}.")
    if check.problems:
        raise AccessFileError(check.problems, filename=filename)
    return AccessFile(people=tuple(people), manage=manage, ignore=ignore, sha256=hashlib.sha256(data).hexdigest())


def _email(check: _Checker, node: _Node) -> str | None:
    text = check.text(node, "An address")
    if text is None:
        return None
    if not text:
        check.problem(node.line, "The address is empty: write the person's email address.")
        return None
    if _not_an_address(text):
        too_long = len(text) > MAX_EMAIL_CHARS
        shown = text if len(text) <= 80 else text[:77] + "…"
        what = "longer than an email address can be" if too_long else "not an email address"
        check.problem(node.line, f"“{shown}” is {what} (write it like name@example.com).")
        return None
    return text


def _people(check: _Checker, items: list[_Node], default_role: str | None, default_teams: _Teams,
            ignore: tuple[str, ...]) -> list[Person]:
    people: list[Person] = []
    first_line: dict[str, int] = {}
    probe = AccessFile(people=(), ignore=ignore)
    for item in items:
        fields: dict[str, _Node]
        if item.kind == SCALAR:  # an address alone: the defaults
            fields = {"email": item}
        elif item.kind == MAP:
            fields = check.keys(item, PERSON_KEYS, "for a person")
        else:
            check.problem(item.line, f"Each person should be an address, or a mapping of email, role and teams; "
                                     f"not {_kind_words(item)}.")
            continue
        if "email" not in fields:
            check.problem(item.line, "This person has no `email`: write their address.")
            continue
        email = _email(check, fields["email"])
        role = check.role(fields["role"], f"for {email or 'this person'}") if "role" in fields else default_role
        if "role" not in fields and default_role is None and email is not None:
            check.problem(item.line, f"{email} has no role: write `role:` (org_admin, team_admin or no_role), or "
                                     "set one under defaults.")
        teams = (check.team_list(fields["teams"], f"of {email or 'this person'}") if "teams" in fields
                 else default_teams)
        if email is None:
            continue
        key = email.lower()
        if key in first_line:
            check.problem(fields["email"].line, f"{email} is already in the file at line {first_line[key]} "
                                                "(addresses are compared without case): keep one entry per person.")
            continue
        first_line[key] = fields["email"].line
        if probe.ignores(email):
            check.problem(fields["email"].line, f"{email} matches the file's own ignore patterns, so it would be "
                                                "left alone: take it out of people or out of ignore.")
            continue
        if role == "team_admin" and teams is not None and not teams.written:
            check.problem(item.line, f"{email} is a Team admin with no teams written: list the teams they manage "
                                     "under `teams:` (or write `teams: []` for a Team admin of no team, on purpose).")
            continue
        if role is None or teams is None:
            continue
        people.append(Person(email=email, role=role, team_ids=teams.ids, line=item.line))
    return people


# ------------------------------------------------------------------------------------------- writing

# A scalar written bare, in YAML, when it reads back as the same text: letters, digits and the characters
# addresses and team names mostly have. Anything else is written in double quotes.
_BARE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@+'-]*")


def _quoted(text: str) -> str:
    """Double quotes, with the escapes YAML's double-quoted scalars and TOML's basic strings share."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char.isprintable() or char == " ":
            out.append(char)
        else:
            out.append(f"\\U{ord(char):08X}")
    return '"' + "".join(out) + '"'


_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"


def _yaml_text(text: str) -> str:
    # Bare only when YAML itself would read it as text: `no`, `null`, `1.5` and `2026-01-05` are quoted (this
    # parser reads every value as written, but other tools reading the file should not see a boolean).
    bare = _BARE.fullmatch(text) and not text.endswith(" ")
    if bare and _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _STR:  # type: ignore[no-untyped-call]
        return text
    return _quoted(text)


def _pattern_for(address: str) -> str:
    """An ignore pattern that matches exactly this address (fnmatch's own characters in brackets)."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in address)


@dataclass(frozen=True)
class _Entry:
    email: str
    role: str
    teams: list[str]  # as written: names, or ids where a name is not unique
    teams_written: bool
    note: str


def _entries(state: OrgState, notes: Mapping[str, str]) -> tuple[list[_Entry], list[_Entry], list[str]]:
    """Members, then pending invitations (each sorted by address), and the addresses to ignore: those the
    invite form would not accept (Junction holds them, but a file that lists them would not parse)."""
    by_name: dict[str, list[Team]] = {}
    for team in state.teams:
        by_name.setdefault(team.name.strip().casefold(), []).append(team)
    teams_by_id = {team.id: team for team in state.teams}

    def team_texts(ids: Sequence[str]) -> tuple[list[str], list[str]]:
        written, missing = [], []
        for team_id in sorted(set(ids), key=lambda i: (teams_by_id[i].name.strip().casefold(), i)
                              if i in teams_by_id else ("", i)):
            team = teams_by_id.get(team_id)
            if team is None:
                missing.append(team_id)
            elif len(by_name[team.name.strip().casefold()]) == 1 and team.name.strip():
                written.append(team.name.strip())
            else:
                written.append(team.id)
        return written, missing

    def entry(email: str, role: str, ids: Sequence[str], member: bool, note: str) -> _Entry:
        keep = role == "team_admin" or not member  # a member's teams count only for a Team admin
        written, missing = team_texts(ids if keep else ())
        if missing:
            note = "; ".join(filter(None, [note, f"left out teams the org does not list: {', '.join(missing)}"]))
        return _Entry(email.strip(), role, written, role == "team_admin" or bool(written), note)

    members: list[_Entry] = []
    invites: list[_Entry] = []
    ignored: list[str] = []
    seen: set[str] = set()
    for member in sorted(state.members, key=lambda m: m.email.strip().lower()):
        key = member.email.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        if _not_an_address(member.email):
            ignored.append(member.email.strip())
            continue
        since = f"member since {member.created_on:%Y-%m-%d}"
        about = ", ".join(filter(None, [member.name.strip(), since]))
        members.append(entry(member.email, member.role, member.team_ids, True,
                             "; ".join(filter(None, [about, notes.get(key, "")]))))
    for invite in sorted(state.invites, key=lambda i: i.email.strip().lower()):
        key = invite.email.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        if _not_an_address(invite.email):
            ignored.append(invite.email.strip())
            continue
        sent = f"pending since {invite.invited_at:%Y-%m-%d}"
        invites.append(entry(invite.email, invite.role, invite.team_ids, False,
                             "; ".join(filter(None, [sent, notes.get(key, "")]))))
    return members, invites, ignored


def render_access_file(state: OrgState, *, notes: Mapping[str, str] | None = None,
                       exported_at: datetime | None = None, toml: bool = False) -> str:
    """Today's org as an access file to start from: members, then pending invitations, each sorted by address,
    teams by name (by id where two teams share a name), `manage` written out (invites and members; removals
    off), each person commented with `notes` (by lower-case address: who invited them through this
    dashboard). It parses back with no problem, and a plan of it against the same org changes nothing."""
    members, invites, ignored = _entries(state, notes or {})
    when = f" on {exported_at:%Y-%m-%d %H:%M} UTC" if exported_at else ""
    name = "access.toml" if toml else "access.yaml"
    head = [
        "# Access as code: who should have which role and teams in the Junction org.",
        f"# Exported from Junction{when}: {_count(len(members), 'member')}, "
        f"{_count(len(invites), 'pending invitation')}.",
        f"# `invite access plan {name}` lists what would change; nothing changes until a plan is applied.",
        "# Roles: org_admin, team_admin, no_role. Teams by name (or by id). Addresses are compared without case.",
        "",
        "# What this file owns: pending invitations (invites) and members' roles and teams (members).",
        "# Add removals to remove members who are not in the file.",
    ]
    ignore_note = ["# Addresses the plan never touches, as patterns (* and ?): service accounts, say."]
    if ignored:
        ignore_note.append("# Listed here: addresses Junction holds that the invite form would not accept.")
    defaults_note = "# What an entry gets for a key it leaves out."
    if toml:
        return _toml(head, ignore_note, defaults_note, members, invites, ignored)
    lines = [*head, "manage: [invites, members]", "", *ignore_note]
    lines.append("ignore: []" if not ignored else "ignore:")
    lines += [f"  - {_yaml_text(_pattern_for(address))}" for address in ignored]
    lines += ["", defaults_note, "defaults:", "  role: no_role", "", "people:"]
    if not members and not invites:
        lines[-1] = "people: []"
    for title, entries in (("Members", members), ("Pending invitations", invites)):
        if entries:
            lines.append(f"  # {title} ({len(entries)})")
        for person in entries:
            note = f"  # {_one_line(person.note)}" if person.note else ""
            lines.append(f"  - email: {_yaml_text(person.email)}{note}")
            lines.append(f"    role: {person.role}")
            if person.teams_written:
                lines.append(f"    teams: [{', '.join(_yaml_text(t) for t in person.teams)}]")
    return "\n".join(lines) + "\n"


def _toml(head: list[str], ignore_note: list[str], defaults_note: str, members: list[_Entry],
          invites: list[_Entry], ignored: list[str]) -> str:
    lines = [*head, 'manage = ["invites", "members"]', "", *ignore_note]
    lines.append(f"ignore = [{', '.join(_quoted(_pattern_for(address)) for address in ignored)}]")
    if not members and not invites:  # a `people` key all the same (a file without one is refused), above tables
        lines += ["", "people = []"]
    lines += ["", defaults_note, "[defaults]", 'role = "no_role"']
    for title, entries in (("Members", members), ("Pending invitations", invites)):
        if entries:
            lines += ["", f"# {title} ({len(entries)})"]
        for person in entries:
            note = f"  # {_one_line(person.note)}" if person.note else ""
            lines += ["", f"[[people]]{note}", f"email = {_quoted(person.email)}", f'role = "{person.role}"']
            if person.teams_written:
                lines.append(f"teams = [{', '.join(_quoted(t) for t in person.teams)}]")
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
