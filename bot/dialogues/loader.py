"""Load and validate dialogue files: every problem of a run, with file:line:col.

The result is either a list of `Dialogue` objects or a list of `Diagnostic`s;
the caller prints the diagnostics and exits 1. Nothing here raises for a
designer's mistake.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from bot.core.diagnostics import Diagnostic, Pos
from bot.core.dialogue import (
    CAPTURE_TYPES,
    CARD_KINDS,
    VISITOR_KINDS,
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
from bot.core.naming import option_intent
from bot.dialogues import conditions as cond
from bot.dialogues.tokens import token_problems
from bot.dialogues.yamlpos import LList, LMap, YamlError, load_located

DIALOGUE_ID = re.compile(r"^[a-z][a-z0-9_]*$")
CARD_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
TOP_KEYS = {"dialogue", "name", "priority", "locale", "locales", "audience", "triggers", "start", "cards", "description"}
CARD_KEYS = {
    "id", "next", "end", "field", "options", "prompt", "skip_if_known", "invalid", *CARD_KINDS,
}
MEETING_ROUTING = ("round_robin", "rules")
UNSAID = Text("")  # stands in for a text with a problem (reported; the dialogue is not used)


def dialogue_files(paths: Iterable[str]) -> Tuple[List[Path], List[Diagnostic]]:
    """Expand files and folders into the dialogue files, sorted for determinism."""
    files: List[Path] = []
    problems: List[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            problems.append(Diagnostic(str(path), 1, 1, "no such file or folder"))
    return files, problems


def load_dialogues(paths: Iterable[str]) -> Tuple[List[Dialogue], List[Diagnostic]]:
    """Load every dialogue under `paths`; diagnostics for all problems found."""
    files, problems = dialogue_files(paths)
    dialogues: List[Dialogue] = []
    seen: Dict[str, Pos] = {}
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Diagnostic(str(file), 1, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
            continue
        except OSError as exc:
            problems.append(Diagnostic(str(file), 1, 1, f"cannot read: {exc.strerror}"))
            continue
        dialogue, file_problems = parse_dialogue(text, str(file))
        problems.extend(file_problems)
        if dialogue is None:
            continue
        where = dialogue.pos or Pos(str(file), 1, 1)
        if dialogue.id in seen:
            problems.append(Diagnostic.at(where, f"duplicate dialogue id '{dialogue.id}' (first defined at {seen[dialogue.id]})"))
            continue
        seen[dialogue.id] = where
        dialogues.append(dialogue)
    if not files and not problems:
        problems.append(Diagnostic(",".join(paths) or ".", 1, 1, "no dialogue files (*.yml) found"))
    return sorted(dialogues, key=lambda d: d.id), sorted(problems)


class _FileChecker:
    """Checks one file, collecting diagnostics instead of raising."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: List[Diagnostic] = []
        self.locales: Set[str] = set()
        self.default_locale = "en"

    def error(self, pos: Pos, message: str) -> None:
        self.problems.append(Diagnostic.at(pos, message))

    # --- texts -------------------------------------------------------------
    def text(self, container: Any, key: Any, what: str) -> Optional[Text]:
        value = container[key]
        pos = container.pos_of(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            self.check_tokens(str(value), pos)
            return Text(str(value))
        if isinstance(value, LMap) and value:
            translations = []
            for locale, translated in value.items():
                if not isinstance(locale, str) or not LOCALE.match(locale):
                    self.error(value.pos_of_key(locale), f"'{locale}' is not a locale (BCP 47, e.g. en or sv)")
                    continue
                if not isinstance(translated, (str, int, float)) or isinstance(translated, bool):
                    self.error(value.pos_of(locale), f"the {what} for '{locale}' must be a string")
                    continue
                self.check_tokens(str(translated), value.pos_of(locale))
                translations.append((locale, str(translated)))
            found = dict(translations)
            self._missing_locales(found, pos, what)
            default = found.get(self.default_locale) or (translations[0][1] if translations else "")
            return Text(default, tuple(sorted(translations)))
        self.error(pos, f"the {what} must be a string or a map of locale to string")
        return None

    def _missing_locales(self, found: Dict[str, str], pos: Pos, what: str) -> None:
        for locale in sorted(self.locales):
            if locale not in found:
                self.error(pos, f"the {what} has no text for locale '{locale}', which the dialogue declares")

    def check_tokens(self, text: str, pos: Pos) -> None:
        for offset, message in token_problems(text):
            self.error(pos, f"{message} (at character {offset + 1} of the text)")

    # --- conditions ----------------------------------------------------------
    def condition(self, value: Any, pos: Pos, stored: Set[str]) -> Optional[Dict[str, Any]]:
        if isinstance(value, LMap) and ("all" in value or "any" in value):
            key = "all" if "all" in value else "any"
            items = value[key]
            if not isinstance(items, LList) or not items:
                self.error(value.pos_of(key), f"'{key}' needs a non-empty list of conditions")
                return None
            parsed = [self.condition(item, items.pos_of(i), stored) for i, item in enumerate(items)]
            return {key: parsed} if all(p is not None for p in parsed) else None
        if not isinstance(value, LMap):
            self.error(pos, "a condition is a map with field, op and value (or all:/any: lists)")
            return None
        ok = True
        field, op = value.get("field"), value.get("op")
        for extra in sorted(set(value) - {"field", "op", "value"}, key=str):
            self.error(value.pos_of_key(extra), f"unknown key '{extra}' in a condition")
        if not isinstance(field, str):
            self.error(value.pos, "a condition needs a 'field'")
            ok = False
        else:
            ok = self.check_field(field, value.pos_of("field"), stored, reading=True) and ok
        if op not in cond.OPERATORS:
            where = value.pos_of("op") if "op" in value else value.pos
            self.error(where, f"unknown operator '{op}' (use one of: {', '.join(cond.OPERATORS)})")
            ok = False
        elif op in cond.LIST_OPERATORS and not isinstance(value.get("value"), list):
            self.error(value.pos_of("value"), f"operator '{op}' needs a list value")
            ok = False
        elif op not in cond.UNARY_OPERATORS and "value" not in value:
            self.error(value.pos, f"operator '{op}' needs a 'value'")
            ok = False
        return cond.plain_condition(value) if ok else None

    def check_field(self, field: str, pos: Pos, stored: Set[str], reading: bool = False) -> bool:
        prefix = field.split(".", 1)[0]
        if prefix not in cond.FIELD_PREFIXES or "." not in field:
            self.error(pos, f"unknown field prefix in '{field}' (fields are person.*, company.* or page.*)")
            return False
        if not cond.FIELD_PATTERN.match(field):
            self.error(pos, f"malformed field name '{field}'")
            return False
        if prefix == "page":
            if not reading:
                self.error(pos, f"'{field}' is read-only: cards store to person.* or company.*")
                return False
            if field.split(".", 1)[1] not in cond.PAGE_FIELDS:
                self.error(pos, f"unknown page field '{field}' (page fields: {', '.join(cond.PAGE_FIELDS)})")
                return False
        return True


def parse_dialogue(text: str, path: str) -> Tuple[Optional[Dialogue], List[Diagnostic]]:
    """Parse and check one dialogue file."""
    try:
        data, yaml_problems = load_located(text, path)
    except YamlError as exc:
        return None, [Diagnostic.at(exc.pos, exc.message)]
    check = _FileChecker(path)
    for pos, message in yaml_problems:
        check.error(pos, message)
    if not isinstance(data, LMap):
        check.error(Pos(path, 1, 1), "a dialogue file is a map with 'dialogue' and 'cards'")
        return None, check.problems
    dialogue = _parse_top(data, check)
    return (dialogue if not check.problems else None), check.problems


def _parse_top(data: LMap, check: _FileChecker) -> Optional[Dialogue]:
    for key in sorted(set(data) - TOP_KEYS, key=str):
        check.error(data.pos_of_key(key), f"unknown key '{key}'")
    dialogue_id = data.get("dialogue")
    if not isinstance(dialogue_id, str) or not DIALOGUE_ID.match(dialogue_id) or "__" in dialogue_id:
        check.error(data.pos_of("dialogue"), "'dialogue' must be an id like book_a_demo ([a-z][a-z0-9_]*, no '__')")
        dialogue_id = None
    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        check.error(data.pos_of("priority"), "'priority' must be an integer")
        priority = 0
    locale = data.get("locale", "en")
    if not isinstance(locale, str) or not LOCALE.match(locale):
        check.error(data.pos_of("locale"), f"'locale' must be a BCP 47 language such as en or sv, not '{locale}'")
        locale = "en"
    check.default_locale = locale
    declared = data.get("locales")
    if declared is not None:
        if not isinstance(declared, LList) or not all(isinstance(locale, str) and LOCALE.match(locale) for locale in declared):
            check.error(data.pos_of("locales"), "'locales' must be a list of BCP 47 languages")
            declared = None
    check.locales = set(declared or []) | {locale}
    if declared is None:
        check.locales |= _implied_locales(data.get("cards"))
    visitors, audience = _parse_audience(data, check)
    includes, excludes, timing = _parse_triggers(data, check)
    cards = _parse_cards(data, check)
    start = data.get("start")
    if start is None and cards:
        start = next(iter(cards))
    elif start is not None and start not in cards:
        check.error(data.pos_of("start"), f"'start' names card '{start}', which does not exist")
    if cards and start in cards:
        _check_graph(cards, start, check)
    if dialogue_id is None or check.problems:
        return None
    return Dialogue(
        id=dialogue_id,
        name=str(data.get("name") or dialogue_id),
        priority=priority,
        locale=locale,
        locales=tuple(sorted(check.locales)),
        visitors=visitors,
        audience=audience,
        pages_include=includes,
        pages_exclude=excludes,
        time_on_page=timing.get("time_on_page"),
        time_on_site=timing.get("time_on_site"),
        scroll=timing.get("scroll"),
        start=str(start),
        cards=cards,
        path=check.path,
        pos=data.pos_of("dialogue"),
    )


def _implied_locales(cards: Any) -> Set[str]:
    """Locales used in any text map: using one declares it for the whole dialogue."""
    found: Set[str] = set()

    def walk(value: Any, key: Any = None) -> None:
        if isinstance(value, dict):
            if key in ("message", "question", "prompt", "label", "invalid"):
                found.update(k for k in value if isinstance(k, str) and LOCALE.match(k))
                return
            for k, v in value.items():
                walk(v, k)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(cards)
    return found


def _parse_audience(data: LMap, check: _FileChecker) -> Tuple[str, Optional[Dict[str, Any]]]:
    audience = data.get("audience")
    if audience is None:
        return "all", None
    if not isinstance(audience, LMap):
        check.error(data.pos_of("audience"), "'audience' must be a map")
        return "all", None
    for key in sorted(set(audience) - {"visitors", "all", "any"}, key=str):
        check.error(audience.pos_of_key(key), f"unknown key '{key}' in audience")
    visitors = audience.get("visitors", "all")
    if visitors not in VISITOR_KINDS:
        check.error(audience.pos_of("visitors"), f"'visitors' must be one of: {', '.join(VISITOR_KINDS)}")
        visitors = "all"
    if "all" in audience and "any" in audience:
        check.error(audience.pos_of_key("any"), "use either 'all' or 'any' in an audience, not both")
    condition = None
    for key in ("all", "any"):
        if key in audience:
            holder = LMap({key: audience[key]})
            holder.pos, holder.child_pos, holder.key_pos = audience.pos, {key: audience.pos_of(key)}, {}
            condition = check.condition(holder, audience.pos_of(key), set())
    return visitors, condition


def _parse_triggers(data: LMap, check: _FileChecker) -> Tuple[Tuple[str, ...], Tuple[str, ...], Dict[str, int]]:
    triggers = data.get("triggers")
    timing: Dict[str, int] = {}
    if triggers is None:
        return (), (), timing
    if not isinstance(triggers, LMap):
        check.error(data.pos_of("triggers"), "'triggers' must be a map")
        return (), (), timing
    for key in sorted(set(triggers) - {"pages", "time_on_page", "time_on_site", "scroll"}, key=str):
        check.error(triggers.pos_of_key(key), f"unknown trigger '{key}'")
    patterns: Dict[str, List[str]] = {"include": [], "exclude": []}
    pages = triggers.get("pages")
    if pages is not None:
        if not isinstance(pages, LMap):
            check.error(triggers.pos_of("pages"), "'pages' must be a map with include and/or exclude lists")
        else:
            for key in sorted(set(pages) - set(patterns), key=str):
                check.error(pages.pos_of_key(key), f"unknown key '{key}' in pages (use include, exclude)")
            for key in patterns:
                items = pages.get(key)
                if items is None:
                    continue
                if isinstance(items, str):
                    items = LList([items]).placed(pages.pos_of(key), {0: pages.pos_of(key)})
                if not isinstance(items, LList):
                    check.error(pages.pos_of(key), f"'{key}' must be a list of page patterns")
                    continue
                for index, pattern in enumerate(items):
                    problem = cond.page_pattern_problem(pattern)
                    if problem:
                        check.error(items.pos_of(index), f"invalid page pattern: {problem}")
                    else:
                        patterns[key].append(pattern)
    for key in ("time_on_page", "time_on_site"):
        if key in triggers:
            seconds = cond.parse_duration(triggers[key])
            if seconds is None:
                check.error(triggers.pos_of(key), f"malformed duration '{triggers[key]}' (use e.g. 10s or 2m)")
            else:
                timing[key] = seconds
    if "scroll" in triggers:
        percent = cond.parse_percent(triggers["scroll"])
        if percent is None:
            check.error(triggers.pos_of("scroll"), f"malformed percentage '{triggers['scroll']}' (use e.g. 50%)")
        else:
            timing["scroll"] = percent
    return tuple(patterns["include"]), tuple(patterns["exclude"]), timing


def _parse_cards(data: LMap, check: _FileChecker) -> Dict[str, Card]:
    cards_data = data.get("cards")
    if not isinstance(cards_data, LList) or not cards_data:
        check.error(data.pos_of("cards") if "cards" in data else data.pos, "'cards' must be a non-empty list")
        return {}
    stored = _stored_fields(cards_data)
    cards: Dict[str, Card] = {}
    first_pos: Dict[str, Pos] = {}
    dialogue_id = str(data.get("dialogue"))
    for index, raw in enumerate(cards_data):
        pos = cards_data.pos_of(index)
        if not isinstance(raw, LMap):
            check.error(pos, "a card is a map with an 'id' and one of: " + ", ".join(CARD_KINDS))
            continue
        card_id = raw.get("id")
        if not isinstance(card_id, str) or not CARD_ID.match(card_id) or "__" in card_id:
            check.error(raw.pos_of("id") if "id" in raw else pos, "a card needs an 'id' like ask_email ([A-Za-z][A-Za-z0-9_]*, no '__')")
            continue
        if card_id in first_pos:
            check.error(raw.pos_of("id"), f"duplicate card id '{card_id}' (first at line {first_pos[card_id].line})")
            continue
        first_pos[card_id] = raw.pos_of("id")
        card = _parse_card(raw, dialogue_id, card_id, check, stored)
        if card is not None:
            cards[card_id] = card
    known = set(first_pos)
    raw_by_id: Dict[str, LMap] = {}
    for raw in cards_data:
        if isinstance(raw, LMap) and isinstance(raw.get("id"), str) and raw["id"] in cards:
            raw_by_id.setdefault(raw["id"], raw)
    for card in cards.values():
        _check_targets(card, raw_by_id[card.id], known, check)
    return cards


def _stored_fields(cards_data: LList) -> Set[str]:
    return {raw["field"] for raw in cards_data if isinstance(raw, LMap) and isinstance(raw.get("field"), str)}


def _parse_card(raw: LMap, dialogue_id: str, card_id: str, check: _FileChecker, stored: Set[str]) -> Optional[Card]:
    for key in sorted(set(raw) - CARD_KEYS, key=str):
        check.error(raw.pos_of_key(key), f"unknown key '{key}' in card '{card_id}'")
    kinds = [kind for kind in CARD_KINDS if kind in raw]
    if kinds == ["message", "goal"]:
        kinds = ["goal"]
    if len(kinds) != 1:
        what = "none" if not kinds else " and ".join(kinds)
        check.error(raw.pos_of_key("id"), f"card '{card_id}' must have exactly one of {', '.join(CARD_KINDS)} (it has {what})")
        return None
    kind = kinds[0]
    pos = raw.pos_of_key("id")
    end = raw.get("end", False)
    if not isinstance(end, bool):
        check.error(raw.pos_of("end"), "'end' must be true or false")
        end = False
    next_card = raw.get("next")
    if next_card is not None and not isinstance(next_card, str):
        check.error(raw.pos_of("next"), "'next' must be a card id")
        next_card = None
    if end and next_card:
        check.error(raw.pos_of_key("next"), f"card '{card_id}' ends the dialogue, so it cannot have 'next'")
    if kind in ("branch", "question") and end:
        check.error(raw.pos_of_key("end"), f"a {kind} card cannot end the dialogue")
    field = raw.get("field")
    if field is not None and (not isinstance(field, str) or not check.check_field(field, raw.pos_of("field"), stored)):
        field = None
    common: Dict[str, Any] = dict(id=card_id, pos=pos, next=next_card, end=end, field=field)
    needs_next = not end and kind not in ("branch", "question")
    if needs_next and not next_card:
        check.error(pos, f"card '{card_id}' needs 'next' (or 'end: true')")
    if kind == "message":
        return MessageCard(text=check.text(raw, "message", "message") or UNSAID, **common)
    if kind == "goal":
        goal = raw["goal"]
        if not isinstance(goal, str) or not goal.strip():
            check.error(raw.pos_of("goal"), "'goal' must be a name such as demo_booked")
        text = check.text(raw, "message", "message") if "message" in raw else None
        return GoalCard(text=text, goal=str(goal), **common)
    if kind == "question":
        return _parse_question(raw, dialogue_id, common, check)
    if kind == "capture":
        return _parse_capture(raw, common, check)
    if kind == "branch":
        return _parse_branch(raw, common, check, stored)
    return _parse_meeting(raw, common, check, stored)


def _parse_question(raw: LMap, dialogue_id: str, common: Dict[str, Any], check: _FileChecker) -> Card:
    text = check.text(raw, "question", "question")
    options_raw = raw.get("options")
    options: List[Option] = []
    if not isinstance(options_raw, LList) or not options_raw:
        check.error(raw.pos_of("options") if "options" in raw else common["pos"], "a question needs a non-empty 'options' list")
    else:
        for index, item in enumerate(options_raw):
            pos = options_raw.pos_of(index)
            if not isinstance(item, LMap) or "label" not in item:
                check.error(pos, "an option is a map with 'label' (and 'value', 'next')")
                continue
            for key in sorted(set(item) - {"label", "value", "next"}, key=str):
                check.error(item.pos_of_key(key), f"unknown key '{key}' in an option")
            label = check.text(item, "label", "label")
            target = item.get("next", common["next"])
            if not isinstance(target, str):
                check.error(pos, "the option needs 'next' (or the question card a 'next')")
                continue
            if label is None:
                continue
            value = item.get("value", label.default)
            if isinstance(value, (dict, list)) or value is None:
                check.error(item.pos_of("value"), "an option's 'value' must be a single text or number")
                continue
            options.append(Option(label, str(value), target, option_intent(dialogue_id, common["id"], index + 1), pos))
    return QuestionCard(text=text or UNSAID, options=tuple(options), **common)


def _parse_capture(raw: LMap, common: Dict[str, Any], check: _FileChecker) -> Card:
    capture = raw["capture"]
    if capture not in CAPTURE_TYPES:
        check.error(raw.pos_of("capture"), f"'capture' must be one of: {', '.join(CAPTURE_TYPES)}")
    if "prompt" not in raw:
        check.error(common["pos"], "a capture card needs a 'prompt'")
        prompt = None
    else:
        prompt = check.text(raw, "prompt", "prompt")
    if "field" not in raw:
        check.error(common["pos"], "a capture card needs a 'field' to store the answer in")
    skip = raw.get("skip_if_known", False)
    if not isinstance(skip, bool):
        check.error(raw.pos_of("skip_if_known"), "'skip_if_known' must be true or false")
        skip = False
    invalid = check.text(raw, "invalid", "invalid-input message") if "invalid" in raw else None
    return CaptureCard(text=prompt or UNSAID, capture=str(capture), skip_if_known=skip, invalid_text=invalid, **common)


def _parse_branch(raw: LMap, common: Dict[str, Any], check: _FileChecker, stored: Set[str]) -> Card:
    arms_raw = raw["branch"]
    arms: List[BranchArm] = []
    if common["next"]:
        check.error(raw.pos_of_key("next"), "a branch card leads on through its arms, not 'next'")
    if not isinstance(arms_raw, LList) or not arms_raw:
        check.error(raw.pos_of("branch"), "'branch' needs a list of {if:, next:} arms and an {else:}")
        return BranchCard(**common)
    for index, arm in enumerate(arms_raw):
        pos = arms_raw.pos_of(index)
        if isinstance(arm, LMap) and "else" in arm:
            if index != len(arms_raw) - 1:
                check.error(pos, "'else' must be the last arm of a branch")
            if not isinstance(arm["else"], str):
                check.error(arm.pos_of("else"), "'else' names the card to go to")
                continue
            arms.append(BranchArm(None, arm["else"], arm.pos_of("else")))
        elif isinstance(arm, LMap) and "if" in arm:
            if not isinstance(arm.get("next"), str):
                check.error(pos, "a branch arm needs 'next'")
                continue
            condition = check.condition(arm["if"], arm.pos_of("if"), stored)
            if condition is not None:
                arms.append(BranchArm(condition, arm["next"], arm.pos_of("next")))
        else:
            check.error(pos, "a branch arm is {if: condition, next: card} or {else: card}")
    if arms and arms[-1].condition is not None:
        check.error(raw.pos_of("branch"), "a branch needs a final {else: card} so that every visitor goes on")
    return BranchCard(arms=tuple(arms), **common)


def _parse_meeting(raw: LMap, common: Dict[str, Any], check: _FileChecker, stored: Set[str]) -> Card:
    meeting = raw["meeting"]
    if meeting is None:
        meeting = LMap().placed(raw.pos_of("meeting"))
    if not isinstance(meeting, LMap):
        check.error(raw.pos_of("meeting"), "'meeting' must be a map (routing, duration, write_agent_to)")
        return MeetingCard(**common)
    for key in sorted(set(meeting) - {"routing", "duration", "write_agent_to"}, key=str):
        check.error(meeting.pos_of_key(key), f"unknown key '{key}' in meeting")
    routing = meeting.get("routing", "round_robin")
    valid_routing = routing in MEETING_ROUTING or (
        isinstance(routing, dict) and len(routing) == 1 and set(routing) <= {"agent", "team"}
        and isinstance(next(iter(routing.values())), str)
    )
    if not valid_routing:
        check.error(meeting.pos_of("routing"), "'routing' must be round_robin, rules, {agent: EMAIL} or {team: NAME}")
    duration = cond.parse_duration(meeting.get("duration", "30m"))
    if duration is None:
        check.error(meeting.pos_of("duration"), f"malformed duration '{meeting.get('duration')}' (use e.g. 30m)")
    target = meeting.get("write_agent_to")
    if target is not None and (not isinstance(target, str) or not check.check_field(target, meeting.pos_of("write_agent_to"), stored)):
        target = None
    spec = MeetingSpec(routing=cond.plain_condition(routing) if isinstance(routing, dict) else str(routing),
                       duration_seconds=duration or 1800, write_agent_to=target)
    return MeetingCard(meeting=spec, **common)


def _check_targets(card: Card, raw: LMap, known: Set[str], check: _FileChecker) -> None:
    if card.next and card.next not in known:
        check.error(raw.pos_of("next"), f"'next' goes to card '{card.next}', which does not exist")
    for option in card.options if isinstance(card, QuestionCard) else ():
        if option.next not in known:
            check.error(option.pos, f"option goes to card '{option.next}', which does not exist")
    for arm in card.arms if isinstance(card, BranchCard) else ():
        if arm.next not in known:
            check.error(arm.pos, f"branch goes to card '{arm.next}', which does not exist")


def _check_graph(cards: Dict[str, Card], start: str, check: _FileChecker) -> None:
    """Unreachable cards, cards with no way to an end, and loops that never wait."""
    edges = {cid: [t for t in card.successors() if t in cards] for cid, card in cards.items()}
    reached = _reachable(start, edges)
    for cid, card in cards.items():
        if cid not in reached:
            check.error(card.pos, f"card '{cid}' is never reached from '{start}'")
    reverse: Dict[str, List[str]] = {cid: [] for cid in cards}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].append(source)
    can_finish: Set[str] = set()
    for cid, card in cards.items():
        if card.end:
            can_finish |= _reachable(cid, reverse)
    for cid in sorted(reached - can_finish, key=lambda c: (cards[c].pos.line, c)):
        check.error(cards[cid].pos, f"card '{cid}' is in a loop with no way out: no 'end: true' card can be reached from it")
    silent = {cid: [t for t in edges[cid] if not cards[t].waits_for_visitor] for cid in cards if not cards[cid].waits_for_visitor}
    for cycle in _cycles(silent):
        first = min(cycle, key=lambda c: cards[c].pos.line)
        path = " -> ".join(cycle + [cycle[0]])
        check.error(cards[first].pos, f"loop with no way out: {path} never waits for the visitor")


def _reachable(start: str, edges: Dict[str, List[str]]) -> Set[str]:
    seen, stack = {start}, [start]
    while stack:
        for target in edges.get(stack.pop(), []):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _cycles(edges: Dict[str, List[str]]) -> List[List[str]]:
    """One representative cycle per strongly connected component (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, []):
            if target not in edges:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in edges.get(node, []):
                found.append(list(reversed(component)))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def check_condition(value: Any, pos: Pos, path: str) -> Tuple[Optional[Dict[str, Any]], List[Diagnostic]]:
    """A condition outside a dialogue (routing rules), checked the same way."""
    checker = _FileChecker(path)
    condition = checker.condition(value, pos, set())
    return condition, checker.problems
