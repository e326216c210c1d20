"""Dialogues as the console shows and edits them: their files, status, problems and flow.

A dialogue's status: `published` when the running bot's build has it and
its file has not changed since, `draft` when the file is newer than the
build (or the build does not have it yet), `paused` when the console paused
it, `invalid` when the file has problems. Edits are checked by the same
validator as `dynchat validate` and written only when valid, atomically
(a crash leaves the old file or the new one, never half of one).
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot.core.diagnostics import Diagnostic
from bot.core.dialogue import Dialogue
from bot.dialogues import graph
from bot.dialogues.catalog import DialogueCatalog
from bot.dialogues.loader import dialogue_files, parse_dialogue
from bot.store.switches import Switches

MAX_SOURCE = 256 * 1024


@dataclass(frozen=True)
class DialogueFile:
    id: str
    path: Path
    dialogue: Optional[Dialogue]
    problems: List[Diagnostic]


def problem_json(problem: Diagnostic, root: Path) -> Dict[str, Any]:
    """A problem as the console shows it: the file relative to the project, line, column, message."""
    path = Path(problem.path)
    shown = str(path.relative_to(root)) if path.is_absolute() and path.is_relative_to(root) else problem.path
    return {"file": shown, "line": problem.line, "column": problem.col, "message": problem.message}


class DialogueAdmin:
    def __init__(self, folder: Path, project: Path, catalog: DialogueCatalog, switches: Switches) -> None:
        self.folder, self.project, self.catalog, self.switches = folder, project, catalog, switches

    def files(self) -> List[DialogueFile]:
        """Every dialogue file with what it defines (its id, or its file name when it has problems)."""
        found, _ = dialogue_files([str(self.folder)])
        result = []
        for path in found:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                result.append(DialogueFile(path.stem, path, None, [Diagnostic(str(path), 1, 1, "cannot read as UTF-8")]))
                continue
            dialogue, problems = parse_dialogue(text, str(path))
            result.append(DialogueFile(dialogue.id if dialogue else path.stem, path, dialogue, problems))
        return result

    def _status(self, item: DialogueFile, published: Dict[str, Dialogue], paused: Any, built_at: float) -> str:
        if item.problems:
            return "invalid"
        if item.id in paused:
            return "paused"
        if item.id not in published or item.path.stat().st_mtime > built_at:
            return "draft"
        return "published"

    def _built_at(self) -> float:
        manifest = self.catalog.manifest
        return manifest.stat().st_mtime if manifest.exists() else 0.0

    def list(self) -> List[Dict[str, Any]]:
        published = self.catalog.current() if self.catalog.manifest.exists() else {}
        paused, built_at = self.switches.paused(), self._built_at()
        rows = []
        for item in self.files():
            d = item.dialogue
            rows.append({
                "id": item.id, "name": d.name if d else item.id, "priority": d.priority if d else None,
                "locale": d.locale if d else None, "locales": list(d.locales) if d else [],
                "status": self._status(item, published, paused, built_at), "file": item.path.name,
                "changed_at": item.path.stat().st_mtime, "problems": len(item.problems)})
        return sorted(rows, key=lambda row: (-(row["priority"] or 0), row["id"]))

    def find(self, dialogue_id: str) -> Optional[DialogueFile]:
        return next((item for item in self.files() if item.id == dialogue_id), None)

    def detail(self, dialogue_id: str) -> Optional[Dict[str, Any]]:
        item = self.find(dialogue_id)
        if item is None:
            return None
        published = self.catalog.current() if self.catalog.manifest.exists() else {}
        return {"id": item.id, "file": item.path.name, "source": item.path.read_text(encoding="utf-8"),
                "status": self._status(item, published, self.switches.paused(), self._built_at()),
                "problems": [problem_json(p, self.project) for p in item.problems],
                "graph": graph.svg(item.dialogue) if item.dialogue else None}

    def validate(self, source: str, file_name: str) -> Tuple[Optional[Dialogue], List[Diagnostic]]:
        """Check a dialogue's text as `dynchat validate` would, and that its id is not another file's."""
        path = str(self.folder / file_name)
        if len(source.encode("utf-8")) > MAX_SOURCE:
            return None, [Diagnostic(path, 1, 1, f"a dialogue file has at most {MAX_SOURCE // 1024} kB")]
        dialogue, problems = parse_dialogue(source, path)
        if dialogue is not None:
            taken = next((item for item in self.files()
                          if item.id == dialogue.id and item.path.name != file_name), None)
            if taken is not None:
                where = dialogue.pos
                problems = [Diagnostic(path, where.line if where else 1, where.col if where else 1,
                                       f"dialogue id '{dialogue.id}' is defined in {taken.path.name} already")]
        return (dialogue if not problems else None), problems

    def save(self, existing: DialogueFile, source: str) -> List[Diagnostic]:
        """Write a dialogue's file when its new text has no problems (atomically); the problems otherwise."""
        dialogue, problems = self.validate(source, existing.path.name)
        if dialogue is not None:
            write_atomically(existing.path, source)
        return problems


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
