"""The web process: the marketers' console (`/console`), its API (`/api/`) and the demo site.

Run by `dynchat run` (DYNCHAT_WEB_PORT, 8080 by default) or on its own:
`python -m bot.web.site`. Built from its arguments like rasa-sdk's
`endpoint.create_app`; `main` builds the process's services from the
environment. The console is static files and the API: nothing is built at
run time.
"""
from __future__ import annotations

import argparse
import logging
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

from bot.web import demo
from bot.web.console import api

if TYPE_CHECKING:
    from bot.app import Services

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "console" / "static"
STATIC_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml"}
CONSOLE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
}


def create_app(services: "Services", demo_site: Optional[Path] = None, bot_url: str = "",
               bundle: Optional[Path] = None) -> Sanic:
    app = Sanic(f"dynchat_web_{uuid.uuid4().hex[:8]}", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = 2 * 1024 * 1024
    app.ctx.services = services
    api_blueprint, _document = api.blueprint(services)
    app.blueprint(api_blueprint)

    @app.get("/_web/health")
    async def health(_request: Request) -> response.HTTPResponse:
        return response.json({"ok": True})

    @app.get("/console")
    async def console(_request: Request) -> response.HTTPResponse:
        return await response.file(str(STATIC / "index.html"), mime_type="text/html; charset=utf-8",
                                   headers={"Cache-Control": "no-store"})

    @app.get("/console/static/<name>")
    async def static(_request: Request, name: str) -> response.HTTPResponse:
        path = STATIC / name
        if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
            return response.text("not found", status=404)
        return await response.file(str(path), mime_type=STATIC_TYPES[path.suffix])

    @app.get("/console/<rest:path>")
    async def console_page(request: Request, rest: str) -> response.HTTPResponse:
        return response.redirect("/console")

    @app.on_request
    async def started(request: Request) -> None:
        request.ctx.started = time.perf_counter()

    @app.on_response
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

    app.error_handler.add(Exception, failed)
    if demo_site is not None and demo_site.is_dir() and bundle is not None:
        demo.add_routes(app, demo_site, bot_url, bundle)
    return app


def main() -> None:
    from bot.app import services as process_services

    parser = argparse.ArgumentParser(description="The console, its API and the demo site")
    parser.add_argument("--no-demo", action="store_true", help="serve the console only")
    args = parser.parse_args()
    services = process_services()
    settings = services.settings
    create_app(services, None if args.no_demo else settings.demo_site, settings.public_url,
               settings.widget_bundle).run(host=settings.host, port=settings.web_port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
