"""`dynchat graph`: the flow as Mermaid and as SVG."""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ElementTree

from bot.dialogues import graph
from bot.dialogues.loader import load_dialogues
from tests.support import FIXTURES, PYTHON, ROOT


def _shop():
    dialogues, problems = load_dialogues([str(FIXTURES / "dialogues" / "shop.yml")])
    assert problems == []
    return dialogues[0]


def test_mermaid_has_every_card_and_edge() -> None:
    text = graph.mermaid(_shop())
    assert text.startswith("flowchart TD")
    assert 'interested -->|"Yes"| email' in text
    assert 'size -->|"person.email contains @bigcorp."| enterprise' in text
    assert 'size -->|"else"| small' in text
    assert "class hello start" in text
    assert len(graph.edges(_shop())) == 9


def test_svg_is_well_formed_with_a_box_per_card(tmp_path) -> None:
    out = tmp_path / "shop.svg"
    result = subprocess.run([PYTHON, "-m", "bot", "graph", str(FIXTURES / "dialogues" / "shop.yml"),
                             "--format", "svg", "-o", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    root = ElementTree.parse(out).getroot()
    namespace = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{namespace}rect")) == len(_shop().cards)
    assert len(root.findall(f"{namespace}path")) == len(graph.edges(_shop()))


def test_graph_of_an_invalid_file_reports_problems() -> None:
    result = subprocess.run([PYTHON, "-m", "bot", "graph", str(FIXTURES / "invalid" / "unreachable.yml")],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "never reached" in result.stderr and "Traceback" not in result.stderr
