"""The pure decisions behind the actions: dialogue choice, steps, free text, back."""
from __future__ import annotations

import pytest

from bot.core import naming
from bot.dialogues import conditions, runtime, tokens
from bot.dialogues.flow import Entry, resolve_entry
from bot.dialogues.loader import load_dialogues, parse_dialogue
from bot.dialogues.runtime import match_option
from tests.support import FIXTURES, ROOT


@pytest.fixture(scope="module")
def dialogues():
    loaded, problems = load_dialogues([str(FIXTURES / "dialogues")])
    assert problems == []
    return {d.id: d for d in loaded}


@pytest.mark.parametrize("actual,op,expected,result", [
    ("Software", "equals", "software", True),
    ("1000", "gte", 1000, True),
    (999, "gte", "1000", False),
    ("Sweden", "in", ["Norway", "sweden"], True),
    ("Sweden", "not_in", ["Norway"], True),
    (None, "not_equals", "x", True),
    (None, "equals", "x", False),
    ("", "is_empty", None, True),
    ("a", "is_not_empty", None, True),
    ("Acme Software AB", "contains", "software", True),
    ("https://x.com/a", "starts_with", "HTTPS://", True),
    ("abc", "gt", 3, False),
    (5, "lt", 7, True),
    (7, "lte", 7, True),
])
def test_operators(actual, op, expected, result) -> None:
    assert conditions.compare(actual, op, expected) is result


def test_nested_conditions() -> None:
    tree = {"all": [{"field": "company.industry", "op": "equals", "value": "Software"},
                    {"any": [{"field": "person.country", "op": "in", "value": ["Sweden", "Norway"]},
                             {"field": "company.employees", "op": "gte", "value": 1000}]}]}
    assert conditions.evaluate(tree, {"company.industry": "software", "person.country": "Norway"})
    assert conditions.evaluate(tree, {"company.industry": "software", "company.employees": "5000"})
    assert not conditions.evaluate(tree, {"company.industry": "software", "person.country": "Denmark"})


@pytest.mark.parametrize("url,include,exclude,result", [
    ("https://example.com/pricing?plan=pro", ["https://example.com/pricing*"], [], True),
    ("https://shop.example.com/products/x", ["*://*.example.com/products/*"], [], True),
    ("https://example.com/careers/dev", [], ["*/careers/*"], False),
    ("https://example.com/", ["*/pricing*"], [], False),
    (None, [], [], True),
    (None, ["*/pricing"], [], False),
])
def test_page_patterns(url, include, exclude, result) -> None:
    assert conditions.page_matches(url, include, exclude) is result


def test_choice_by_page_priority_audience_and_completion(dialogues) -> None:
    shop_anonymous = {"url": "https://acme.test/shop/shoes"}
    assert runtime.choose_dialogue(dialogues.values(), runtime.visit_from_metadata(shop_anonymous)).id == "shop"
    known = dict(shop_anonymous, email="ann@acme.test")
    assert runtime.choose_dialogue(dialogues.values(), runtime.visit_from_metadata(known)).id == "members"
    checkout = {"url": "https://acme.test/shop/checkout"}
    assert runtime.choose_dialogue(dialogues.values(), runtime.visit_from_metadata(checkout)).id == "general"
    visit = runtime.visit_from_metadata(shop_anonymous)
    assert runtime.choose_dialogue(dialogues.values(), visit, completed=["shop"]).id == "general"
    assert runtime.choose_dialogue(dialogues.values(), visit, completed=["shop", "general"]) is None


def test_locale_choice(dialogues) -> None:
    svensk = dialogues["svensk"]
    assert runtime.choose_locale(svensk, "sv-SE") == "sv"
    assert runtime.choose_locale(svensk, "en_GB") == "en"
    assert runtime.choose_locale(svensk, "de") == "sv"
    assert runtime.choose_locale(svensk, None) == "sv"


def test_start_sets_visit_slots_and_routes_to_the_first_card(dialogues) -> None:
    metadata = {"url": "https://acme.test/se/start", "locale": "en-US", "person": {"firstName": "Ann"}}
    decision = runtime.start(dialogues, metadata, completed=[])
    assert decision.goto == "svensk__hej"
    assert decision.slots["dc_dialogue"] == "svensk"
    assert decision.slots["dc_locale"] == "en"
    assert decision.slots["person_firstName"] == "Ann"
    assert decision.slots["page_url"] == metadata["url"]
    assert decision.slots["dc_known"] is False
    assert runtime.start(dialogues, {"url": "https://acme.test/"}, ["general"]).goto == naming.STOP
    assert runtime.start(dialogues, {"url": "https://acme.test/"}, [], prefer="shop").goto == "shop__hello"


