"""Regenerate the README screenshots, at a desktop's width and a phone's, against a realistic org.

    .venv/bin/python docs/make_screenshots.py [--out DIR]

Starts a sandbox with hundreds of teams and dozens of pending invitations with long addresses
(tests/browser_support.py's grow_org), the dashboard on loopback, drives Debian's Chromium
(/usr/bin/chromium) and writes, for each width (1280 and 390 px, full page):
screenshot-invite[-390].png (the form, a team admin with teams picked), screenshot-result[-390].png
(the page that follows) and screenshot-invitations[-390].png (the support list).
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

from browser_support import chromium, grow_org, live_server  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from invite.sandbox import SandboxServer  # noqa: E402

WIDTHS = (1280, 390)
EXTRA_TEAMS = 220
EMAIL = "jamie.rivera@acmehealth.com"
TEAM_FILTER = "cardio"
TEAMS_TO_PICK = 3


def _name(stem: str, width: int) -> str:
    return f"{stem}.png" if width == WIDTHS[0] else f"{stem}-{width}.png"


def make_screenshots(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(port=0, page_size=10, extra_teams=EXTRA_TEAMS) as sandbox,
        live_server(sandbox, f"sqlite:///{Path(tmp) / 'invite.db'}", JUNCTION_TIMEOUT_SECONDS="5") as server,
        chromium() as browser,
    ):
        grow_org(sandbox.state)
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

            page.goto(server.url + "/invitations")
            page.evaluate("document.activeElement && document.activeElement.blur()")
            written.append(out / _name("screenshot-invitations", width))
            page.screenshot(path=str(written[-1]), full_page=True)
            page.close()
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
