"""Start the Marketo emulator as a real server on loopback for a test."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Optional

from tests.support.e2e import free_port
from tests.support.servers import LoopbackServer, start_server


@dataclass
class Emulator(LoopbackServer):
    client_id: str = "emulator-client"
    client_secret: str = "emulator-secret"

    def stats(self, window: Optional[float] = None) -> Dict[str, Any]:  # type: ignore[override]
        return super().stats(f"?window={window}" if window else "")


def start_emulator(seed: Optional[Path] = None, token_ttl: int = 3600) -> Emulator:
    arguments = ["--token-ttl", str(token_ttl)] + (["--seed", str(seed)] if seed else [])
    return start_server("bot.emulators.marketo", free_port(), arguments, Emulator)
