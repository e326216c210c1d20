"""`restart` and `back` are commands: recognised from their words, never guessed.

Rasa runs its restart and back actions for those intents before anything
else, even in the middle of a form, so a name like "Robin" that the
classifier happens to score as `restart` would wipe the conversation. The
gate below lets the two intents through only when the text says the command.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional, Text

COMMAND_WORDS = {
    "restart": ("restart", "start over", "start again", "begin again", "from the beginning", "reset",
                "börja om", "starta om", "från början"),
    "back": ("back", "go back", "previous", "undo", "tillbaka", "gå tillbaka", "förra", "ångra"),
}


def _normal(text: str) -> str:
    return " " + re.sub(r"[^\w]+", " ", unicodedata.normalize("NFKC", text).casefold()).strip() + " "


def says_command(text: Optional[str], command: str) -> bool:
    """Whether `text` contains one of the command's phrases as whole words."""
    normal = _normal(text or "")
    return any(f" {phrase} " in normal for phrase in COMMAND_WORDS.get(command, ()))


try:  # the gate is a Rasa NLU component; the pure check above needs no Rasa
    from rasa.engine.graph import ExecutionContext, GraphComponent
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.resource import Resource
    from rasa.engine.storage.storage import ModelStorage
    from rasa.shared.nlu.training_data.message import Message
except ImportError:  # pragma: no cover - only without Rasa installed
    GraphComponent = object  # type: ignore[misc,assignment]
    DefaultV1Recipe = None  # type: ignore[assignment]


def _register(cls):
    if DefaultV1Recipe is None:  # pragma: no cover
        return cls
    return DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)(cls)


@_register
class CommandGate(GraphComponent):  # type: ignore[misc]
    """Pipeline component (after the classifiers): demote unconfirmed restart/back to nlu_fallback."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: "ModelStorage", resource: "Resource",
               execution_context: "ExecutionContext") -> "CommandGate":
        return cls()

    def process(self, messages: List["Message"]) -> List["Message"]:
        for message in messages:
            intent = message.get("intent") or {}
            name = intent.get("name")
            if name in COMMAND_WORDS and not says_command(message.get("text"), name):
                message.set("intent", {"name": "nlu_fallback", "confidence": intent.get("confidence", 0.0)},
                            add_to_output=True)
        return messages
