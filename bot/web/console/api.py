"""The console's JSON API under `/api/`: everything the console shows and does, behind a login.

Every route declares the permission it needs (`bot.core.roles`); the guard
checks the session cookie, the role, and for anything that changes state
the CSRF token (`X-CSRF-Token`, the value `POST /api/session` returned) and
the request's `Origin`. Database and file work runs on the services'
threads. Bad input is answered 4xx with `{"error": ...}`; nothing a caller
sends produces a 500. The OpenAPI document is built from these same
declarations (`GET /api/openapi.json`).
"""
from __future__ import annotations

import csv
import dataclasses
import datetime
import functools
import hmac
import io
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from sanic import Blueprint, response
from sanic.request import Request

from bot.core import roles
from bot.core.analytics import KINDS, Report, csv_rows
from bot.core.appearance import Appearance
from bot.core.meetings import ACTIVE, MeetingStatus
from bot.core.transcript import transcript
from bot.dialogues import preview
from bot.dialogues.loader import parse_dialogue
from bot.services import meetings as meeting_service
from bot.services.accounts import AccountError
from bot.services.charts import analytics_chart
from bot.services.dialogue_admin import problem_json, write_atomically
from bot.services.integrations import marketo_view, test_connection
from bot.services.widget import (
    AVATAR_TYPES,
    appearance_from,
    appearance_yaml,
    clean_domains,
    store_avatar,
)
from bot.store.switches import CHAT_ENABLED
from bot.web.console.openapi import (
    BOOLEAN,
    INTEGER,
    NUMBER,
    STRING,
    Document,
    Param,
    array,
    nullable,
    obj,
)

if TYPE_CHECKING:
    from bot.app import Services
    from bot.core.meetings import Meeting
    from bot.store.users import Session

logger = logging.getLogger(__name__)
APPEARANCE_FIELDS = [f.name for f in dataclasses.fields(Appearance)]
COOKIE = "dc_console"
CSRF_HEADER = "X-CSRF-Token"
MAX_BODY = 512 * 1024
SAFE = ("GET", "HEAD", "OPTIONS")
ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIRST_DAY, LAST_DAY = datetime.date(1970, 1, 1), datetime.date(2999, 12, 31)

Handler = Callable[..., Awaitable[response.HTTPResponse]]


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error(status: int, message: str) -> response.HTTPResponse:
    return response.json({"error": message}, status=status, headers={"Cache-Control": "no-store"})


def refused_file(problems: List[Dict[str, Any]]) -> response.HTTPResponse:
    """409: the file was not written; the error says how many problems, `problems` where they are."""
    first = problems[0] if problems else None
    summary = f"not saved: {len(problems)} problem(s), the first at line {first['line']}: {first['message']}" if first \
        else "not saved"
    return response.json({"error": summary, "valid": False, "problems": problems}, status=409,
                         headers={"Cache-Control": "no-store"})


def reply(data: Any, status: int = 200) -> response.HTTPResponse:
    return response.json(data, status=status, headers={"Cache-Control": "no-store"},
                         dumps=functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":")))


# --- reading requests ------------------------------------------------------------

def body(request: Request) -> Dict[str, Any]:
    """The JSON object a call sent, or ApiError 4xx saying what is wrong with it."""
    if len(request.body or b"") > MAX_BODY:
        raise ApiError(413, f"the body is larger than {MAX_BODY // 1024} kB")
    if not (request.content_type or "").startswith("application/json"):
        raise ApiError(415, "send JSON (Content-Type: application/json)")
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body is a JSON object")
    return data


def field(data: Dict[str, Any], name: str, kind: type, required: bool = True, limit: int = 10_000) -> Any:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ApiError(400, f"'{name}' is a {kind.__name__}")
    if isinstance(value, str) and len(value) > limit:
        raise ApiError(400, f"'{name}' has at most {limit} characters")
    return value


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?\d{1,12}", raw):
        raise ApiError(400, f"'{name}' is a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, f"'{name}' is from {low} to {high}")
    return value


def query_text(request: Request, name: str, pattern: "re.Pattern[str]" = ID) -> Optional[str]:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not pattern.match(raw):
        raise ApiError(400, f"'{name}' is not valid")
    return raw


def query_day(request: Request, name: str, default: datetime.date) -> datetime.date:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        if not DATE.match(raw):
            raise ValueError(raw)
        day = datetime.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"'{name}' is a date like 2026-11-30") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ApiError(400, f"'{name}' is between {FIRST_DAY} and {LAST_DAY}")
    return day


def date_range(request: Request) -> Tuple[str, str]:
    today = datetime.datetime.now(datetime.timezone.utc).date()
    end = query_day(request, "to", today)
    start = query_day(request, "from", end - datetime.timedelta(days=29))
    if start > end:
        raise ApiError(400, "'from' is after 'to'")
    if (end - start).days > 3660:
        raise ApiError(400, "a range is at most ten years")
    return start.isoformat(), end.isoformat()


def path_id(value: str) -> str:
    if not ID.match(value or ""):
        raise ApiError(404, "no such thing")
    return value


