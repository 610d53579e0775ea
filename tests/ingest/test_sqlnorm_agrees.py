"""The bulk (SQL and distinct-value) normalisers give exactly what the identity functions give."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.identity import (
    DateParseError,
    classify_id,
    fold_name,
    normalise_id,
    normalise_name,
    parse_date,
)
from vaxlink.ingest import dictmap, sqlnorm


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    sqlnorm.install(c)
    return c


id_chars = st.sampled_from(
    list("0123456789") * 6 + list(" .,-_/'\u00a0\u2010\u200b０１９") + ["a", "B", "\t"]
)
id_text = st.text(id_chars, max_size=16) | st.from_regex(r"[1-9][0-9]{9,10}\.0", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(raw=id_text)
def test_vx_id_matches_normalise_id(con: duckdb.DuckDBPyConnection, raw: str) -> None:
    got, kind = con.sql("SELECT vx_id($v), vx_id_kind(vx_id($v))", params={"v": raw}).fetchall()[0]
    assert (got or "") == normalise_id(raw)
    assert kind == classify_id(raw).value


VIET_SYLLABLES = ["Nguyễn", "nguyen", "Văn", "THỊ", "hoà", "Hòa", "thuỷ", "Thủy", "Đức", "đức",
                  "Lê-Văn", "khoẻ", "Quý", "qúy", "Huỳnh", "Vũ", "an", "BÌNH", "Ngọc", "Ánh"]  # fmt: skip
sep = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u3000", " \u200b "])
names = st.lists(st.sampled_from(VIET_SYLLABLES), min_size=1, max_size=5).flatmap(
    lambda words: st.lists(sep, min_size=len(words) + 1, max_size=len(words) + 1).map(
        lambda seps: seps[0] + "".join(w + s for w, s in zip(words, seps[1:], strict=True))
    )
)


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(names, min_size=1, max_size=20))
def test_map_names_matches_identity(con: duckdb.DuckDBPyConnection, batch: list[str]) -> None:
    con.execute("CREATE OR REPLACE TABLE n AS SELECT unnest($b) AS v", {"b": batch})
    dictmap.map_names(con, "SELECT v FROM n", "nm")
    got = {r: (f, k) for r, f, k, _l in con.sql("SELECT * FROM nm").fetchall()}
    for raw in batch:
        assert got[raw] == (normalise_name(raw) or None, fold_name(raw) or None), raw


def test_map_names_converts_legacy_tcvn3(con: duckdb.DuckDBPyConnection) -> None:
    from vaxlink.identity import unicode_to_legacy

    legacy = unicode_to_legacy("Nguyễn Thị Thủy", "tcvn3")
    con.execute("CREATE OR REPLACE TABLE n AS SELECT unnest($b) AS v", {"b": [legacy, "Lê An"]})
    dictmap.map_names(con, "SELECT v FROM n", "nm")
    rows = dict(con.sql("SELECT raw, full_name || '|' || coalesce(legacy, '') FROM nm").fetchall())
    assert rows[legacy] == "Nguyễn Thị Thủy|tcvn3"
    assert rows["Lê An"] == "Lê An|"


date_text = st.one_of(
    st.from_regex(r"[0-3]?[0-9][/.\-][01]?[0-9][/.\-](19|20)[0-9]{2}", fullmatch=True),
    st.from_regex(r"(19|20)[0-9]{2}(-[01]?[0-9](-[0-3]?[0-9])?)?", fullmatch=True),
    st.from_regex(r"[1-9][0-9]{4}(\.0)?", fullmatch=True),
    st.text(max_size=8),
)


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(date_text, min_size=1, max_size=20))
def test_map_dates_is_parse_date(con: duckdb.DuckDBPyConnection, batch: list[str]) -> None:
    con.execute("CREATE OR REPLACE TABLE d AS SELECT unnest($b) AS v", {"b": batch})
    dictmap.map_dates(con, "SELECT v FROM d", "dm", "date of birth")
    got = {r: (iso, err) for r, iso, _p, err in con.sql("SELECT * FROM dm").fetchall()}
    for raw in batch:
        try:
            expected = (parse_date(raw, what="date of birth").iso(), None)
        except DateParseError as exc:
            expected = (None, str(exc))
        assert got[raw] == expected, raw
