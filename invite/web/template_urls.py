"""url_for for the templates, remembering the links it built: every page's layout asks for the same ones.

Building a link walks the URL map and quotes every part; on a result page the nine links were a quarter of
the render (bench/README.md, the cost section). A link depends on its endpoint and values, on where the app
is mounted (the proxy's prefix, request.script_root) and, for a relative endpoint, on the blueprint; that
is the key. External links (another host or scheme) and apps with URL-default callbacks are built afresh.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from invite.adapters.cache import Kept

_KEPT = 2048


def init_template_urls(app: Flask) -> None:
    built = Kept()
    url_for = app.url_for

    def template_url_for(endpoint: str, /, **values: Any) -> str:
        if values and ("_external" in values or "_scheme" in values) or any(app.url_default_functions.values()):
            return url_for(endpoint, **values)
        key: tuple = (endpoint, request.script_root)
        if endpoint.startswith("."):
            key += (request.blueprint,)
        try:
            if values:
                key += tuple(sorted(values.items()))
            url = built.get(key)
        except TypeError:  # a value that cannot be a key (a list): build it
            return url_for(endpoint, **values)
        if url is None:
            url = url_for(endpoint, **values)
            built.keep(key, url, _KEPT)
        return url

    app.jinja_env.globals["url_for"] = template_url_for
