"""Sales agents from `data/agents.yml`, validated with file:line:col errors like dialogues.

```yaml
agents:
  - name: Ann Agent
    email: ann@example.com
    timezone: Europe/Stockholm
    calendar: local            # google | outlook | local
    availability:
      mon: ["09:00-12:00", "13:00-17:00"]
      fri: ["09:00-15:00"]
    duration: 30m              # optional: meeting length, buffer, minimum notice
    buffer: 10m
    min_notice: 4h
    max_per_day: 6             # counted by meeting date in the agent's time zone
    weight: 1
    teams: [emea, enterprise]
    active: true
```
"""
from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.agents import CALENDARS, WEEKDAYS, Agent, Routing, Rule
from bot.core.diagnostics import Diagnostic
from bot.dialogues.conditions import parse_duration
from bot.dialogues.loader import check_condition
from bot.dialogues.yamlpos import LList, LMap, YamlError, load_located
from bot.files import WatchedFile

AGENT_KEYS = {"name", "email", "timezone", "calendar", "availability", "duration", "buffer", "min_notice",
              "max_per_day", "weight", "teams", "active"}
logger = logging.getLogger(__name__)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


def parse_rules(data: LMap, path: str, emails: Sequence[str], teams: Sequence[str]) -> Tuple[List[Rule], List[Diagnostic]]:
    """`rules:` of the agents file: `{if: condition, team: NAME}` or `{if: condition, agent: EMAIL}`."""
    rules: List[Rule] = []
    problems: List[Diagnostic] = []
    raw_rules = data.get("rules")
    if raw_rules is None:
        return [], []
    if not isinstance(raw_rules, LList):
        return [], [Diagnostic.at(data.pos_of("rules"), "'rules' must be a list of {if: ..., team: ...} rules")]
    for index, raw in enumerate(raw_rules):
        pos = raw_rules.pos_of(index)
        if not isinstance(raw, LMap) or "if" not in raw or len({"team", "agent"} & set(raw)) != 1:
            problems.append(Diagnostic.at(pos, "a rule is {if: condition, team: NAME} or {if: condition, agent: EMAIL}"))
            continue
        condition, condition_problems = check_condition(raw["if"], raw.pos_of("if"), path)
        problems += condition_problems
        if raw.get("team") is not None and raw["team"] not in teams:
            problems.append(Diagnostic.at(raw.pos_of("team"), f"no agent is in team '{raw['team']}'"))
        if raw.get("agent") is not None and str(raw["agent"]).lower() not in emails:
            problems.append(Diagnostic.at(raw.pos_of("agent"), f"'{raw['agent']}' is not an agent"))
        if not problems:
            rules.append(Rule(condition, raw.get("team"), str(raw["agent"]).lower() if raw.get("agent") else None))
    return rules, problems


def parse_agents(text: str, path: str) -> Tuple[List[Agent], List[Diagnostic]]:
    """All agents of a file, or every problem in it."""
    agents, _, problems = parse_routing(text, path)
    return agents, problems


def parse_routing(text: str, path: str) -> Tuple[List[Agent], List[Rule], List[Diagnostic]]:
    """Agents and routing rules of a file, or every problem in it."""
    try:
        data, yaml_problems = load_located(text, path)
    except YamlError as exc:
        return [], [], [Diagnostic.at(exc.pos, exc.message)]
    problems = [Diagnostic.at(pos, message) for pos, message in yaml_problems]
    if not isinstance(data, LMap) or not isinstance(data.get("agents"), LList):
        where = data.pos if isinstance(data, (LMap, LList)) else None
        problems.append(Diagnostic(path, where.line if where else 1, where.col if where else 1,
                                   "an agents file is a map with an 'agents:' list"))
        return [], [], problems
    for key in sorted(set(data) - {"agents", "rules"}, key=str):
        problems.append(Diagnostic.at(data.pos_of_key(key), f"unknown key '{key}' (use agents and rules)"))
    agents: List[Agent] = []
    seen: Dict[str, int] = {}
    for index, raw in enumerate(data["agents"]):
        pos = data["agents"].pos_of(index)
        if not isinstance(raw, LMap):
            problems.append(Diagnostic.at(pos, "an agent is a map with name, email, timezone and availability"))
            continue
        agent = _agent(raw, problems)
        if agent is None:
            continue
        if agent.email in seen:
            problems.append(Diagnostic.at(raw.pos_of("email"), f"duplicate agent email '{agent.email}' "
                                                               f"(first at line {seen[agent.email]})"))
            continue
        seen[agent.email] = raw.pos_of("email").line
        agents.append(agent)
    if not agents and not problems:
        problems.append(Diagnostic.at(data.pos_of("agents"), "the agents list is empty"))
    rules, rule_problems = parse_rules(data, path, [a.email for a in agents],
                                       sorted({team for a in agents for team in a.teams}))
    problems += rule_problems
    return (agents if not problems else []), (rules if not problems else []), problems


