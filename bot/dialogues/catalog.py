"""The compiled dialogues of the running bot, loaded lazily and reloaded when the build changes."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Dict, Optional, Tuple

from bot.core.dialogue import Dialogue
from bot.dialogues.runtime import load_manifest


class DialogueCatalog:
    """Dialogues from one build's manifest; the file is re-read only when it changed."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest
        self._lock = threading.Lock()
        self._loaded: Optional[Tuple[float, Dict[str, Dialogue]]] = None

    def current(self) -> Dict[str, Dialogue]:
        mtime = self.manifest.stat().st_mtime
        with self._lock:
            if self._loaded is None or self._loaded[0] != mtime:
                self._loaded = (mtime, load_manifest(self.manifest))
            return self._loaded[1]
