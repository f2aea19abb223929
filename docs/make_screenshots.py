"""Regenerate the README screenshots: the filled-in invite form and the page that follows it.

    .venv/bin/python docs/make_screenshots.py [--out DIR]

Starts a sandbox and the dashboard on loopback (tests/browser_support.py), drives Debian's Chromium
(/usr/bin/chromium) and writes screenshot-invite.png and screenshot-result.png, 1280 px wide, full page.
Nothing reaches Junction and no browser is ever downloaded.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser_support import chromium, live_server  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from invite.sandbox import SandboxServer  # noqa: E402

WIDTH = 1280
EMAIL = "jamie.rivera@acmehealth.com"
TEAMS = ("Cardiology", "Remote Patient Monitoring")


def make_screenshots(out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    invite_png, result_png = out / "screenshot-invite.png", out / "screenshot-result.png"
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxServer(port=0) as sandbox,
        live_server(sandbox, f"sqlite:///{Path(tmp) / 'invite.db'}", JUNCTION_TIMEOUT_SECONDS="5") as server,
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": WIDTH, "height": 800})
        page.goto(server.url + "/")
        page.get_by_label("Email", exact=True).fill(EMAIL)
        page.get_by_label("Role", exact=True).select_option("team_admin")
        for name in TEAMS:
            page.get_by_role("checkbox", name=re.compile(rf"^{re.escape(name)} (US|EU)$")).check()
        page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring in the shot
        page.screenshot(path=str(invite_png), full_page=True)

        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Invitation sent to {EMAIL}", timeout=15_000)
        page.screenshot(path=str(result_png), full_page=True)
    return invite_png, result_png


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
