"""Files a running bot reads: configuration re-read when it changes (a change applies without a restart), the
end of a log."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Generic, Optional, Tuple, TypeVar

T = TypeVar("T")


def log_tail(path: Path, lines: int = 25) -> str:
    """The end of a log file (its last 64 kB at most), to show why something stopped."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


class WatchedFile(Generic[T]):
    """`load(path, previous)` runs on first use and again only when the file's modification time changes.

    `previous` is what the last load gave (None at first), so a loader can keep the last good value after a
    bad edit. Without the file, `missing()` answers; with no `missing`, the FileNotFoundError propagates.
    """

    def __init__(self, path: Path, load: Callable[[Path, Optional[T]], T],
                 missing: Optional[Callable[[], T]] = None) -> None:
        self.path, self._load, self._missing = path, load, missing
        self._lock = threading.Lock()
        self._loaded: Optional[Tuple[float, T]] = None

    def current(self) -> T:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            if self._missing is None:
                raise
            return self._missing()
        with self._lock:
            if self._loaded is None or self._loaded[0] != mtime:
                self._loaded = (mtime, self._load(self.path, self._loaded[1] if self._loaded else None))
            return self._loaded[1]
