"""The action server: rasa-sdk's own app, answering only our Rasa server.

rasa-sdk takes any tracker from anyone; here `POST /webhook` needs the
token `dynchat run` shares with the Rasa server (endpoints.yml's
`action_endpoint.token`, which Rasa sends as `?token=`), and `/health`
stays open for the supervisor. No CORS: no browser ever calls it.

Run: python -m bot.web.action_server --port 5055
"""
from __future__ import annotations

import argparse
import hmac
from typing import Optional

from rasa_sdk import endpoint
from sanic import Sanic, response
from sanic.request import Request

from bot import app, logs

OPEN = ("/health",)


def create_app(token: Optional[str], actions: str = "actions") -> Sanic:
    server = endpoint.create_app(actions, cors_origins="")

    @server.middleware("request")
    async def only_our_rasa(request: Request) -> Optional[response.HTTPResponse]:
        if request.path in OPEN:
            return None
        sent = request.args.get("token") or ""
        if not token or not hmac.compare_digest(sent.encode(), token.encode()):
            return response.json({"error": "not allowed"}, status=403)
        return None

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description="The action server (rasa-sdk), for our Rasa server only")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logs.configure()
    settings = app.services().settings
    server = create_app(settings.internal_token)
    logs.mask_personal_data()  # Sanic's own loggers have their handlers now
    server.run(host=settings.host, port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
