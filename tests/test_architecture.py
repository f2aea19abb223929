"""The layers (docs/architecture.md), read from the imports themselves: no import circle, no import from a
lower layer back up, a core and a service layer that know nothing of Flask, Click or Huey, and no channel
leaning on another channel's modules. A module in a new folder fails here until it is placed in a layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from invite import ROOT

PACKAGE = ROOT / "invite"
# Lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS = {
    "rules": ("invite.version", "invite.paths", "invite.core", "invite.junction.models", "invite.junction.errors"),
    "adapters": ("invite.junction", "invite.adapters", "invite.config", "invite.sandbox", "invite.auth.settings",
                 "invite.auth.jwks", "invite.auth.repeated_headers", "invite.auth.peers", "invite.activity.queries",
                 "invite.activity.export", "invite.activity.postgres_csv", "invite.activity.chart",
                 "invite.activity.history", "invite.bulk.models",
                 "invite.bulk.parser", "invite.bulk.standing",
                 "invite.bulk.preview", "invite.bulk.sqlite_writes", "invite.support.paging", "invite.migrations"),
    "services": ("invite.services", "invite.bulk.jobs", "invite.bulk.drafts", "invite.bulk.progress"),
    "channels": ("invite.web", "invite.auth", "invite.invites", "invite.support", "invite.activity", "invite.bulk",
                 "invite.cli", "invite.members", "invite.reminder_pages", "invite.access_pages"),
    # What builds the app for a process: the factory, and the worker's and the command line's entry points.
    "app": ("invite", "invite.bulk.worker", "invite.cli.script", "invite.cli.__main__"),
}
ORDER = list(LAYERS)
# The channels, each by the prefixes that are its own: one channel may not import another's modules.
CHANNELS = {
    "web": ("invite.web", "invite.auth.hooks", "invite.auth.pages", "invite.auth.identity",
            "invite.auth.permissions", "invite.invites", "invite.support", "invite.activity.routes",
            "invite.activity.forms", "invite.bulk.routes", "invite.bulk.forms", "invite.members",
            "invite.reminder_pages", "invite.access_pages"),
    "cli": ("invite.cli",),
    "worker": ("invite.bulk.worker", "invite.bulk.tasks"),
}
# Known and allowed, each with its reason: nothing else may break a rule below.
FRAMEWORK_ALLOWED: set[tuple[str, str]] = set()
FRAMEWORKS = ("flask", "flask_wtf", "flask_sqlalchemy", "flask_migrate", "werkzeug", "click", "huey", "jinja2",
              "markupsafe")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(path): path for path in PACKAGE.rglob("*.py") if "versions" not in path.parts}


def _longest(name: str, prefixes) -> str | None:
    found = [p for p in prefixes if name == p or name.startswith(p + ".")]
    return max(found, key=len) if found else None


def layer_of(name: str) -> str:
    best = max(((layer, _longest(name, prefixes)) for layer, prefixes in LAYERS.items()),
               key=lambda item: len(item[1] or ""))
    return best[0]


def _type_checking_only(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(name: str) -> set[str]:
    """What `name` imports at run time (module level or inside functions; not under TYPE_CHECKING)."""
    tree = ast.parse(MODULES[name].read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


GRAPH = {name: {m for m in imports_of(name) if m in MODULES and m != name} for name in MODULES}


def test_every_module_has_a_layer():
    assert all(layer_of(name) for name in MODULES)


def test_no_import_circle():
    seen: dict[str, int] = {}
    stack: list[str] = []

    def walk(name: str) -> None:
        seen[name] = 1
        stack.append(name)
        for other in sorted(GRAPH[name]):
            if seen.get(other) == 1:
                circle = stack[stack.index(other):] + [other]
                pytest.fail("import circle: " + " -> ".join(circle))
            if other not in seen:
                walk(other)
        stack.pop()
        seen[name] = 2

    for name in sorted(GRAPH):
        if name not in seen:
            walk(name)


def test_no_import_from_a_lower_layer_back_up():
    upward = [f"{name} ({layer_of(name)}) -> {other} ({layer_of(other)})"
              for name, others in GRAPH.items() for other in others
              if ORDER.index(layer_of(other)) > ORDER.index(layer_of(name))]
    assert upward == []


@pytest.mark.parametrize("layer", ["rules", "services"])
def test_the_core_and_the_services_know_no_web_framework_command_line_or_queue(layer):
    leaks = [f"{name} imports {module}" for name in MODULES if layer_of(name) == layer
             for module in imports_of(name) if module.split(".")[0] in FRAMEWORKS
             and (name, module.split(".")[0]) not in FRAMEWORK_ALLOWED]
    assert leaks == []


def test_no_channel_imports_another_channels_modules():
    def channel_of(name: str) -> str | None:
        if name == "invite.auth":  # the package: its __init__ installs the sign-in hooks
            return "web"
        owner = max(((channel, _longest(name, prefixes)) for channel, prefixes in CHANNELS.items()),
                    key=lambda item: len(item[1] or ""))
        return owner[0] if owner[1] else None

    crossings = [f"{name} -> {other}" for name, others in GRAPH.items() for other in others
                 if channel_of(name) and channel_of(other) and channel_of(name) != channel_of(other)]
    assert crossings == []


# The services that take a unit of work (docs/architecture.md) reach the database through it alone: never through
# Flask-SQLAlchemy's db, nor by picking Flask's unit of work themselves (that is the channel's choice).
THROUGH_A_UNIT_OF_WORK = ("invite.services.actions", "invite.services.reminders", "invite.services.access_changes",
                          "invite.services.access_apply", "invite.services.org_snapshot", "invite.bulk.jobs")
FLASKS_DATABASE = {"db", "FLASK", "FlaskUnitOfWork"}


@pytest.mark.parametrize("name", THROUGH_A_UNIT_OF_WORK)
def test_the_services_given_a_unit_of_work_never_reach_for_flasks_database(name):
    tree = ast.parse(MODULES[name].read_text())
    taken = [f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             for alias in node.names if alias.name in FLASKS_DATABASE]
    used = sorted({node.value.id for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                   and isinstance(node.value, ast.Name) and node.value.id in FLASKS_DATABASE
                   and node.attr in ("session", "engine")})
    assert (taken, used) == ([], [])
