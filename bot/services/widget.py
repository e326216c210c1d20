"""What the widget asks before it chats: how it looks, and which dialogue this page gets and when.

`AppearanceFile` reads `data/widget.yml` (re-read when it changes, so a
change shows after a page reload without retraining); a file with a problem
keeps the last good appearance and logs where the problem is. `plan_visit`
answers the widget's first request: the dialogue that targets this visitor
on this page (its triggers left to the widget, which knows the time and
scroll), or the conversation already going on in this visit.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import yaml

from bot.core import naming
from bot.core.appearance import POSITIONS, Appearance
from bot.core.diagnostics import Diagnostic
from bot.core.dialogue import CaptureCard, Dialogue
from bot.core.identity import proven_identity
from bot.dialogues import runtime
from bot.dialogues.yamlpos import LMap, YamlError, load_located
from bot.files import WatchedFile

logger = logging.getLogger(__name__)

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_FONT = re.compile(r"^[A-Za-z0-9 ,'\"-]{1,120}$")   # font names only: it goes into the widget's CSS
_URL = re.compile(r"^https://[^\s<>\"'`]{1,500}$")
AVATAR_PATH = re.compile(r"^/widget/avatar/[a-f0-9]{24}\.(png|jpg|gif|webp)$")  # uploaded in the console, served by the bot
AVATAR_TYPES = {"image/png": ("png", b"\x89PNG\r\n\x1a\n"), "image/jpeg": ("jpg", b"\xff\xd8\xff"),
                "image/gif": ("gif", b"GIF8"), "image/webp": ("webp", b"RIFF")}
AVATAR_BYTES = 256 * 1024
AVATAR_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp"}


def parse_appearance(text: str, path: str) -> Tuple[Appearance, List[Diagnostic]]:
    """The appearance a file sets (defaults for what it leaves out), or every problem in it."""
    try:
        data, yaml_problems = load_located(text, path)
    except YamlError as exc:
        return Appearance(), [Diagnostic.at(exc.pos, exc.message)]
    problems = [Diagnostic.at(pos, message) for pos, message in yaml_problems]
    if data is None:
        return Appearance(), problems
    if not isinstance(data, LMap):
        return Appearance(), problems + [Diagnostic(path, 1, 1, "the widget file is a map of settings")]
    known = {f.name: f for f in fields(Appearance)}
    values: Dict[str, Any] = {}
    for key, value in data.items():
        where = data.pos_of(key)
        if key not in known:
            problems.append(Diagnostic.at(data.pos_of_key(key), f"unknown setting '{key}'"))
            continue
        problem = _check(str(key), value)
        if problem:
            problems.append(Diagnostic.at(where, problem))
        else:
            values[str(key)] = value
    return replace(Appearance(), **values), problems


def _check(key: str, value: Any) -> Optional[str]:
    if key in ("enabled", "sound", "open_on_trigger"):
        return None if isinstance(value, bool) else f"'{key}' must be true or false"
    if key in ("padding", "response_delay_ms"):
        limit = 200 if key == "padding" else 10_000
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
        return None if ok else f"'{key}' must be a whole number from 0 to {limit}"
    if key == "avatar":
        return None if value is None or (isinstance(value, str) and (_URL.match(value) or AVATAR_PATH.match(value))) \
            else "'avatar' must be an https:// URL of an image, or one uploaded in the console"
    if key == "privacy_url":
        return None if value is None or (isinstance(value, str) and _URL.match(value)) else \
            f"'{key}' must be an https:// URL"
    if key == "launcher_icon":
        ok = isinstance(value, str) and (bool(_URL.match(value)) or 0 < len(value) <= 4)
        return None if ok else "'launcher_icon' must be chat, an emoji or a short text, or an https:// URL of an image"
    if key == "primary_color":
        return None if isinstance(value, str) and _COLOUR.match(value) else "'primary_color' must be like #1f5fbf"
    if key == "font_family":
        return None if isinstance(value, str) and _FONT.match(value) else \
            "'font_family' must be font names separated by commas"
    if key == "position":
        return None if value in POSITIONS else f"'position' must be one of: {', '.join(POSITIONS)}"
    return None if isinstance(value, str) and 0 < len(value) <= 80 else f"'{key}' must be a text of up to 80 characters"


def appearance_from(values: Mapping[str, Any]) -> Tuple[Optional[Appearance], Dict[str, str]]:
    """An appearance from the console's form (every setting checked as in the file), or the problems by setting."""
    known = {f.name for f in fields(Appearance)}
    problems = {str(key): f"unknown setting '{key}'" for key in values if key not in known}
    for key, value in values.items():
        if key in known:
            problem = _check(str(key), value)
            if problem:
                problems[str(key)] = problem
    if problems:
        return None, problems
    return replace(Appearance(), **{str(k): v for k, v in values.items()}), {}


