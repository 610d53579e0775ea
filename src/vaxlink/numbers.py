"""Numbers as each language's readers write them, the same on every page, file and chart.

Vietnamese: thousands with '.', decimals with ',', a space before '%' (1.234.567 · 12,5 ·
97,5 %). English: 1,234,567 · 12.5 · 97.5%. A missing value is shown as '–'.
"""

from __future__ import annotations

from typing import Final

MISSING: Final = "–"
_VI: Final = str.maketrans(",.", ".,")


def count(value: int | float | None, lang: str) -> str:
    """A count (or a float, one decimal): 1.234.567 / 1,234,567."""
    if value is None:
        return MISSING
    text = f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    return text.translate(_VI) if lang == "vi" else text


def percent(share: float | None, lang: str, digits: int = 1) -> str:
    """A share (0.975) as a percentage: "97,5 %" in Vietnamese, "97.5%" in English."""
    if share is None:
        return MISSING
    text = f"{share * 100:,.{digits}f}"
    return f"{text.translate(_VI)} %" if lang == "vi" else f"{text}%"
