"""Compile validated dialogues into a Rasa 3.6 project: domain, rules, stories.

The flow lives in the rules: each rule says what follows one action (a card's
response, an option's intent, a form's completion or the step action with the
routing slot). Custom actions only decide what rules cannot: which dialogue a
visit starts, branch conditions, skipping known fields, goals and the end.
Output is deterministic: the same dialogues give byte-identical files.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import yaml

from bot.core import naming
from bot.core.diagnostics import Diagnostic
from bot.core.dialogue import BranchCard, CaptureCard, Card, Dialogue, GoalCard, MeetingCard, MessageCard, QuestionCard, Text
from bot.dialogues.flow import first_action, has_response, waits_after
from bot.dialogues.runtime import card_to_dict
from bot.dialogues.tokens import token_fields

FREE_TEXT_INTENTS = ("greet", "goodbye", "affirm", "deny", "book_meeting", "human", "out_of_scope", "nlu_fallback")
CORE_ACTIONS = (
    naming.STEP_ACTION, naming.FREE_TEXT_ACTION, "action_back", "action_restart",
)
PAGE_SLOTS = ("page_url", "page_referrer", "page_locale", "page_time_on_page", "page_time_on_site", "page_scroll")
STANDARD_FIELDS = (
    "person.email", "person.firstName", "person.lastName", "person.phone", "person.country",
    "company.name", "company.industry", "company.employees",
)
LOCALE_SLOT = naming.Slot.LOCALE


_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter when present


class _Dumper(_BaseDumper):
    """Stable, readable YAML: no aliases, long lines kept whole."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000, default_flow_style=False)


@dataclass
class Compiled:
    """The files of a compiled project, path -> text."""

    files: Dict[str, str]

    def write(self, out: Path) -> List[Path]:
        """Write files, touching only those whose content changed (keeps make quiet)."""
        changed = []
        for relative, content in sorted(self.files.items()):
            target = out / relative
            if target.exists() and target.read_text(encoding="utf-8") == content:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_suffix(target.suffix + ".tmp")
            temporary.write_text(content, encoding="utf-8")
            temporary.replace(target)
            changed.append(target)
        return changed


