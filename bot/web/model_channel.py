"""Load a new model into the running Rasa server without stopping its event loop.

Rasa's own `PUT /model` loads the model on the server's event loop: every
visitor waits the five seconds or so that takes. This channel
(`PUT /webhooks/dynchat_model/load`, registered in credentials.yml) builds
the new agent on a thread, from the same endpoints the server was started
with, then swaps it in; the old agent answers until then, and the lock
store carries over, as in Rasa's handler. Only the publisher may call it:
a bearer token that `dynchat run` generates and hands to both processes
(DYNCHAT_INTERNAL_TOKEN); without one the route refuses everything.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

from rasa.core.agent import Agent, load_agent
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.utils import AvailableEndpoints
from sanic import Blueprint, response
from sanic.request import Request

from bot import app

logger = logging.getLogger(__name__)


def _load(model: Path, endpoints_file: Path) -> Agent:
    """A new agent with its own tracker store and generator (the running ones keep their domain)."""
    endpoints = AvailableEndpoints.read_endpoints(str(endpoints_file))
    return asyncio.run(load_agent(model_path=str(model), endpoints=endpoints))


class ModelInput(InputChannel):
    """Not a chat channel: the publisher's way to put a model live."""

    @classmethod
    def name(cls) -> str:
        return "dynchat_model"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        routes = Blueprint("dynchat_model", __name__)

        @routes.put("/load")
        async def load(request: Request) -> response.HTTPResponse:
            settings = app.services().settings
            sent = (request.headers.get("authorization") or "").removeprefix("Bearer ").strip()
            if not settings.internal_token or not hmac.compare_digest(sent.encode(), settings.internal_token.encode()):
                return response.json({"error": "not allowed"}, status=403)
            body = request.json if request.body else None
            model = Path(str((body or {}).get("model_file") or "")) if isinstance(body, dict) else Path()
            if model.suffix != ".gz" or not model.is_file():
                return response.json({"error": "model_file must be a trained model on this machine"}, status=400)
            try:
                agent = await asyncio.get_running_loop().run_in_executor(
                    None, _load, model, settings.build / "endpoints.yml")
            except Exception as exc:  # the running agent stays
                logger.warning("loading %s failed: %s", model.name, exc)
                return response.json({"error": f"the model could not be loaded: {type(exc).__name__}"}, status=500)
            if not agent.is_ready():
                return response.json({"error": "the model could not be loaded"}, status=500)
            running = request.app.ctx.agent
            agent.lock_store = running.lock_store
            request.app.ctx.agent = agent
            logger.info("model %s is live", model.name)
            return response.json({"model": model.name, "model_id": agent.model_id})

        return routes
