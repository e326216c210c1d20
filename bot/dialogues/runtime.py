"""What the custom actions decide, as pure functions over plain data.

The actions in `actions/` pass the tracker's slots and events in and turn the
returned `Decision` into Rasa events; nothing here talks to Rasa or the disk,
except `load_manifest`, which reads the compiled dialogues once per process.
"""
from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Collection, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from bot.core import naming
from bot.core.diagnostics import Pos
from bot.core.dialogue import (
    CARD_TYPES,
    BranchArm,
    BranchCard,
    CaptureCard,
    Card,
    Dialogue,
    GoalCard,
    MeetingCard,
    MeetingSpec,
    MessageCard,
    Option,
    QuestionCard,
    Text,
)
from bot.dialogues import conditions
from bot.dialogues.flow import Entry, after_card

PAGE_METADATA = {
    "url": "page_url", "referrer": "page_referrer", "locale": "page_locale",
    "time_on_page": "page_time_on_page", "time_on_site": "page_time_on_site", "scroll": "page_scroll",
}


# --- the compiled dialogues ---------------------------------------------------

def _text(data: Optional[Mapping[str, Any]]) -> Optional[Text]:
    if data is None:
        return None
    return Text(data["default"], tuple((locale, text) for locale, text in data["translations"]))


def card_from_dict(card: Mapping[str, Any]) -> Card:
    """One card of the manifest, by its kind (manifests of every version carry `kind`)."""
    cls = CARD_TYPES[card["kind"]]
    common: Dict[str, Any] = dict(id=card["id"], pos=Pos(**card["pos"]), next=card["next"], end=card["end"],
                                  field=card["field"])
    if cls is MessageCard:
        return MessageCard(text=_text(card["text"]) or Text(""), **common)
    if cls is GoalCard:
        return GoalCard(goal=card["goal"], text=_text(card["text"]), **common)
    if cls is QuestionCard:
        return QuestionCard(text=_text(card["text"]) or Text(""), **common, options=tuple(
            Option(_text(o["label"]) or Text(""), o["value"], o["next"], o["intent"], Pos(**o["pos"]))
            for o in card["options"]))
    if cls is CaptureCard:
        return CaptureCard(text=_text(card["text"]) or Text(""), capture=card["capture"],
                           skip_if_known=card["skip_if_known"], invalid_text=_text(card["invalid_text"]), **common)
    if cls is BranchCard:
        return BranchCard(arms=tuple(BranchArm(a["condition"], a["next"], Pos(**a["pos"])) for a in card["arms"]),
                          **common)
    return MeetingCard(meeting=MeetingSpec(**card["meeting"]), **common)


def card_to_dict(card: Card) -> Dict[str, Any]:
    return {"kind": card.kind, **asdict(card)}


def dialogue_from_dict(data: Mapping[str, Any]) -> Dialogue:
    """Inverse of the compiler's `manifest`."""
    cards = {card_id: card_from_dict(card) for card_id, card in data["cards"].items()}
    return Dialogue(
        id=data["id"], name=data["name"], priority=data["priority"], locale=data["locale"],
        locales=tuple(data["locales"]), visitors=data["visitors"], audience=data["audience"],
        pages_include=tuple(data["pages_include"]), pages_exclude=tuple(data["pages_exclude"]),
        time_on_page=data["time_on_page"], time_on_site=data["time_on_site"], scroll=data["scroll"],
        start=data["start"], cards=cards, path=data["path"], pos=Pos(**data["pos"]) if data["pos"] else None,
    )


