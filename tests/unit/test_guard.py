"""Only the buttons of the question on screen answer it (bot.dialogues.guard)."""
from __future__ import annotations

from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Restarted, UserUtteranceReverted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.dialogues.guard import OnScreenOptionsPolicy, offered, question_on_screen

DOMAIN = Domain.from_dict({
    "intents": ["dc__shop__interested__1", "dc__shop__interested__2", "dc__pricing__size__3", "greet", "back"],
    "actions": ["action_dc_free_text", "action_dc_step"],
    "responses": {"utter_dc__shop__interested": [{"text": "Buying?"}], "utter_dc__pricing__size": [{"text": "Size?"}]},
})


def _user(intent: str) -> UserUttered:
    return UserUttered(f"/{intent}", {"name": intent, "confidence": 1.0})


def _asked(question: str) -> list:
    return [ActionExecuted(question), ActionExecuted("action_listen")]


def test_an_option_counts_only_for_the_question_on_screen() -> None:
    on_screen = _asked("utter_dc__shop__interested")
    assert question_on_screen(on_screen) == "utter_dc__shop__interested"
    assert offered("dc__shop__interested__2", on_screen)
    assert not offered("dc__pricing__size__3", on_screen)  # another dialogue's button
    assert offered("greet", on_screen) and offered(None, on_screen)  # not an option: not this policy's business
    assert not offered("dc__shop__interested__2", on_screen + [Restarted()])
    assert not offered("dc__shop__interested__2", on_screen + [ActionExecuted("action_dc_step")])  # moved on
    assert not offered("dc__shop__interested__2", [])


def _predict(events: list) -> list:
    storage = LocalModelStorage.create(__import__("tempfile").mkdtemp())
    context = ExecutionContext(GraphSchema({}), "test")
    policy = OnScreenOptionsPolicy.create(OnScreenOptionsPolicy.get_default_config(), storage,
                                          Resource("guard"), context)
    tracker = DialogueStateTracker.from_events("visitor", events)
    prediction = policy.predict_action_probabilities(tracker, DOMAIN)
    assert prediction.policy_priority == 5  # above the rule policy's 4
    return [DOMAIN.action_names_or_texts[i] for i, p in enumerate(prediction.probabilities) if p == 1.0]


def test_the_policy_sends_a_button_not_on_screen_to_free_text_and_leaves_the_rest() -> None:
    asked = [ActionExecuted("action_listen")] + _asked("utter_dc__shop__interested")
    assert _predict(asked + [_user("dc__pricing__size__3")]) == ["action_dc_free_text"]
    assert _predict(asked + [_user("dc__shop__interested__1")]) == []
    assert _predict(asked + [_user("greet")]) == []
    back = asked + [_user("dc__shop__interested__1"), ActionExecuted("utter_dc__pricing__size"),
                    ActionExecuted("action_listen"), _user("back"), UserUtteranceReverted(), UserUtteranceReverted(),
                    ActionExecuted("action_listen")]
    assert _predict(back + [_user("dc__shop__interested__1")]) == []  # `back` showed the first question again
    assert _predict(back + [_user("dc__pricing__size__3")]) == ["action_dc_free_text"]
    assert _predict(asked + [_user("dc__shop__interested__1"), ActionExecuted("action_dc_step")]) == []  # not after listen
