"""Our contradiction check finds, with the designer's positions, what Rasa's training would.

Each file under `tests/fixtures/contradicting/` is a set of dialogues that
contradict each other in Rasa's eyes although every card is valid on its own.
For each, the compiler must report the contradiction (file, line, column), and
Rasa's own check, run on the same output compiled without ours, must report
one too: so the fixtures are real contradictions, and ours comes first. Valid
dialogues of every card kind pass both (`tests/test_policy.py` trains Rasa's
policy with its check on the shipped and generated dialogues).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.policies.rule_policy import InvalidRule, RulePolicy

from bot.dialogues.build import shared_inputs
from bot.dialogues.compiler import compile_dialogues
from bot.dialogues.loader import load_dialogues
from tests.support import FIXTURES, ROOT, expected_diagnostics
from tests.support import policy as policy_support

CONTRADICTING = sorted((FIXTURES / "contradicting").glob("*.yml"))


@pytest.mark.parametrize("path", CONTRADICTING, ids=lambda p: p.stem)
def test_ours_reports_with_positions_what_rasa_reports(path: Path, tmp_path: Path) -> None:
    dialogues, problems = load_dialogues([str(path)])
    assert problems == [], "each card is valid on its own"
    shared, nlu, _ = shared_inputs(ROOT)

    compiled, ours = compile_dialogues(dialogues, shared, nlu)
    assert compiled is None
    assert [str(p) for p in ours] == expected_diagnostics(path, file=str(path))

    unchecked, _ = compile_dialogues(dialogues, shared, nlu, check_contradictions=False)
    unchecked.write(tmp_path / "build")
    domain, trackers = policy_support.load_training(tmp_path / "build")
    with pytest.raises(InvalidRule) as rasa_says:
        policy_support.train(RulePolicy, domain, trackers, tmp_path / "stock")
    assert "Contradicting rules or stories found" in str(rasa_says.value)
    for card in {p.message.split("'")[1] for p in ours}:
        assert f"{dialogues[0].id}: " in str(rasa_says.value) and card in str(rasa_says.value)