def load_manifest(path: Path) -> Dict[str, Dialogue]:
    """The compiled dialogues by id, as the model was trained on them."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {d["id"]: dialogue_from_dict(d) for d in data["dialogues"]}


# --- the visit and the visitor -------------------------------------------------

@dataclass(frozen=True)
class Visit:
    """What the widget tells us about the page and visitor at the start of a visit."""

    url: Optional[str] = None
    locale: Optional[str] = None
    known: bool = False
    page: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Any] = field(default_factory=dict)  # field -> value


def visit_from_metadata(metadata: Optional[Mapping[str, Any]], known_attributes: Optional[Mapping[str, Any]] = None) -> Visit:
    """Read the widget's metadata (url, locale, email, person/company attributes...).

    `known_attributes` are those of the lead the visitor was identified as
    (cookie or email); they make the visit known.
    """
    metadata = metadata or {}
    attributes: Dict[str, Any] = dict(known_attributes or {})
    for prefix in ("person", "company"):
        values = metadata.get(prefix)
        if isinstance(values, Mapping):
            for name, value in values.items():
                if re.match(r"^[A-Za-z][A-Za-z0-9_]*$", str(name)):
                    attributes[f"{prefix}.{name}"] = value
    if metadata.get("email"):
        attributes["person.email"] = str(metadata["email"]).strip()
    page = {name: metadata.get(name) for name in PAGE_METADATA if metadata.get(name) is not None}
    known = bool(known_attributes is not None or metadata.get("known") or attributes.get("person.email"))
    return Visit(url=metadata.get("url"), locale=metadata.get("locale"), known=known, page=page, attributes=attributes)


def qualifies(dialogue: Dialogue, visit: Visit, with_triggers: bool = True) -> bool:
    """Audience and triggers of one dialogue against one visit (the widget asks without the triggers,
    then waits for them itself)."""
    if dialogue.visitors == "known" and not visit.known:
        return False
    if dialogue.visitors == "anonymous" and visit.known:
        return False
    if not conditions.page_matches(visit.url, dialogue.pages_include, dialogue.pages_exclude):
        return False
    for threshold, key in ((dialogue.time_on_page, "time_on_page"), (dialogue.time_on_site, "time_on_site"),
                           (dialogue.scroll, "scroll")):
        if with_triggers and threshold is not None and not conditions.compare(visit.page.get(key), "gte", threshold):
            return False
    facts = dict(visit.attributes)
    facts.update({f"page.{name}": value for name, value in visit.page.items()})
    return conditions.evaluate(dialogue.audience, facts)


def choose_dialogue(dialogues: Iterable[Dialogue], visit: Visit, completed: Sequence[str] = (),
                    with_triggers: bool = True) -> Optional[Dialogue]:
    """The highest-priority qualifying dialogue the visitor has not completed (ties: by id)."""
    for dialogue in sorted(dialogues, key=lambda d: (-d.priority, d.id)):
        if dialogue.id not in completed and qualifies(dialogue, visit, with_triggers):
            return dialogue  # the first that qualifies in priority order: the rest need no test
    return None


def choose_locale(dialogue: Dialogue, requested: Optional[str]) -> str:
    """The dialogue locale closest to the visitor's: sv-SE -> sv, unknown -> default."""
    if requested:
        wanted = str(requested).replace("_", "-").lower()
        for candidate in (wanted, wanted.split("-")[0]):
            if candidate in dialogue.locales:
                return candidate
    return dialogue.locale


# --- one step of the flow -------------------------------------------------------

@dataclass
class Decision:
    """Slots to set, responses to send, and where the routing slot sends the flow."""

    goto: str = naming.STOP
    slots: Dict[str, Any] = field(default_factory=dict)
    responses: List[str] = field(default_factory=list)
    log: List[str] = field(default_factory=list)
    # what happened, for Marketo activities: ("triggered" | "goal" | "captured" | "completed", details)
    events: List[Tuple[str, Dict[str, Any]]] = field(default_factory=list)


def facts_from_slots(slots: Mapping[str, Any]) -> Dict[str, Any]:
    """Slot values as the `person.*`/`company.*`/`page.*` fields conditions use."""
    facts: Dict[str, Any] = {}
    for name, value in slots.items():
        if name.startswith(("person_", "company_")):
            prefix, rest = name.split("_", 1)
            facts[f"{prefix}.{rest}"] = value
    for key, slot in PAGE_METADATA.items():
        facts[f"page.{key}"] = slots.get(slot)
    return facts


def start_slots(dialogue: Optional[Dialogue], visit: Visit, metadata: Mapping[str, Any]) -> Dict[str, Any]:
    slots: Dict[str, Any] = {slot: visit.page.get(key) for key, slot in PAGE_METADATA.items()}
    slots[naming.Slot.KNOWN] = visit.known
    slots[naming.Slot.VISIT] = dict(metadata)
    for name, value in visit.attributes.items():
        slots[naming.field_slot(name)] = value
    if dialogue is not None:
        slots[naming.Slot.DIALOGUE] = dialogue.id
        slots[naming.Slot.LOCALE] = choose_locale(dialogue, visit.locale)
    return slots


