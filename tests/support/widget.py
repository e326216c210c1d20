"""The widget tests' website: one page template, served under every name the test dialogues target."""
from __future__ import annotations

from pathlib import Path

from tests.support import FIXTURES

PAGES = ("full", "next", "timed", "scroll", "meet", "plain")


def write_site(folder: Path) -> Path:
    """`folder/<page>.html` for each page, from tests/fixtures/widget/page.html (`{{BOT}}` stays for the demo
    server to fill in)."""
    template = (FIXTURES / "widget" / "page.html").read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    for name in PAGES:
        (folder / f"{name}.html").write_text(template.replace("{{PAGE}}", name), encoding="utf-8")
    return folder
