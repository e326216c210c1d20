"""Pick the agent for a meeting: a pure function over prefetched data and a small rotation state.

Order, like Chili Piper and Dynamic Chat: a named agent; the account's
owner (a known lead's owner, or the account list: company name or email
domain -> agent); the dialogue's routing rules (conditions -> team or agent,
by priority); round robin in a team; round robin over everyone.

Round robin is strictly sequential: if agent 3 took the last meeting, agent
4 gets the next, then 5, then 1. An agent who is busy, away, inactive or at
their daily cap is skipped, and the skip is logged with its reason. Weights
repeat an agent in the rotation; a cancelled or reassigned meeting gives its
agent a credit, which puts them first in line again. An agent skipped because
they already had a meeting at that time is owed the turn they missed (Chili
Piper's equal distribution): they are first in line the next time they are
free, so a busy calendar does not cost its agent a share of the meetings.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from bot.core.agents import Agent, RoutingSpec, Rule
from bot.dialogues import conditions

BUSY = "busy"  # the reason an agent with a meeting at that time is skipped; they are owed the turn
FreeCheck = Callable[[Agent], Optional[str]]  # None when free, else why not


@dataclass
class PoolState:
    """Where a rotation stands: the position of the last assignment, and credits from cancellations."""

    position: int = -1                      # index into the weighted order of the last assignment
    last_agent: Optional[str] = None
    credits: Dict[str, int] = field(default_factory=dict)
    assigned: Dict[str, int] = field(default_factory=dict)
    owed: List[str] = field(default_factory=list)  # skipped as busy, in the order they were skipped

    def to_json(self) -> Dict[str, Any]:
        return {"position": self.position, "last_agent": self.last_agent, "credits": self.credits,
                "assigned": self.assigned, "owed": self.owed}

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> "PoolState":
        data = data or {}
        return cls(int(data.get("position", -1)), data.get("last_agent"), dict(data.get("credits") or {}),
                   dict(data.get("assigned") or {}), [str(email) for email in data.get("owed") or []])


@dataclass
class Choice:
    agent: Optional[Agent]
    reason: str
    pool: Optional[str] = None              # the rotation that was used (and must be advanced)
    state: Optional[PoolState] = None       # its new state
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # (agent email, why)


def weighted_order(agents: Sequence[Agent]) -> List[Agent]:
    """The rotation: each agent `weight` times, interleaved (smooth weighted round robin)."""
    return list(_weighted_order(tuple(agents)))


@functools.lru_cache(maxsize=256)
def _weighted_order(agents: Tuple[Agent, ...]) -> Tuple[Agent, ...]:
    total = sum(agent.weight for agent in agents)
    current = {agent.email: 0 for agent in agents}
    order: List[Agent] = []
    for _ in range(total):
        for agent in agents:
            current[agent.email] += agent.weight
        best = max(agents, key=lambda a: (current[a.email], -agents.index(a)))
        current[best.email] -= total
        order.append(best)
    return tuple(order)


def pool_label(pool: str) -> str:
    """'all' -> 'all agents', 'team:emea' -> 'team emea'."""
    return "all agents" if pool == "all" else f"team {pool.split(':', 1)[1]}"


def rotate(agents: Sequence[Agent], state: PoolState, free: FreeCheck, pool: str) -> Choice:
    """Strict sequential round robin over `agents` (in their configured order); `pool` keys the state."""
    order = weighted_order([a for a in agents if a.active] or list(agents))
    skipped: List[Tuple[str, str]] = []
    label = pool_label(pool)
    if not order:
        return Choice(None, f"no agents in {label}", pool)
    position = state.position
    if state.last_agent and not (0 <= position < len(order) and order[position].email == state.last_agent):
        # the configuration changed since: continue after the last agent's place, if they are still here
        places = [i for i, agent in enumerate(order) if agent.email == state.last_agent]
        position = places[0] if places else -1
    reasons: Dict[str, Optional[str]] = {}

    def check(agent: Agent) -> Optional[str]:
        if agent.email not in reasons:
            reasons[agent.email] = free(agent)
        return reasons[agent.email]

    members = {agent.email: agent for agent in order}
    owed = [email for email in state.owed if email in members]
    assigned = lambda email: {**state.assigned, email: state.assigned.get(email, 0) + 1}  # noqa: E731
    for email, credit in sorted(state.credits.items()):
        agent = members.get(email)
        if credit > 0 and agent is not None and check(agent) is None:
            new = PoolState(state.position, state.last_agent, {**state.credits, email: credit - 1},
                            assigned(email), owed)
            if new.credits[email] == 0:
                del new.credits[email]
            return Choice(agent, f"round robin in {label}: {agent.email} had a meeting cancelled, so is first in line",
                          pool, new)
    for email in owed:
        if check(members[email]) is None:
            new = PoolState(state.position, state.last_agent, dict(state.credits), assigned(email),
                            [other for other in owed if other != email])
            return Choice(members[email], f"round robin in {label}: {email} was skipped as busy, so is first in line",
                          pool, new)
    for step in range(1, len(order) + 1):
        index = (position + step) % len(order)
        agent = order[index]
        why = check(agent)
        if why is None:
            after = f" after {state.last_agent}" if state.last_agent else ""
            skips = "".join(f"; skipped {email} ({reason})" for email, reason in skipped)
            busy = [email for email, reason in skipped if reason == BUSY and email not in owed]
            new = PoolState(index, agent.email, dict(state.credits), assigned(agent.email), owed + busy)
            return Choice(agent, f"round robin in {label}: next{after}{skips}", pool, new, skipped)
        if (agent.email, why) not in skipped:
            skipped.append((agent.email, why))
    return Choice(None, f"nobody in {label} is free at that time", pool, None, skipped)


def choose(agents: Sequence[Agent], free: FreeCheck, states: Mapping[str, PoolState],
           facts: Mapping[str, Any], routing: RoutingSpec = "round_robin", rules: Sequence[Rule] = (),
           accounts: Optional[Mapping[str, str]] = None) -> Choice:
    """The agent for one meeting at one time, and why."""
    by_email = {agent.email: agent for agent in agents}
    skipped: List[Tuple[str, str]] = []

    def direct(email: str, reason: str) -> Optional[Choice]:
        agent = by_email.get(str(email).lower())
        if agent is None:
            skipped.append((str(email), "not an agent"))
            return None
        why = free(agent)
        if why is None:
            return Choice(agent, reason)
        skipped.append((agent.email, why))
        return None

    if isinstance(routing, Mapping) and routing.get("agent"):
        choice = direct(routing["agent"], f"the dialogue names {routing['agent']}")
        return choice or Choice(None, f"{routing['agent']} is not free at that time", skipped=skipped)
    owner = _account_owner(facts, accounts or {})
    if owner:
        choice = direct(owner[0], owner[1])
        if choice:
            return choice
    team = routing.get("team") if isinstance(routing, Mapping) else None
    if routing == "rules":
        for rule in rules:
            if conditions.evaluate(rule.condition, facts):
                if rule.agent:
                    choice = direct(rule.agent, f"routing rule -> {rule.agent}")
                    if choice:
                        return choice
                elif rule.team:
                    team = rule.team
                    break
    if team:
        members = [agent for agent in agents if team in agent.teams]
        choice = rotate(members, states.get(f"team:{team}", PoolState()), free, f"team:{team}")
        choice.skipped = skipped + choice.skipped
        if choice.agent:
            return choice
        skipped = choice.skipped
    choice = rotate(list(agents), states.get("all", PoolState()), free, "all")
    choice.skipped = skipped + choice.skipped
    return choice


def _account_owner(facts: Mapping[str, Any], accounts: Mapping[str, str]) -> Optional[Tuple[str, str]]:
    owner = facts.get("person.leadOwnerEmail") or facts.get("person.ownerEmail")
    if owner:
        return str(owner), "the lead's owner"
    company = str(facts.get("company.name") or "").strip().lower()
    if company and company in accounts:
        return accounts[company], f"account list: {facts.get('company.name')}"
    email = str(facts.get("person.email") or "")
    domain = email.rpartition("@")[2].lower()
    if domain and domain in accounts:
        return accounts[domain], f"account list: {domain}"
    return None


def credit_back(state: PoolState, email: str) -> PoolState:
    """A meeting of `email` was cancelled or reassigned: they are first in line again."""
    credits = dict(state.credits)
    credits[email] = credits.get(email, 0) + 1
    assigned = dict(state.assigned)
    if assigned.get(email):
        assigned[email] -= 1
    return PoolState(state.position, state.last_agent, credits, assigned)