def start(dialogues: Mapping[str, Dialogue], metadata: Mapping[str, Any], completed: Sequence[str],
          prefer: Optional[str] = None, known_attributes: Optional[Mapping[str, Any]] = None) -> Decision:
    """Open a visit: pick the dialogue (the one a call to action on the page asks for, or `prefer` after a
    restart, or the best for the visit) and go to its start."""
    visit = visit_from_metadata(metadata, known_attributes)
    asked = metadata.get("dialogue")
    dialogue = dialogues.get(asked) if isinstance(asked, str) else None
    if dialogue is None and prefer:
        dialogue = dialogues.get(prefer)
    if dialogue is None:
        dialogue = choose_dialogue(dialogues.values(), visit, completed)
    decision = Decision(slots=start_slots(dialogue, visit, metadata))
    if dialogue is None:
        decision.log.append("no dialogue qualifies for this visit")
        return decision
    decision.goto = naming.goto_value(dialogue.id, dialogue.start)
    decision.log.append(f"dialogue '{dialogue.id}' chosen (priority {dialogue.priority})")
    decision.events.append(("triggered", {"dialogue": dialogue.id, "page": visit.url or ""}))
    return decision


def _finish(dialogue: Dialogue, slots: Mapping[str, Any], decision: Decision) -> Decision:
    completed = list(slots.get(naming.Slot.COMPLETED) or [])
    if dialogue.id not in completed:
        completed.append(dialogue.id)
    decision.slots[naming.Slot.COMPLETED] = completed
    decision.goto = naming.STOP
    decision.log.append(f"dialogue '{dialogue.id}' completed")
    decision.events.append(("completed", {"dialogue": dialogue.id}))
    return decision


def _go_on(dialogue: Dialogue, card: Card, slots: Mapping[str, Any], decision: Decision) -> Decision:
    after = after_card(dialogue, card)
    if after.kind == "finish" or after.card is None:
        return _finish(dialogue, slots, decision)
    decision.goto = naming.goto_value(dialogue.id, after.card)
    return decision


def step(entry: Entry, dialogues: Mapping[str, Dialogue], slots: Mapping[str, Any],
         meetings: bool = False, blocked_domains: Collection[str] = ()) -> Decision:
    """Do the work of the card being entered and say where the flow goes next."""
    decision = Decision()
    dialogue = dialogues[entry.dialogue or ""]
    if entry.kind == "finish" or entry.card is None:
        return _finish(dialogue, slots, decision)
    card = dialogue.cards[entry.card]
    if entry.kind == "captured" and isinstance(card, CaptureCard):
        return _captured(dialogue, card, slots, decision, blocked_domains)
    if isinstance(card, BranchCard):
        facts = facts_from_slots(slots)
        arm = next(a for a in card.arms if a.condition is None or conditions.evaluate(a.condition, facts))
        decision.goto = naming.goto_value(dialogue.id, arm.next)
        decision.log.append(f"branch '{card.id}' -> '{arm.next}'")
        return decision
    if isinstance(card, CaptureCard):
        slot = naming.field_slot(card.slot_field)
        if card.skip_if_known and not conditions.compare(slots.get(slot), "is_empty", None):
            decision.log.append(f"capture '{card.id}' skipped: {card.slot_field} is known")
            return _go_on(dialogue, card, slots, decision)
        decision.slots[slot] = None
        decision.goto = naming.goto_value(dialogue.id, card.id, phase="ask")
        return decision
    if isinstance(card, MeetingCard):
        if meetings:  # agents are configured: propose times
            decision.goto = naming.goto_value(dialogue.id, card.id, phase="slots")
            return decision
        decision.responses.append("utter_dc_meeting_unavailable")
        return _go_on(dialogue, card, slots, decision)
    if isinstance(card, GoalCard):
        decision.slots[naming.Slot.GOALS] = list(slots.get(naming.Slot.GOALS) or []) + [f"{dialogue.id}.{card.goal}"]
        decision.log.append(f"goal '{card.goal}' reached in '{dialogue.id}'")
        decision.events.append(("goal", {"dialogue": dialogue.id, "goal": card.goal}))
        return _go_on(dialogue, card, slots, decision)
    decision.goto = naming.goto_value(dialogue.id, card.id)
    return decision


