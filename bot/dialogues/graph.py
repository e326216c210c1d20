"""A dialogue's flow as a picture for designers: Mermaid text or a standalone SVG."""
from __future__ import annotations

from html import escape
from typing import Dict, List, Tuple

from bot.core.dialogue import BranchCard, CaptureCard, Card, Dialogue, GoalCard, MeetingCard, QuestionCard, Text

KIND_SHAPES = {"question": ("{", "}"), "branch": ("{{", "}}"), "capture": ("[/", "/]"), "goal": ("([", "])"),
               "meeting": ("[[", "]]"), "message": ("[", "]")}
KIND_COLOURS = {"message": "#e8f0fe", "question": "#fff4e5", "capture": "#e6f4ea", "branch": "#fce8e6",
                "meeting": "#f3e8fd", "goal": "#fef7e0"}


def _summary(card: Card, width: int = 40) -> str:
    said = getattr(card, "text", None)
    text = said.default if isinstance(said, Text) else card.kind
    if isinstance(card, CaptureCard):
        text = f"capture {card.capture} -> {card.field}"
    elif isinstance(card, MeetingCard):
        text = f"meeting ({card.meeting.routing})"
    elif isinstance(card, GoalCard):
        text = f"goal: {card.goal}"
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def edges(dialogue: Dialogue) -> List[Tuple[str, str, str]]:
    """(from, to, label) for every way one card leads to another."""
    result = []
    for card in dialogue.cards.values():
        options = card.options if isinstance(card, QuestionCard) else ()
        for option in options:
            result.append((card.id, option.next, option.label.default))
        for arm in card.arms if isinstance(card, BranchCard) else ():
            result.append((card.id, arm.next, "else" if arm.condition is None else condition_label(arm.condition)))
        if card.next and not options:
            result.append((card.id, card.next, ""))
    return result


def condition_label(condition: Dict) -> str:
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        return f" {'and' if key == 'all' else 'or'} ".join(condition_label(c) for c in condition[key])
    value = condition.get("value", "")
    return f"{condition['field']} {condition['op']} {value}".strip()


def mermaid(dialogue: Dialogue) -> str:
    def label(text: str) -> str:
        return text.replace('"', "'")

    lines = ["flowchart TD", f"  %% {dialogue.id}: {dialogue.name} (priority {dialogue.priority})"]
    for card in dialogue.cards.values():
        left, right = KIND_SHAPES[card.kind]
        suffix = " (end)" if card.end else ""
        lines.append(f'  {card.id}{left}"{label(card.id)}: {label(_summary(card))}{suffix}"{right}')
    for source, target, text in edges(dialogue):
        lines.append(f'  {source} -->|"{label(text)}"| {target}' if text else f"  {source} --> {target}")
    lines.append(f"  classDef start stroke-width:3px\n  class {dialogue.start} start")
    return "\n".join(lines) + "\n"


def svg(dialogue: Dialogue) -> str:
    """A layered drawing: cards by their distance from the start, arrows between them."""
    depth: Dict[str, int] = {dialogue.start: 0}
    queue = [dialogue.start]
    while queue:
        current = queue.pop(0)
        for target in dialogue.cards[current].successors():
            if target not in depth:
                depth[target] = depth[current] + 1
                queue.append(target)
    rows: Dict[int, List[str]] = {}
    for card_id in dialogue.cards:
        rows.setdefault(depth.get(card_id, max(depth.values()) + 1), []).append(card_id)
    box_w, box_h, gap_x, gap_y = 240, 54, 40, 70
    width = max(len(r) for r in rows.values()) * (box_w + gap_x) + gap_x
    height = len(rows) * (box_h + gap_y) + gap_y
    place: Dict[str, Tuple[float, float]] = {}
    for level, ids in sorted(rows.items()):
        offset = (width - len(ids) * (box_w + gap_x) + gap_x) / 2
        for index, card_id in enumerate(ids):
            place[card_id] = (offset + index * (box_w + gap_x), gap_y / 2 + level * (box_h + gap_y))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
             f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
             f'<title>{escape(dialogue.name)}</title>']
    for source, target, text in edges(dialogue):
        (x1, y1), (x2, y2) = place[source], place[target]
        sx, sy = x1 + box_w / 2, y1 + box_h
        tx, ty = x2 + box_w / 2, y2
        if ty <= sy:
            path = f"M {sx:.0f} {sy:.0f} C {sx + 150:.0f} {sy + 60:.0f}, {tx + 150:.0f} {ty - 60:.0f}, {tx:.0f} {ty:.0f}"
        else:
            path = f"M {sx:.0f} {sy:.0f} L {tx:.0f} {ty:.0f}"
        parts.append(f'<path d="{path}" stroke="#555" fill="none" marker-end="url(#arrow)"/>')
        if text:
            parts.append(f'<text x="{(sx + tx) / 2 + 4:.0f}" y="{(sy + ty) / 2:.0f}" fill="#333">{escape(text[:30])}</text>')
    for card in dialogue.cards.values():
        x, y = place[card.id]
        stroke = 3 if card.id == dialogue.start else 1
        parts.append(f'<rect x="{x:.0f}" y="{y:.0f}" width="{box_w}" height="{box_h}" rx="8" '
                     f'fill="{KIND_COLOURS[card.kind]}" stroke="#333" stroke-width="{stroke}"/>')
        parts.append(f'<text x="{x + 10:.0f}" y="{y + 20:.0f}" font-weight="bold">{escape(card.id)} · {card.kind}'
                     f'{" · end" if card.end else ""}</text>')
        parts.append(f'<text x="{x + 10:.0f}" y="{y + 40:.0f}">{escape(_summary(card, 34))}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
