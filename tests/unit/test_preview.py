"""The console's preview plays a draft with the bot's own decisions, and trusts nothing the browser sends back."""
from __future__ import annotations

from bot.dialogues import preview
from bot.dialogues.loader import parse_dialogue
from tests.support import FIXTURES


def _shop():
    dialogue, problems = parse_dialogue((FIXTURES / "dialogues" / "shop.yml").read_text(encoding="utf-8"), "shop.yml")
    assert dialogue is not None and problems == []
    return dialogue


def texts(messages):
    return [(m["from"], m["text"]) for m in messages]


def test_a_draft_plays_from_its_start_through_a_capture_a_branch_and_a_goal() -> None:
    shop = _shop()
    opening, state = preview.start(shop)
    assert texts(opening) == [("bot", "Hello stranger, welcome to the shop."), ("bot", "Are you buying for a company?")]
    assert [b["title"] for b in opening[1]["buttons"]] == ["Yes", "No, for myself"]
    asked, state = preview.answer(shop, state, 0)
    assert texts(asked) == [("bot", "Which email should the quote go to?")]
    again, state = preview.answer(shop, state, "not an email")
    assert again[-1]["text"] == "Which email should the quote go to?" and state.waiting == "email"
    end, state = preview.answer(shop, state, "CEO@BigCorp.com")
    assert texts(end) == [("bot", "A big company account manager will send your quote."),
                          ("system", "goal reached: quote_requested"), ("bot", "Happy shopping!"),
                          ("system", "the dialogue is complete")]
    assert state.done and state.slots["person_email"] == "ceo@bigcorp.com"


def test_a_typed_answer_picks_the_option_it_names_and_a_known_lead_fills_tokens() -> None:
    shop = _shop()
    opening, state = preview.start(shop, {"person.firstName": "Ann"})
    assert opening[0]["text"] == "Hello Ann, welcome to the shop."
    answered, state = preview.answer(shop, state, "no, for myself")
    assert texts(answered)[-1] == ("system", "the dialogue is complete")
    wrong, _ = preview.answer(shop, preview.PreviewState(waiting="interested"), "blue")
    assert wrong[0]["text"] == "Please pick one of the options below."


def test_a_state_from_the_browser_is_checked() -> None:
    shop = _shop()
    forged = preview.PreviewState.from_json({"waiting": "../nowhere", "slots": {"a": {"b": 1}, "c": "x" * 9999, "d": "ok"}},
                                            shop)
    assert forged.waiting is None and forged.slots == {"d": "ok"}
    assert preview.PreviewState.from_json("nonsense", shop) == preview.PreviewState()
    said, _ = preview.answer(shop, forged, "hello")
    assert said == [{"from": "system", "text": "nothing waits for an answer: restart the preview"}]
