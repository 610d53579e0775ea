"""Schedule rules: intervals, mixing, duplicates and dose sequence give coded, bilingual warnings."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vaxlink.cleaning.schedule import (
    Code,
    Dose,
    check,
    dose_number,
    expected_next,
    rules,
)
from vaxlink.records import vaccines

TODAY = dt.date(2021, 11, 1)
D = dt.timedelta


def p(day: dt.date, key: str, seq: int) -> Dose:
    return Dose(day, key, "primary", seq)


def codes(history: list[Dose], new: Dose, today: dt.date | None = None) -> set[Code]:
    return {w.code for w in check(history, new, today=today or new.date)}


def test_every_catalogue_product_has_a_rule() -> None:
    assert set(vaccines.catalogue()) == set(rules().products)
    assert rules().version


@pytest.mark.parametrize(
    ("key", "too_short", "enough"),
    [
        ("Comirnaty", 20, 21),
        ("Spikevax", 27, 28),
        ("BBIBP-CorV", 20, 21),
        ("Vaxzevria", 27, 56),
        ("Sputnik V", 20, 21),
    ],
)
def test_primary_interval_minimum_per_product(key: str, too_short: int, enough: int) -> None:
    first = p(TODAY - D(days=too_short), key, 1)
    assert Code.INTERVAL_TOO_SHORT in codes([first], p(TODAY, key, 2))
    first = p(TODAY - D(days=enough), key, 1)
    assert codes([first], p(TODAY, key, 2)) == set()


def test_astrazeneca_between_minimum_and_recommended_is_a_softer_warning() -> None:
    warnings = check([p(TODAY - D(weeks=5), "Vaxzevria", 1)], p(TODAY, "Vaxzevria", 2), today=TODAY)
    assert [w.code for w in warnings] == [Code.INTERVAL_BELOW_RECOMMENDED]
    assert "35" in warnings[0].vi
    assert "56" in warnings[0].en


def test_too_short_message_names_days_and_previous_dose_in_both_languages() -> None:
    (w,) = check([p(TODAY - D(days=10), "Comirnaty", 1)], p(TODAY, "Comirnaty", 2), today=TODAY)
    assert w.code is Code.INTERVAL_TOO_SHORT
    assert "10" in w.vi
    assert "21" in w.vi
    assert "ngày" in w.vi
    assert "10 day(s)" in w.en
    assert "minimum is 21" in w.en
    assert w.message("en") == w.en
    assert w.message("vi") == w.vi


def test_astrazeneca_then_mrna_is_allowed_but_moderna_then_pfizer_is_not() -> None:
    az = p(TODAY - D(weeks=8), "Vaxzevria", 1)
    assert codes([az], p(TODAY, "Comirnaty", 2)) == set()
    assert codes([az], p(TODAY, "Spikevax", 2)) == set()
    moderna = p(TODAY - D(weeks=8), "Spikevax", 1)
    assert Code.MIXING_NOT_ALLOWED in codes([moderna], p(TODAY, "Comirnaty", 2))
    vero = p(TODAY - D(weeks=8), "BBIBP-CorV", 1)
    assert Code.MIXING_NOT_ALLOWED in codes([vero], p(TODAY, "Vaxzevria", 2))


def test_booster_three_months_after_primary_and_mrna_after_inactivated() -> None:
    primary = [p(dt.date(2021, 6, 1), "BBIBP-CorV", 1), p(dt.date(2021, 6, 22), "BBIBP-CorV", 2)]
    early = Dose(dt.date(2021, 8, 1), "Comirnaty", "booster", 1)
    assert codes(primary, early) == {Code.INTERVAL_TOO_SHORT}
    ok = Dose(dt.date(2021, 9, 21), "Comirnaty", "booster", 1)
    assert codes(primary, ok) == set()
    # An inactivated booster after an mRNA primary series is outside the guidance.
    mrna = [p(dt.date(2021, 6, 1), "Comirnaty", 1), p(dt.date(2021, 6, 22), "Comirnaty", 2)]
    assert Code.MIXING_NOT_ALLOWED in codes(mrna, Dose(ok.date, "BBIBP-CorV", "booster", 1))


def test_second_booster_four_months_after_the_first() -> None:
    history = [
        p(dt.date(2021, 6, 1), "Comirnaty", 1),
        p(dt.date(2021, 6, 22), "Comirnaty", 2),
        Dose(dt.date(2021, 10, 1), "Spikevax", "booster", 1),
    ]
    assert codes(history, Dose(dt.date(2022, 1, 1), "Comirnaty", "booster", 2)) == {
        Code.INTERVAL_TOO_SHORT
    }
    assert codes(history, Dose(dt.date(2022, 2, 1), "Comirnaty", "booster", 2)) == set()


def test_additional_dose_28_days_after_primary() -> None:
    history = [p(dt.date(2021, 6, 1), "Comirnaty", 1), p(dt.date(2021, 6, 22), "Comirnaty", 2)]
    assert codes(history, Dose(dt.date(2021, 7, 10), "Comirnaty", "additional", 1)) == {
        Code.INTERVAL_TOO_SHORT
    }
    assert codes(history, Dose(dt.date(2021, 7, 20), "Comirnaty", "additional", 1)) == set()


def test_duplicate_same_day_later_dose_and_late_entry() -> None:
    first = p(TODAY, "Comirnaty", 1)
    assert Code.DUPLICATE_SAME_DAY in codes([first], p(TODAY, "Comirnaty", 1))
    later = p(TODAY + D(days=30), "Comirnaty", 2)
    assert Code.LATER_DOSE_ON_RECORD in codes([later], p(TODAY, "Comirnaty", 1))
    late = check([], p(TODAY - D(days=3), "Comirnaty", 1), today=TODAY)
    assert [w.code for w in late] == [Code.ENTERED_LATE]
    assert "20/10/2021" in late[0].vi


def test_sequence_against_history() -> None:
    assert codes([], p(TODAY, "Comirnaty", 2)) == {Code.SEQUENCE_MISMATCH}
    first = p(TODAY - D(days=30), "Comirnaty", 1)
    assert codes([first], p(TODAY, "Comirnaty", 1)) == {Code.SEQUENCE_MISMATCH}
    two = [first, p(TODAY - D(days=5), "Comirnaty", 2)]
    assert Code.PRIMARY_SERIES_EXCEEDED in codes(two, p(TODAY + D(days=60), "Comirnaty", 3))
    assert Code.PRIMARY_SERIES_INCOMPLETE in codes([first], Dose(TODAY, "Comirnaty", "booster", 1))
    assert Code.PRIMARY_SERIES_INCOMPLETE in codes([], Dose(TODAY, "Comirnaty", "booster", 1))


def test_janssen_is_a_one_dose_series() -> None:
    history = [p(dt.date(2021, 6, 1), "Jcovden", 1)]
    assert expected_next(history, "Comirnaty") == ("booster", 1)
    assert codes(history, Dose(dt.date(2021, 10, 1), "Comirnaty", "booster", 1)) == set()


def test_expected_next_and_dose_number_follow_the_importer_convention() -> None:
    assert expected_next([], "Comirnaty") == ("primary", 1)
    one = [p(TODAY - D(days=30), "Vaxzevria", 1)]
    assert expected_next(one, "Comirnaty") == ("primary", 2)
    two = [*one, p(TODAY - D(days=1), "Comirnaty", 2)]
    assert expected_next(two, "Comirnaty") == ("booster", 1)
    assert dose_number(two, Dose(TODAY, "Comirnaty", "booster", 1)) == 3
    with_add = [*two, Dose(TODAY, "Comirnaty", "additional", 1)]
    assert dose_number(with_add, Dose(TODAY, "Comirnaty", "booster", 1)) == 4
    assert dose_number([], p(TODAY, "Comirnaty", 1)) == 1


keys = st.sampled_from(sorted(vaccines.catalogue()))
cats = st.sampled_from(["primary", "additional", "booster"])
dates = st.dates(dt.date(2021, 1, 1), dt.date(2023, 1, 1))
doses = st.builds(Dose, dates, keys, cats, st.integers(1, 4))


@given(st.lists(doses, max_size=6), doses, dates)
def test_any_history_gives_wellformed_warnings(
    history: list[Dose], new: Dose, today: dt.date
) -> None:
    for w in check(history, new, today=today):
        assert isinstance(w.code, Code)
        assert w.vi
        assert w.en
        assert "{" not in w.vi + w.en
    assert dose_number(history, new) >= 1
