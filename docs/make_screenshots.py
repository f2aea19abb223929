"""Regenerate the README screenshots, at a desktop's width and a phone's, against a realistic org.

    .venv/bin/python docs/make_screenshots.py [--out DIR]

Starts a sandbox with hundreds of teams and dozens of pending invitations with long addresses
(tests/browser_support.py's grow_org), the dashboard on loopback, drives Debian's Chromium
(/usr/bin/chromium) and writes, for each width (1280 and 390 px, full page):
screenshot-invite[-390].png (the form, a team admin with teams picked), screenshot-result[-390].png
(the page that follows), screenshot-invitations[-390].png (the support list), screenshot-members[-390].png,
screenshot-activity[-390].png, screenshot-bulk-preview[-390].png (50 mixed rows) and
screenshot-bulk-job[-390].png (a finished job with failures; a real worker process sends it); and, for
docs/pages.md rather than the README, access-plan[-390].png (/access: an uploaded file's plan).
Nothing reaches Junction and no browser is ever downloaded.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser_support import LONG_ADDRESSES, LiveServer, chromium, grow_org  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from invite.sandbox import SandboxServer  # noqa: E402
from tests.bulk_support import running_bulk  # noqa: E402

WIDTHS = (1280, 390)
EXTRA_TEAMS = 220
EMAIL = "jamie.rivera@acmehealth.com"
TEAM_FILTER = "cardio"
TEAMS_TO_PICK = 3


def _name(stem: str, width: int) -> str:
    return f"{stem}.png" if width == WIDTHS[0] else f"{stem}-{width}.png"


def mixed_list(sandbox: SandboxServer, width: int) -> str:
    """50 rows as a real list arrives: mostly ready, with typos in teams and roles, bad and repeated
    addresses, a member and a pending invitation."""
    with sandbox.state.lock:
        names = [team["name"] for team in sandbox.state.teams[:12]]
        member = sandbox.state.members[0]["email"]
        pending = sandbox.state.invites[0]["email"]
    rows = ["email,role,teams"]
    for i in range(50):
        base = LONG_ADDRESSES[i % len(LONG_ADDRESSES)].replace("@", f"+w{width}r{i}@")
        kind = i % 10
        if kind == 3:
            rows.append(f"{base},team_admin,Berln Clinic;Dublin Telehealth")
        elif kind == 5:
            rows.append(f"{base},admin,Cardio")
        elif kind == 7 and i < 20:
            rows.append(f"not-an-address-{i}@,no_role,")
        elif i == 9:
            rows.append(f"{member},team_admin,{names[1]}")
        elif i == 19:
            rows.append(f"{pending},no_role,")
        elif i == 29:
            rows.append(rows[2].upper())
        else:
            rows.append(f"{base},team_admin,{names[i % 12]};{names[(i + 1) % 12]}")
    return "\n".join(rows) + "\n"


def access_file(sandbox: SandboxServer) -> str:
    """The org as a reviewed file would have it: every pending invitation as it is, a promotion, a Team admin's
    teams changed, two new people with long addresses, two members left out (removals managed)."""
    with sandbox.state.lock:
        members = [dict(m) for m in sandbox.state.members]
        invites = [dict(i) for i in sandbox.state.invites]
        names = {t["id"]: t["name"] for t in sandbox.state.teams}
        extra = [t["name"] for t in sandbox.state.teams[16:]]
    lines = ["manage: [invites, members, removals]", "people:"]

    def person(email: str, role: str, teams: list[str]) -> None:
        lines.extend([f"  - email: {email}", f"    role: {role}"])
        if role == "team_admin":
            lines.append("    teams: [" + ", ".join(f'"{t}"' for t in teams) + "]")

    for i, entry in enumerate(members[2:] + invites):
        teams = [names[b["team_id"]] for b in entry["team_role_bindings"] or []]
        role = entry["role"]
        if i == 1:
            role, teams = "team_admin", extra[:14]
        elif i == 3 and role == "team_admin":
            teams = teams[1:] + extra[20:22]
        person(entry["email"], role, teams)
    for i, address in enumerate(LONG_ADDRESSES[:2]):
        person(address.replace("@", "+access@"), "team_admin", extra[30 + 5 * i:33 + 5 * i])
    return "\n".join(lines) + "\n"


def make_screenshots(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(port=0, page_size=10, extra_teams=EXTRA_TEAMS) as sandbox,
        running_bulk(sandbox, Path(tmp), JUNCTION_TIMEOUT_SECONDS="5") as (app, _client, _workers),
        chromium() as browser,
    ):
        server = LiveServer(app).start()
        grow_org(sandbox.state)
        job_url = None
        for width in WIDTHS:
            page = browser.new_page(viewport={"width": width, "height": 900 if width > 600 else 844})
            page.goto(server.url + "/")
            page.get_by_label("Email", exact=True).fill(EMAIL.replace("@", f"+{width}@"))
            page.get_by_label("Role", exact=True).select_option("team_admin")
            page.get_by_label("Filter teams").fill(TEAM_FILTER)
            for box in page.locator("#team-list li:visible input").all()[:TEAMS_TO_PICK]:
                box.check()
            page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring in the shot
            written.append(out / _name("screenshot-invite", width))
            page.screenshot(path=str(written[-1]), full_page=True)

            page.get_by_role("button", name="Send invitation").click()
            expect(page.get_by_role("heading", level=1)).to_contain_text("Invitation sent to", timeout=15_000)
            written.append(out / _name("screenshot-result", width))
            page.screenshot(path=str(written[-1]), full_page=True)

            for stem, path in (("invitations", "/invitations"), ("members", "/members"), ("activity", "/activity")):
                page.goto(server.url + path)
                page.evaluate("document.activeElement && document.activeElement.blur()")
                written.append(out / _name(f"screenshot-{stem}", width))
                page.screenshot(path=str(written[-1]), full_page=True)

            page.goto(server.url + "/bulk")
            page.get_by_role("textbox", name="Addresses").fill(mixed_list(sandbox, width))
            page.get_by_role("button", name="Preview").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Check the list before sending")
            written.append(out / _name("screenshot-bulk-preview", width))
            page.screenshot(path=str(written[-1]), full_page=True)

            if job_url is None:  # one job, shown at both widths (its failing addresses are held back after)
                page.goto(server.url + "/bulk")
                people = [f"new.hire.{i}@acmehealth.com" for i in range(8)]
                text = "email,role,teams\n" + "".join(f"{p},no_role,\n" for p in people)
                text += "status409@example.com,no_role,\nstatus500@example.com,no_role,\nbroken-address,,\n"
                page.get_by_role("textbox", name="Addresses").fill(text)
                page.get_by_role("button", name="Preview").click()
                page.get_by_role("button", name="Send 10 invitations").click()
                expect(page.get_by_role("heading", name="Progress: Done")).to_be_visible(timeout=60_000)
                job_url = page.url
            page.goto(job_url)
            written.append(out / _name("screenshot-bulk-job", width))
            page.screenshot(path=str(written[-1]), full_page=True)

            if width == WIDTHS[0]:
                (Path(tmp) / "access.yaml").write_text(access_file(sandbox))
            page.goto(server.url + "/access")
            page.get_by_label("Access file").set_input_files(str(Path(tmp) / "access.yaml"))
            page.get_by_role("button", name="Plan", exact=True).click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Plan for access.yaml")
            page.evaluate("document.activeElement && document.activeElement.blur()")
            written.append(out / _name("access-plan", width))
            page.screenshot(path=str(written[-1]), full_page=True)
            page.close()
        server.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="directory for the PNGs (default: docs/)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request lines
    for path in make_screenshots(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
