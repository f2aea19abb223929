"""The documentation: README.md stays a short page for users, every relative link in it and in docs/ leads
somewhere real (the file, and the heading when the link names one), and the tables that restate code
(exit codes, scripted sandbox addresses, settings) say what the code says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from invite.cli import exits
from invite.sandbox import README_SNIPPET

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
LINKED_PAGES = [README, ROOT / "SECURITY.md", ROOT / "bench" / "README.md", *sorted(DOCS.glob("*.md"))]

_FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_MD_LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HTML_LINK = re.compile(r"\b(?:src|href)=\"([^\"]+)\"")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text a reader sees as prose: code blocks and code spans hold examples, not links."""
    return _INLINE_CODE.sub("", _FENCED.sub("", text))


def links(text: str) -> list[str]:
    body = prose(text)
    return _MD_LINK.findall(body) + _HTML_LINK.findall(body)


def anchors(path: Path) -> set[str]:
    """The fragment GitHub gives each heading: lower-cased, punctuation dropped, spaces as hyphens, and a
    repeated heading numbered from -1."""
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(_FENCED.sub("", path.read_text())):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def test_the_readme_is_a_short_page_for_users():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines; move reference material into docs/"


@pytest.mark.parametrize("page", LINKED_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading_that_exist(page: Path):
    broken = []
    for target in links(page.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: …: not ours to check here
            continue
        path_part, _, fragment = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no file {linked.relative_to(ROOT) if linked.is_relative_to(ROOT) else linked}")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target}: no heading #{fragment} in {linked.relative_to(ROOT)}")
    assert not broken, broken


def test_the_readme_links_the_screenshots_and_every_docs_page():
    targets = set(links(README.read_text()))
    screenshots = {f"docs/{p.name}" for p in DOCS.glob("screenshot-*.png")}
    pages = {f"docs/{p.name}" for p in DOCS.glob("*.md")}
    assert screenshots and screenshots <= targets, screenshots - targets
    assert pages and pages <= targets, pages - targets
    assert {"SECURITY.md", "bench/README.md"} <= targets


def _section(text: str, heading: str) -> str:
    assert f"\n{heading}\n" in text, f"no heading {heading!r}"
    start = text.index(f"\n{heading}\n")
    following = re.search(r"^#{1,6} ", text[start + len(heading) + 2:], re.MULTILINE)
    return text[start:start + len(heading) + 2 + following.start()] if following else text[start:]


def test_the_exit_code_table_lists_the_codes_the_command_line_uses():
    table = _section((DOCS / "command-line.md").read_text(), "## Exit codes")
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    used = {exits.DONE, exits.NOT_DONE, exits.USAGE, exits.UNKNOWN, exits.CONFIGURATION, exits.UNAVAILABLE}
    assert documented == used


def test_the_sandbox_page_lists_the_scripted_addresses_as_the_sandbox_describes_them():
    table = _section((DOCS / "sandbox.md").read_text(), "## Scripted recipient addresses")
    rows = lambda text: {line for line in text.splitlines() if line.startswith("| `")}  # noqa: E731
    assert rows(README_SNIPPET) and rows(table) == rows(README_SNIPPET)


def test_every_setting_in_the_example_environment_and_the_readme_is_in_the_configuration_reference():
    reference = (DOCS / "configuration.md").read_text()
    example = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    readme_table = _section(README.read_text(), "### The configuration a deployment must set")
    first_cells = re.findall(r"^\| ([^|]+) \|", readme_table, re.MULTILINE)
    in_readme = {name for cell in first_cells for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cell)}
    assert example and in_readme
    missing = sorted(name for name in example | in_readme if f"`{name}`" not in reference)
    assert not missing, missing
