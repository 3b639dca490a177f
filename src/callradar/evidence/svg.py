"""Inline SVG charts for the static dossiers (no JavaScript, no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape


def bars(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    second: Sequence[float] | None = None,
    width: int = 640,
    height: int = 200,
) -> str:
    """A bar chart; ``second`` (e.g. answered calls) is drawn darker inside each bar."""
    n = max(len(values), 1)
    top = max([*values, 1.0])
    left, bottom, pad = 48, 36, 10
    plot_w, plot_h = width - left - pad, height - bottom - pad - 14
    bw = plot_w / n
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="12" font-size="12">{escape(title)}</text>',
    ]
    y0 = pad + 14 + plot_h
    for frac in (0.0, 0.5, 1.0):
        y = y0 - frac * plot_h
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - pad}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{top * frac:,.0f}</text>"
        )
    step = max(1, n // 12)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = left + i * bw
        h = plot_h * v / top
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{y0 - h:.1f}" width="{max(bw - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="#7aa6d6" data-value="{v:g}"><title>{escape(label)}: '
            f"{v:,.0f}</title></rect>"
        )
        if second is not None:
            h2 = plot_h * second[i] / top
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{y0 - h2:.1f}" width="{max(bw - 2, 1):.1f}" '
                f'height="{h2:.1f}" fill="#2b5d91"/>'
            )
        if i % step == 0:
            parts.append(
                f'<text x="{x + bw / 2:.1f}" y="{y0 + 14}" font-size="10" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def spans(
    rows: Sequence[tuple[str, datetime | str | None, datetime | str | None]],
    title: str,
    width: int = 640,
) -> str:
    """A number-rotation chart: one horizontal bar per number over its active span."""

    def ts(v: datetime | str | None) -> float | None:
        if v is None:
            return None
        if isinstance(v, str):
            v = datetime.fromisoformat(v)
        return v.timestamp()

    def text(v: datetime | str | None) -> str:
        return (v if isinstance(v, str) else v.isoformat() if v else "")[5:16].replace("T", " ")

    first = {ts(a): text(a) for _, a, _ in rows}
    last = {ts(b): text(b) for _, _, b in rows}
    found = [(label, ts(a), ts(b)) for label, a, b in rows]
    items = [(label, a, b) for label, a, b in found if a is not None and b is not None]
    row_h, left, pad = 14, 150, 10
    height = 30 + row_h * max(len(items), 1) + 20
    parts = [
        f'<svg class="chart spans" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{left}" y="12" font-size="12">{escape(title)}</text>',
    ]
    if items:
        t0 = min(a for _, a, _ in items)
        t1 = max(b for _, _, b in items)
        span = max(t1 - t0, 1.0)
        plot_w = width - left - pad
        for i, (label, a, b) in enumerate(items):
            y = 24 + i * row_h
            x = left + plot_w * (a - t0) / span
            w = max(plot_w * (b - a) / span, 2.0)
            parts.append(
                f'<text x="{left - 4}" y="{y + 10}" font-size="10" text-anchor="end">'
                f"{escape(label)}</text>"
                f'<rect class="bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 3}" '
                f'fill="#d68b7a"><title>{escape(label)}</title></rect>'
            )
        yb = 24 + len(items) * row_h + 12
        parts.append(
            f'<text x="{left}" y="{yb}" font-size="10">'
            f"{escape(first[t0])}</text>"
            f'<text x="{width - pad}" y="{yb}" font-size="10" text-anchor="end">'
            f"{escape(last[t1])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