def test_resolve_entry_follows_the_compiled_rules(dialogues) -> None:
    assert resolve_entry("action_listen", "dc_start", None, dialogues) == Entry("start")
    assert resolve_entry("action_listen", "dc__shop__interested__1", None, dialogues) == Entry("enter", "shop", "email")
    assert resolve_entry("form_dc__shop__email", None, None, dialogues) == Entry("captured", "shop", "email")
    assert resolve_entry(naming.STEP_ACTION, None, "shop__won", dialogues) == Entry("enter", "shop", "won")
    assert resolve_entry("utter_dc__shop__bye", None, None, dialogues) == Entry("finish", "shop", "bye")
    assert resolve_entry("utter_dc__shop__small", None, None, dialogues) == Entry("enter", "shop", "won")
    assert resolve_entry(None, None, None, dialogues) == Entry("start")


def test_steps(dialogues) -> None:
    big = runtime.step(Entry("enter", "shop", "size"), dialogues, {"person_email": "ceo@bigcorp.com"})
    assert big.goto == "shop__enterprise"
    small = runtime.step(Entry("enter", "shop", "size"), dialogues, {"person_email": "me@home.org"})
    assert small.goto == "shop__small"
    ask = runtime.step(Entry("enter", "shop", "email"), dialogues, {"person_email": "old@x.org"})
    assert ask.goto == "shop__email__ask" and ask.slots == {"person_email": None}  # skip_if_known is off
    skip = runtime.step(Entry("enter", "general", "phone"), dialogues, {"person_phone": "+4670"})
    assert skip.goto == "general__meet"
    meeting = runtime.step(Entry("enter", "general", "meet"), dialogues, {})
    assert meeting.responses == ["utter_dc_meeting_unavailable"] and meeting.goto == "general__bye"
    goal = runtime.step(Entry("enter", "shop", "won"), dialogues, {"dc_goals": ["x.y"]})
    assert goal.slots["dc_goals"] == ["x.y", "shop.quote_requested"] and goal.goto == "shop__bye"
    good = runtime.step(Entry("captured", "shop", "email"), dialogues, {"person_email": " Ann@X.org "})
    assert good.slots == {"person_email": "ann@x.org"} and good.goto == "shop__size" and good.responses == []
    bad = runtime.step(Entry("captured", "shop", "email"), dialogues, {"person_email": "nope"})
    assert bad.slots == {"person_email": None} and bad.goto == "shop__email__ask"
    assert bad.responses == ["utter_dc_invalid_email"]
    own = runtime.step(Entry("captured", "svensk", "epost"), dialogues, {"person_email": "fel"})
    assert own.responses == ["utter_dc_invalid__svensk__epost"]
    done = runtime.step(Entry("finish", "shop", "bye"), dialogues, {"dc_completed": ["general"]})
    assert done.slots["dc_completed"] == ["general", "shop"] and done.goto == naming.STOP


@pytest.mark.parametrize("kind,raw,value", [
    ("email", " Ann@Example.COM ", "ann@example.com"),
    ("email", "ann@example", None),
    ("email", "not an email", None),
    ("email", "a..b@example.com", None),
    ("phone", "+46 (70) 123-45 67", "+46701234567"),
    ("phone", "12345", None),
    ("phone", "call me", None),
    ("text", "  Ann  ", "Ann"),
    ("text", "   ", None),
])
def test_capture_validation(kind, raw, value) -> None:
    assert runtime.validate_capture(kind, raw) == value


def test_free_text_matches_options(dialogues) -> None:
    question = dialogues["shop"].cards["interested"]
    assert runtime.match_option("yes", None, question, "en").value == "company"
    assert runtime.match_option("yeah", "affirm", question, "en").value == "company"
    assert runtime.match_option("No, for myself!", None, question, "en").value == "private"
    assert runtime.match_option("what?", "nlu_fallback", question, "en") is None
    swedish = dialogues["svensk"].cards["fraga"]
    assert runtime.match_option("yes please", None, swedish, "sv").value == "yes"
    assert runtime.match_option("ja tack", None, swedish, "en").value == "yes"


def _events(*names):
    events = []
    for name in names:
        if name.startswith("/"):
            events.append({"event": "user", "text": name})
        else:
            events.append({"event": "action", "name": name})
    return events


