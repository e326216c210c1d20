"""The dialogue model: what a validated dialogue file means, as plain data."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from bot.core.diagnostics import Pos

CARD_KINDS = ("message", "question", "capture", "branch", "meeting", "goal")
CAPTURE_TYPES = ("email", "phone", "text")
VISITOR_KINDS = ("all", "known", "anonymous")


@dataclass(frozen=True)
class Text:
    """A text in the dialogue's default locale plus translations by locale."""

    default: str
    translations: Tuple[Tuple[str, str], ...] = ()

    def for_locale(self, locale: Optional[str]) -> str:
        return dict(self.translations).get(locale or "", self.default)


@dataclass(frozen=True)
class Option:
    label: Text
    value: str
    next: str
    intent: str
    pos: Pos


@dataclass(frozen=True)
class BranchArm:
    """One `if` (condition set) or the `else` (condition None) of a branch."""

    condition: Optional[Dict[str, Any]]
    next: str
    pos: Pos


@dataclass(frozen=True)
class Card:
    id: str
    kind: str
    pos: Pos
    text: Optional[Text] = None  # message, question text, capture prompt, goal message
    next: Optional[str] = None
    end: bool = False
    field: Optional[str] = None
    options: Tuple[Option, ...] = ()
    capture: Optional[str] = None
    skip_if_known: bool = False
    invalid_text: Optional[Text] = None
    arms: Tuple[BranchArm, ...] = ()
    meeting: Optional[Dict[str, Any]] = None
    goal: Optional[str] = None

    def successors(self) -> List[str]:
        """Every card this one can lead to, in file order."""
        targets = [option.next for option in self.options] + [arm.next for arm in self.arms]
        if self.next:
            targets.append(self.next)
        return list(dict.fromkeys(targets))

    @property
    def waits_for_visitor(self) -> bool:
        return self.kind in ("question", "capture")


@dataclass(frozen=True)
class Dialogue:
    id: str
    name: str
    priority: int
    locale: str
    locales: Tuple[str, ...]
    visitors: str
    audience: Optional[Dict[str, Any]]
    pages_include: Tuple[str, ...]
    pages_exclude: Tuple[str, ...]
    time_on_page: Optional[int]
    time_on_site: Optional[int]
    scroll: Optional[int]
    start: str
    cards: Dict[str, Card] = field(default_factory=dict)
    path: str = ""
    pos: Optional[Pos] = None

    def card(self, card_id: str) -> Card:
        return self.cards[card_id]
