"""Rasa response generation with Dynamic Chat tokens: {{lead.firstName:"there"}}.

Rasa's own templating knows `{slot}` but no defaults, and would mangle the
double braces; this generator picks the variation the Rasa way (by channel
and the dc_locale condition) and then fills our tokens from the slots.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator

from bot.dialogues.tokens import render_with_slots
from bot.web import rasa_speedups, resilience


class TokenNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    """Configured in endpoints.yml as `nlg: {type: bot.web.nlg.TokenNaturalLanguageGenerator}`."""

    def __init__(self, endpoint_config: Any = None, domain: Any = None, **_: Any) -> None:
        super().__init__(domain.responses if domain is not None else {})
        rasa_speedups.install()  # the Rasa server loads this generator once, at start
        resilience.install()

    def _fill_response(self, response: Dict[str, Any], filled_slots: Optional[Dict[str, Any]] = None,
                       **kwargs: Any) -> Dict[str, Any]:
        slots = dict(filled_slots or {})
        values = {key: value for key, value in kwargs.items() if isinstance(value, (str, int, float))}
        if isinstance(response.get("text"), str):  # {time}, {agent}... passed by an action with the response
            response["text"] = render_with_slots(response["text"], slots, values)
        for button in response.get("buttons") or []:
            if isinstance(button.get("title"), str):
                button["title"] = render_with_slots(button["title"], slots)
        return response
