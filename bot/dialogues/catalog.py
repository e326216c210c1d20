"""The compiled dialogues of the running bot, loaded lazily and reloaded when the build changes."""
from __future__ import annotations

from pathlib import Path
from typing import Dict

from bot.core.dialogue import Dialogue
from bot.dialogues.runtime import load_manifest
from bot.files import WatchedFile


class DialogueCatalog:
    """Dialogues from one build's manifest; the file is re-read only when it changed."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest
        self._file: WatchedFile[Dict[str, Dialogue]] = WatchedFile(manifest, lambda path, _previous: load_manifest(path))

    def current(self) -> Dict[str, Dialogue]:
        return self._file.current()
