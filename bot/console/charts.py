"""Charts drawn on the server as inline SVG: no JavaScript library, nothing fetched from elsewhere."""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#84cc16", "#f97316", "#64748b", "#db2777"]
# Colours people read without a legend: red for bad, green for good.
FIXED = {
    "negative": "#dc2626",
    "neutral": "#94a3b8",
    "positive": "#16a34a",
    "complaint": "#dc2626",
    "question": "#2563eb",
    "request": "#f59e0b",
    "praise": "#16a34a",
    "suggestion": "#8b5cf6",
    "other": "#94a3b8",
    "private": "#7c3aed",
    "investigate": "#ea580c",
    "self_service": "#0284c7",
    "monitor": "#94a3b8",
    "x": "#111827",
    "facebook": "#1877f2",
    "instagram": "#c13584",
    "replay": "#64748b",
    "pending": "#cbd5e1",
}


def colour(value: str, index: int) -> str:
    """The colour of a series."""
    return FIXED.get(value, PALETTE[index % len(PALETTE)])


def _nice_max(value: int) -> int:
    """The top of the axis: four equal steps, each a whole round number (so every gridline's label is exact)."""
    needed = max(1, -(-value // 4))  # the smallest whole step that reaches the value in four
    magnitude = 10 ** (len(str(needed)) - 1)
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * magnitude >= needed and float(step * magnitude).is_integer():
            return int(4 * step * magnitude)
    return 4 * needed


def stacked_bars(
    name: str, title: str, days: list[str], series: dict[str, dict[str, int]], width: int = 760, height: int = 220
) -> Markup:
    """Mentions per day, one stacked bar a day, one colour per value of the dimension, with a legend."""
    left, right, top, bottom = 44, 8, 10, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(values.get(day, 0) for values in series.values()) for day in days]
    peak = _nice_max(max(totals, default=0))
    slot = plot_w / max(1, len(days))
    bar_w = max(2.0, slot * 0.72)
    parts = [
        f'<svg class="chart" data-chart="{escape(name)}" viewBox="0 0 {width} {height + 18 * _legend_rows(series, width)}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{int(value)}</text>')
    names = list(series)
    for d, day in enumerate(days):
        x = left + d * slot + (slot - bar_w) / 2
        y = top + plot_h
        for s, key in enumerate(names):
            count = series[key].get(day, 0)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour(key, s)}">'
                f"<title>{escape(day)} · {escape(key)}: {count}</title></rect>"
            )
        every = max(1, len(days) // 8)
        if d % every == 0 or d == len(days) - 1:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" class="axis" text-anchor="middle">'
                f"{escape(day[5:])}</text>"
            )
    parts.append(_legend(names, series, left, top + plot_h + 32, width))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend_rows(series: dict[str, dict[str, int]], width: int) -> int:
    used, rows = 0, 1
    for key in series:
        step = 24 + 7 * len(key) + 18
        if used + step > width - 50:
            rows, used = rows + 1, 0
        used += step
    return rows - 1


def _legend(names: list[str], series: dict[str, dict[str, int]], x0: int, y0: int, width: int) -> str:
    parts, x, y = [], x0, y0
    for s, key in enumerate(names):
        total = sum(series[key].values())
        label = f"{key} ({total})"
        step = 24 + 7 * len(label)
        if x + step > width - 8:
            x, y = x0, y + 18
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour(key, s)}"/>'
            f'<text x="{x + 14}" y="{y}" class="legend">{escape(label)}</text>'
        )
        x += step + 10
    return "".join(parts)


def meter(name: str, fraction: float | None, good: float = 0.9) -> Markup:
    """A horizontal bar for a share (SLA attainment, public closes); grey when there is nothing to measure."""
    if fraction is None:
        return Markup(
            f'<svg class="meter" data-chart="{escape(name)}" viewBox="0 0 200 14" role="img" '
            f'aria-label="no data"><rect width="200" height="14" rx="3" fill="#e2e8f0"/></svg>'
        )
    fill = "#16a34a" if fraction >= good else "#f59e0b" if fraction >= good - 0.2 else "#dc2626"
    return Markup(
        f'<svg class="meter" data-chart="{escape(name)}" viewBox="0 0 200 14" role="img" '
        f'aria-label="{fraction:.0%}"><rect width="200" height="14" rx="3" fill="#e2e8f0"/>'
        f'<rect width="{200 * max(0.0, min(1.0, fraction)):.1f}" height="14" rx="3" fill="{fill}"/></svg>'
    )
