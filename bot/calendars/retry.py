"""How long to wait before retrying a calendar call: the server's Retry-After, else jittered backoff."""
from __future__ import annotations

import random
from typing import Optional


def retry_delay(attempt: int, retry_after: Optional[str] = None, cap: float = 30.0) -> float:
    if retry_after and retry_after.strip().isdigit():
        return float(retry_after)
    return min(cap, 0.5 * 2 ** attempt * random.random())