_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def clean_domains(values: Any, limit: int = 1000) -> Tuple[List[str], List[str]]:
    """Domains as the console's lists keep them (lower-case, sorted, each once), or what is wrong with them."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return [], ["a list of domains such as example.com"]
    if len(values) > limit:
        return [], [f"at most {limit} domains"]
    cleaned = sorted({v.strip().lower().lstrip("@").removeprefix("www.") for v in values if v.strip()})
    wrong = [v for v in cleaned if not _DOMAIN.match(v)]
    return ([], [f"'{v}' is not a domain such as example.com" for v in wrong[:20]]) if wrong else (cleaned, [])


TEXT_KEYS = ("url", "referrer", "locale", "timezone", "mkto_trk", "email", "dialogue", "signature")
NUMBER_KEYS = ("time_on_page", "time_on_site", "scroll")
ATTRIBUTE_MAPS = ("person", "company")   # what a site already knows of the visitor (at most 50 fields each)
MAX_MESSAGE = 2000                       # characters a visitor may type in one message
MAX_METADATA = 16 * 1024                 # bytes of metadata kept with a message (JSON)
SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
TOO_LONG = f"That message is too long for me: please keep it under {MAX_MESSAGE:,} characters."
TOO_FAST = "You're sending messages faster than I can read them: please wait a moment and try again."


def clean_metadata(raw: Any) -> Dict[str, Any]:
    """The contract's visit metadata from what a page or client sent: known keys, right types, bounded
    texts, at most 16 kB in all; everything else is dropped."""
    metadata: Dict[str, Any] = {}
    if not isinstance(raw, Mapping):
        return metadata
    for key in TEXT_KEYS:
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            metadata[key] = value.strip()[:2000]
    for key in NUMBER_KEYS:
        value = raw.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 10 ** 7:
            metadata[key] = int(value)
    for key in ATTRIBUTE_MAPS:
        value = raw.get(key)
        if isinstance(value, Mapping):
            kept = {str(k)[:64]: (v[:500] if isinstance(v, str) else v) for k, v in list(value.items())[:50]
                    if isinstance(k, str) and isinstance(v, (str, int, float, bool)) and not isinstance(v, bool)}
            if kept:
                metadata[key] = kept
    while len(json.dumps(metadata, ensure_ascii=False).encode("utf-8")) > MAX_METADATA:
        metadata.pop(next(reversed(metadata)))  # the attribute maps go first, then the texts
    return metadata


def visit_metadata(raw: Any, identity_secret: Optional[str]) -> Dict[str, Any]:
    """What a page sent, as the bot may use it: the contract's metadata, with an email only when the site
    signed it (see `bot.core.identity`)."""
    return proven_identity(clean_metadata(raw), identity_secret)


def check_message(text: Any) -> Optional[str]:
    """Why a visitor's message is not taken (None: it is): a text, at most MAX_MESSAGE characters."""
    if not isinstance(text, str):
        return "'message' is a text"
    if len(text) > MAX_MESSAGE:
        return TOO_LONG
    return None


def store_avatar(folder: Path, data: bytes, content_type: str) -> Tuple[Optional[str], Optional[str]]:
    """Keep an uploaded avatar (PNG, JPEG, GIF or WebP whose bytes say so, at most 256 kB) under a name made
    of its hash; returns (the path the widget uses, None) or (None, what is wrong)."""
    kind = AVATAR_TYPES.get(content_type.split(";")[0].strip().lower())
    if kind is None:
        return None, "an avatar is a PNG, JPEG, GIF or WebP image"
    if not data or len(data) > AVATAR_BYTES:
        return None, f"an avatar has at most {AVATAR_BYTES // 1024} kB"
    extension, magic = kind
    if not data.startswith(magic) or (extension == "webp" and data[8:12] != b"WEBP"):
        return None, f"the file is not a {extension.upper()} image"
    name = f"{hashlib.sha256(data).hexdigest()[:24]}.{extension}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        temporary = folder / f".{name}.tmp"
        temporary.write_bytes(data)
        temporary.replace(target)
    return f"/widget/avatar/{name}", None


def avatar_file(folder: Path, name: str) -> Optional[Path]:
    """An uploaded avatar by its name (only names `store_avatar` makes: no way out of the folder)."""
    if not AVATAR_PATH.match(f"/widget/avatar/{name}"):
        return None
    path = folder / name
    return path if path.is_file() else None


def origin_allowed(origin: Optional[str], allowed: Sequence[str], own: Sequence[str] = ()) -> bool:
    """May a page from `origin` use the chat? Yes with no list, with no Origin (not a browser), for the bot's own
    hosts, and for a listed domain or any of its subdomains."""
    if not allowed or not origin:
        return True
    for one in origin.split(","):  # a header sent twice arrives joined: every one must be allowed
        host = (urlsplit(one.strip()).hostname or "").lower()
        if host not in own and not any(host == domain or host.endswith("." + domain) for domain in allowed):
            return False
    return True


