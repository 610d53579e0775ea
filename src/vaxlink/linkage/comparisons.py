"""The Fellegi-Sunter comparisons: each field's agreement levels, as SQL and as Python.

Levels are tried in order and the first that holds is the pair's level (the last one, `else`,
always holds). The SQL conditions read the dose as `<feature>_l` and the citizen as
`<feature>_r`, as Splink's do, so the same strings serve the bulk scorer, Splink's trainer and
the documentation; each has a pure-Python twin for the online scorer, tested to agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vaxlink.linkage.similarity import hamming, jaro_winkler, levenshtein, transposed, words_in

Row = Mapping[str, Any]
Test = Callable[[Row, Row], bool]


@dataclass(frozen=True)
class Level:
    """One agreement level: a stable name, a label for people, its SQL and its Python test."""

    name: str
    label: str
    sql: str
    test: Test
    is_null: bool = False
    tf: str | None = None  # registry column whose term frequency adjusts this level
    per_citizen: bool = False  # an identifier: u falls as 1 / registry size


@dataclass(frozen=True)
class Comparison:
    """One field (or group of fields) compared level by level."""

    name: str
    description: str
    levels: tuple[Level, ...]

    def level_of(self, d: Row, r: Row) -> int:
        """Index of the first level that holds for this pair."""
        for i, level in enumerate(self.levels):
            if level.test(d, r):
                return i
        return len(self.levels) - 1

    def gamma_sql(self) -> str:
        """SQL CASE giving the level index of a pair."""
        whens = " ".join(f"WHEN {lv.sql} THEN {i}" for i, lv in enumerate(self.levels[:-1]))
        return f"CASE {whens} ELSE {len(self.levels) - 1} END"


def _v(row: Row, key: str) -> Any:
    return row.get(key)


def _both(key: str) -> Callable[[Row, Row], bool]:
    return lambda d, r: _v(d, key) is not None and _v(r, key) is not None


def _null(key: str) -> Level:
    return Level("null", f"{key} missing", f"{key}_l IS NULL OR {key}_r IS NULL",
                 lambda d, r: not _both(key)(d, r), is_null=True)  # fmt: skip


def _eq(key: str) -> Test:
    return lambda d, r: _both(key)(d, r) and d[key] == r[key]


def _jw(key: str, at_least: float) -> Test:
    return lambda d, r: _both(key)(d, r) and jaro_winkler(d[key], r[key]) >= at_least


def _jw_sql(key: str, at_least: float) -> str:
    return f"jaro_winkler_similarity({key}_l, {key}_r) >= {at_least}"


_ELSE = "TRUE"


def _else(label: str) -> Level:
    return Level("else", label, _ELSE, lambda d, r: True)


def _syllables(d: Row, r: Row) -> bool:
    return _eq("ssort")(d, r) and d.get("nf") != r.get("nf")


# The same syllables written otherwise (another order; Huỳnh for Hoàng, Võ for Vũ): the whole
# name's evidence, weighed once, by the family comparison; middle and given names abstain, or
# one slip would count three times.
_SYLLABLES = "ssort_l = ssort_r AND nf_l <> nf_r"

FAMILY = Comparison("family", "family name (họ), folded, Hoàng = Huỳnh and Vũ = Võ", (
    _null("fam"),
    Level("syllables", "the same syllables in another order or spelling (whole name)",
          _SYLLABLES, _syllables, tf="fam"),
    Level("exact", "same family name", "fam_l = fam_r", _eq("fam"), tf="fam"),
    Level("similar", "family name Jaro-Winkler ≥ 0.85", _jw_sql("fam", 0.85), _jw("fam", 0.85)),
    _else("different family name"),
))  # fmt: skip

GIVEN = Comparison("given", "given name (tên), with tones then folded", (
    Level("null", "given name missing, or the name's syllables weighed by family",
          f"giv_l IS NULL OR giv_r IS NULL OR ({_SYLLABLES})",
          lambda d, r: not _both("giv")(d, r) or _syllables(d, r), is_null=True),
    Level("exact", "same given name with the same tones", "giva_l = giva_r", _eq("giva"),
          tf="giv"),
    Level("folded", "same given name without diacritics (tone or accent differs)",
          "giv_l = giv_r", _eq("giv"), tf="giv"),
    Level("jw90", "given name Jaro-Winkler ≥ 0.9", _jw_sql("giv", 0.9), _jw("giv", 0.9)),
    Level("jw80", "given name Jaro-Winkler ≥ 0.8", _jw_sql("giv", 0.8), _jw("giv", 0.8)),
    _else("different given name"),
))  # fmt: skip


def _dropped(d: Row, r: Row) -> bool:
    return words_in(d.get("mid"), r.get("mid")) or words_in(r.get("mid"), d.get("mid"))


MIDDLE = Comparison("middle", "middle name(s) (tên đệm)", (
    Level("null", "name missing, or its syllables weighed by family",
          f"nf_l IS NULL OR nf_r IS NULL OR ({_SYLLABLES})",
          lambda d, r: not _both("nf")(d, r) or _syllables(d, r), is_null=True),
    Level("exact", "same middle name with the same tones", "mida_l = mida_r", _eq("mida")),
    Level("folded", "same middle name without diacritics", "mid_l = mid_r", _eq("mid")),
    Level("dropped", "a middle name left out (one's middle words within the other's)",
          "lk_words_in(mid_l, mid_r) OR lk_words_in(mid_r, mid_l)", _dropped),
    Level("similar", "middle name Jaro-Winkler ≥ 0.85", _jw_sql("mid", 0.85), _jw("mid", 0.85)),
    _else("different middle name"),
))  # fmt: skip


def _same(key: str) -> Test:
    """Null-safe equality (both unknown counts as the same)."""
    return lambda d, r: d.get(key) == r.get(key)


def _dob_exact(d: Row, r: Row) -> bool:
    return _eq("dy")(d, r) and _same("dm")(d, r) and _same("dd")(d, r)


def _dob_swap(d: Row, r: Row) -> bool:
    return (_eq("dy")(d, r) and d.get("dm") is not None and d.get("dm") == r.get("dd")
            and d.get("dd") is not None and d.get("dd") == r.get("dm"))  # fmt: skip


def _dob_month(d: Row, r: Row) -> bool:
    one_day_unknown = d.get("dd") is None or r.get("dd") is None
    return _eq("dy")(d, r) and _eq("dm")(d, r) and one_day_unknown


def _dob_year(d: Row, r: Row) -> bool:
    return _eq("dy")(d, r) and (d.get("dm") is None or r.get("dm") is None)


def _jan1(row: Row) -> bool:
    return row.get("dm") == 1 and row.get("dd") == 1


def _dob_jan1(d: Row, r: Row) -> bool:
    return _eq("dy")(d, r) and (_jan1(d) or _jan1(r))


def _dob_year_off(d: Row, r: Row) -> bool:
    return (_both("dy")(d, r) and abs(d["dy"] - r["dy"]) == 1 and _eq("dm")(d, r)
            and _eq("dd")(d, r))  # fmt: skip


def _days_within(n: int) -> Test:
    def test(d: Row, r: Row) -> bool:
        return _both("dday")(d, r) and abs(d["dday"] - r["dday"]) <= n

    return test


def _dob_one_digit(d: Row, r: Row) -> bool:
    return _both("dob8")(d, r) and hamming(d["dob8"], r["dob8"]) == 1


# After the named slips (swap, partial dates, 1 January, year ± 1), how close the two dates
# are: in days (a day typed one off, a month's end), and in digits (one digit of the day, the
# month or the year typed wrong, whatever the distance). They measure closeness rather than name
# one slip, so a slip no training data showed still counts as the near miss it is.
DOB = Comparison("dob", "date of birth (partial dates allowed)", (
    _null("dy"),
    Level("exact", "same date of birth",
          "dy_l = dy_r AND dm_l IS NOT DISTINCT FROM dm_r AND dd_l IS NOT DISTINCT FROM dd_r",
          _dob_exact),
    Level("swap", "day and month swapped", "dy_l = dy_r AND dm_l = dd_r AND dd_l = dm_r",
          _dob_swap),
    Level("month", "same year and month, one day unknown",
          "dy_l = dy_r AND dm_l = dm_r AND (dd_l IS NULL OR dd_r IS NULL)", _dob_month),
    Level("year", "same year, one month unknown",
          "dy_l = dy_r AND (dm_l IS NULL OR dm_r IS NULL)", _dob_year),
    Level("jan1", "same year, one date is 1 January",
          "dy_l = dy_r AND ((dm_l = 1 AND dd_l = 1) OR (dm_r = 1 AND dd_r = 1))", _dob_jan1),
    Level("year_off", "same day and month, year one off",
          "abs(dy_l - dy_r) = 1 AND dm_l = dm_r AND dd_l = dd_r", _dob_year_off),
    Level("day1", "dates at most one day apart", "abs(dday_l - dday_r) <= 1",
          _days_within(1)),
    Level("one_digit", "one digit of the day, month or year differs (yyyymmdd)",
          "hamming(dob8_l, dob8_r) = 1", _dob_one_digit),
    Level("days10", "dates at most 10 days apart", "abs(dday_l - dday_r) <= 10",
          _days_within(10)),
    Level("days31", "dates at most 31 days apart", "abs(dday_l - dday_r) <= 31",
          _days_within(31)),
    Level("same_year", "same year only", "dy_l = dy_r", _eq("dy")),
    _else("different date of birth"),
))  # fmt: skip

SEX = Comparison("sex", "sex", (
    _null("sex"),
    Level("exact", "same sex", "sex_l = sex_r", _eq("sex")),
    _else("different sex"),
))  # fmt: skip


def _id_null(d: Row, r: Row) -> bool:
    return (d.get("id12") is None and d.get("idd") is None
            and (d.get("id9") is None or r.get("id9") is None))  # fmt: skip


def _id_exact(d: Row, r: Row) -> bool:
    return _eq("id12")(d, r) and not d.get("id_padded")


def _id_sub(d: Row, r: Row) -> bool:
    return _both("id12")(d, r) and hamming(d["id12"], r["id12"]) == 1


def _id_swap(d: Row, r: Row) -> bool:
    return _both("id12")(d, r) and transposed(d["id12"], r["id12"])


def _id_indel(d: Row, r: Row) -> bool:
    return (
        d.get("idd") is not None
        and r.get("id12") is not None
        and (levenshtein(d["idd"], r["id12"]) == 1)
    )


ID = Comparison("id", "ID number (12-digit CCCD or 9-digit CMND)", (
    Level("null", "no ID number on the record (or no old ID to compare)",
          "id12_l IS NULL AND idd_l IS NULL AND (id9_l IS NULL OR id9_r IS NULL)", _id_null,
          is_null=True),
    Level("exact", "same ID number", "id12_l = id12_r AND NOT id_padded_l", _id_exact,
          per_citizen=True),
    Level("lost_zeros", "same ID number once the leading zeros Excel dropped are restored",
          "id12_l = id12_r", _eq("id12"), per_citizen=True),
    Level("cmnd", "the record's 9-digit number is the citizen's old CMND", "id9_l = id9_r",
          _eq("id9"), per_citizen=True),
    Level("one_digit", "ID number one digit different", "hamming(id12_l, id12_r) = 1", _id_sub),
    Level("transposed", "ID number with two neighbouring digits swapped",
          "lk_transposed(id12_l, id12_r)", _id_swap),
    Level("indel", "ID number with one digit dropped or added (11 or 13 digits)",
          "levenshtein(idd_l, id12_r) = 1", _id_indel, per_citizen=True),
    _else("different ID number"),
))  # fmt: skip


def _encoded_null(d: Row, r: Row) -> bool:
    return (
        d.get("idy") is None
        or r.get("dy") is None
        or _eq("id12")(d, r)
        or _id_sub(d, r)
        or _id_swap(d, r)
    )


def _prov3(row: Row) -> str | None:
    value = row.get("id12")
    return value[:3] if isinstance(value, str) else None


def _enc_year_sex(d: Row, r: Row) -> bool:
    return d.get("idy") == r.get("dy") and d.get("ids") == r.get("sex")


ENCODED = Comparison("id_encoded", "birth year, sex and birth province the record's 12-digit ID "
                     "encodes, against the citizen's (when the ID itself differs)", (
    Level("null", "no 12-digit ID on the record, or the ID itself agrees",
          "idy_l IS NULL OR dy_r IS NULL OR id12_l = id12_r OR hamming(id12_l, id12_r) = 1 "
          "OR lk_transposed(id12_l, id12_r)", _encoded_null, is_null=True),
    Level("all", "the ID encodes the citizen's birth year, sex and birth province",
          "idy_l = dy_r AND ids_l = sex_r AND left(id12_l, 3) = left(id12_r, 3)",
          lambda d, r: _enc_year_sex(d, r) and _prov3(d) == _prov3(r)),
    Level("year_sex", "the ID encodes the citizen's birth year and sex",
          "idy_l = dy_r AND ids_l = sex_r", _enc_year_sex),
    Level("year", "the ID encodes the citizen's birth year", "idy_l = dy_r",
          lambda d, r: d.get("idy") == r.get("dy")),
    _else("the ID encodes another birth year"),
))  # fmt: skip

RESIDENCE = Comparison("residence", "where the person lives (ward, district, province)", (
    _null("prov"),
    Level("ward", "same ward", "ward_l = ward_r", _eq("ward")),
    Level("district", "same district", "dist_l = dist_r", _eq("dist")),
    Level("province", "same province", "prov_l = prov_r", _eq("prov")),
    _else("another province"),
))  # fmt: skip

PHONE = Comparison("phone", "phone number", (
    _null("ph"),
    Level("exact", "same phone number", "ph_l = ph_r", _eq("ph"), per_citizen=True),
    _else("different phone number"),
))  # fmt: skip

COMPARISONS: tuple[Comparison, ...] = (
    FAMILY, MIDDLE, GIVEN, DOB, SEX, ID, ENCODED, RESIDENCE, PHONE,
)  # fmt: skip

#: Columns each side must carry for the comparisons (dose `_l`, citizen `_r`).
PAIR_FEATURES = (
    "nm", "nf", "fam", "giv", "giva", "mid", "mida", "ssort", "dy", "dm", "dd", "dday", "dob8",
    "sex", "id12", "id9", "idd", "id_padded", "idy", "ids", "ph", "prov", "dist", "ward",
)  # fmt: skip
