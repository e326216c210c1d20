"""HAProxy (from Debian) in front of several Rasa servers and several action servers, as `dynchat run` starts them.

The public port (DYNCHAT_RASA_PORT) takes the chat channels, the widget and
Rasa's API and spreads them round robin over the Rasa servers, which share
the tracker store (PostgreSQL) and Rasa's lock store (Redis), so any server
can take any message of any visitor. The widget chats over a websocket
(one long connection), so no stickiness is needed. The action port spreads
the Rasa servers' action calls the same way. A server that fails its health
check (2 s apart, out after 3 failures or 10 s without an answer) gets no traffic until it answers again,
and a request that a dead server refuses, or drops without an answer, is tried
on another (`option redispatch`, `retry-on conn-failure empty-response`). Only the
chat's paths are routed for other machines; Rasa's HTTP API (behind its token
anyway) answers only this one. Each answer says which server gave it
(`X-Dynchat-Server`), for the tests and for debugging.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

from bot.config import Settings


def _backend(name: str, ports: List[int], health: str, at_once: int) -> List[str]:
    """Round robin over the servers; each takes `at_once` requests, the rest wait in HAProxy's queue (a server
    given hundreds at once answers none of them in time, its health check included)."""
    return [f"backend {name}", "    balance roundrobin", f"    option httpchk GET {health}",
            "    http-response set-header X-Dynchat-Server %[srv_name]"] + [
        f"    server {name}{index} 127.0.0.1:{port} check inter 2s fall 3 rise 1 maxconn {at_once}"
        for index, port in enumerate(ports, start=1)]


def haproxy_config(settings: Settings) -> str:
    lines = [
        "# written by dynchat run (bot/web/loadbalancer.py); changes here are overwritten",
        "global", "    maxconn 4000",
        "defaults", "    mode http", "    timeout connect 5s", "    timeout client 120s",
        "    timeout server 330s", "    timeout tunnel 1h", "    timeout http-keep-alive 10s",
        "    timeout check 10s", "    timeout queue 60s",  # a server busy with visitors is slow, not dead: only a dead one leaves the pool
        "    option redispatch", "    retries 3", "    option http-buffer-request",
        "    retry-on conn-failure empty-response",
        "frontend chat", f"    bind {settings.host}:{settings.rasa_port}",
        # only the chat is public: Rasa's API (conversations, models, status) answers this machine alone
        "    acl public path_beg /webhooks/rest/ /socket.io/ /widget.js /widget/ /webhooks/calendar/",
        "    acl health path /", "    acl this_machine src 127.0.0.1 ::1",
        "    http-request deny deny_status 403 if !public !health !this_machine",
        "    default_backend rasa",
        "frontend actions", f"    bind 127.0.0.1:{settings.action_port}", "    default_backend actions",
    ]
    lines += _backend("rasa", settings.rasa_ports(), "/", at_once=16)
    lines += _backend("actions", settings.action_ports(), "/health", at_once=settings.action_threads)
    return "\n".join(lines) + "\n"


def write_config(settings: Settings) -> Path:
    path = settings.build / "haproxy.cfg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(haproxy_config(settings), encoding="utf-8")
    return path
