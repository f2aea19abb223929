"""The header every page shares, rendered once per person, section and mount point, not on every page.

The header (the org's name, who is signed in, the navigation with the current section marked) comes out the
same on every page one person sees in one section, and rendering it was a good part of a small page's
template time (bench/README.md, the cost section). templates/_site_header.html is rendered with only what
the key holds, so a kept copy cannot show anything another key would not.
"""

from __future__ import annotations

from flask import Flask, g, request
from markupsafe import Markup

from invite.adapters.cache import Kept
from invite.auth import can

_KEPT = 1024


def init_layout(app: Flask) -> None:
    kept = Kept()

    @app.template_global()
    def site_header(section: str, org_name: str | None) -> Markup:
        identity = g.get("identity")
        role = identity.role if identity else None
        key = (section, org_name, identity.email if identity else None, role, request.script_root)
        header = kept.get(key)
        if header is None:
            template = app.jinja_env.get_template("_site_header.html")  # autoescaped, as every .html
            header = Markup(template.render(  # noqa: S704 - the template's own output, already escaped
                section=section, org_name=org_name, identity=identity, can=can))
            kept.keep(key, header, _KEPT)
        return header
