"""The demo site: a small sample website with the widget installed, for `make run` and the browser tests.

Served by the web process (`bot/web/site.py`) beside the console. Pages come from `demo/` (`/pricing` is `demo/pricing.html`, `/sv/` is
`demo/sv/index.html`); `{{BOT}}` in a page becomes the bot's address, where
the widget and its chat live. `/widget.js` is served here too, as a site
that hosts the script itself would.
"""
from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Optional

from sanic import Sanic, response
from sanic.request import Request

_PART = re.compile(r"^[a-z0-9_-]{1,40}$")


def page_for(site: Path, path: str) -> Optional[Path]:
    """The page file for a URL path, or None (only plain names: no way out of the site's folder)."""
    parts = [part for part in path.strip("/").split("/") if part]
    if not all(_PART.match(part) for part in parts):
        return None
    for candidate in ([site.joinpath(*parts).with_suffix(".html")] if parts else []) + [site.joinpath(*parts, "index.html")]:
        if candidate.is_file():
            return candidate
    return None


def add_routes(app: Sanic, site: Path, bot_url: str, bundle: Path) -> None:
    """The demo site's pages, its stylesheet and the widget's script on `app`."""
    bot = html.escape(bot_url.rstrip("/"), quote=True)

    @app.get("/widget.js")
    async def widget(_request: Request) -> response.HTTPResponse:
        if not bundle.is_file():
            return response.text("the widget is not built (make builds it from widget/src)", status=404)
        return await response.file(str(bundle), mime_type="application/javascript; charset=utf-8")

    @app.get("/page.css")
    async def css(_request: Request) -> response.HTTPResponse:
        return await response.file(str(site / "page.css"), mime_type="text/css; charset=utf-8")

    def render(path: str) -> response.HTTPResponse:
        found = page_for(site, path)
        if found is None:
            return response.text("not found", status=404)
        return response.html(found.read_text(encoding="utf-8").replace("{{BOT}}", bot))

    @app.get("/<path:path>")
    async def page(_request: Request, path: str) -> response.HTTPResponse:
        return render(path)

    @app.get("/")
    async def home(_request: Request) -> response.HTTPResponse:
        return render("")