def merged_mappings(mappings: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One mapping per option value and one text mapping for all captures of a field.

    Rasa reads every mapping of every slot at each turn and hashes them all into
    every training tracker's fingerprint; a field that a hundred dialogues ask
    for had a hundred mappings. Rasa takes `intent` as a list and a mapping's
    `conditions` as alternatives, so the merged mappings set the same values.
    """
    merged: List[Dict[str, Any]] = []
    by_value: Dict[str, Dict[str, Any]] = {}
    by_shape: Dict[str, Dict[str, Any]] = {}
    for mapping in mappings:
        if mapping.get("type") == "from_intent" and set(mapping) == {"type", "intent", "value"}:
            key = json.dumps(mapping["value"], sort_keys=True)
            if key in by_value:
                by_value[key]["intent"].append(mapping["intent"])
                continue
            by_value[key] = {"type": "from_intent", "intent": [mapping["intent"]], "value": mapping["value"]}
            merged.append(by_value[key])
        elif mapping.get("type") == "from_text" and mapping.get("conditions"):
            key = json.dumps({k: v for k, v in mapping.items() if k != "conditions"}, sort_keys=True)
            if key in by_shape:
                by_shape[key]["conditions"].extend(mapping["conditions"])
                continue
            by_shape[key] = {**mapping, "conditions": list(mapping["conditions"])}
            merged.append(by_shape[key])
        else:
            merged.append(mapping)
    return merged


def _variations(text: Text, dialogue: Dialogue, extra: Optional[Dict[str, Any]] = None,
                buttons: Optional[List[Tuple[Text, str]]] = None) -> List[Dict[str, Any]]:
    """Rasa response variations: the default locale plain, others by dc_locale."""
    locales = [None] + [locale for locale in dialogue.locales if locale != dialogue.locale]
    variations = []
    for locale in locales:
        variation: Dict[str, Any] = {"text": text.for_locale(locale)}
        if buttons:
            variation["buttons"] = [{"title": label.for_locale(locale), "payload": payload} for label, payload in buttons]
        if extra:
            variation.update(extra)
        if locale is not None:
            variation["condition"] = [{"type": "slot", "name": LOCALE_SLOT, "value": locale}]
        variations.append(variation)
    return variations


class _Builder:
    def __init__(self, dialogues: Sequence[Dialogue]) -> None:
        self.dialogues = {d.id: d for d in dialogues}
        self.intents: List[str] = []
        self.responses: Dict[str, List[Dict[str, Any]]] = {}
        self.forms: Dict[str, Any] = {}
        self.rules: List[Dict[str, Any]] = []
        self.rule_sources: List[Tuple[Dialogue, Card]] = []
        self.goto_values: List[str] = []
        self.field_mappings: Dict[str, List[Dict[str, Any]]] = {}
        self.fields: Set[str] = set(STANDARD_FIELDS)
        self.has_meetings = False

    def rule(self, dialogue: Dialogue, card: Card, name: str, steps: List[Dict[str, Any]], next_action: str,
             condition: Optional[List[Dict[str, Any]]] = None) -> None:
        body: Dict[str, Any] = {"rule": f"{dialogue.id}: {name}"}
        if condition:
            body["condition"] = condition
        body["steps"] = steps + [{"action": next_action}]
        if not waits_after(next_action, self.dialogues) and next_action not in ("action_listen",) and not next_action.startswith("form_dc"):
            body["wait_for_user_input"] = False
        self.rules.append(body)
        self.rule_sources.append((dialogue, card))

    def build(self) -> None:
        for dialogue in self.dialogues.values():
            for card in dialogue.cards.values():
                self._card(dialogue, card)

    def _card(self, dialogue: Dialogue, card: Card) -> None:
        goto = naming.goto_value(dialogue.id, card.id)
        self.goto_values.append(goto)
        self.rule(dialogue, card, f"enter {card.id}",
                  [{"action": naming.STEP_ACTION}, {"slot_was_set": [{naming.GOTO_SLOT: goto}]}],
                  first_action(dialogue, card))
        if card.field:
            self.fields.add(card.field)
        if isinstance(card, MeetingCard) and card.meeting.write_agent_to:
            self.fields.add(card.meeting.write_agent_to)
        text = getattr(card, "text", None)
        if isinstance(text, Text):
            for variant in [text.default] + [t for _, t in text.translations]:
                self.fields.update(token_fields(variant))
        for arm in card.arms if isinstance(card, BranchCard) else ():
            self._condition_fields(arm.condition)
        response = naming.card_response(dialogue.id, card.id)
        if isinstance(card, MessageCard):
            self.responses[response] = _variations(card.text, dialogue)
            self.rule(dialogue, card, f"after {card.id}", [{"action": response}],
                      naming.STEP_ACTION if card.end or not card.next else first_action(dialogue, dialogue.cards[card.next]))
        elif isinstance(card, GoalCard) and card.text is not None:
            self.responses[response] = _variations(card.text, dialogue)
            self.rule(dialogue, card, f"after {card.id}", [{"action": response}], naming.STEP_ACTION)
        elif isinstance(card, QuestionCard):
            buttons = [(option.label, f"/{option.intent}") for option in card.options]
            self.responses[response] = _variations(card.text, dialogue, buttons=buttons)
            for index, option in enumerate(card.options, start=1):
                self.intents.append(option.intent)
                target = dialogue.cards[option.next]
                self.rule(dialogue, card, f"{card.id} option {index}", [{"intent": option.intent}],
                          first_action(dialogue, target))
                if card.field:
                    self.field_mappings.setdefault(naming.field_slot(card.field), []).append(
                        {"type": "from_intent", "intent": option.intent, "value": option.value})
        elif isinstance(card, CaptureCard):
            self._capture(dialogue, card)
        elif isinstance(card, MeetingCard):
            slots = naming.goto_value(dialogue.id, card.id, phase="slots")
            self.goto_values.append(slots)
            self.has_meetings = True
            self.rule(dialogue, card, f"{card.id} proposes times",
                      [{"action": naming.STEP_ACTION}, {"slot_was_set": [{naming.GOTO_SLOT: slots}]}],
                      naming.MEETING_ACTION)
            self.rules[-1].pop("wait_for_user_input", None)  # the visitor picks a time

    def _capture(self, dialogue: Dialogue, card: CaptureCard) -> None:
        form = naming.capture_form(dialogue.id, card.id)
        slot = naming.field_slot(card.slot_field)
        ask = naming.goto_value(dialogue.id, card.id, phase="ask")
        self.goto_values.append(ask)
        self.forms[form] = {"required_slots": [slot]}
        self.responses[naming.ask_response(dialogue.id, card.id, card.slot_field)] = _variations(card.text, dialogue)
        if card.invalid_text is not None:
            self.responses[naming.invalid_response(dialogue.id, card.id)] = _variations(card.invalid_text, dialogue)
        self.field_mappings.setdefault(slot, []).append({
            "type": "from_text", "not_intent": ["restart", "back", naming.START_INTENT],
            "conditions": [{"active_loop": form, "requested_slot": slot}],
        })
        self.rule(dialogue, card, f"ask {card.id}",
                  [{"action": naming.STEP_ACTION}, {"slot_was_set": [{naming.GOTO_SLOT: ask}]}], form)
        self.rules[-1]["steps"].append({"active_loop": form})
        # The step validates what the form took in, then re-asks or goes on.
        self.rule(dialogue, card, f"{card.id} captured",
                  [{"action": form}, {"active_loop": None}, {"slot_was_set": [{"requested_slot": None}]}],
                  naming.STEP_ACTION, condition=[{"active_loop": form}])

    def _condition_fields(self, condition: Any) -> None:
        if isinstance(condition, dict):
            if "field" in condition and not str(condition["field"]).startswith("page."):
                self.fields.add(condition["field"])
            for value in condition.values():
                if isinstance(value, list):
                    for item in value:
                        self._condition_fields(item)

    def domain(self, shared: Dict[str, Any]) -> Dict[str, Any]:
        domain = {key: value for key, value in shared.items()}
        domain["version"] = "3.1"
        meeting_intents = list(naming.MEETING_INTENTS) if self.has_meetings else []
        domain["intents"] = list(shared.get("intents", [])) + [naming.START_INTENT] + meeting_intents + self.intents
        if self.has_meetings:
            domain["entities"] = list(shared.get("entities") or []) + [naming.SLOT_ENTITY]
        slots = dict(shared.get("slots") or {})
        slots[naming.GOTO_SLOT] = {
            "type": naming.GOTO_SLOT_TYPE, "influence_conversation": True,
            "values": sorted(set(self.goto_values)) + [naming.STOP], "mappings": [{"type": "custom"}],
        }
        for name, slot_type in ((naming.Slot.DIALOGUE, "text"), (LOCALE_SLOT, "text"), (naming.Slot.COMPLETED, "list"),
                                (naming.Slot.GOALS, "list"), (naming.Slot.KNOWN, "bool"), (naming.Slot.VISIT, "any"),
                                (naming.Slot.LEAD_ID, "any"), (naming.Slot.ENGAGED, "list"), (naming.Slot.HAPPENED, "any")):
            slots[name] = {"type": slot_type, "influence_conversation": False, "mappings": [{"type": "custom"}]}
        if self.has_meetings:
            slots[naming.Slot.CHOSEN_TIME] = {"type": "any", "influence_conversation": False,
                                "mappings": [{"type": "from_entity", "entity": naming.SLOT_ENTITY}]}
            for name in (naming.Slot.MEETING_CARD, naming.Slot.MEETING_ID, naming.Slot.MEETING_OFFSET,
                         naming.Slot.MEETING_OFFERED, naming.Slot.RESCHEDULING):
                slots[name] = {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}
            email = naming.field_slot("person.email")
            self.field_mappings.setdefault(email, []).append({
                "type": "from_text", "not_intent": ["restart", "back", naming.START_INTENT],
                "conditions": [{"active_loop": naming.MEETING_FORM, "requested_slot": email}]})
        for name in PAGE_SLOTS:
            slots[name] = {"type": "any", "influence_conversation": False, "mappings": [{"type": "custom"}]}
        for field in sorted(self.fields):
            slot = naming.field_slot(field)
            slots[slot] = {"type": "any", "influence_conversation": False,
                           "mappings": merged_mappings(self.field_mappings.get(slot) or [{"type": "custom"}])}
        domain["slots"] = {name: {**slot, "type": naming.SLOT_TYPES.get(str(slot.get("type")), slot.get("type"))}
                           if isinstance(slot, dict) else slot for name, slot in slots.items()}
        responses = dict(shared.get("responses") or {})
        responses.update(self.responses)
        domain["responses"] = responses
        domain["actions"] = sorted(set(shared.get("actions") or []) | set(CORE_ACTIONS))
        domain["forms"] = {**(shared.get("forms") or {}), **self.forms}
        if self.has_meetings:
            domain["forms"][naming.MEETING_FORM] = {"required_slots": [naming.field_slot("person.email")]}
            domain["actions"] = sorted(set(domain["actions"]) | {naming.MEETING_ACTION})
        else:
            domain["responses"] = {k: v for k, v in domain["responses"].items()
                                   if not k.startswith(("utter_dc_meeting_", "utter_ask_form_dc_meeting"))
                                   or k == "utter_dc_meeting_unavailable"}
        order = ["version", "intents", "entities", "slots", "responses", "actions", "forms", "session_config"]
        return {key: domain[key] for key in order if key in domain} | {k: v for k, v in domain.items() if k not in order}

    def shared_rules(self) -> List[Dict[str, Any]]:
        rules: List[Dict[str, Any]] = [
            {"rule": "visit starts", "steps": [{"intent": naming.START_INTENT}, {"action": naming.STEP_ACTION}],
             "wait_for_user_input": False},
            {"rule": "dialogue ends", "steps": [{"action": naming.STEP_ACTION},
                                                {"slot_was_set": [{naming.GOTO_SLOT: naming.STOP}]},
                                                {"action": "action_listen"}]},
        ]
        for intent in FREE_TEXT_INTENTS:
            rules.append({"rule": f"free text: {intent}",
                          "steps": [{"intent": intent}, {"action": naming.FREE_TEXT_ACTION}]})
        if self.has_meetings:
            for intent in naming.MEETING_INTENTS:
                rules.append({"rule": f"meetings: {intent}",
                              "steps": [{"intent": intent}, {"action": naming.MEETING_ACTION}]})
            form = naming.MEETING_FORM
            rules.append({"rule": "meetings: email for the invitation", "condition": [{"active_loop": form}],
                          "steps": [{"action": form}, {"active_loop": None},
                                    {"slot_was_set": [{"requested_slot": None}]}, {"action": naming.MEETING_ACTION}]})
        return rules

    def stories(self) -> List[Dict[str, Any]]:
        """One story per dialogue along its first options: material for TED and `rasa visualize`."""
        stories = []
        for dialogue in self.dialogues.values():
            steps: List[Dict[str, Any]] = [{"intent": naming.START_INTENT}, {"action": naming.STEP_ACTION}]
            card, seen = dialogue.cards[dialogue.start], set()
            goto = naming.goto_value(dialogue.id, card.id)
            steps.append({"slot_was_set": [{naming.GOTO_SLOT: goto}]})
            while card.id not in seen and card.kind != "capture":
                seen.add(card.id)
                steps.append({"action": first_action(dialogue, card)})
                if isinstance(card, QuestionCard):
                    option = card.options[0]
                    steps.append({"intent": option.intent})
                    card = dialogue.cards[option.next]
                    continue
                if has_response(card):
                    if isinstance(card, MessageCard) and not card.end and card.next:
                        card = dialogue.cards[card.next]
                        continue
                    steps.append({"action": naming.STEP_ACTION})
                target = card.arms[-1].next if isinstance(card, BranchCard) else (None if card.end else card.next)
                stop = naming.goto_value(dialogue.id, target) if target else naming.STOP
                steps.append({"slot_was_set": [{naming.GOTO_SLOT: stop}]})
                if target is None:
                    steps.append({"action": "action_listen"})
                    break
                card = dialogue.cards[target]
            if card.kind == "capture" and card.id not in seen:
                form = naming.capture_form(dialogue.id, card.id)
                steps += [{"action": naming.STEP_ACTION},
                          {"slot_was_set": [{naming.GOTO_SLOT: naming.goto_value(dialogue.id, card.id, phase="ask")}]},
                          {"action": form}, {"active_loop": form}]
            stories.append({"story": f"{dialogue.id}: first choices", "steps": steps})
        return stories


def _as_rasa_sees_it(steps: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Steps as Rasa featurizes them: a categorical slot's value in lower case."""
    seen = []
    for step in steps:
        if "slot_was_set" in step:
            step = {"slot_was_set": [
                {name: (value.lower() if name == naming.GOTO_SLOT and isinstance(value, str) else value)
                 for name, value in item.items()} for item in step["slot_was_set"]]}
        seen.append(step)
    return seen


def rule_predictions(rule: Dict[str, Any]) -> List[Tuple[str, str]]:
    """(what Rasa's rule policy sees, the action it predicts) for each action Rasa checks in a rule.

    Rasa predicts every action of a rule but the one that opens it (an action
    that opens a rule follows `...` and is unpredictable), and, unless the rule
    says `wait_for_user_input: false`, the `action_listen` after its last action.
    """
    steps = rule["steps"]
    condition = rule.get("condition", [])
    predictions = []
    for index, step in enumerate(steps):
        if "action" not in step:
            continue
        if index == 0:
            continue  # opens the rule: unpredictable
        key = json.dumps(condition + _as_rasa_sees_it(steps[:index]), sort_keys=True)
        predictions.append((key, step["action"]))
    if rule.get("wait_for_user_input", True) and steps and "action" in steps[-1] and steps[-1]["action"] != "action_listen":
        predictions.append((json.dumps(condition + _as_rasa_sees_it(steps), sort_keys=True), "action_listen"))
    return predictions


def rule_contradictions(builder: _Builder) -> List[Diagnostic]:
    """Rules that see the same thing but go on differently, as Rasa's training would find them.

    Rasa finds these after minutes of training and names only the rules; we find
    them at once and name the designer's cards. Rasa's view is followed: every
    action a rule predicts, the `action_listen` a waiting rule implies, the
    shared rules beside the cards' ones, and the routing slot's values in
    lower case, as a categorical slot compares them (so cards `Intro` and
    `intro` of one dialogue collide). `tests/test_contradictions.py` holds this
    against Rasa's own check.
    """
    sources: List[Tuple[Dict[str, Any], Optional[Tuple[Dialogue, Card]]]] = (
        [(rule, None) for rule in builder.shared_rules()] + list(zip(builder.rules, builder.rule_sources)))
    seen: Dict[str, Tuple[str, Optional[Tuple[Dialogue, Card]], str]] = {}
    problems = []
    for rule, source in sources:
        for key, outcome in rule_predictions(rule):
            if key not in seen:
                seen[key] = (outcome, source, rule["rule"])
                continue
            other_outcome, other_source, other_rule = seen[key]
            if other_outcome == outcome:
                continue
            if source is None and other_source is None:
                raise AssertionError(f"shared rules '{rule['rule']}' and '{other_rule}' contradict")
            # Reported at a card, whichever of the two rules came first.
            at, against, built_in = (source, other_source, other_rule) if source is not None else (
                other_source, None, rule["rule"])
            assert at is not None  # two shared rules never contradict (checked above)
            _, card = at
            if against is None:
                problems.append(Diagnostic.at(card.pos, (
                    f"card '{card.id}' contradicts the built-in rule '{built_in}': "
                    f"the same step leads to '{outcome}' and '{other_outcome}'")))
                continue
            other_dialogue, other_card = against
            problems.append(Diagnostic.at(card.pos, (
                f"card '{card.id}' contradicts card '{other_card.id}' of '{other_dialogue.id}' "
                f"({other_card.pos}): the same step leads to '{outcome}' and '{other_outcome}'"
                + (" (Rasa compares card ids without regard to case)" if card.id != other_card.id
                   and card.id.lower() == other_card.id.lower() else ""))))
    return problems


def manifest(dialogues: Sequence[Dialogue]) -> Dict[str, Any]:
    """The dialogues as JSON for the action server, which must agree with the model."""
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    def card(value: Card) -> Dict[str, Any]:
        return plain(card_to_dict(value))

    return {"version": 2, "dialogues": [{**plain(asdict(d)), "cards": {cid: card(c) for cid, c in d.cards.items()}}
                                        for d in dialogues]}


def compile_dialogues(dialogues: Sequence[Dialogue], shared_domain: Dict[str, Any], nlu_files: Dict[str, str],
                      check_contradictions: bool = True) -> Tuple[Optional[Compiled], List[Diagnostic]]:
    """Dialogues -> files of a Rasa project (domain.yml, data/*.yml, manifest.json).

    `check_contradictions=False` is for the test that holds our check against Rasa's.
    """
    builder = _Builder(sorted(dialogues, key=lambda d: d.id))
    builder.build()
    problems = rule_contradictions(builder) if check_contradictions else []
    if problems:
        return None, problems
    files = {
        "domain.yml": dump_yaml(builder.domain(shared_domain)),
        "data/rules.yml": dump_yaml({"version": "3.1", "rules": builder.shared_rules() + builder.rules}),
        "data/stories.yml": dump_yaml({"version": "3.1", "stories": builder.stories()}),
        "manifest.json": json.dumps(manifest(list(builder.dialogues.values())), indent=1, sort_keys=True, ensure_ascii=False) + "\n",
    }
    for name, content in sorted(nlu_files.items()):
        files[f"data/nlu/{name}"] = content
    return Compiled(files), []
