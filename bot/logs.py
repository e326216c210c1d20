"""What our processes write to their logs: no email, phone number or token in clear, no whole tracker.

Every record passes `PersonalDataFilter` on its way to a handler: emails and
phone numbers are masked (`bot.core.text.masked`), `token=` values hidden,
conversation ids (bearer tokens of a sort) shortened to their first 12
digits, and a message longer than 2,000 characters (a tracker, a request
body) is cut. `mask_personal_data()` puts the filter on the handlers a process has
once its logging is set up (Rasa's, Sanic's, ours).
"""
from __future__ import annotations

import logging
import re

from bot.core.text import masked

MAX_MESSAGE = 2000
_TOKEN = re.compile(r"(token=|Bearer\s+)[^\s&\"']+", re.IGNORECASE)
_CONVERSATION = re.compile(r"\b([0-9a-f]{12})[0-9a-f]{52}\b")


class PersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let the handler report it as it would
            return True
        message = _CONVERSATION.sub(r"\1…", _TOKEN.sub(r"\1***", masked(message)))
        if len(message) > MAX_MESSAGE:
            message = f"{message[:MAX_MESSAGE]} ({len(message) - MAX_MESSAGE:,} more characters not logged)"
        record.msg, record.args = message, None
        return True


def mask_personal_data() -> None:
    """Put the filter on every handler of every logger there is now (idempotent)."""
    masking = PersonalDataFilter()
    loggers = [logging.getLogger()] + [logger for logger in logging.root.manager.loggerDict.values()
                                       if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(existing, PersonalDataFilter) for existing in handler.filters):
                handler.addFilter(masking)


def configure(level: int = logging.INFO) -> None:
    """Our own processes' logging (the action server, the web process): one format, masked."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s  %(message)s")
    mask_personal_data()
