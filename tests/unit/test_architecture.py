"""The house rules of `bot/` that no linter checks: no cycles, no hidden imports, no process-wide singletons.

The layers themselves are import-linter's contracts in pyproject.toml
(`make test` runs `lint-imports`); these tests hold what it cannot say.
"""
from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import grimp

from tests.support import PYTHON, ROOT

PRODUCTION = sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("actions/*.py")])
DEFERRING_ON_PURPOSE = {ROOT / "bot" / "cli.py"}  # commands import what they use: `dynchat validate` stays fast
COMPOSITION_ROOT = ROOT / "bot" / "app.py"


def _functions(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield node


def test_no_module_of_ours_is_imported_inside_a_function() -> None:
    found: List[str] = []
    for path in PRODUCTION:
        if path in DEFERRING_ON_PURPOSE:
            continue
        for function in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            for node in ast.walk(function):
                module = (node.module or "") if isinstance(node, ast.ImportFrom) else (
                    node.names[0].name if isinstance(node, ast.Import) else "")
                if module.split(".")[0] in ("bot", "actions"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {module}")
    assert found == []


def test_no_process_wide_singleton_outside_the_composition_root() -> None:
    """A cached module-level function of no arguments is a singleton; caches of pure functions (keyed by their
    arguments) and of an object's own methods are fine."""
    found: List[str] = []
    for path in PRODUCTION:
        if path == COMPOSITION_ROOT:
            continue
        for function in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            cached = any("cache" in ast.unparse(decorator) for decorator in function.decorator_list)
            arguments = function.args.posonlyargs + function.args.args + function.args.kwonlyargs
            if cached and not arguments:
                found.append(f"{path.relative_to(ROOT)}:{function.lineno}: {function.name}")
    assert found == []


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.get(module, ()):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycle_between_modules() -> None:
    built = grimp.build_graph("bot", "actions")
    ours = {m for m in built.modules if m.split(".")[0] in ("bot", "actions")}
    graph = {m: {i for i in built.find_modules_directly_imported_by(m) if i in ours} for m in ours}
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    edges: List[Tuple[str, str]] = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
    graph: Dict[str, Set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    assert _cycles(graph) == [["a", "b", "c"]]


def test_the_core_reads_as_types_only() -> None:
    """`bot/core` holds types and names: no I/O, no clock, no environment."""
    for path in sorted((ROOT / "bot" / "core").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for forbidden in ("import os", "open(", "time.time(", "environ"):
            assert forbidden not in text, f"{path.relative_to(ROOT)} uses {forbidden}"


def test_every_production_module_is_checked() -> None:
    assert ROOT / "bot" / "app.py" in PRODUCTION and len(PRODUCTION) > 60
    assert all(isinstance(p, Path) for p in PRODUCTION)


def test_pure_modules_load_nothing_heavy() -> None:
    """The iCalendar formatter, availability and the router load neither SQLAlchemy nor the dialogue loader."""
    code = ("import sys, bot.calendars.local, bot.routing.availability, bot.routing.router, bot.core.dialogue; "
            "print(sorted(m for m in ('sqlalchemy', 'yaml', 'rasa', 'bot.dialogues.loader', 'bot.store') if m in sys.modules))")
    loaded = subprocess.run([PYTHON, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
