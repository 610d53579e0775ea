"""Dates on pages are written as Vietnamese write them; partial dates stay partial."""

from __future__ import annotations

import pytest

from vaxlink.web.render import vn_date


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("1933-06-09", "09/06/1933"), ("1990-05", "05/1990"), ("1990", "1990"), (None, ""),
     ("not a date", "not a date")],
)  # fmt: skip
def test_vn_date(stored: str | None, shown: str) -> None:
    assert vn_date(stored) == shown
