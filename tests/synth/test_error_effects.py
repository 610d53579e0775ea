"""Each injected error really changes the field it names, and clean records really are clean."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from vaxlink.records.vaccines import lookup
from vaxlink.synth import ERROR_TYPES, SynthResult, generate

Row = dict[str, Any]
TONES = "\u0300\u0301\u0303\u0309\u0323"
MALE = {"M", "m", "Nam", "nam", "NAM"}
FEMALE = {"F", "f", "Nữ", "nữ", "NỮ", "NU"}


@pytest.fixture(scope="module")
def result() -> SynthResult:
    return generate(30_000, seed=7)


@pytest.fixture(scope="module")
def registry(result: SynthResult) -> dict[str, Row]:
    return {r["citizen_id"]: r for r in result.registry.to_pylist()}


@pytest.fixture(scope="module")
def single(result: SynthResult, registry: dict[str, Row]) -> dict[str, list[tuple[Row, Row]]]:
    """(dose record, registry row) pairs of registered people, by their only error ('' = clean)."""
    out: dict[str, list[tuple[Row, Row]]] = defaultdict(list)
    for d, t in zip(result.doses.to_pylist(), result.truth.to_pylist(), strict=True):
        if t["in_registry"] and ";" not in t["errors"]:
            out[t["errors"]].append((d, registry[t["citizen_id"]]))
    return out


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFD", s).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in s if not unicodedata.combining(c))


def _toneless(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if c not in TONES)


def _damerau(a: str, b: str) -> int:
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def _date(s: str) -> date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return date.fromisoformat(s)
    d, m, y = (int(x) for x in s.split("/"))
    return date(y, m, d)


def _iso_shaped(s: str) -> bool:
    return "-" in s


def _sex(s: str | None) -> str | None:
    return None if s is None else "M" if s in MALE else "F" if s in FEMALE else "?"


def _subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(w in it for w in short)


def _one_digit_off(w: str, r: str) -> bool:
    return len(w) == len(r) and sum(a != b for a, b in zip(w, r, strict=True)) == 1


def _digit_dropped(w: str | None, r: str) -> bool:
    return w is not None and len(w) == 11 and any(r[:i] + r[i + 1 :] == w for i in range(12))


def _digit_added(w: str | None, r: str) -> bool:
    return w is not None and len(w) == 13 and any(w[:i] + w[i + 1 :] == r for i in range(13))


def _digits_apart(a: int, b: int, width: int) -> bool:
    """Written zero-padded to `width`, a and b differ in exactly one digit."""
    return sum(x != y for x, y in zip(f"{a:0{width}}", f"{b:0{width}}", strict=True)) == 1


def _dob_slip(d: Row, r: Row, same: tuple[str, ...], slip: Callable[[date, date], bool]) -> bool:
    """Only the named parts of the date differ, as `slip`(written, true) says they may."""
    x, t = _date(d["date_of_birth"]), date.fromisoformat(r["date_of_birth"])
    return x != t and all(getattr(x, f) == getattr(t, f) for f in same) and slip(x, t)


def _adjacent_swap(w: str, r: str) -> bool:
    diff = [i for i, (a, b) in enumerate(zip(w, r, strict=True)) if a != b]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and w[diff[0]] == r[diff[1]]


#: error type -> predicate(dose record, registry row) that must hold for every single-error row.
CHECKS: dict[str, Callable[[Row, Row], bool]] = {
    "name_no_diacritics": lambda d, r: d["full_name"] == _fold(r["full_name"]) != r["full_name"],
    "name_wrong_tone": lambda d, r: (
        d["full_name"] != r["full_name"]
        and _toneless(d["full_name"]) == _toneless(r["full_name"])
        and unicodedata.is_normalized("NFC", d["full_name"])
    ),
    "name_typo": lambda d, r: _damerau(d["full_name"], r["full_name"]) == 1,
    "name_dropped_middle": lambda d, r: (
        len(d["full_name"].split()) < len(r["full_name"].split())
        and d["full_name"].split()[0] == r["full_name"].split()[0]
        and d["full_name"].split()[-1] == r["full_name"].split()[-1]
        and _subsequence(d["full_name"].split(), r["full_name"].split())
    ),
    "name_hoang_huynh": lambda d, r: (
        {d["full_name"].split()[0], r["full_name"].split()[0]} == {"Hoàng", "Huỳnh"}
        and d["full_name"].split()[1:] == r["full_name"].split()[1:]
    ),
    "name_vu_vo": lambda d, r: (
        {d["full_name"].split()[0], r["full_name"].split()[0]} == {"Vũ", "Võ"}
        and d["full_name"].split()[1:] == r["full_name"].split()[1:]
    ),
    "name_reversed_order": lambda d, r: (
        d["full_name"].split() == r["full_name"].split()[-1:] + r["full_name"].split()[:-1]
    ),
    "name_nfd": lambda d, r: (
        d["full_name"] != r["full_name"]
        and unicodedata.normalize("NFC", d["full_name"]) == r["full_name"]
    ),
    "name_case_spacing": lambda d, r: (
        d["full_name"] != r["full_name"]
        and " ".join(d["full_name"].split()).lower() == r["full_name"].lower()
    ),
    "dob_day_month_swap": lambda d, r: (
        (x := _date(d["date_of_birth"])) != (t := date.fromisoformat(r["date_of_birth"]))
        and (x.year, x.month, x.day) == (t.year, t.day, t.month)
    ),
    "dob_year_only": lambda d, r: d["date_of_birth"] == r["date_of_birth"][:4],
    "dob_jan_first": lambda d, r: (
        _date(d["date_of_birth"])
        == date(int(r["date_of_birth"][:4]), 1, 1)
        != date.fromisoformat(r["date_of_birth"])
    ),
    "dob_year_off_by_one": lambda d, r: (
        abs(_date(d["date_of_birth"]).year - int(r["date_of_birth"][:4])) == 1
        and _date(d["date_of_birth"]).month == int(r["date_of_birth"][5:7])
    ),
    "dob_day_off_by_one": lambda d, r: _dob_slip(
        d, r, ("year", "month"), lambda x, t: abs(x.day - t.day) == 1
    ),
    "dob_day_digit": lambda d, r: _dob_slip(
        d, r, ("year", "month"), lambda x, t: _digits_apart(x.day, t.day, 2)
    ),
    "dob_month_off_by_one": lambda d, r: _dob_slip(
        d, r, ("year", "day"), lambda x, t: abs(x.month - t.month) == 1
    ),
    "dob_month_digit": lambda d, r: _dob_slip(
        d, r, ("year", "day"), lambda x, t: _digits_apart(x.month, t.month, 2)
    ),
    "dob_year_digit": lambda d, r: _dob_slip(
        d,
        r,
        ("month", "day"),
        lambda x, t: (
            _digits_apart(x.year % 100, t.year % 100, 2) and x.year // 100 == t.year // 100
        ),
    ),
    "dob_format_variant": lambda d, r: (
        _date(d["date_of_birth"]) == date.fromisoformat(r["date_of_birth"])
        and _iso_shaped(d["date_of_birth"]) != _iso_shaped(d["vaccination_date"])
    ),
    "id_wrong_digit": lambda d, r: _one_digit_off(d["id_number"], r["citizen_id"]),
    "id_transposed": lambda d, r: _adjacent_swap(d["id_number"], r["citizen_id"]),
    "id_lost_leading_zeros": lambda d, r: (
        d["id_number"] == r["citizen_id"].lstrip("0") != r["citizen_id"]
    ),
    "id_spaces": lambda d, r: (
        d["id_number"] != r["citizen_id"] and d["id_number"].replace(" ", "") == r["citizen_id"]
    ),
    "id_old_cmnd": lambda d, r: r["old_id"] is not None and d["id_number"] == r["old_id"],
    "id_missing": lambda d, r: d["id_number"] is None,
    "id_other_person": lambda d, r: (
        d["id_number"] is not None
        and re.fullmatch(r"\d{12}", d["id_number"]) is not None
        and d["id_number"] != r["citizen_id"]
    ),
    "id_dropped_digit": lambda d, r: _digit_dropped(d["id_number"], r["citizen_id"]),
    "id_added_digit": lambda d, r: _digit_added(d["id_number"], r["citizen_id"]),
    "id_relative": lambda d, r: (
        d["id_number"] is not None
        and re.fullmatch(r"\d{12}", d["id_number"]) is not None
        and d["id_number"] != r["citizen_id"]
    ),
    "sex_wrong": lambda d, r: _sex(d["sex"]) not in (None, r["sex"]),
    "invalid_future_date": lambda d, r: _date(d["vaccination_date"]).year > 2030,
    "invalid_unknown_vaccine": lambda d, r: lookup(d["vaccine"]) is None,
    "invalid_empty_name": lambda d, r: not d["full_name"],
}


def _clean(d: Row, r: Row) -> bool:
    return (
        d["full_name"] == r["full_name"]
        and _date(d["date_of_birth"]) == date.fromisoformat(r["date_of_birth"])
        and _sex(d["sex"]) in (None, r["sex"])
        and d["id_number"] == r["citizen_id"]
        and lookup(d["vaccine"]) is not None
        and _date(d["vaccination_date"]).year in (2021, 2022)
    )


def test_every_error_type_is_checked() -> None:
    assert set(CHECKS) == set(ERROR_TYPES) - {"not_in_registry"}


@pytest.mark.parametrize("error", sorted(CHECKS))
def test_error_changes_the_field_it_names(
    single: dict[str, list[tuple[Row, Row]]], error: str
) -> None:
    pairs = single[error]
    assert len(pairs) >= 10, f"too few single-error rows for {error}"
    bad = [(d["full_name"], d["date_of_birth"], d["id_number"], d["sex"], r) for d, r in pairs
           if not CHECKS[error](d, r)]  # fmt: skip
    assert not bad, bad[:3]


def test_clean_records_agree_with_the_registry(
    single: dict[str, list[tuple[Row, Row]]],
) -> None:
    pairs = single[""]
    assert len(pairs) > 10_000
    bad = [(d, r) for d, r in pairs if not _clean(d, r)]
    assert not bad, bad[:3]


def test_other_person_is_usually_a_housemate(
    single: dict[str, list[tuple[Row, Row]]], registry: dict[str, Row]
) -> None:
    pairs = single["id_other_person"]
    # The housemate may be one of the few people missing from the registry.
    housemates = sum(
        (registry.get(d["id_number"]) or {}).get("address") == r["address"] for d, r in pairs
    )
    assert 0.4 < housemates / len(pairs) < 0.95
