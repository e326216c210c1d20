"""Places in files and the problems found there, printed as `path:line:col: message`."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pos:
    """A place in a file, 1-based line and column."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One validation problem, printed as `path:line:col: message`."""

    path: str
    line: int
    col: int
    message: str

    @classmethod
    def at(cls, pos: Pos, message: str) -> "Diagnostic":
        return cls(pos.path, pos.line, pos.col, message)

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"
