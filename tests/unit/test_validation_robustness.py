"""No traceback for any designer mistake: randomly broken dialogue files only ever give diagnostics."""
from __future__ import annotations

import copy
import random
from typing import Any, List

import yaml

from bot.dialogues.loader import parse_dialogue
from tests.support import FIXTURES, ROOT

ODD_VALUES = [None, 0, -1, 3.5, True, "", "x", "{{", "}}", "*", "__", [], {}, [1, "a"], {"a": {"b": []}},
              "10 parsecs", "150%", {"field": "person.x", "op": "equals"}, [{"else": "nowhere"}]]


def _paths(value: Any, prefix: tuple = ()) -> List[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, prefix + (index,))
    return found


def _mutate(data: Any, rng: random.Random) -> Any:
    path = rng.choice(_paths(data)[1:])
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    action = rng.random()
    if action < 0.3 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action < 0.4 and isinstance(parent, list):
        parent.append(copy.deepcopy(rng.choice(ODD_VALUES)))
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return data


def test_random_breakage_never_raises() -> None:
    rng = random.Random(20261125)
    sources = sorted((ROOT / "data" / "dialogues").glob("*.yml")) + sorted((FIXTURES / "dialogues").glob("*.yml"))
    checked = 0
    for source in sources:
        original = yaml.safe_load(source.read_text(encoding="utf-8"))
        for _ in range(60):
            data = yaml.safe_load(yaml.safe_dump(original))
            for _ in range(rng.randint(1, 3)):
                data = _mutate(data, rng)
            text = yaml.safe_dump(data, allow_unicode=True)
            dialogue, problems = parse_dialogue(text, "broken.yml")
            assert (dialogue is None) == bool(problems), text
            for problem in problems:
                assert problem.line >= 1 and problem.col >= 1 and problem.message
            checked += 1
    assert checked == 60 * len(sources)


def test_raw_garbage_never_raises() -> None:
    rng = random.Random(7)
    alphabet = "ab:- \n{}[]'\"#&*!|>%@`\t,?0"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        dialogue, problems = parse_dialogue(text, "garbage.yml")
        assert dialogue is None and problems


def test_recursive_aliases_and_alias_bombs_are_refused() -> None:
    _, problems = parse_dialogue("dialogue: loop\ncards: &a [*a]\n", "loop.yml")
    assert [str(p) for p in problems] == ["loop.yml:2:8: invalid YAML: an alias refers to itself"]
    bomb = ["a: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]" for i in range(1, 8)]
    _, problems = parse_dialogue("\n".join(bomb) + "\n", "bomb.yml")
    assert len(problems) == 1 and "too many nodes" in problems[0].message
