"""The web process: the marketers' console (`/console`), its API (`/api/`) and the demo site.

Run by `dynchat run` (DYNCHAT_WEB_PORT, 8080 by default) or on its own:
`python -m bot.web.site`. Built from its arguments like rasa-sdk's
`endpoint.create_app`; `main` builds the process's services from the
environment. The console is static files and the API: nothing is built at
run time.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Optional

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from bot import app, logs
from bot.services.widget import AVATAR_MIME, appearance_from, avatar_file
from bot.web import demo
from bot.web.console import api

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "console" / "static"
STATIC_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml"}
CONSOLE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
}


PREVIEW_MESSAGES = [
    {"from": "bot", "text": "Hi there! Looking at our plans?"},
    {"from": "bot", "text": "How large is your team?", "buttons": [{"title": "1-50", "payload": "/a"},
                                                                   {"title": "51-1000", "payload": "/b"}]},
]
PREVIEW_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Widget preview</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script type="application/json" id="dynamic-chat-preview">{{DATA}}</script></head>
<body style="margin:0;background:#f1f3f4"><script src="/console/widget.js" async></script></body></html>"""
# the widget styles its shadow root with <style> elements and shows avatars from https URLs
PREVIEW_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
                  "font-src 'self' https:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def create_app(services: app.Services, demo_site: Optional[Path] = None, bot_url: str = "",
               bundle: Optional[Path] = None) -> Sanic:
    web = Sanic(f"dynchat_web_{uuid.uuid4().hex[:8]}", configure_logging=False)
    web.config.REQUEST_MAX_SIZE = 2 * 1024 * 1024
    web.ctx.services = services
    api_blueprint, _document = api.blueprint(services)
    web.blueprint(api_blueprint)

    @web.get("/_web/health")
    async def health(_request: Request) -> response.HTTPResponse:
        return response.json({"ok": True})

    @web.get("/console")
    async def console(_request: Request) -> response.HTTPResponse:
        return await response.file(str(STATIC / "index.html"), mime_type="text/html; charset=utf-8",
                                   headers={"Cache-Control": "no-store"})

    @web.get("/console/static/<name>")
    async def static(_request: Request, name: str) -> response.HTTPResponse:
        path = STATIC / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            return response.text("not found", status=404)
        return await response.file(str(path), mime_type=STATIC_TYPES[path.suffix])

    @web.get("/console/widget.js")
    async def preview_bundle(_request: Request) -> response.HTTPResponse:
        if not services.settings.widget_bundle.is_file():
            return response.text("the widget is not built (make builds it from widget/src)", status=404)
        return await response.file(str(services.settings.widget_bundle), mime_type="application/javascript; charset=utf-8")

    @web.get("/widget/avatar/<name>")  # the preview shows an uploaded avatar from here
    async def avatar(_request: Request, name: str) -> response.HTTPResponse:
        found = avatar_file(services.settings.avatars, name)
        if found is None:
            return response.text("not found", status=404)
        return await response.file(str(found), mime_type=AVATAR_MIME[found.suffix],
                                   headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"})

    @web.get("/console/preview")
    async def preview(request: Request) -> response.HTTPResponse:
        """The real widget, open, with the settings the Configuration form holds (not yet saved): no network."""
        try:
            asked = json.loads(request.args.get("settings") or "{}")
        except ValueError:
            asked = {}
        appearance, _problems = appearance_from(asked if isinstance(asked, dict) else {})
        data = {"config": (appearance or services.appearance.current()).to_json(), "messages": PREVIEW_MESSAGES}
        page = PREVIEW_PAGE.replace("{{DATA}}", json.dumps(data).replace("<", "\\u003c"))
        return response.html(page, headers={"Content-Security-Policy": PREVIEW_POLICY, "X-Frame-Options": "SAMEORIGIN",
                                            "Cache-Control": "no-store"})

    @web.get("/console/<rest:path>")
    async def console_page(request: Request, rest: str) -> response.HTTPResponse:
        return response.redirect("/console")

    @web.on_request
    async def started(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    @web.on_response
    async def headers(request: Request, answer: response.HTTPResponse) -> None:
        if request.path.startswith(("/console", "/api/")):
            for name, value in CONSOLE_HEADERS.items():
                answer.headers.setdefault(name, value)
            began = getattr(request.ctx, "started", None)
            if began is not None:  # the server's own time, as browsers' developer tools show it
                answer.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - began) * 1000:.1f}"

    def failed(request: Request, exc: Exception) -> response.HTTPResponse:
        status = exc.status_code if isinstance(exc, SanicException) else 500
        if status >= 500:
            logger.error("%s %s failed: %s", request.method, request.path, type(exc).__name__, exc_info=exc)
        message = {404: "not found", 405: "method not allowed", 413: "the request is too large"}.get(
            status, "bad request" if status < 500 else "internal error (it is in the server's log)")
        if request.path.startswith("/api/") or status >= 500:
            return response.json({"error": message}, status=status)
        return response.text(message, status=status)

    web.error_handler.add(Exception, failed)
    if demo_site is not None and demo_site.is_dir() and bundle is not None:
        demo.add_routes(web, demo_site, bot_url, bundle)
    return web


def main() -> None:
    parser = argparse.ArgumentParser(description="The console, its API and the demo site")
    parser.add_argument("--no-demo", action="store_true", help="serve the console only")
    args = parser.parse_args()
    logs.configure()
    services = app.services()
    settings = services.settings
    server = create_app(services, None if args.no_demo else settings.demo_site, settings.public_url,
                        settings.widget_bundle)
    logs.mask_personal_data()  # Sanic's own loggers have their handlers now
    server.run(host=settings.host, port=settings.web_port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
