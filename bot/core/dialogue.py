"""The dialogue model: what a validated dialogue file means, as plain data; one dataclass per card kind."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, List, Optional, Tuple, Type

from bot.core.agents import RoutingSpec
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
class MeetingSpec:
    """A meeting card's settings: who (routing), how long, and which field gets the agent's email."""

    routing: RoutingSpec = "round_robin"
    duration_seconds: int = 1800
    write_agent_to: Optional[str] = None


@dataclass(frozen=True, kw_only=True)
class Card:
    """What every card has; each kind below adds its own fields."""

    kind: ClassVar[str] = ""
    id: str
    pos: Pos
    next: Optional[str] = None
    end: bool = False
    field: Optional[str] = None

    def successors(self) -> List[str]:
        """Every card this one can lead to, in file order."""
        return [self.next] if self.next else []

    @property
    def waits_for_visitor(self) -> bool:
        return False


@dataclass(frozen=True, kw_only=True)
class MessageCard(Card):
    kind: ClassVar[str] = "message"
    text: Text


@dataclass(frozen=True, kw_only=True)
class GoalCard(Card):
    kind: ClassVar[str] = "goal"
    goal: str
    text: Optional[Text] = None   # a goal may say something, or pass silently


@dataclass(frozen=True, kw_only=True)
class QuestionCard(Card):
    kind: ClassVar[str] = "question"
    text: Text
    options: Tuple[Option, ...] = ()

    def successors(self) -> List[str]:
        return list(dict.fromkeys([option.next for option in self.options] + super().successors()))

    @property
    def waits_for_visitor(self) -> bool:
        return True


@dataclass(frozen=True, kw_only=True)
class CaptureCard(Card):
    kind: ClassVar[str] = "capture"
    text: Text                     # the prompt
    capture: str                   # email | phone | text
    skip_if_known: bool = False
    invalid_text: Optional[Text] = None

    @property
    def slot_field(self) -> str:
        """The contract field the answer is stored in (the loader requires one)."""
        return self.field or ""

    @property
    def waits_for_visitor(self) -> bool:
        return True


@dataclass(frozen=True, kw_only=True)
class BranchCard(Card):
    kind: ClassVar[str] = "branch"
    arms: Tuple[BranchArm, ...] = ()

    def successors(self) -> List[str]:
        return list(dict.fromkeys([arm.next for arm in self.arms] + super().successors()))


@dataclass(frozen=True, kw_only=True)
class MeetingCard(Card):
    kind: ClassVar[str] = "meeting"
    meeting: MeetingSpec = MeetingSpec()


CARD_TYPES: Dict[str, Type[Card]] = {cls.kind: cls for cls in (
    MessageCard, QuestionCard, CaptureCard, BranchCard, MeetingCard, GoalCard)}
SAYS_SOMETHING = (MessageCard, QuestionCard, GoalCard)  # cards with a response of their own (a goal's may be None)


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
