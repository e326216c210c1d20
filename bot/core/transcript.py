"""A conversation as people read it, from Rasa's events (plain dicts, as trackers serialise them)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping

MAX_TEXT = 2000  # a line of a transcript; longer text is cut with an ellipsis


def transcript(events: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """What the visitor typed or chose and what the bot said, in order, with times.

    Everything the visitor saw stays (a `back` does not erase the screen);
    free text that the bot read again as a button shows once. Intents sent
    by the widget (`/session_start`, button payloads) show as the button's
    title when the bot offered one, and not at all otherwise.
    """
    lines: List[Dict[str, Any]] = []
    buttons: Dict[str, str] = {}
    reread = False
    for event in events:
        kind = event.get("event")
        if kind == "user_featurization" or kind is None:
            continue
        if kind == "user":
            text = str(event.get("text") or "")
            if text.startswith("/"):
                title = buttons.get(text)
                if title is None:
                    continue
                text = title
            last = next((line for line in reversed(lines) if line["from"] == "visitor"), None)
            if reread and last is not None and last["text"] == _cut(text):
                reread = False
                continue
            reread = False
            lines.append({"from": "visitor", "text": _cut(text), "at": event.get("timestamp")})
        elif kind == "bot":
            text = str(event.get("text") or "")
            data = event.get("data") or {}
            for button in (data.get("buttons") or []) if isinstance(data, Mapping) else []:
                if isinstance(button, Mapping) and button.get("payload") and button.get("title"):
                    buttons[str(button["payload"])] = str(button["title"])
            if text:
                lines.append({"from": "bot", "text": _cut(text), "at": event.get("timestamp")})
        elif kind == "rewind":
            reread = True
        elif kind == "restart":
            lines.append({"from": "system", "text": "restarted", "at": event.get("timestamp")})
    return lines


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"