# --- the guard --------------------------------------------------------------------

def same_origin(request: Request) -> bool:
    """A browser's Origin (sent on every cross-site POST) must be this host; clients without one pass."""
    origin = request.headers.get("origin")
    if not origin:
        return True
    return urlsplit(origin).netloc.lower() == (request.headers.get("host") or "").lower()


def cookie(request: Request, name: str) -> Optional[str]:
    """A cookie's value from the Cookie header; a malformed header (which sanic's parser raises on) is no cookie."""
    for part in (request.headers.get("cookie") or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip('"') or None
    return None


async def current_session(request: Request) -> Optional["Session"]:
    services: "Services" = request.app.ctx.services
    token = cookie(request, COOKIE)
    if not token:
        return None
    return await services.run_blocking(services.accounts.session, token)


class Routes:
    """Declares routes on a blueprint and in the OpenAPI document at once."""

    def __init__(self, blueprint: Blueprint, document: Document) -> None:
        self.blueprint, self.document = blueprint, document
        self.prefix = blueprint.url_prefix or ""

    def __call__(self, method: str, path: str, summary: str, permission: Optional[str] = roles.READ,
                 params: Sequence[Param] = (), body: Optional[Dict[str, Any]] = None,
                 answer: Optional[Dict[str, Any]] = None, content: str = "application/json", status: int = 200,
                 errors: Sequence[int] = (), raw_body: Sequence[str] = ()) -> Callable[[Handler], Handler]:
        codes = sorted(set(errors) | ({401, 403} if permission else set()) | ({400} if params or body or raw_body else set())
                       | ({415, 413} if body or raw_body else set()) | ({404} if "{" in path else set()))

        def register(handler: Handler) -> Handler:
            async def guarded(request: Request, **parts: str) -> response.HTTPResponse:
                try:
                    session = None
                    if permission is not None:
                        session = await current_session(request)
                        if session is None:
                            return error(401, "log in first")
                        if request.method not in SAFE:
                            sent = request.headers.get(CSRF_HEADER.lower()) or ""
                            if not same_origin(request) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                                return error(403, "the CSRF token is missing or wrong: reload the console")
                        if not roles.allowed(session.user.role, permission):
                            return error(403, f"a {session.user.role} may not do this")
                    elif request.method not in SAFE and not same_origin(request):
                        return error(403, "cross-site requests are refused")
                    return await handler(request, session, **parts)
                except ApiError as exc:
                    return error(exc.status, exc.message)

            guarded.__name__ = handler.__name__
            self.blueprint.add_route(guarded, re.sub(r"\{(\w+)\}", r"<\1>", path), methods=[method],
                                     name=f"{handler.__name__}_{method.lower()}")
            self.document.add(method, self.prefix + path, summary, permission, params, body, answer, content, status,
                              list(codes), raw_body)
            return handler

        return register


# --- what the answers look like ------------------------------------------------------

USER = obj({"email": STRING, "name": STRING, "role": {"type": "string", "enum": list(roles.ROLES)}, "active": BOOLEAN},
           ["email", "name", "role", "active"])
SESSION = obj({"user": USER, "csrf": STRING, "permissions": array(STRING)}, ["user", "csrf", "permissions"])
PROBLEM = obj({"file": STRING, "line": INTEGER, "column": INTEGER, "message": STRING}, ["file", "line", "column", "message"])
DIALOGUE_ROW = obj({"id": STRING, "name": STRING, "priority": nullable(INTEGER), "locale": nullable(STRING),
                    "locales": array(STRING), "status": {"type": "string", "enum": ["published", "draft", "paused", "invalid"]},
                    "file": STRING, "changed_at": NUMBER, "problems": INTEGER},
                   ["id", "status", "file", "problems"])
DIALOGUES = obj({"dialogues": array(DIALOGUE_ROW), "chat_enabled": BOOLEAN}, ["dialogues", "chat_enabled"])
DIALOGUE = obj({"id": STRING, "file": STRING, "source": STRING, "status": STRING, "problems": array(PROBLEM),
                "graph": nullable(STRING)}, ["id", "file", "source", "status", "problems"])
VALIDATION = obj({"valid": BOOLEAN, "id": nullable(STRING), "problems": array(PROBLEM)}, ["valid", "problems"])
MEETING = obj({"id": STRING, "agent": STRING, "visitor": nullable(STRING), "lead_id": nullable(INTEGER),
               "start": NUMBER, "end": NUMBER, "status": STRING, "calendar": STRING, "reason": STRING,
               "pool": nullable(STRING), "dialogue": nullable(STRING), "conversation": nullable(STRING),
               "join_url": nullable(STRING)}, ["id", "agent", "start", "end", "status"])
HISTORY = array(obj({"at": NUMBER, "status": STRING, "note": STRING}, ["at", "status", "note"]))
MEETING_PAGE = obj({"total": INTEGER, "meetings": array(MEETING)}, ["total", "meetings"])
COUNTS = obj({**{kind: INTEGER for kind in KINDS}, "engagement_rate": nullable(NUMBER),
              "conversion_rate": nullable(NUMBER)}, list(KINDS))
REPORT = obj({"start": STRING, "end": STRING, "total": COUNTS, "dialogues": {"type": "object", "additionalProperties": COUNTS},
              "days": array(COUNTS), "goals": {"type": "object", "additionalProperties": INTEGER}},
             ["start", "end", "total", "dialogues", "days", "goals"])
LINE = obj({"from": STRING, "text": STRING, "at": nullable(NUMBER)}, ["from", "text"])
REQUEST = obj({"id": STRING, "at": NUMBER, "conversation": STRING, "dialogue": STRING, "page": nullable(STRING),
               "lead_id": nullable(INTEGER), "email": nullable(STRING), "transcript": array(LINE), "status": STRING,
               "handled_by": nullable(STRING), "handled_at": nullable(NUMBER)}, ["id", "at", "status", "transcript"])
REQUESTS = obj({"open": INTEGER, "requests": array(REQUEST)}, ["open", "requests"])
CONVERSATION = obj({"id": STRING, "started_at": NUMBER, "last_at": NUMBER, "messages": INTEGER,
                    "dialogue": nullable(STRING), "page": nullable(STRING), "lead_id": nullable(INTEGER),
                    "email": nullable(STRING), "known": BOOLEAN}, ["id", "started_at", "last_at", "messages", "known"])
ROUTING = obj({"pools": array(obj({"pool": STRING, "label": STRING, "order": array(STRING), "last": nullable(STRING),
                                   "next": STRING, "credits": {"type": "object", "additionalProperties": INTEGER}},
                                  ["pool", "order", "next"])),
               "agents": array(obj({"email": STRING, "name": STRING, "active": BOOLEAN, "calendar": STRING,
                                    "teams": array(STRING), "meetings": INTEGER}, ["email", "meetings"])),
               "rules": INTEGER, "accounts": INTEGER,
               "rule_list": array(obj({"if": STRING, "to": STRING}, ["if", "to"])),
               "account_list": array(obj({"account": STRING, "agent": STRING}, ["account", "agent"])),
               "recent": array(obj({"at": NUMBER, "meeting": STRING, "status": STRING, "reason": STRING},
                                   ["at", "meeting", "status", "reason"]))},
              ["pools", "agents", "recent"])
BADGES = obj({"requests": INTEGER}, ["requests"])


def meeting_json(meeting: "Meeting") -> Dict[str, Any]:
    return {"id": meeting.id, "agent": meeting.agent_email, "visitor": meeting.lead_email, "lead_id": meeting.lead_id,
            "start": meeting.start_at, "end": meeting.end_at, "status": meeting.status, "calendar": meeting.calendar,
            "reason": meeting.reason, "pool": meeting.pool, "dialogue": meeting.dialogue,
            "conversation": meeting.conversation, "join_url": meeting.join_url}


def csv_text(rows: List[List[Any]]) -> str:
    """CSV whose cells cannot start a spreadsheet formula (=, +, -, @ get a leading apostrophe)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([f"'{cell}" if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
                         for cell in row])
    return out.getvalue()


def csv_reply(text: str, name: str) -> response.HTTPResponse:
    return response.text(text, content_type="text/csv; charset=utf-8",
                         headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


# --- the API ---------------------------------------------------------------------------

def blueprint(services: "Services", version: str = "1") -> Tuple[Blueprint, Document]:
    bp = Blueprint("console_api", url_prefix="/api")
    document = Document("Dynamic Chat console", version)
    route = Routes(bp, document)
    blocking = services.run_blocking

    # --- session ---
    @route("POST", "/session", "Log in: sets the session cookie and returns the CSRF token", permission=None,
           body=obj({"email": STRING, "password": STRING}, ["email", "password"]), answer=SESSION, errors=[401, 403, 429])
    async def login(request: Request, _session: None) -> response.HTTPResponse:
        data = body(request)
        email, password = field(data, "email", str, limit=320), field(data, "password", str, limit=1024)
        try:
            logged_in = await blocking(services.accounts.login, email, password, request.remote_addr or request.ip)
        except AccountError as exc:
            return error(429 if "too many" in str(exc) else 401, str(exc))
        answer = reply(_session_json(logged_in.session))
        answer.cookies[COOKIE] = logged_in.token
        cookie = answer.cookies[COOKIE]
        cookie["httponly"], cookie["samesite"], cookie["path"] = True, "Strict", "/"
        cookie["max-age"] = int(logged_in.session.expires_at - services.clock())
        if request.scheme == "https" or services.settings.secure_cookies:
            cookie["secure"] = True
        return answer

    @route("GET", "/session", "Who is logged in, and the CSRF token", answer=SESSION)
    async def who(_request: Request, session: "Session") -> response.HTTPResponse:
        return reply(_session_json(session))

    @route("DELETE", "/session", "Log out", answer=obj({"ok": BOOLEAN}, ["ok"]))
    async def logout(request: Request, _session: "Session") -> response.HTTPResponse:
        await blocking(services.accounts.logout, cookie(request, COOKIE))
        answer = reply({"ok": True})
        del answer.cookies[COOKIE]
        return answer

    @route("GET", "/badges", "Counts shown on the tabs", answer=BADGES)
    async def badges(_request: Request, _session: "Session") -> response.HTTPResponse:
        return reply({"requests": await blocking(services.person_requests.open_count)})

    # --- dialogues ---
    @route("GET", "/dialogues", "Every dialogue with priority, locale, status and last change", answer=DIALOGUES)
    async def dialogues(_request: Request, _session: "Session") -> response.HTTPResponse:
        rows = await blocking(services.dialogue_admin.list)
        return reply({"dialogues": rows, "chat_enabled": await blocking(services.switches.chat_enabled)})

    @route("GET", "/dialogues/{dialogue}", "A dialogue's file, status, problems and flow (SVG)", answer=DIALOGUE)
    async def dialogue(_request: Request, _session: "Session", dialogue: str) -> response.HTTPResponse:
        found = await blocking(services.dialogue_admin.detail, path_id(dialogue))
        return reply(found) if found else error(404, f"no dialogue '{dialogue}'")

    @route("POST", "/dialogues/validate", "Check a dialogue's YAML as dynchat validate does (nothing is saved)",
           body=obj({"source": STRING, "file": STRING}, ["source"]), answer=VALIDATION)
    async def validate(request: Request, _session: "Session") -> response.HTTPResponse:
        data = body(request)
        source = field(data, "source", str, limit=300_000)
        file_name = field(data, "file", str, required=False, limit=80) or "new.yml"
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}\.ya?ml", file_name):
            raise ApiError(400, "'file' is a name such as pricing.yml")
        found, problems = await blocking(services.dialogue_admin.validate, source, file_name)
        return reply({"valid": found is not None, "id": found.id if found else None,
                      "problems": [problem_json(p, services.settings.project) for p in problems]})

    @route("POST", "/dialogues/preview", "Chat with a draft: its opening (no state), or its answer to the visitor's "
                                         "reply (an option's number or typed text); nothing is saved or sent",
           body=obj({"source": STRING, "state": {"type": "object"}, "answer": {"anyOf": [STRING, INTEGER]},
                     "known": {"type": "object", "additionalProperties": STRING}}, ["source"]),
           answer=obj({"messages": array(obj({"from": STRING, "text": STRING}, ["from", "text"])),
                       "state": {"type": "object"}}, ["messages", "state"]))
    async def preview_draft(request: Request, _session: "Session") -> response.HTTPResponse:
        data = body(request)
        source = field(data, "source", str, limit=300_000)
        draft, problems = parse_dialogue(source, "draft.yml")
        if draft is None:
            first = problems[0] if problems else None
            raise ApiError(400, f"fix the problems first (line {first.line}: {first.message})" if first else "not a dialogue")
        reply_to = data.get("answer")
        if data.get("state") is None or reply_to is None:
            known = data.get("known")
            facts = {str(k): v for k, v in known.items() if isinstance(v, str)} if isinstance(known, dict) else {}
            messages, state = preview.start(draft, facts)
        elif isinstance(reply_to, (str, int)) and not isinstance(reply_to, bool) and len(str(reply_to)) <= 2000:
            messages, state = preview.answer(draft, preview.PreviewState.from_json(data["state"], draft), reply_to)
        else:
            raise ApiError(400, "'answer' is an option's number or a text")
        return reply({"messages": messages, "state": state.as_json()})

    @route("PUT", "/dialogues/{dialogue}", "Save a dialogue's YAML (only when valid); publish to put it live",
           permission=roles.DIALOGUES, body=obj({"source": STRING}, ["source"]), answer=VALIDATION, errors=[409])
    async def save(request: Request, _session: "Session", dialogue: str) -> response.HTTPResponse:
        source = field(body(request), "source", str, limit=300_000)
        existing = await blocking(services.dialogue_admin.find, path_id(dialogue))
        if existing is None:
            return error(404, f"no dialogue '{dialogue}'")
        problems = await blocking(services.dialogue_admin.save, existing, source)
        if problems:
            return refused_file([problem_json(p, services.settings.project) for p in problems])
        return reply({"valid": True, "id": existing.id, "problems": []})

    for verb, paused in (("pause", True), ("resume", False)):
        def switch(verb: str = verb, paused: bool = paused) -> Handler:
            async def handler(_request: Request, session: "Session", dialogue: str) -> response.HTTPResponse:
                if await blocking(services.dialogue_admin.find, path_id(dialogue)) is None:
                    return error(404, f"no dialogue '{dialogue}'")
                await blocking(services.switches.set_paused, dialogue, paused, session.user.email)
                return reply({"id": dialogue, "paused": paused})
            handler.__name__ = f"{verb}_dialogue"
            return handler
        route("POST", f"/dialogues/{{dialogue}}/{verb}",
              "Pause a dialogue: new visits stop seeing it at once" if paused else "Show a paused dialogue again",
              permission=roles.DIALOGUES, answer=obj({"id": STRING, "paused": BOOLEAN}, ["id", "paused"]))(switch())

    @route("PUT", "/chat", "Turn the whole chat on or off (off: no dialogue starts)", permission=roles.DIALOGUES,
           body=obj({"enabled": BOOLEAN}, ["enabled"]), answer=obj({"enabled": BOOLEAN}, ["enabled"]))
    async def chat_switch(request: Request, session: "Session") -> response.HTTPResponse:
        enabled = field(body(request), "enabled", bool)
        await blocking(services.switches.set_setting, CHAT_ENABLED, enabled, session.user.email)
        return reply({"enabled": enabled})

    publish = obj({"id": STRING, "by": STRING, "state": STRING, "share": NUMBER, "what": STRING, "started_at": NUMBER,
                   "finished_at": nullable(NUMBER), "error": nullable(STRING), "problems": array(STRING),
                   "seconds": {"type": "object", "additionalProperties": NUMBER}, "running": BOOLEAN},
                  ["id", "state", "share", "what", "running"])

    @route("POST", "/publish", "Compile, train in the background and load the new model while visitors chat",
           permission=roles.DIALOGUES, answer=publish, status=202, errors=[409])
    async def publish_start(_request: Request, session: "Session") -> response.HTTPResponse:
        job = services.publisher.start(session.user.email)
        if job is None:
            return error(409, "a publish is running: wait for it to finish")
        return reply(job.as_json(), status=202)

    @route("GET", "/publish", "The running or last publish, and the ones before it",
           answer=obj({"current": nullable(publish), "history": array(publish)}, ["current", "history"]))
    async def publish_status(_request: Request, _session: "Session") -> response.HTTPResponse:
        current = services.publisher.current
        return reply({"current": current.as_json() if current else None,
                      "history": [job.as_json() for job in services.publisher.history]})

    # --- configuration ---
    appearance_schema = obj({f: {} for f in APPEARANCE_FIELDS})
    configuration = obj({"appearance": appearance_schema, "problems": array(STRING), "blocked_email_domains": array(STRING),
                         "allowed_domains": array(STRING), "snippet": STRING},
                        ["appearance", "blocked_email_domains", "allowed_domains", "snippet"])

    def configuration_now() -> Dict[str, Any]:
        return {"appearance": services.appearance.current().to_json(),
                "problems": [str(p) for p in services.appearance.problems()],
                "blocked_email_domains": services.switches.blocked_email_domains(),
                "allowed_domains": services.switches.allowed_domains(),
                "snippet": f'<script src="{services.settings.public_url.rstrip("/")}/widget.js" async></script>'}

    @route("GET", "/configuration", "The widget's look, the blocked email domains, the sites that may embed it, "
                                    "and the snippet to install", answer=configuration)
    async def configuration_get(_request: Request, _session: "Session") -> response.HTTPResponse:
        return reply(await blocking(configuration_now))

    @route("PUT", "/configuration/appearance", "Change the widget's look (shown after a page reload, no retrain)",
           permission=roles.CONFIGURATION, body=appearance_schema, answer=configuration)
    async def configuration_appearance(request: Request, session: "Session") -> response.HTTPResponse:
        appearance, problems = appearance_from(body(request))
        if appearance is None:
            return error(400, "; ".join(f"{key}: {why}" for key, why in sorted(problems.items())))
        await blocking(write_atomically, services.settings.widget, appearance_yaml(appearance))
        logger.info("widget appearance changed by %s", session.user.email)
        return reply(await blocking(configuration_now))

    @route("POST", "/configuration/avatar", "Upload the bot's avatar (PNG, JPEG, GIF or WebP, at most 256 kB); "
                                            "returns the value for the look's avatar", permission=roles.CONFIGURATION,
           raw_body=list(AVATAR_TYPES), answer=obj({"avatar": STRING}, ["avatar"]))
    async def configuration_avatar(request: Request, _session: "Session") -> response.HTTPResponse:
        kind = (request.content_type or "").split(";")[0].strip().lower()
        if kind not in AVATAR_TYPES:
            return error(415, "an avatar is a PNG, JPEG, GIF or WebP image")
        stored, problem = await blocking(store_avatar, services.settings.avatars, request.body or b"", kind)
        if stored is None:
            return error(413 if problem and "kB" in problem else 400, problem or "not an image")
        return reply({"avatar": stored})

    @route("PUT", "/configuration/domains", "The blocked email domains and the sites that may embed the widget",
           permission=roles.CONFIGURATION,
           body=obj({"blocked_email_domains": array(STRING), "allowed_domains": array(STRING)}), answer=configuration)
    async def configuration_domains(request: Request, session: "Session") -> response.HTTPResponse:
        data = body(request)
        for key in ("blocked_email_domains", "allowed_domains"):
            if key in data:
                cleaned, problems = clean_domains(data[key])
                if problems:
                    return error(400, f"{key}: {'; '.join(problems)}")
                await blocking(services.switches.set_setting, key, cleaned, session.user.email)
        return reply(await blocking(configuration_now))

    # --- integrations ---
    sync_run = obj({"by": STRING, "state": STRING, "started_at": NUMBER, "finished_at": nullable(NUMBER),
                    "records": INTEGER, "progress": STRING, "error": nullable(STRING)}, ["state", "records", "progress"])
    marketo = obj({"configured": BOOLEAN, "host": nullable(STRING), "client_id": nullable(STRING), "sync": {"type": "object"},
                   "outbox": {"type": "object"}, "runs": array(sync_run)}, ["configured", "sync", "outbox", "runs"])

    def marketo_now() -> Dict[str, Any]:
        view = marketo_view(services.settings.marketo, services.marketo, services.visitors, services.outbox)
        return {**view, "runs": [run.as_json() for run in services.sync_runner.history]}

    @route("GET", "/integrations/marketo", "Marketo: what is configured, the sync's state and runs, the outbox",
           answer=marketo)
    async def marketo_get(_request: Request, _session: "Session") -> response.HTTPResponse:
        return reply(await blocking(marketo_now))

    @route("POST", "/integrations/marketo/test", "Test the connection: a token and a lead lookup",
           permission=roles.INTEGRATIONS,
           answer=obj({"ok": BOOLEAN, "message": STRING, "seconds": NUMBER}, ["ok", "message"]))
    async def marketo_test(_request: Request, _session: "Session") -> response.HTTPResponse:
        return reply(await blocking(test_connection, services.marketo))

    @route("POST", "/integrations/marketo/sync", "Sync leads now, in the background (progress in GET)",
           permission=roles.INTEGRATIONS, answer=sync_run, status=202, errors=[409])
    async def marketo_sync(_request: Request, session: "Session") -> response.HTTPResponse:
        if services.marketo is None:
            return error(409, "Marketo is not configured")
        run = services.sync_runner.start(session.user.email)
        return reply(run.as_json(), status=202) if run else error(409, "a sync is running: wait for it to finish")

    @route("POST", "/integrations/outbox/retry", "Queue the messages Marketo refused again (all, or those ids)",
           permission=roles.INTEGRATIONS,
           body=obj({"ids": nullable(array({"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1}))}),
           answer=obj({"queued": INTEGER}, ["queued"]))
    async def outbox_retry(request: Request, _session: "Session") -> response.HTTPResponse:
        ids = body(request).get("ids")
        if ids is not None and (not isinstance(ids, list) or len(ids) > 10_000 or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2 ** 63 for i in ids)):
            raise ApiError(400, "'ids' is a list of message ids")
        queued = await blocking(services.outbox.retry_refused, ids)
        services.writeback.nudge()
        return reply({"queued": queued})

    # --- calendar ---
    agent_schema = obj({"name": STRING, "email": STRING, "timezone": STRING, "calendar": STRING,
                        "hours": {"type": "object", "additionalProperties": array(STRING)}, "meeting_minutes": INTEGER,
                        "buffer_minutes": INTEGER, "min_notice_minutes": INTEGER, "max_per_day": nullable(INTEGER),
                        "weight": INTEGER, "teams": array(STRING), "active": BOOLEAN, "feed_url": nullable(STRING)},
                       ["name", "email", "timezone", "calendar", "active"])
    calendar = obj({"file": STRING, "source": STRING, "problems": array(PROBLEM), "agents": array(agent_schema),
                    "rules": INTEGER, "meetings_on": BOOLEAN, "feeds_on": BOOLEAN},
                   ["file", "source", "problems", "agents", "meetings_on"])

    def problems_json(found: List[Any]) -> List[Dict[str, Any]]:
        return [problem_json(p, services.settings.project) for p in found]

    @route("GET", "/calendar", "The agents: calendar, hours, time zone, meeting length, buffers, active; their file",
           answer=calendar)
    async def calendar_get(_request: Request, _session: "Session") -> response.HTTPResponse:
        return reply(await blocking(services.calendar_admin.view))

    @route("POST", "/calendar/validate", "Check an agents file as the bot would (nothing is saved)",
           body=obj({"source": STRING}, ["source"]), answer=VALIDATION)
    async def calendar_validate(request: Request, _session: "Session") -> response.HTTPResponse:
        found = await blocking(services.calendar_admin.validate, field(body(request), "source", str, limit=600_000))
        return reply({"valid": not found, "id": None, "problems": problems_json(found)})

    @route("PUT", "/calendar", "Save the agents file (only when valid); the bot uses it at once",
           permission=roles.INTEGRATIONS, body=obj({"source": STRING}, ["source"]), answer=VALIDATION, errors=[409])
    async def calendar_save(request: Request, session: "Session") -> response.HTTPResponse:
        found = await blocking(services.calendar_admin.save, field(body(request), "source", str, limit=600_000))
        if found:
            return refused_file(problems_json(found))
        logger.info("agents file changed by %s", session.user.email)
        return reply({"valid": True, "id": None, "problems": []})

    @route("POST", "/calendar/agents/{agent}/test", "Ask an agent's calendar for its busy time",
           permission=roles.INTEGRATIONS, answer=obj({"ok": BOOLEAN, "message": STRING}, ["ok", "message"]))
    async def calendar_test(_request: Request, _session: "Session", agent: str) -> response.HTTPResponse:
        answer = await blocking(services.calendar_admin.test, path_id(agent))
        if answer is None:
            return error(404, "no such agent")
        return reply({"ok": answer[0], "message": answer[1]})

    # --- meetings ---
    meeting_filters = [
        Param("status", {"type": "string", "enum": [s.value for s in MeetingStatus]}),
        Param("agent", STRING), Param("dialogue", STRING),
        Param("from", {"type": "integer", "minimum": 0, "maximum": 10 ** 11}, description="start at or after (epoch s)"),
        Param("to", {"type": "integer", "minimum": 0, "maximum": 10 ** 11}, description="start before (epoch s)"),
    ]

    def meeting_query(request: Request) -> Dict[str, Any]:
        status = request.args.get("status") or None
        if status is not None and status not in {s.value for s in MeetingStatus}:
            raise ApiError(400, f"'status' is one of {', '.join(s.value for s in MeetingStatus)}")
        return {"status": status, "agent": query_text(request, "agent"), "dialogue": query_text(request, "dialogue"),
                "start": query_int(request, "from", -1, 0, 10 ** 11) if request.args.get("from") else None,
                "end": query_int(request, "to", -1, 0, 10 ** 11) if request.args.get("to") else None}

    @route("GET", "/meetings", "Meetings, newest first, with filters and paging",
           params=meeting_filters + [Param("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
                                     Param("offset", {"type": "integer", "minimum": 0, "maximum": 10 ** 7})],
           answer=MEETING_PAGE)
    async def meeting_list(request: Request, _session: "Session") -> response.HTTPResponse:
        filters = meeting_query(request)
        limit, offset = query_int(request, "limit", 50, 1, 500), query_int(request, "offset", 0, 0, 10 ** 7)
        total, found = await blocking(functools.partial(services.meetings.page, limit=limit, offset=offset, **filters))
        return reply({"total": total, "meetings": [meeting_json(m) for m in found]})

    @route("GET", "/meetings.csv", "The meetings matching the filters as CSV (at most 100,000)",
           params=meeting_filters, answer=STRING, content="text/csv")
    async def meeting_csv(request: Request, _session: "Session") -> response.HTTPResponse:
        filters = meeting_query(request)
        _, found = await blocking(functools.partial(services.meetings.page, limit=100_000, **filters))
        rows: List[List[Any]] = [["id", "start_utc", "end_utc", "agent", "visitor", "status", "dialogue", "calendar", "reason"]]
        for m in found:
            rows.append([m.id, _iso(m.start_at), _iso(m.end_at), m.agent_email, m.lead_email or "", m.status,
                         m.dialogue or "", m.calendar, m.reason])
        return csv_reply(csv_text(rows), "meetings.csv")

    @route("GET", "/meetings/{meeting}", "A meeting with its history",
           answer=obj({"meeting": MEETING, "history": HISTORY}, ["meeting", "history"]))
    async def meeting_detail(_request: Request, _session: "Session", meeting: str) -> response.HTTPResponse:
        found = await blocking(services.meetings.get, path_id(meeting))
        if found is None:
            return error(404, "no such meeting")
        history = await blocking(services.meetings.history, meeting)
        return reply({"meeting": meeting_json(found),
                      "history": [{"at": at, "status": status, "note": note} for at, status, note in history]})

    @route("POST", "/meetings/{meeting}/cancel", "Cancel a meeting; its calendar event goes too",
           permission=roles.MEETINGS, answer=MEETING, errors=[409])
    async def meeting_cancel(_request: Request, session: "Session", meeting: str) -> response.HTTPResponse:
        found = await blocking(services.meetings.get, path_id(meeting))
        if found is None:
            return error(404, "no such meeting")
        if found.status not in ACTIVE:
            return error(409, f"the meeting is {found.status}")
        routing = services.routing.current()
        if routing is None:
            return error(409, "no agents are configured")
        done = await blocking(meeting_service.cancel, services.meetings, routing, services.calendars, meeting,
                              f"cancelled in the console by {session.user.email}")
        return reply(meeting_json(done or found))

    @route("POST", "/meetings/{meeting}/reassign", "Give a meeting to another agent (named, or the rotation's next)",
           permission=roles.MEETINGS, body=obj({"agent": nullable(STRING)}), answer=MEETING, errors=[409])
    async def meeting_reassign(request: Request, _session: "Session", meeting: str) -> response.HTTPResponse:
        agent = field(body(request), "agent", str, required=False, limit=320)
        routing = services.routing.current()
        if routing is None:
            return error(409, "no agents are configured")
        if await blocking(services.meetings.get, path_id(meeting)) is None:
            return error(404, "no such meeting")
        moved, choice = await blocking(meeting_service.reassign, services.meetings, routing, services.calendars,
                                       meeting, agent.lower() if agent else None)
        if moved is None:
            return error(409, f"not reassigned: {choice.reason}")
        return reply(meeting_json(moved))

    # --- routing ---
    @route("GET", "/routing", "Rotations, meetings per agent, rules and the latest choices with reasons", answer=ROUTING)
    async def routing_state(_request: Request, _session: "Session") -> response.HTTPResponse:
        routing = services.routing.current()
        if routing is None:
            return reply({"pools": [], "agents": [], "rules": 0, "accounts": 0, "rule_list": [], "account_list": [],
                          "recent": []})
        return reply(await blocking(meeting_service.routing_view, routing, services.meetings))

    # --- analytics ---
    analytics_params = [Param("from", {"type": "string", "format": "date"}), Param("to", {"type": "string", "format": "date"}),
                        Param("dialogue", STRING)]

    async def report_for(request: Request) -> Report:
        """The report the from/to/dialogue parameters ask for (JSON, CSV and the chart answer from one)."""
        start, end = date_range(request)
        return await blocking(services.analytics.report, start, end, query_text(request, "dialogue"))

    @route("GET", "/analytics", "Triggered, engaged, completed, acquired, goals, meetings and rates: total, per "
                                "dialogue and per day (UTC)", params=analytics_params, answer=REPORT)
    async def analytics(request: Request, _session: "Session") -> response.HTTPResponse:
        return reply((await report_for(request)).as_json())

    @route("GET", "/analytics.csv", "The same as CSV", params=analytics_params, answer=STRING, content="text/csv")
    async def analytics_csv(request: Request, _session: "Session") -> response.HTTPResponse:
        result = await report_for(request)
        return csv_reply(csv_text(csv_rows(result)), f"analytics-{result.start}-{result.end}.csv")

    @route("GET", "/analytics/chart.svg", "Triggered, engaged and acquired per day as an SVG chart",
           params=analytics_params, answer=STRING, content="image/svg+xml")
    async def analytics_svg(request: Request, _session: "Session") -> response.HTTPResponse:
        return response.text(analytics_chart(await report_for(request)), content_type="image/svg+xml; charset=utf-8",
                             headers={"Cache-Control": "no-store"})

    # --- requests for a person ---
    @route("GET", "/requests", "Requests for a person, newest first, with transcripts",
           params=[Param("status", {"type": "string", "enum": ["open", "done"]})], answer=REQUESTS)
    async def person_requests(request: Request, _session: "Session") -> response.HTTPResponse:
        status = request.args.get("status") or None
        if status not in (None, "open", "done"):
            raise ApiError(400, "'status' is open or done")
        found = await blocking(functools.partial(services.person_requests.list, status=status))
        return reply({"open": await blocking(services.person_requests.open_count),
                      "requests": [r.as_json() for r in found]})

    @route("POST", "/requests/{request_id}/done", "Mark a request handled", permission=roles.PEOPLE, answer=REQUEST)
    async def request_done(_request: Request, session: "Session", request_id: str) -> response.HTTPResponse:
        if await blocking(services.person_requests.get, path_id(request_id)) is None:
            return error(404, "no such request")
        done = await blocking(services.person_requests.handle, request_id, session.user.email)
        return reply(done.as_json() if done else {})

    # --- conversations ---
    @route("GET", "/conversations", "Recent conversations: page, dialogue, known lead or anonymous",
           params=[Param("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                   Param("before", {"type": "number", "minimum": 0, "maximum": 10 ** 11})],
           answer=obj({"conversations": array(CONVERSATION)}, ["conversations"]))
    async def conversation_list(request: Request, _session: "Session") -> response.HTTPResponse:
        limit = query_int(request, "limit", 50, 1, 200)
        raw = request.args.get("before")
        try:
            before = float(raw) if raw else None
        except ValueError:
            raise ApiError(400, "'before' is a time in epoch seconds") from None
        if before is not None and not 0 <= before <= 10 ** 11:
            raise ApiError(400, "'before' is a time in epoch seconds")
        found = await blocking(services.conversation_log.recent, limit, before)
        return reply({"conversations": [c.as_json() for c in found]})

    @route("GET", "/conversations/{conversation}", "A conversation's transcript",
           answer=obj({"id": STRING, "transcript": array(LINE)}, ["id", "transcript"]))
    async def conversation(_request: Request, _session: "Session", conversation: str) -> response.HTTPResponse:
        if len(conversation) > 200:
            return error(404, "no such conversation")
        events = await blocking(services.conversation_log.events, conversation)
        if not events:
            return error(404, "no such conversation")
        return reply({"id": conversation, "transcript": transcript(events)})

    @bp.get("/openapi.json")
    async def openapi(_request: Request) -> response.HTTPResponse:
        return reply(document.as_json())

    return bp, document


def _session_json(session: "Session") -> Dict[str, Any]:
    return {"user": session.user.as_json(), "csrf": session.csrf,
            "permissions": sorted(roles.PERMISSIONS.get(session.user.role, frozenset()))}


def _iso(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
