"""DIET that leaves button payloads to Rasa's payload handler.

A button sends `/intent` (the compiled option intents, `/session_start`,
`/dc_start`); Rasa's `RegexMessageHandler`, last in every pipeline, sets the
intent from it and overrides whatever the classifier guessed. Rasa still runs
DIET's TensorFlow model on such a message first: a fifth of a button turn on
the Rasa server, for an answer that is thrown away. This classifier skips the
model for text that starts with `/` and reports no intent (confidence 0), so
`FallbackClassifier` marks it `nlu_fallback` and the payload handler then sets
the real intent. A slash text that names no intent of the domain therefore
stays `nlu_fallback` (help and the question again) instead of whatever the
model would have guessed from "/no_such_intent". Typed text is classified as
before; training is DIET's own.

Configured in `config.yml` in place of `DIETClassifier`.
"""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message


def is_payload(message: Message) -> bool:
    """What Rasa's payload handler will read: text that starts with `/`."""
    text = message.get(TEXT)
    return isinstance(text, str) and text.strip().startswith(INTENT_MESSAGE_PREFIX)


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=True,
)
class PayloadAwareDIETClassifier(DIETClassifier):
    """Rasa's DIET, not run on button payloads."""

    def process(self, messages: List[Message]) -> List[Message]:
        typed = []
        for message in messages:
            if is_payload(message):
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
            else:
                typed.append(message)
        if typed:
            super().process(typed)
        return messages
