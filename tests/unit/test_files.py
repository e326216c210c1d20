"""A watched configuration file: read once, again only after a change, with the last value at hand."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import pytest

from bot.files import WatchedFile


def test_a_file_is_read_again_only_when_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "settings.txt"
    reads: List[Optional[str]] = []

    def load(file: Path, previous: Optional[str]) -> str:
        reads.append(previous)
        return file.read_text(encoding="utf-8")

    watched = WatchedFile(path, load, missing=lambda: "defaults")
    assert watched.current() == "defaults" and reads == []
    path.write_text("one", encoding="utf-8")
    os.utime(path, (100, 100))
    assert watched.current() == "one" and watched.current() == "one" and reads == [None]
    path.write_text("two", encoding="utf-8")
    os.utime(path, (200, 200))
    assert watched.current() == "two" and reads == [None, "one"]  # the loader saw what it gave last


def test_without_a_default_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        WatchedFile(tmp_path / "absent", lambda file, previous: "x").current()
