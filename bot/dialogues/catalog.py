"""The compiled dialogues of the running bot, loaded lazily and reloaded on change."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Dict, Optional, Tuple

from bot.config import settings
from bot.dialogues.model import Dialogue
from bot.dialogues.runtime import load_manifest

_lock = threading.Lock()
_cache: Dict[Path, Tuple[float, Dict[str, Dialogue]]] = {}


def current_dialogues(manifest: Optional[Path] = None) -> Dict[str, Dialogue]:
    """Dialogues from the build's manifest; re-read only when the file changed."""
    path = manifest or settings().manifest
    mtime = path.stat().st_mtime
    with _lock:
        cached = _cache.get(path)
        if cached is None or cached[0] != mtime:
            cached = (mtime, load_manifest(path))
            _cache[path] = cached
        return cached[1]
