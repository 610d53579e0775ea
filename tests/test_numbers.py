"""Numbers per language: 1.234.567 and 97,5 % in Vietnamese, 1,234,567 and 97.5% in English."""

from __future__ import annotations

from vaxlink import numbers


def test_counts_and_percentages_per_language() -> None:
    assert numbers.count(1234567, "vi") == "1.234.567"
    assert numbers.count(1234567, "en") == "1,234,567"
    assert numbers.count(1234.5, "vi") == "1.234,5"
    assert numbers.count(None, "vi") == "–"
    assert numbers.percent(0.975, "vi") == "97,5 %"
    assert numbers.percent(0.975, "en") == "97.5%"
    assert numbers.percent(1.0, "vi", 0) == "100 %"
    assert numbers.percent(None, "en") == "–"
