"""Normalisation known answers, and the SQL bulk path agreeing with the single-row Python twin."""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.normalise import (
    NAME_FEATURES,
    date_parts,
    map_names,
    name_features,
    word_forms,
)
from vaxlink.linkage.online import code, phone


@pytest.mark.parametrize(
    ("raw", "nm", "nf", "fam", "giv", "mid", "ssort"),
    [
        ("Nguyễn Văn An", "nguyễn văn an", "nguyen van an", "nguyen", "an", "van", "an nguyen van"),
        ("  NGUYỄN   văn  AN ", "nguyễn văn an", "nguyen van an", "nguyen", "an", "van",
         "an nguyen van"),
        (unicodedata.normalize("NFD", "Đỗ Thị Hoà"), "đỗ thị hòa", "do thi hoa", "do", "hoa", "thi",
         "do hoa thi"),
        ("Huỳnh Thị Thủy", "huỳnh thị thủy", "huynh thi thuy", "hoang", "thuy", "thi",
         "hoang thi thuy"),
        ("Võ Minh", "võ minh", "vo minh", "vu", "minh", "", "minh vu"),
        ("An Nguyễn Văn", "an nguyễn văn", "an nguyen van", "an", "van", "nguyen", "an nguyen van"),
        ("Lê Thị Thu-Hà", "lê thị thu hà", "le thi thu ha", "le", "ha", "thi thu", "ha le thi thu"),
        ("Hùng", "hùng", "hung", None, "hung", "", "hung"),
    ],
)  # fmt: skip
def test_name_features(
    raw: str, nm: str, nf: str, fam: str | None, giv: str, mid: str, ssort: str
) -> None:
    f = name_features(raw)
    assert (f["nm"], f["nf"], f["fam"], f["giv"], f["mid"], f["ssort"]) == (
        nm, nf, fam, giv, mid, ssort,
    )  # fmt: skip


def test_tone_placement_styles_meet() -> None:
    assert name_features("Hoà")["nm"] == name_features("Hòa")["nm"] == "hòa"
    assert word_forms("KHOẺ") == ("khỏe", "khoe")


def test_empty_names() -> None:
    assert name_features("   ") == dict.fromkeys(NAME_FEATURES)
    assert name_features(None) == dict.fromkeys(NAME_FEATURES)


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("1985-03-04", (1985, 3, 4, "day", None)),
        ("04/03/1985", (1985, 3, 4, "day", None)),
        ("1985", (1985, None, None, "year", None)),
        ("1985-03", (1985, 3, None, "month", None)),
        ("31/02/1985", (None, None, None, None, "does_not_exist")),
        ("03/14/1985", (None, None, None, None, "not_a_date")),
        ("hôm qua", (None, None, None, None, "not_a_date")),
    ],
)
def test_date_parts(raw: str, parts: tuple[object, ...]) -> None:
    assert date_parts(raw) == parts


@pytest.mark.parametrize(
    ("raw", "out"),
    [("0912 345 678", "0912345678"), ("+84912345678", "0912345678"), ("912345678", "0912345678"),
     ("12345", None), ("", None), (None, None)],
)  # fmt: skip
def test_phone(raw: str | None, out: str | None) -> None:
    assert phone(raw) == out


@pytest.mark.parametrize(
    ("raw", "width", "out"),
    [("1", 3, "001"), ("79.0", 3, "079"), ("00295", 5, "00295"), ("x1", 3, None), (None, 3, None)],
)
def test_code(raw: str | None, width: int, out: str | None) -> None:
    assert code(raw, width) == out


_NAMEISH = st.lists(
    st.sampled_from(
        ["Nguyễn", "NGUYỄN", "nguyen", "Văn", "Thị", "Hoà", "Hòa", "Huỳnh", "Vũ", "Võ", "Đức",
         "thủy", "THUỶ", "An", "Thu-Hà", "O'Neil", "  ", "\u00a0", "Ngọc", "Nguye\u0302\u0303n"]
    ),
    min_size=0,
    max_size=5,
).map(" ".join)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(names=st.lists(_NAMEISH, min_size=1, max_size=8))
def test_sql_names_equal_python(names: list[str]) -> None:
    engine = DuckDBEngine()
    try:
        engine.register_arrow("n", pa.table({"v": pa.array(names, pa.string())}))
        map_names(engine, "SELECT v FROM n")
        got = {r["raw"]: r for r in engine.to_arrow("SELECT * FROM lk_name").to_pylist()}
    finally:
        engine.close()
    for raw in names:
        want = name_features(raw)
        row = got.get(raw)
        if want["nf"] is None:
            assert row is None
        else:
            assert row is not None
            assert {k: row[k] for k in NAME_FEATURES} == want


def test_sql_phone_and_codes_equal_python(engine: DuckDBEngine) -> None:
    values = ["0912 345 678", "+84912345678", "912345678", "12345", "84 912 345 678", "1", "79.0",
              "00295", "x1", "1234567"]  # fmt: skip
    engine.register_arrow("v", pa.table({"v": pa.array(values, pa.string())}))
    rows = engine.to_arrow(
        "SELECT v, lk_phone(v) AS p, vx_code(v, 3) AS c3, vx_code(v, 5) AS c5 FROM v"
    ).to_pylist()
    for r in rows:
        assert (r["p"], r["c3"], r["c5"]) == (phone(r["v"]), code(r["v"], 3), code(r["v"], 5))
