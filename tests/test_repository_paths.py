"""The code, the scripts and the tests refer only to files inside the repository, so a fresh clone runs as is.

A path that climbs out of the checkout (`../shared/...`, `Path(__file__).parents[2]` from tests/) works
only where the neighbouring directories happen to exist; issue 22 found `bin/test` failing before running
anything in a fresh clone because three tests read Junction's OpenAPI document from `../shared/junction/`.
Prose (README, docs) may mention such places; code may not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED_DIRS = ("invite", "bench", "bin", "tests")
SCANNED_TOP_LEVEL = ("app.py", "gunicorn.conf.py", "Procfile", "pyproject.toml", "requirements.txt",
                     "requirements-dev.txt")
# Prose and the copied reference material: they describe places, nothing reads them as paths.
UNSCANNED_SUFFIXES = {".md", ".json", ".pyc"}

# Path(__file__)[.resolve()|.absolute()] followed by .parent / .parents[N] steps.
FILE_RELATIVE = re.compile(
    r"Path\(__file__\)(?:\.(?:resolve|absolute)\(\))?(?P<steps>(?:\.parent(?!s)|\.parents\[\d+\])+)")
# A shell script's own directory, $(dirname "$0") or $(dirname "${BASH_SOURCE[0]}"), then /.. steps.
SCRIPT_RELATIVE = re.compile(r"\$\(dirname \"\$(?:0|\{BASH_SOURCE\[0\]\})\"\)(?P<steps>(?:/\.\.)+)(?![\w.])")
# Any other climbing step (a "../" inside a path): relative to the working directory, which the scripts
# set to the repository's root, so it always leaves the checkout.
CLIMBING = re.compile(r"(?<![\w.])\.\./")
# The team's reference directory beside the checkout, under any spelling.
REFERENCE_DIR = re.compile(r"\bshared/junction\b")


def levels_above_the_files_directory(steps: str) -> int:
    if steps.startswith("/"):  # after $(dirname "$0"), which is the directory already
        return steps.count("/..")
    # Path(__file__).parent (or .parents[0]) is the file's directory: one step fewer than the steps taken.
    taken = sum(int(n) + 1 for n in re.findall(r"\.parents\[(\d+)\]", steps)) + len(re.findall(r"\.parent(?!s)", steps))
    return taken - 1


def outside_references(relative_name: str, text: str) -> list[str]:
    """The places in one file's text that refer to a path outside the repository, as "line: excerpt"."""
    depth = len(Path(relative_name).parts) - 1  # directories between the root and the file
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        rest = line
        for anchored in (FILE_RELATIVE, SCRIPT_RELATIVE):
            for match in anchored.finditer(line):
                if levels_above_the_files_directory(match["steps"]) > depth:
                    found.append(f"{number}: {match[0]}")
            rest = anchored.sub("", rest)
        if CLIMBING.search(rest) or REFERENCE_DIR.search(rest):
            found.append(f"{number}: {line.strip()}")
    return found


def scanned_files() -> list[Path]:
    files = [ROOT / name for name in SCANNED_TOP_LEVEL if (ROOT / name).is_file()]
    for directory in SCANNED_DIRS:
        files += (path for path in sorted((ROOT / directory).rglob("*"))
                  if path.is_file() and path.suffix not in UNSCANNED_SUFFIXES and "__pycache__" not in path.parts)
    return [path for path in files if path != Path(__file__).resolve()]


def test_no_code_script_or_test_refers_to_a_path_outside_the_repository():
    files = scanned_files()
    assert any(path.name == "test" and path.parent.name == "bin" for path in files)  # the scan reaches scripts
    problems = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        name = path.relative_to(ROOT).as_posix()
        problems += (f"{name}:{where}" for where in outside_references(name, text))
    assert not problems, "paths outside the repository (copy what is needed into it instead):\n" + "\n".join(problems)


@pytest.mark.parametrize(("name", "line"), [
    ("tests/test_x.py", 'SPEC = Path(__file__).resolve().parents[1].parent / "shared" / "junction" / "a.json"'),
    ("tests/test_x.py", "SPEC = Path(__file__).parents[2] / 'other'"),
    ("tests/test_x.py", "SPEC = Path(__file__).parent.parent.parent / 'other'"),
    ("invite/x/y.py", "DATA = Path(__file__).resolve().parents[3]"),
    ("bin/test", 'cd "$(dirname "$0")/../.."'),
    ("bin/test", "python -m pytest --spec ../shared/junction/a.json"),
    ("bench/run.py", 'open("../fixtures/data.csv")'),
    ("bench/run.py", 'SPEC = "/srv/checkouts/shared/junction/org-management-openapi.json"'),
])
def test_a_path_climbing_out_of_the_repository_is_found(name, line):
    assert outside_references(name, line)


@pytest.mark.parametrize(("name", "line"), [
    ("tests/test_x.py", "SPEC = Path(__file__).resolve().parents[1] / 'tests' / 'junction'"),
    ("tests/test_x.py", "HERE = Path(__file__).resolve().parent / 'junction'"),
    ("invite/x/y.py", "ROOT = Path(__file__).parent.parent.parent"),
    ("bin/test", 'cd "$(dirname "$0")/.."'),
    ("invite/junction/client.py", 'if text in ("", ".", ".."):'),
    ("bench/run.py", 'w("   team list traversals (GET .../team calls / pages)")'),
])
def test_a_path_inside_the_repository_is_not_reported(name, line):
    assert not outside_references(name, line)
