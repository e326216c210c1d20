"""Charts drawn on the server as SVG: no script, nothing fetched, text escaped."""
from __future__ import annotations

from typing import List
from xml.sax.saxutils import escape

from bot.core.analytics import Report

SERIES = (("triggered", "Triggered", "#9aa0a6"), ("engaged", "Engaged", "#1a73e8"), ("acquired", "People acquired", "#188038"))


def analytics_chart(report: Report, width: int = 1200, height: int = 260) -> str:
    """Grouped bars per day for triggered, engaged and acquired, with a legend and a y scale."""
    days = sorted(report.days.items())
    left, right, top, bottom = 44, 12, 28, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1] + [counts.counts.get(kind, 0) for _, counts in days for kind, _, _ in SERIES])
    scale = _nice(peak)
    parts: List[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(f"Triggered, engaged and acquired per day, {report.start} to {report.end}")}" '
        'font-family="system-ui, sans-serif" font-size="11">']
    for step in range(5):
        value = scale * step / 4
        y = top + plot_h - plot_h * step / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5f6368">{value:g}</text>')
    slot = plot_w / max(1, len(days))
    bar = max(1.0, min(14.0, slot / (len(SERIES) + 1)))
    for index, (day, counts) in enumerate(days):
        x0 = left + index * slot + (slot - bar * len(SERIES)) / 2
        for n, (kind, label, colour) in enumerate(SERIES):
            value = counts.counts.get(kind, 0)
            h = plot_h * value / scale
            parts.append(f'<rect x="{x0 + n * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{colour}"><title>{escape(day)}: {escape(label)} {value}</title></rect>')
        if len(days) <= 14 or index % max(1, len(days) // 10) == 0:
            parts.append(f'<text x="{left + index * slot + slot / 2:.1f}" y="{height - 8}" text-anchor="middle" '
                         f'fill="#5f6368">{escape(day[5:])}</text>')
    x = left
    for _, label, colour in SERIES:
        parts.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{x + 14}" y="17" fill="#202124">{escape(label)}</text>')
        x += 16 + 7 * len(label) + 18
    parts.append("</svg>")
    return "".join(parts)


def _nice(peak: int) -> float:
    """The smallest of 4, 8, 20, 40, 80 x 10^n at or above `peak`: a y axis whose quarters are whole numbers."""
    magnitude = 1
    while True:
        for factor in (4, 8, 20, 40, 80):
            if factor * magnitude >= peak:
                return float(factor * magnitude)
        magnitude *= 10
