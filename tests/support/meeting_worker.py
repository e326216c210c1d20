"""Books the same slot from many threads of this process; prints one line per attempt (for the concurrency test)."""
from __future__ import annotations

import sys
import threading

from bot.core.meetings import BookingRequest
from bot.store.database import Database
from bot.store.meetings import Meetings
from tests.support.agents import AGENTS


def main(url: str, start: int, threads: int) -> None:
    barrier = threading.Barrier(threads)
    lines = []
    store = Meetings(Database(url))  # one pool for the process's threads, as in a server

    def attempt(n: int) -> None:
        barrier.wait()
        result = store.book(AGENTS, BookingRequest(start, 30, f"visitor{n}@x.test"), now=start - 86400)
        lines.append(result.meeting.agent_email if result.meeting else "none")

    workers = [threading.Thread(target=attempt, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
