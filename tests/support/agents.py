"""Agents for the meeting tests and their worker processes: always available, three meetings a day at most."""
from __future__ import annotations

from bot.core.agents import Agent

ALWAYS = tuple((day, ((0, 1440),)) for day in range(7))
AGENTS = [Agent(f"Agent {n}", f"agent{n}@x.test", "UTC", availability=ALWAYS, max_per_day=3) for n in range(1, 6)]