APPEARANCE_HEADER = """# The chat widget on your site: how it looks and behaves. A change shows after a page reload
# (no retraining). Every key is optional. Edited by the console's Configuration tab; edits by hand work too.
"""


def appearance_yaml(appearance: Appearance) -> str:
    """The widget file for an appearance (settings left at their defaults are written too: one place to read)."""
    values = {key: value for key, value in appearance.to_json().items() if value is not None}
    return APPEARANCE_HEADER + yaml.safe_dump(values, sort_keys=False, allow_unicode=True)


class AppearanceFile:
    """`data/widget.yml` of a running bot: defaults without the file, the last good one after a bad edit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: WatchedFile[Appearance] = WatchedFile(path, self._load, missing=Appearance)

    def current(self) -> Appearance:
        return self._file.current()

    def problems(self) -> List[Diagnostic]:
        """What is wrong with the file as it is now (the widget keeps the last good settings meanwhile)."""
        if not self.path.exists():
            return []
        return parse_appearance(self.path.read_text(encoding="utf-8"), self.path.name)[1]

    @staticmethod
    def _load(path: Path, previous: Optional[Appearance]) -> Appearance:
        appearance, problems = parse_appearance(path.read_text(encoding="utf-8"), str(path))
        if problems:
            logger.warning("widget settings: %s (%d problem(s)); keeping the previous ones", problems[0], len(problems))
            return previous or Appearance()
        return appearance


@dataclass(frozen=True)
class VisitPlan:
    """The answer to the widget's first request on a page."""

    dialogue: Optional[str]                     # the dialogue to start when its triggers are reached
    triggers: Mapping[str, Optional[int]]       # time_on_page, time_on_site (s), scroll (%)
    continuing: bool = False                    # a dialogue of this visit is going on: show it, start nothing

    def to_json(self) -> Dict[str, Any]:
        return {"dialogue": self.dialogue, "triggers": dict(self.triggers), "continuing": self.continuing}


def plan_visit(dialogues: Mapping[str, Dialogue], metadata: Mapping[str, Any], slots: Mapping[str, Any],
               known_attributes: Optional[Mapping[str, Any]]) -> VisitPlan:
    """Which dialogue this page gets, or that the visit's conversation goes on (a pure decision).

    A dialogue the visitor answered in and has not finished goes on on the next page; one that only
    poked does not hold the visitor: the new page chooses again.
    """
    going_on = slots.get(naming.Slot.DIALOGUE)
    completed = list(slots.get(naming.Slot.COMPLETED) or [])
    engaged = list(slots.get(naming.Slot.ENGAGED) or [])
    if going_on in dialogues and going_on in engaged and going_on not in completed:
        return VisitPlan(str(going_on), {}, continuing=True)
    visit = runtime.visit_from_metadata(metadata, known_attributes)
    dialogue = runtime.choose_dialogue(dialogues.values(), visit, completed, with_triggers=False)
    if dialogue is None:
        return VisitPlan(None, {})
    return VisitPlan(dialogue.id, {"time_on_page": dialogue.time_on_page, "time_on_site": dialogue.time_on_site,
                                   "scroll": dialogue.scroll})


CAPTURE_EVENTS = {"person.email": "email_captured", "person.phone": "phone_captured"}


def widget_events(events: Sequence[Tuple[str, Mapping[str, Any]]]) -> List[Dict[str, Any]]:
    """What the page's `DynamicChat.on(...)` callbacks hear of a turn: names, dialogue and card ids,
    never what the visitor typed (a captured email says which field, not the address)."""
    heard: List[Dict[str, Any]] = []
    for event, details in events:
        dialogue = details.get("dialogue")
        if event in ("engaged", "completed"):
            heard.append({"event": event, "dialogue": dialogue})
        elif event == "goal":
            heard.append({"event": "goal", "dialogue": dialogue, "goal": details.get("goal")})
        elif event == "captured" and details.get("field") in CAPTURE_EVENTS:
            heard.append({"event": CAPTURE_EVENTS[details["field"]], "dialogue": dialogue,
                          "field": details["field"]})
        elif event == "meeting":
            heard.append({"event": "meeting_booked", "dialogue": dialogue, "start": details.get("start")})
    return heard



def expected_input(dialogues: Mapping[str, Dialogue], goto: Optional[str]) -> Optional[Dict[str, Any]]:
    """When a turn leads into a capture, what the widget's text field should expect (keyboard, hint)."""
    target = naming.parse_goto(goto)
    if not target or target[2] != "ask" or target[0] not in dialogues:
        return None
    card = dialogues[target[0]].cards.get(target[1])
    return {"event": "expect", "input": card.capture} if isinstance(card, CaptureCard) else None
