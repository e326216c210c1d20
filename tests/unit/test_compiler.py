"""Compiler output: golden files, determinism, Rasa's own validation, contradictions."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.core import naming
from bot.dialogues import compiler
from bot.dialogues.build import compile_project
from bot.dialogues.loader import load_dialogues
from bot.dialogues.runtime import dialogue_from_dict
from tests.support import FIXTURES, PYTHON, ROOT

DIALOGUES = "tests/fixtures/dialogues"
GOLDEN = FIXTURES / "golden"


def _compiled() -> compiler.Compiled:
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        compiled, problems = compile_project(ROOT, [DIALOGUES])
    finally:
        os.chdir(previous)
    assert problems == []
    return compiled


def test_golden_output() -> None:
    """The compiled project is byte-identical to the reviewed golden files.

    After an intended change, regenerate with UPDATE_GOLDEN=1 and review the diff.
    """
    compiled = _compiled()
    if os.environ.get("UPDATE_GOLDEN"):
        compiled.write(GOLDEN)
    expected = {str(p.relative_to(GOLDEN)): p.read_text(encoding="utf-8") for p in GOLDEN.rglob("*") if p.is_file()}
    assert sorted(expected) == sorted(compiled.files)
    for name, content in compiled.files.items():
        assert content == expected[name], f"{name} differs from the golden file"


def test_output_is_deterministic_across_processes(tmp_path: Path) -> None:
    outputs = []
    for seed, order in (("1", [DIALOGUES]), ("2", sorted(str(p) for p in Path(ROOT / DIALOGUES).glob("*.yml"))[::-1])):
        out = tmp_path / f"out{seed}"
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        order = [os.path.relpath(p, ROOT) for p in order]
        subprocess.run([PYTHON, "-m", "bot", "compile", *order, "--out", str(out)], check=True, cwd=ROOT, env=env,
                       capture_output=True)
        outputs.append({str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert outputs[0] == outputs[1]


def test_rewriting_unchanged_output_touches_nothing(tmp_path: Path) -> None:
    compiled = _compiled()
    assert len(compiled.write(tmp_path)) == len(compiled.files)
    assert compiled.write(tmp_path) == []


def test_flow_is_in_rules() -> None:
    rules = yaml.safe_load(_compiled().files["data/rules.yml"])["rules"]
    by_name = {rule["rule"]: rule for rule in rules}
    option = by_name["shop: interested option 1"]
    assert option["steps"] == [{"intent": "dc__shop__interested__1"}, {"action": naming.STEP_ACTION}]
    after = by_name["shop: after hello"]
    assert after["steps"] == [{"action": "utter_dc__shop__hello"}, {"action": "utter_dc__shop__interested"}]
    assert "wait_for_user_input" not in after  # a question waits for the visitor
    captured = by_name["shop: email captured"]
    assert captured["condition"] == [{"active_loop": "form_dc__shop__email"}]
    assert captured["steps"][-1] == {"action": naming.STEP_ACTION}
    assert captured["wait_for_user_input"] is False


def test_buttons_are_payloads_that_skip_nlu_and_tokens_survive() -> None:
    domain = yaml.safe_load(_compiled().files["domain.yml"])
    question = domain["responses"]["utter_dc__svensk__fraga"]
    assert question[0]["buttons"][0] == {"title": "Ja tack", "payload": "/dc__svensk__fraga__1"}
    assert question[1]["condition"] == [{"type": "slot", "name": "dc_locale", "value": "en"}]
    hello = domain["responses"]["utter_dc__shop__hello"][0]["text"]
    assert hello == 'Hello {{lead.firstName:"stranger"}}, welcome to the shop.'
    mappings = domain["slots"]["person_buyer"]["mappings"]
    assert {"type": "from_intent", "intent": ["dc__shop__interested__1"], "value": "company"} in mappings


def test_contradicting_rules_are_reported_with_the_designers_cards() -> None:
    dialogues, _ = load_dialogues([str(ROOT / DIALOGUES)])
    builder = compiler._Builder(dialogues)
    builder.build()
    assert compiler.rule_contradictions(builder) == []
    shop = next(d for d in dialogues if d.id == "shop")
    builder.rule(shop, shop.cards["bye"], "broken", [{"intent": "dc__shop__interested__1"}], "utter_dc__shop__bye")
    problems = [str(p) for p in compiler.rule_contradictions(builder)]
    assert len(problems) == 1
    assert problems[0].startswith(f"{shop.cards['bye'].pos}: card 'bye' contradicts card 'interested' of 'shop'")


@pytest.mark.parametrize("generated", [0, 20])
def test_rasa_data_validate_accepts_the_output(tmp_path: Path, generated: int) -> None:
    """Rasa's own checks, schema and story structure included, on the fixture dialogues and on the
    shipped ones plus generated ones of every card kind: training skips both (the schema in
    bot/dialogues/importer.py, `--skip-validation` in bot/dialogues/train.py) because this test
    holds the compiler's output to them."""
    if generated:
        from tests.support.policy import compile_with_generated

        build = compile_with_generated(tmp_path / "scratch", generated)
        shutil.copytree(build, tmp_path, dirs_exist_ok=True)
    else:
        _compiled().write(tmp_path)
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    config.pop("importers")  # Rasa's default importer, which validates against its schemas
    (tmp_path / "config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [PYTHON, "-m", "rasa", "data", "validate", "--data", "data", "--domain", "domain.yml",
         "--config", str(tmp_path / "config.yml")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "No story structure conflicts found" in output
    assert "error" not in output.lower().replace("sentry_sdk", "")


def test_a_card_that_contradicts_a_built_in_rule_is_reported_at_the_card() -> None:
    dialogues, _ = load_dialogues([str(ROOT / DIALOGUES)])
    builder = compiler._Builder(dialogues)
    builder.build()
    shop = next(d for d in dialogues if d.id == "shop")
    builder.rule(shop, shop.cards["bye"], "broken", [{"intent": "greet"}], "utter_dc__shop__bye")
    problems = [str(p) for p in compiler.rule_contradictions(builder)]
    assert problems == [f"{shop.cards['bye'].pos}: card 'bye' contradicts the built-in rule 'free text: greet': "
                        "the same step leads to 'utter_dc__shop__bye' and 'action_dc_free_text'"]


def test_a_waiting_rule_implies_action_listen_for_the_check() -> None:
    rule = {"rule": "r", "steps": [{"intent": "x"}, {"action": "utter_a"}]}
    assert [outcome for _, outcome in compiler.rule_predictions(rule)] == ["utter_a", "action_listen"]
    rule["wait_for_user_input"] = False
    assert [outcome for _, outcome in compiler.rule_predictions(rule)] == ["utter_a"]
    opening = {"rule": "r", "steps": [{"action": "action_dc_step"}, {"slot_was_set": [{"dc_goto": "A__B"}]},
                                      {"action": "utter_b"}], "wait_for_user_input": False}
    [(key, outcome)] = compiler.rule_predictions(opening)
    assert outcome == "utter_b" and '"a__b"' in key  # the routing value as Rasa compares it


def test_the_manifest_gives_back_every_card_as_its_kind() -> None:
    """The action server reads the dialogues back from the manifest: the same cards, of the same kinds."""
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        loaded, problems = load_dialogues([DIALOGUES])
    finally:
        os.chdir(previous)
    assert problems == []
    manifest = json.loads(_compiled().files["manifest.json"])
    read_back = {d["id"]: dialogue_from_dict(d) for d in manifest["dialogues"]}
    assert read_back == {d.id: d for d in loaded}
    kinds = {type(card).__name__ for d in read_back.values() for card in d.cards.values()}
    assert kinds == {"MessageCard", "QuestionCard", "CaptureCard", "BranchCard", "MeetingCard", "GoalCard"}
