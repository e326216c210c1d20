"""Compile a project's dialogues into its build folder (the I/O edge of the compiler)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, Tuple

import yaml

from bot.core.diagnostics import Diagnostic
from bot.dialogues.compiler import Compiled, compile_dialogues
from bot.dialogues.loader import load_dialogues


def shared_inputs(project: Path) -> Tuple[dict, dict, List[Diagnostic]]:
    """The hand-written domain part and NLU files that every build includes."""
    problems: List[Diagnostic] = []
    domain_path = project / "domain.yml"
    try:
        shared = yaml.safe_load(domain_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        shared = {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(Diagnostic(str(domain_path), (mark.line + 1) if mark else 1, (mark.column + 1) if mark else 1,
                                   f"invalid YAML: {getattr(exc, 'problem', exc)}"))
        shared = {}
    nlu_dir = project / "data" / "nlu"
    nlu = {p.name: p.read_text(encoding="utf-8") for p in sorted(nlu_dir.glob("*.yml"))} if nlu_dir.is_dir() else {}
    return shared, nlu, problems


def compile_project(project: Path, dialogue_paths: Sequence[str]) -> Tuple[Compiled | None, List[Diagnostic]]:
    """Validate and compile; diagnostics instead of output when anything is wrong."""
    dialogues, problems = load_dialogues(dialogue_paths)
    shared, nlu, shared_problems = shared_inputs(project)
    problems = problems + shared_problems
    if problems:
        return None, problems
    return compile_dialogues(dialogues, shared, nlu)