def _agent(raw: LMap, problems: List[Diagnostic]) -> Optional[Agent]:
    count = len(problems)

    def error(key: str, message: str) -> None:
        problems.append(Diagnostic.at(raw.pos_of(key) if key in raw else raw.pos, message))

    for key in sorted(set(raw) - AGENT_KEYS, key=str):
        problems.append(Diagnostic.at(raw.pos_of_key(key), f"unknown key '{key}' in an agent"))
    name, email, timezone = raw.get("name"), raw.get("email"), raw.get("timezone")
    if not isinstance(name, str) or not name.strip():
        error("name", "an agent needs a 'name'")
    if not isinstance(email, str) or not _EMAIL.match(email):
        error("email", "an agent needs a valid 'email'")
    try:
        ZoneInfo(str(timezone))
        if not isinstance(timezone, str):
            raise ValueError
    except (ZoneInfoNotFoundError, ValueError):
        error("timezone", f"'{timezone}' is not an IANA time zone such as Europe/Stockholm")
    calendar = raw.get("calendar", "local")
    if calendar not in CALENDARS:
        error("calendar", f"'calendar' must be one of: {', '.join(CALENDARS)}")
    availability = _availability(raw, problems)
    minutes = {}
    for key, default in (("duration", "30m"), ("buffer", "0m"), ("min_notice", "0m")):
        seconds = parse_duration(raw.get(key, default))
        if seconds is None or (key == "duration" and seconds < 300):
            error(key, f"malformed {key} '{raw.get(key)}' (use e.g. 30m or 4h" + (", at least 5m)" if key == "duration" else ")"))
            seconds = 0
        minutes[key] = seconds // 60
    max_per_day = raw.get("max_per_day")
    if max_per_day is not None and (not isinstance(max_per_day, int) or isinstance(max_per_day, bool) or max_per_day < 1):
        error("max_per_day", "'max_per_day' must be a whole number of at least 1")
    weight = raw.get("weight", 1)
    if not isinstance(weight, int) or isinstance(weight, bool) or not 1 <= weight <= 100:
        error("weight", "'weight' must be a whole number from 1 to 100")
    teams = raw.get("teams", [])
    if not isinstance(teams, list) or not all(isinstance(t, str) and t.strip() for t in teams):
        error("teams", "'teams' must be a list of team names")
    active = raw.get("active", True)
    if not isinstance(active, bool):
        error("active", "'active' must be true or false")
    if len(problems) != count:
        return None
    return Agent(name=str(name).strip(), email=str(email).strip().lower(), timezone=str(timezone), calendar=calendar,
                 availability=availability, duration_minutes=minutes["duration"],
                 buffer_minutes=minutes["buffer"], min_notice_minutes=minutes["min_notice"],
                 max_per_day=max_per_day, weight=weight, teams=tuple(teams), active=active)


def _availability(raw: LMap, problems: List[Diagnostic]) -> Tuple[Tuple[int, Tuple[Tuple[int, int], ...]], ...]:
    hours = raw.get("availability")
    if not isinstance(hours, LMap) or not hours:
        problems.append(Diagnostic.at(raw.pos_of("availability") if "availability" in raw else raw.pos,
                                      "an agent needs 'availability': weekdays (mon..sun) with HH:MM-HH:MM blocks"))
        return ()
    result = []
    for day, blocks in hours.items():
        if day not in WEEKDAYS:
            problems.append(Diagnostic.at(hours.pos_of_key(day), f"'{day}' is not a weekday (mon..sun)"))
            continue
        if not isinstance(blocks, LList):
            problems.append(Diagnostic.at(hours.pos_of(day), "a weekday has a list of \"HH:MM-HH:MM\" blocks"))
            continue
        parsed: List[Tuple[int, int]] = []
        for index, block in enumerate(blocks):
            match = _BLOCK.match(str(block).replace(" ", ""))
            start = end = 0
            if match:
                start = int(match.group(1)) * 60 + int(match.group(2))
                end = int(match.group(3)) * 60 + int(match.group(4))
            if not match or end <= start or end > 24 * 60:
                problems.append(Diagnostic.at(blocks.pos_of(index), f"'{block}' is not a block like \"09:00-12:00\""))
                continue
            if any(start < e and s < end for s, e in parsed):
                problems.append(Diagnostic.at(blocks.pos_of(index), f"'{block}' overlaps another block of {day}"))
                continue
            parsed.append((start, end))
        result.append((WEEKDAYS.index(day), tuple(sorted(parsed))))
    return tuple(sorted(result))


def load_routing(path: Path) -> Tuple[List[Agent], List[Rule], List[Diagnostic]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], [], [Diagnostic(str(path), 1, 1, "no agents file (set DYNCHAT_AGENTS or create data/agents.yml)")]
    except UnicodeDecodeError:
        return [], [], [Diagnostic(str(path), 1, 1, "not UTF-8 text")]
    return parse_routing(text, str(path))


def load_accounts(path: Path) -> Dict[str, str]:
    """The account list (CSV `account,agent`): company name or email domain -> agent email."""
    if not path.exists():
        return {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return {row["account"].strip().lower(): row["agent"].strip().lower()
                for row in csv.DictReader(handle) if row.get("account") and row.get("agent")}


class RoutingFile:
    """The agents file (and account list) of a running bot, re-read when the agents file changes.

    `current()` is None when there is no agents file, or it has a problem
    (logged once per change): meetings are then off, the chat says so.
    """

    def __init__(self, agents: Path, accounts: Path) -> None:
        self.agents, self.accounts = agents, accounts
        self._file: WatchedFile[Optional[Routing]] = WatchedFile(agents, lambda _path, _previous: self._load(),
                                                                 missing=lambda: None)

    def current(self) -> Optional[Routing]:
        return self._file.current()

    def _load(self) -> Optional[Routing]:
        agents, rules, problems = load_routing(self.agents)
        if problems:
            logger.warning("meetings are off: %s", problems[0])
            return None
        return Routing(tuple(agents), tuple(rules), load_accounts(self.accounts))
