"""Varied, valid dialogues at a marketing team's scale, for benchmarks and tests.

Each dialogue is drawn from its own seeded random generator, so dialogue n is
the same in every run and in every count that includes it: a dialogue per
campaign, page group, segment and language, with every card kind (messages,
questions of two to four options, email/phone/text captures, branches,
meetings, goals with and without a message), one to three locales, known,
anonymous and all audiences with conditions, and page rules.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict, List

import yaml

LOCALES = (["en"], ["en", "sv"], ["sv", "en"], ["de"], ["en", "de", "sv"])
WORDS = ("pricing", "demo", "security", "integrations", "webinar", "trial", "partners", "events", "support", "api")
CONDITION_FIELDS = (("company.employees", "gte", 250), ("company.industry", "equals", "Software"),
                    ("person.country", "in", ["Sweden", "Norway", "Germany"]), ("person.title", "contains", "VP"),
                    ("company.name", "is_not_empty", None))


def _text(rng: random.Random, locales: List[str], english: str) -> Any:
    if len(locales) == 1 and locales[0] == "en":
        return english
    words = {"en": english, "sv": f"(sv) {english}", "de": f"(de) {english}"}
    return {locale: words[locale] for locale in locales}


def _condition(rng: random.Random) -> Dict[str, Any]:
    field, op, value = rng.choice(CONDITION_FIELDS)
    condition: Dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        condition["value"] = value
    return condition


def dialogue(n: int) -> Dict[str, Any]:
    """Dialogue number n: the same for the same n, in any run."""
    rng = random.Random(n * 7919 + 17)
    locales = rng.choice(LOCALES)
    topic = WORDS[n % len(WORDS)]
    size = rng.randint(6, 11)
    ids = [f"c{j}" for j in range(size)]
    cards: List[Dict[str, Any]] = []
    kinds = ["question", "message", "capture", "branch", "meeting", "goal", "question", "message"]
    has_meeting = False
    for j, card_id in enumerate(ids):
        later = ids[j + 1:]
        if not later:
            cards.append({"id": card_id, "message": _text(rng, locales, f"Thanks for reading about {topic}!"),
                          "end": True})
            break
        kind = kinds[0] if j == 0 else rng.choice(kinds)
        if kind == "meeting" and has_meeting:
            kind = "message"
        card: Dict[str, Any] = {"id": card_id}
        if kind == "message":
            card["message"] = _text(rng, locales, f'Hi {{{{lead.firstName:"there"}}}}, about {topic} {n}-{j}.')
            card["next"] = later[0]
        elif kind == "question":
            count = rng.randint(2, min(4, len(later) + 1))
            targets = [later[0]] + [rng.choice(later) for _ in range(count - 1)]
            card["question"] = _text(rng, locales, f"What about {topic} ({n}-{j})?")
            if rng.random() < 0.5:
                card["field"] = f"person.{topic}Interest"
            card["options"] = [{"label": _text(rng, locales, f"Option {k + 1}"), "value": f"v{k + 1}", "next": target}
                               for k, target in enumerate(targets)]
        elif kind == "capture":
            capture = rng.choice(["email", "phone", "text"])
            card["capture"] = capture
            card["prompt"] = _text(rng, locales, f"Your {capture}, please?")
            card["field"] = {"email": "person.email", "phone": "person.phone", "text": f"person.{topic}Note"}[capture]
            if capture == "email":
                card["skip_if_known"] = True
            card["next"] = later[0]
        elif kind == "branch":
            arms: List[Dict[str, Any]] = [{"if": _condition(rng), "next": rng.choice(later)}
                                          for _ in range(rng.randint(1, 2))]
            card["branch"] = arms + [{"else": later[0]}]
        elif kind == "meeting":
            has_meeting = True
            card["meeting"] = {"routing": rng.choice(["round_robin", "rules"]), "duration": rng.choice(["15m", "30m"])}
            card["next"] = later[0]
        else:
            card["goal"] = f"{topic}_{n}_{j}"
            if rng.random() < 0.5:
                card["message"] = _text(rng, locales, f"Noted your interest in {topic}.")
            card["next"] = later[0]
        cards.append(card)
    audience: Dict[str, Any] = {"visitors": rng.choice(["all", "all", "known", "anonymous"])}
    if rng.random() < 0.6:
        audience[rng.choice(["all", "any"])] = [_condition(rng) for _ in range(rng.randint(1, 2))]
    triggers: Dict[str, Any] = {"pages": {"include": [f"https://example.com/{topic}/{n}*", f"*://*.example.com/{topic}-{n}/*"]}}
    if rng.random() < 0.4:
        triggers["pages"]["exclude"] = ["*/careers/*"]
    trigger_kind = rng.choice(["time_on_page", "time_on_site", "scroll", None])
    if trigger_kind == "time_on_page":
        triggers["time_on_page"] = f"{rng.randint(1, 30)}s"
    elif trigger_kind == "time_on_site":
        triggers["time_on_site"] = f"{rng.randint(1, 5)}m"
    elif trigger_kind == "scroll":
        triggers["scroll"] = f"{rng.choice([25, 50, 75])}%"
    result: Dict[str, Any] = {"dialogue": f"generated_{n:04d}", "name": f"{topic.title()} campaign {n}",
                              "priority": rng.randint(1, 100), "locale": locales[0]}
    if len(locales) > 1:
        result["locales"] = locales
    result.update({"audience": audience, "triggers": triggers, "cards": cards})
    return result


def write_dialogues(folder: Path, count: int, start: int = 0) -> List[Path]:
    """Write dialogues start..start+count-1 as YAML files into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(start, start + count):
        path = folder / f"generated_{n:04d}.yml"
        path.write_text(yaml.safe_dump(dialogue(n), sort_keys=False, allow_unicode=True), encoding="utf-8")
        paths.append(path)
    return paths
