"""The embedded calendar: bookings live in the store; invitations and feeds are iCalendar (RFC 5545)."""
from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
from typing import Iterable, List, Optional

from bot.core.agents import Agent
from bot.core.meetings import ACTIVE, ENDED, Meeting, MeetingStatus

PRODID = "-//Dynamic Chat for Rasa//Meetings//EN"
INVITATIONS = "/webhooks/calendar/invitation/"
FEEDS = "/webhooks/calendar/feed/"


def feed_token(email: str, secret: str) -> str:
    """The unguessable part of an agent's feed URL: an HMAC of their email with the feed secret."""
    digest = hmac.new(secret.encode(), email.lower().encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:20]).decode().lower().rstrip("=")


def invitation_url(public_url: str, meeting_id: str) -> str:
    return f"{public_url.rstrip('/')}{INVITATIONS}{meeting_id}.ics"


def feed_url(public_url: str, secret: Optional[str], email: str) -> Optional[str]:
    """Where an agent subscribes to their meetings; None when feeds are off (no secret)."""
    return f"{public_url.rstrip('/')}{FEEDS}{feed_token(email, secret)}.ics" if secret else None


def _stamp(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped; no raw CR."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r", "").replace("\n", "\\n")


def _fold(line: str) -> List[str]:
    """Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1)."""
    encoded, parts = line.encode("utf-8"), []
    while len(encoded) > 75:
        cut = 75
        while (encoded[cut] & 0xC0) == 0x80:  # never split a UTF-8 character
            cut -= 1
        parts.append(encoded[:cut].decode("utf-8"))
        encoded = b" " + encoded[cut:]
    parts.append(encoded.decode("utf-8"))
    return parts


def _event(meeting: Meeting, agent: Agent, now: float) -> List[str]:
    status = "CANCELLED" if meeting.status in ENDED else "CONFIRMED"
    lines = ["BEGIN:VEVENT", f"UID:{meeting.id}@dynchat", f"DTSTAMP:{_stamp(now)}",
             f"DTSTART:{_stamp(meeting.start_at)}", f"DTEND:{_stamp(meeting.end_at)}",
             f"SUMMARY:{_escape(f'Meeting with {agent.name}')}", f"STATUS:{status}",
             f"ORGANIZER;CN={_escape(agent.name)}:mailto:{agent.email}"]
    if meeting.lead_email:
        lines.append(f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:{meeting.lead_email}")
    lines.append("END:VEVENT")
    return lines


def _calendar(events: List[str], method: str = "") -> str:
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}"] + ([f"METHOD:{method}"] if method else [])
    lines = head + events + ["END:VCALENDAR"]
    return "".join(part + "\r\n" for line in lines for part in _fold(line))


def invitation(meeting: Meeting, agent: Agent, now: float) -> str:
    """The .ics invitation sent to the visitor (or its cancellation)."""
    method = "CANCEL" if meeting.status in ENDED else "REQUEST"
    return _calendar(_event(meeting, agent, now), method)


def feed(agent: Agent, meetings: Iterable[Meeting], now: float) -> str:
    """The agent's iCalendar feed of booked meetings, to subscribe to from any calendar app."""
    events: List[str] = []
    for meeting in meetings:
        if meeting.agent_email == agent.email and meeting.status in ACTIVE + (MeetingStatus.PAST.value,):
            events += _event(meeting, agent, now)
    return _calendar(events)