def note_engagement(decision: Decision, dialogue_id: Optional[str], slots: Mapping[str, Any], responded: bool) -> None:
    """The first step after the visitor answered in a dialogue: they engaged with it (once per dialogue)."""
    engaged = list(slots.get(naming.Slot.ENGAGED) or [])
    if not responded or not dialogue_id or dialogue_id in engaged:
        return
    decision.slots[naming.Slot.ENGAGED] = engaged + [dialogue_id]
    decision.events.insert(0, ("engaged", {"dialogue": dialogue_id}))


# --- captures ----------------------------------------------------------------

def invalid_response(dialogue: Dialogue, card: CaptureCard) -> str:
    """The card's own re-prompt text, or the shared one for its kind of input."""
    if card.invalid_text is not None:
        return naming.invalid_response(dialogue.id, card.id)
    return f"utter_dc_invalid_{card.capture}"


def _captured(dialogue: Dialogue, card: CaptureCard, slots: Mapping[str, Any], decision: Decision,
              blocked_domains: Collection[str] = ()) -> Decision:
    """After a capture form: keep the normalised answer and go on, or say why and ask again."""
    slot = naming.field_slot(card.slot_field)
    value = validate_capture(card.capture, slots.get(slot))
    blocked = card.capture == "email" and value is not None and blocked_domain(value, blocked_domains)
    decision.slots[slot] = None if blocked else value
    if value is None or blocked:
        decision.responses.append(BLOCKED_EMAIL if blocked else invalid_response(dialogue, card))
        decision.goto = naming.goto_value(dialogue.id, card.id, phase="ask")
        if blocked:
            decision.log.append(f"capture '{card.id}': an email at a blocked domain was refused")
        return decision
    decision.events.append(("captured", {"dialogue": dialogue.id, "field": card.slot_field, "value": value}))
    return _go_on(dialogue, card, {**slots, slot: value}, decision)


_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
                    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


BLOCKED_EMAIL = "utter_dc_blocked_email"


def blocked_domain(email: str, blocked: Collection[str]) -> Optional[str]:
    """The blocked domain an email address is at (the domain itself or one of its subdomains), or None."""
    domain = email.rsplit("@", 1)[-1].lower()
    for entry in blocked:
        if domain == entry or domain.endswith("." + entry):
            return entry
    return None


def validate_capture(kind: str, raw: Any) -> Optional[str]:
    """The normalised value, or None when the input is not a valid `kind`."""
    text = str(raw or "").strip()
    if kind == "email":
        text = text.strip("<>").strip()
        return text.lower() if len(text) <= 254 and _EMAIL.match(text) and ".." not in text else None
    if kind == "phone":
        if not re.match(r"^\+?[\d\s().-]+$", text):
            return None
        digits = re.sub(r"\D", "", text)
        if not 7 <= len(digits) <= 15:
            return None
        return ("+" if text.startswith("+") else "") + digits
    return text if 0 < len(text) <= 500 else None


# --- the visitor's free text ---------------------------------------------------

def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[^\w]+", " ", text).strip()


YES_WORDS = {"yes", "y", "yeah", "yep", "sure", "ja", "japp", "absolut"}
NO_WORDS = {"no", "n", "nope", "nej", "not now", "no thanks", "nej tack"}
# A classified yes or no counts only with one of these words in it: "blue", "hmm" or "cost?" are no answer,
# however the NLU leans (in English and Swedish).
ANSWER_WORDS = YES_WORDS | NO_WORDS | {
    "yup", "ok", "okay", "absolutely", "definitely", "certainly", "please", "course", "right", "correct", "indeed",
    "gladly", "interested", "nah", "not", "never", "don't", "dont", "thanks", "later", "rather",
    "jo", "visst", "gärna", "garna", "okej", "absolut", "självklart", "sjalvklart", "inte", "aldrig", "tack", "nä", "na"}
