"""Charts drawn as plain SVG text: the dashboard's daily trend (shown without JavaScript) and the
daily PDF report's progress by unit (WeasyPrint draws inline SVG). Bars are coloured by level
(green at or above the 95 % goal, amber from 80 %, red below), and every bar also carries its
value in words, so colour is never the only sign. Numbers are written per language
(`vaxlink.numbers`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from xml.sax.saxutils import escape, quoteattr

from vaxlink import numbers

GOOD: Final = 0.95
FAIR: Final = 0.80
GREEN, AMBER, RED, GREY, BLUE = "#1a7f37", "#bf8700", "#cf222e", "#8c959f", "#0b5cad"
_FONT: Final = 'font-family="Noto Sans, sans-serif"'


def level_colour(share: float | None) -> str:
    """The colour of a share's level: green ≥ 95 %, amber ≥ 80 %, red below, grey unknown."""
    if share is None:
        return GREY
    return GREEN if share >= GOOD else AMBER if share >= FAIR else RED


def level_name(share: float | None) -> str:
    """good, fair, low or none: the same levels as `level_colour`, for CSS classes and tests."""
    if share is None:
        return "none"
    return "good" if share >= GOOD else "fair" if share >= FAIR else "low"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def share_bars(rows: Sequence[tuple[str, float | None]], lang: str, *, title: str,
               label_chars: int = 24) -> str:  # fmt: skip
    """Horizontal bars, one per unit: its share from 0 to 100 %, the value written beside."""
    width, left, right, row_h, top = 640, 170, 70, 20, 24
    height = top + row_h * max(1, len(rows)) + 8
    plot = width - left - right
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label={quoteattr(title)} class="chart share-bars">',
        f"<title>{escape(title)}</title>",
    ]
    for pct in (0.0, 0.5, FAIR, GOOD, 1.0):
        x = left + plot * pct
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 6}" '
                   f'stroke="#d0d7de" stroke-width="1"/>')  # fmt: skip
        out.append(f'<text x="{x:.1f}" y="{top - 8}" font-size="10" text-anchor="middle" '
                   f'{_FONT} fill="#57606a">{escape(numbers.percent(pct, lang, 0))}</text>')  # fmt: skip
    for i, (label, share) in enumerate(rows):
        y = top + i * row_h
        value = numbers.percent(share, lang)
        out.append(f'<text x="{left - 6}" y="{y + 14}" font-size="11" text-anchor="end" '
                   f'{_FONT} fill="#1b1f24">{escape(_short(label, label_chars))}</text>')  # fmt: skip
        bar = plot * max(0.0, min(1.0, share or 0.0))
        out.append(
            f'<rect x="{left}" y="{y + 3}" width="{bar:.1f}" height="{row_h - 6}" '
            f'fill="{level_colour(share)}" data-level="{level_name(share)}">'
            f"<title>{escape(label)}: {escape(value)}</title></rect>"
        )
        out.append(f'<text x="{left + bar + 4:.1f}" y="{y + 14}" font-size="11" {_FONT} '
                   f'fill="#1b1f24">{escape(value)}</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class TrendDay:
    """One day of the trend: doses verified as entered, and doses the linkage corrected."""

    day: dt.date
    verified: int
    corrected: int


def trend(days: Sequence[TrendDay], lang: str, *, title: str, verified_label: str,
          corrected_label: str) -> str:  # fmt: skip
    """Stacked daily bars (verified, then corrected on top), a count axis and dd/mm labels, at
    most eight of them so they fit a phone."""
    width, height, left, bottom, top = 640, 240, 56, 28, 30
    plot_w, plot_h = width - left - 8, height - top - bottom
    peak = max([d.verified + d.corrected for d in days] + [1])
    step = _nice_step(peak)
    ceiling = step * -(-peak // step)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label={quoteattr(title)} class="chart trend">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="6" width="12" height="12" fill="{GREEN}"/>'
        f'<text x="{left + 16}" y="16" font-size="12" {_FONT}>{escape(verified_label)}</text>',
        f'<rect x="{left + 300}" y="6" width="12" height="12" fill="{BLUE}"/>'
        f'<text x="{left + 316}" y="16" font-size="12" {_FONT}>{escape(corrected_label)}</text>',
    ]
    for tick in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * tick / ceiling
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 8}" y2="{y:.1f}" '
                   f'stroke="#e1e4e8"/><text x="{left - 4}" y="{y + 4:.1f}" font-size="11" '
                   f'text-anchor="end" {_FONT} fill="#57606a">'
                   f"{escape(numbers.count(tick, lang))}</text>")  # fmt: skip
    n = max(1, len(days))
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.7)
    every = -(-n // 8)
    for i, d in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        h_v = plot_h * max(d.verified, 0) / ceiling
        h_c = plot_h * max(d.corrected, 0) / ceiling
        base = top + plot_h
        tip = (f"{d.day:%d/%m/%Y}: {verified_label} {numbers.count(d.verified, lang)}, "
               f"{corrected_label} {numbers.count(d.corrected, lang)}")  # fmt: skip
        out.append(
            f'<g class="day" data-day="{d.day.isoformat()}" data-verified="{d.verified}" '
            f'data-corrected="{d.corrected}"><title>{escape(tip)}</title>'
            f'<rect x="{x:.1f}" y="{base - h_v:.1f}" width="{bar_w:.1f}" height="{h_v:.1f}" '
            f'fill="{GREEN}"/>'
            f'<rect x="{x:.1f}" y="{base - h_v - h_c:.1f}" width="{bar_w:.1f}" '
            f'height="{h_c:.1f}" fill="{BLUE}"/></g>'
        )
        if i % every == 0:
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" font-size="11" '
                       f'text-anchor="middle" {_FONT} fill="#57606a">{d.day:%d/%m}</text>')  # fmt: skip
    if not days:
        out.append(f'<text x="{width / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
                   f'font-size="13" {_FONT} fill="#57606a">–</text>')  # fmt: skip
    out.append("</svg>")
    return "".join(out)


def _nice_step(peak: int) -> int:
    """A round axis step giving at most about four gridlines up to `peak`."""
    raw = max(1, peak // 4)
    magnitude: int = 10 ** (len(str(raw)) - 1)
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude
