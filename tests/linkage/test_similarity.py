"""The pure-Python string measures agree with DuckDB's (bulk and online scores must match)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.similarity import hamming, jaro_winkler, transposed, words_in

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
