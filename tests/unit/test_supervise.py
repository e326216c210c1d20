"""The supervisor restarts a dead or hung server with backoff, the others untouched (bot.web.serve.supervise)."""
from __future__ import annotations

from typing import List, Optional

from bot.web.serve import Supervised, restart_delay, supervise


class FakeProcess:
    def __init__(self) -> None:
        self.returncode: Optional[int] = None
        self.pid = 0

    def poll(self) -> Optional[int]:
        return self.returncode


def test_backoff_doubles_to_thirty_seconds() -> None:
    assert [restart_delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_dead_server_is_restarted_with_backoff_and_the_other_is_left_alone() -> None:
    now = [0.0]
    actions, rasa = Supervised("action server", [], "actions"), Supervised("Rasa server", [], "rasa")
    for service in (actions, rasa):
        service.process, service.healthy_since = FakeProcess(), 0.0  # type: ignore[assignment]
    started: List[str] = []
    said: List[str] = []

    def start(service: Supervised) -> None:
        started.append(service.name)
        service.process = FakeProcess()  # type: ignore[assignment]

    def tick() -> bool:  # the loop's clock advances by a second per round; the action server dies twice
        now[0] += 1
        if now[0] in (3, 6):
            actions.process.returncode = -9  # type: ignore[union-attr]
        return now[0] > 20

    supervise([actions, rasa], start, tick, said.append, clock=lambda: now[0], healthy=lambda url: True, pause=0)
    assert started == ["action server", "action server"] and rasa.restarts == 0
    assert said[0] == "the action server stopped (code -9); restarting it in 1 s"
    assert "restarting it in 2 s" in said[2]  # died again before a healthy minute: a longer wait


def test_a_server_that_stops_answering_is_killed_and_restarted(monkeypatch) -> None:
    import bot.web.serve as serve

    now = [0.0]
    hung = Supervised("Rasa server", [], "rasa")
    hung.process, hung.healthy_since = FakeProcess(), 0.0  # type: ignore[assignment]
    killed: List[str] = []

    def kill(service: Supervised) -> None:
        killed.append(service.name)
        service.process.returncode = -9  # type: ignore[union-attr]

    monkeypatch.setattr(serve, "_kill", kill)
    said: List[str] = []

    def tick() -> bool:
        now[0] += 1
        return now[0] > 40 or bool(killed)

    supervise([hung], lambda service: None, tick, said.append, clock=lambda: now[0], healthy=lambda url: False, pause=0)
    assert killed == ["Rasa server"] and said[0].startswith("the Rasa server has not answered for 30 s")


def test_the_daily_job_runs_a_minute_after_start_and_then_daily(tmp_path) -> None:
    """Retention runs from `dynchat run` by this: once after `first` seconds, its output in the log."""
    import sys

    from bot.web.serve import daily

    log = tmp_path / "log"
    checks: List[int] = []

    def stopping() -> bool:  # until the job has written its line (or 20 rounds, a second each)
        checks.append(1)
        return len(checks) > 20 or log.stat().st_size > 0

    with open(log, "wb") as out:
        daily([sys.executable, "-c", "print('retention: ran')"], tmp_path, {}, out, stopping, first=0.0, every=3600)
    assert log.read_text().splitlines() == ["retention: ran"]
