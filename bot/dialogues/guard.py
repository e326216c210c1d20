"""Only the buttons of the question on screen answer it: a policy that turns any other option into free text.

A question's options are compiled into rules that need only the option's
intent, so `/dc__pricing__size__3` sent in the middle of another dialogue (or
a button of an earlier question) jumped into that flow and set its field.
This policy looks only at a turn whose intent is an option: when the latest
question of the flow is not that option's question, it predicts the free-text
action with certainty (and a priority above the rule policy's), which tells
the visitor to choose among the buttons on screen and takes the message back,
slots and all. Every other turn it leaves to the other policies.

Registered in `config.yml` as `bot.dialogues.guard.OnScreenOptionsPolicy`.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.core.constants import RULE_POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Restarted
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.core import naming

# Rasa reads the type hints of a policy's methods at run time: the types are imported, not only named.


def question_on_screen(events: List[Any]) -> Optional[str]:
    """The response of the question the flow waits on (its latest flow action), or None."""
    for event in reversed(events):
        if isinstance(event, Restarted):
            return None
        if isinstance(event, ActionExecuted):
            name = event.action_name or ""
            if name.startswith(("utter_dc__", "form_dc__")) or name in (naming.STEP_ACTION, naming.MEETING_ACTION):
                return name if name.startswith("utter_dc__") else None
    return None


def offered(intent: Optional[str], events: List[Any]) -> bool:
    """Is `intent` not an option, or an option of the question on screen?"""
    option = naming.parse_option_intent(intent)
    return option is None or question_on_screen(events) == naming.card_response(option[0], option[1])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=False)
class OnScreenOptionsPolicy(Policy):
    """Predicts the free-text action for an option of a question that is not on screen; nothing otherwise."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"priority": RULE_POLICY_PRIORITY + 1, "action": naming.FREE_TEXT_ACTION}

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource  # nothing to learn: the compiled names say which question an option answers

    def predict_action_probabilities(self, tracker: DialogueStateTracker, domain: Domain,
                                     rule_only_data: Optional[Dict[Text, Any]] = None, **kwargs: Any) -> PolicyPrediction:
        probabilities = self._default_predictions(domain)
        if tracker.latest_action_name == ACTION_LISTEN_NAME and tracker.latest_message is not None:
            intent = tracker.latest_message.intent.get("name")
            if naming.parse_option_intent(intent) and not offered(intent, tracker.applied_events()):
                probabilities[domain.index_for_action(self.config["action"])] = 1.0
        return self._prediction(probabilities)
