"""The pure-Python string measures agree with DuckDB's (bulk and online scores must match)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.similarity import (
    date_digits,
    day_number,
    hamming,
    jaro_winkler,
    levenshtein,
    transposed,
    words_in,
)

_WORD = st.text(alphabet="abcdehnguyt ", min_size=0, max_size=12)


@settings(max_examples=40, deadline=None)
@given(pairs=st.lists(st.tuples(_WORD, _WORD), min_size=1, max_size=50))
def test_jaro_winkler_equals_duckdb(pairs: list[tuple[str, str]]) -> None:
    engine = DuckDBEngine()
    try:
        engine.register_arrow(
            "p", pa.table({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
        )
        got = engine.to_arrow("SELECT jaro_winkler_similarity(a, b) AS s FROM p").column(0)
    finally:
        engine.close()
    for (a, b), s in zip(pairs, got.to_pylist(), strict=True):
        assert abs(jaro_winkler(a, b) - s) < 1e-9, (a, b)


def test_known_values() -> None:
    assert round(jaro_winkler("martha", "marhta"), 4) == 0.9611
    assert jaro_winkler("", "") == 0.0
    assert hamming("001085012345", "001085012346") == 1
    assert hamming("12", "123") is None
    assert transposed("001085012345", "001085013245")
    assert not transposed("001085012345", "001085012354"[::-1])
    assert not transposed("1234", "1234")
    assert words_in("thu", "thi thu")
    assert words_in("", "van")
    assert not words_in("minh", "thi thu")


@settings(max_examples=30, deadline=None)
@given(a=st.text(alphabet="0123456789", min_size=12, max_size=12),
       b=st.text(alphabet="0123456789", min_size=12, max_size=12))  # fmt: skip
def test_transposed_equals_sql(a: str, b: str) -> None:
    engine = DuckDBEngine()
    try:
        sql = engine.to_arrow("SELECT lk_transposed($a, $b) AS t", {"a": a, "b": b}).column(0)[0]
    finally:
        engine.close()
    assert sql.as_py() == transposed(a, b)


@settings(max_examples=30, deadline=None)
@given(pairs=st.lists(st.tuples(st.text(alphabet="0123", min_size=0, max_size=13),
                                st.text(alphabet="0123", min_size=0, max_size=13)),
                      min_size=1, max_size=40))  # fmt: skip
def test_levenshtein_equals_duckdb(pairs: list[tuple[str, str]]) -> None:
    engine = DuckDBEngine()
    try:
        engine.register_arrow(
            "p", pa.table({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
        )
        got = engine.to_arrow("SELECT levenshtein(a, b) AS s FROM p").column(0).to_pylist()
    finally:
        engine.close()
    assert [levenshtein(a, b) for a, b in pairs] == got


def test_levenshtein_known_values() -> None:
    assert levenshtein("001085012345", "00108501234") == 1  # the last digit dropped
    assert levenshtein("001085012345", "00185012345") == 1  # a digit dropped inside
    assert levenshtein("001085012345", "0010850123455") == 1  # a digit added
    assert levenshtein("001085012345", "0010850125") == 2
    assert levenshtein("", "12") == 2


@settings(max_examples=30, deadline=None)
@given(days=st.lists(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2030, 12, 31)),
                     min_size=1, max_size=40))  # fmt: skip
def test_day_number_and_digits_equal_sql(days: list[dt.date]) -> None:
    engine = DuckDBEngine()
    try:
        engine.register_arrow("d", pa.table({"y": [d.year for d in days],
                                             "m": [d.month for d in days],
                                             "dd": [d.day for d in days]}))  # fmt: skip
        got = engine.to_arrow("SELECT lk_dday(y, m, dd) AS n, lk_dob8(y, m, dd) AS s FROM d")
    finally:
        engine.close()
    numbers, digits = got.column("n").to_pylist(), got.column("s").to_pylist()
    for d, n, s in zip(days, numbers, digits, strict=True):
        assert day_number(d.year, d.month, d.day) == n
        assert n - d.toordinal() == day_number(1900, 1, 1) - dt.date(1900, 1, 1).toordinal()
        assert date_digits(d.year, d.month, d.day) == s == d.strftime("%Y%m%d")
    assert day_number(1985, None, 4) is None
    assert date_digits(1985, 3, None) is None