def test_back_goes_to_the_previous_question(dialogues) -> None:
    events = _events("/dc_start", "action_dc_step", "utter_dc__shop__hello", "utter_dc__shop__interested",
                     "action_listen", "/dc__shop__interested__1", "action_dc_step", "form_dc__shop__email",
                     "action_listen", "/back")
    assert runtime.back_target(events, dialogues) == (2, "utter_dc__shop__interested")
    first = _events("/dc_start", "action_dc_step", "utter_dc__shop__hello", "utter_dc__shop__interested",
                    "action_listen", "/back")
    assert runtime.back_target(first, dialogues) == (1, None)
    assert runtime.current_question(first, dialogues)[1].id == "interested"


def test_tokens_fill_with_defaults() -> None:
    text = 'Hi {{lead.firstName:"there"}} from {{company.name}}!'
    assert tokens.render_with_slots(text, {"person_firstName": "Ann", "company_name": "Acme"}) == "Hi Ann from Acme!"
    assert tokens.render_with_slots(text, {"person_firstName": " "}) == "Hi there from !"
    assert tokens.token_fields(text) == ["person.firstName", "company.name"]


@pytest.mark.parametrize("text,command,result", [
    ("restart", "restart", True),
    ("Can we start over please?", "restart", True),
    ("börja om", "restart", True),
    ("Robin", "restart", False),
    ("restaurant", "restart", False),
    ("go back", "back", True),
    ("Tillbaka!", "back", True),
    ("Backstrom", "back", False),
])
def test_commands_need_their_words(text, command, result) -> None:
    from bot.dialogues.commands import says_command

    assert says_command(text, command) is result


def test_command_gate_demotes_guessed_restart_and_back() -> None:
    from rasa.shared.nlu.training_data.message import Message

    from bot.dialogues.commands import CommandGate

    guessed = Message(data={"text": "Robin", "intent": {"name": "restart", "confidence": 0.81}})
    said = Message(data={"text": "please go back", "intent": {"name": "back", "confidence": 0.95}})
    other = Message(data={"text": "hi", "intent": {"name": "greet", "confidence": 0.9}})
    CommandGate().process([guessed, said, other])
    assert guessed.get("intent") == {"name": "nlu_fallback", "confidence": 0.81}
    assert said.get("intent")["name"] == "back"
    assert other.get("intent")["name"] == "greet"


def test_engagement_is_noted_once_per_dialogue_after_the_visitor_answers() -> None:
    decision = runtime.Decision()
    runtime.note_engagement(decision, "shop", {}, responded=False)
    assert decision.events == [] and decision.slots == {}
    runtime.note_engagement(decision, "shop", {"dc_engaged": ["general"]}, responded=True)
    assert decision.events == [("engaged", {"dialogue": "shop"})]
    assert decision.slots == {"dc_engaged": ["general", "shop"]}
    again = runtime.Decision()
    runtime.note_engagement(again, "shop", {"dc_engaged": ["shop"]}, responded=True)
    assert again.events == []


def test_careless_answers_are_not_taken_as_yes_or_no() -> None:
    """Issue 11: "blue", "hmm" and "cost?" answered Yes to "talk to sales?", and `/no_such_intent` answered No."""
    pricing, _ = parse_dialogue((ROOT / "data" / "dialogues" / "pricing.yml").read_text(encoding="utf-8"), "pricing.yml")
    question = pricing.cards["talk"]

    def picked(text, intent=None, confidence=1.0):
        option = match_option(text, intent, question, "en", confidence)
        return option.label.default if option else None

    for careless in ("blue", "hmm", "cost?", "😀", "yse", "asdf"):
        assert picked(careless, "affirm", 0.99) is None, careless
    assert picked("/no_such_intent", "deny", 1.0) is None
    assert picked("yes I guess", "affirm", 0.6) is None  # not confident: asked again, not guessed
    assert picked("yes please", "greet", 0.2) == "Yes" and picked("ja tack") == "Yes"  # only answer words: sure
    assert picked("nej, inte nu") == "No thanks" and picked("yes no") is None and picked("ja inte") is None
    assert picked("yes please", "affirm", 0.95) == "Yes" and picked("no thanks", "deny", 0.9) == "No thanks"
    assert picked("Yes") == "Yes" and picked("nope") == "No thanks" and picked("ja", "affirm", 0.9) == "Yes"
