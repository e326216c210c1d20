"""Every validation error class of the dialogue contract: file, line, column, message."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.dialogues.loader import load_dialogues
from tests.support import FIXTURES, PYTHON, ROOT, expected_diagnostics

INVALID = sorted((FIXTURES / "invalid").glob("*.yml"))


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_each_error_class_is_reported_exactly(path: Path) -> None:
    dialogues, problems = load_dialogues([str(path)])
    assert dialogues == []
    assert [str(p) for p in problems] == expected_diagnostics(path)


def test_all_problems_of_a_run_are_reported_at_once() -> None:
    _, problems = load_dialogues([str(FIXTURES / "invalid")])
    expected = [line for path in INVALID for line in expected_diagnostics(path)]
    assert sorted(str(p) for p in problems) == sorted(expected)
    assert len({p.path for p in problems}) == len(INVALID)


def test_duplicate_dialogue_ids_across_files() -> None:
    folder = FIXTURES / "duplicate_ids"
    dialogues, problems = load_dialogues([str(folder)])
    assert [d.id for d in dialogues] == ["same"]
    assert [str(p) for p in problems] == expected_diagnostics(folder / "b.yml", dir=str(folder))


def test_shipped_dialogues_are_valid() -> None:
    dialogues, problems = load_dialogues([str(ROOT / "data" / "dialogues")])
    assert problems == []
    assert {d.id for d in dialogues} >= {"welcome", "pricing", "book_a_demo", "valkommen_sv"}
    assert any(d.locale == "sv" for d in dialogues)


def test_missing_path_and_bad_encoding(tmp_path: Path) -> None:
    broken = tmp_path / "latin1.yml"
    broken.write_bytes("dialogue: caf\xe9\n".encode("latin-1"))
    _, problems = load_dialogues([str(tmp_path / "nope"), str(broken)])
    messages = [str(p) for p in problems]
    assert f"{tmp_path / 'nope'}:1:1: no such file or folder" in messages
    assert any(m.startswith(f"{broken}:1:1: not UTF-8 text") for m in messages)


def test_cli_prints_diagnostics_exits_1_and_never_a_traceback() -> None:
    result = subprocess.run([PYTHON, "-m", "bot", "validate", str(FIXTURES / "invalid")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    expected = [line for path in INVALID for line in expected_diagnostics(path)]
    printed = [line for line in result.stderr.splitlines() if not line.endswith("found")]
    assert sorted(printed) == sorted(expected)
    assert result.stderr.strip().endswith(f"{len(expected)} problems found")


def test_cli_accepts_valid_files() -> None:
    result = subprocess.run([PYTHON, "-m", "bot", "validate"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