CONFIDENT = 0.85  # the NLU's confidence a typed yes or no needs
POLITE = {"please", "thanks", "thank", "you", "tack", "gärna", "garna"}
NOT_NOW = {"not", "now", "inte", "nu"}


def _said(typed: str) -> Optional[str]:
    """A yes or no made only of answer words ("ja tack", "yes please", "nej, inte nu"), whatever the NLU says."""
    words = set(typed.split())
    if words & YES_WORDS and words <= YES_WORDS | POLITE:
        return "affirm"
    if words & NO_WORDS and words <= NO_WORDS | POLITE | NOT_NOW:
        return "deny"
    return None


def match_option(text: str, intent: Optional[str], card: QuestionCard, locale: Optional[str],
                 confidence: float = 1.0) -> Optional[Option]:
    """The option a typed answer picks: its label (any locale) or value, or yes/no.

    A yes or no from the NLU's intent counts only when it is confident and the text has an answer's word
    in it; a text shaped like a button's payload (`/...`) that is no button of this card picks nothing.
    """
    typed = _normal(text)
    if not typed or text.strip().startswith("/"):
        return None
    if intent in ("affirm", "deny") and (confidence < CONFIDENT or not set(typed.split()) & ANSWER_WORDS):
        intent = None
    for option in card.options:
        labels = {option.label.default, option.value, *(t for _, t in option.label.translations)}
        if typed in {_normal(label) for label in labels}:
            return option
    starts = [o for o in card.options if any(_normal(label).startswith(typed) for label in
                                               [o.label.for_locale(locale), o.label.default]) and len(typed) >= 3]
    if len(starts) == 1:
        return starts[0]
    said = _said(typed)
    for words, wanted in ((YES_WORDS, "affirm"), (NO_WORDS, "deny")):
        if intent == wanted or typed in words or said == wanted:
            hits = [o for o in card.options if _normal(o.value) in words or _normal(o.label.default).split(" ")[0] in words]
            if len(hits) == 1:
                return hits[0]
    return None


def last_flow_action(events: Sequence[Mapping[str, Any]]) -> Optional[str]:
    """The latest action of the dialogue flow (a card response, form or step)."""
    for event in reversed(events):
        if event.get("event") == "action":
            name = event.get("name") or ""
            if name.startswith(("utter_dc__", "form_dc__")) or name == naming.STEP_ACTION:
                return name
        if event.get("event") == "restart":
            return None
    return None


def current_question(events: Sequence[Mapping[str, Any]],
                     dialogues: Mapping[str, Dialogue]) -> Optional[Tuple[Dialogue, QuestionCard]]:
    """The question the visitor is answering, if the flow is waiting on one."""
    parsed = naming.parse_card_name(last_flow_action(events), "utter_dc")
    if parsed and parsed[0] in dialogues:
        card = dialogues[parsed[0]].cards.get(parsed[1])
        if isinstance(card, QuestionCard):
            return dialogues[parsed[0]], card
    return None


def back_target(events: Sequence[Mapping[str, Any]], dialogues: Mapping[str, Dialogue]) -> Tuple[int, Optional[str]]:
    """How many visitor turns `back` reverts, and the response that re-asks there.

    The current `back` message is the last user event. Going back removes it
    and the answer before it, so the visitor sees the previous question again.
    At the first question there is nothing to undo but the `back` itself.
    """
    user_positions = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if len(user_positions) >= 3:
        earlier = events[: user_positions[-2]]
        response = _reask_response(earlier, dialogues)
        if response:
            return 2, response
    return 1, None


def _reask_response(events: Sequence[Mapping[str, Any]], dialogues: Mapping[str, Dialogue]) -> Optional[str]:
    name = last_flow_action(events)
    question = naming.parse_card_name(name, "utter_dc")
    if question:
        return name if current_question(events, dialogues) else None
    form = naming.parse_card_name(name, "form_dc")
    if form and form[0] in dialogues and form[1] in dialogues[form[0]].cards:
        card = dialogues[form[0]].cards[form[1]]
        active = next((e for e in reversed(events) if e.get("event") == "active_loop"), None)
        if active and active.get("name") == name and isinstance(card, CaptureCard):
            return naming.ask_response(form[0], form[1], card.slot_field)
    return None
