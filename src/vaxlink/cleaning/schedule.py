"""COVID-19 schedule checks for a dose about to be recorded: warnings, never refusals.

Pure: a person's earlier doses and the new one in, a list of coded warnings (Vietnamese and
English) out. The rule values (intervals, platforms, mixing) live in `schedule_rules.json`
beside this module; docs/dose-entry.md gives their sources and the assumptions made.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Final

from vaxlink.records.service import DoseCategory, vaccines

RULES_FILE: Final = "schedule_rules.json"


class Code(StrEnum):
    """What a schedule warning is about (stable codes: stored with the dose when acknowledged)."""

    DUPLICATE_SAME_DAY = "duplicate_same_day"
    LATER_DOSE_ON_RECORD = "later_dose_on_record"
    ENTERED_LATE = "entered_late"
    INTERVAL_TOO_SHORT = "interval_too_short"
    INTERVAL_BELOW_RECOMMENDED = "interval_below_recommended"
    MIXING_NOT_ALLOWED = "mixing_not_allowed"
    SEQUENCE_MISMATCH = "sequence_mismatch"
    PRIMARY_SERIES_EXCEEDED = "primary_series_exceeded"
    PRIMARY_SERIES_INCOMPLETE = "primary_series_incomplete"
    UNKNOWN_PRODUCT = "unknown_product"


_MESSAGES: Final[dict[Code, tuple[str, str]]] = {
    Code.DUPLICATE_SAME_DAY: (
        "Người này đã có mũi tiêm ngày {date}: kiểm tra xem có nhập trùng không.",
        "This person already has a dose on {date}: check this is not a duplicate entry.",
    ),
    Code.LATER_DOSE_ON_RECORD: (
        "Đã có mũi tiêm sau ngày này ({date}): kiểm tra lại ngày tiêm.",
        "A later dose is already on record ({date}): check the vaccination date.",
    ),
    Code.ENTERED_LATE: (
        "Ngày tiêm {date} là {days} ngày trước hôm nay: từ 20/10/2021 mũi tiêm phải được nhập "
        "khi tiêm, không tiêm trước nhập sau.",
        "The vaccination date {date} is {days} day(s) ago: since 20 Oct 2021 a dose is entered "
        "when given, never injected first and entered later.",
    ),
    Code.INTERVAL_TOO_SHORT: (
        "Chỉ {days} ngày sau mũi trước ({previous}, {prev_date}); tối thiểu {min_days} ngày.",
        "Only {days} day(s) after the previous dose ({previous}, {prev_date}); the minimum is "
        "{min_days} days.",
    ),
    Code.INTERVAL_BELOW_RECOMMENDED: (
        "{days} ngày sau mũi trước ({previous}); khuyến cáo ít nhất {rec_days} ngày.",
        "{days} day(s) after the previous dose ({previous}); at least {rec_days} days are "
        "recommended.",
    ),
    Code.MIXING_NOT_ALLOWED: (
        "Tiêm {vaccine} sau {previous} không nằm trong hướng dẫn phối hợp vắc xin của Bộ Y tế.",
        "{vaccine} after {previous} is not a combination the Ministry of Health guidance allows.",
    ),
    Code.SEQUENCE_MISMATCH: (
        "Theo lịch sử tiêm, mũi này là {expected}, không phải {entered}.",
        "By the person's history this dose is {expected_en}, not {entered_en}.",
    ),
    Code.PRIMARY_SERIES_EXCEEDED: (
        "Liều cơ bản của {vaccine} chỉ có {doses} mũi; mũi sau đó là mũi bổ sung hoặc nhắc lại.",
        "The primary series of {vaccine} has {doses} dose(s); a further dose is an additional "
        "dose or a booster.",
    ),
    Code.PRIMARY_SERIES_INCOMPLETE: (
        "Người này chưa đủ liều cơ bản ({done}/{doses} mũi trong hồ sơ).",
        "This person has not completed the primary series ({done}/{doses} doses on record).",
    ),
    Code.UNKNOWN_PRODUCT: (
        "Không có quy tắc lịch tiêm cho {vaccine}: khoảng cách không được kiểm tra.",
        "There is no schedule rule for {vaccine}: intervals are not checked.",
    ),
}

_CATEGORY_WORDS: Final[dict[str, tuple[str, str]]] = {
    DoseCategory.PRIMARY: ("mũi cơ bản {n}", "primary dose {n}"),
    DoseCategory.ADDITIONAL: ("mũi bổ sung {n}", "additional dose {n}"),
    DoseCategory.BOOSTER: ("mũi nhắc lại {n}", "booster {n}"),
}


@dataclass(frozen=True, slots=True)
class ProductRule:
    """How one product's primary series is spaced, and its platform (for mixing rules)."""

    platform: str
    min_interval_days: int
    recommended_interval_days: int


@dataclass(frozen=True, slots=True)
class Rules:
    """The whole rule set, as read from the data file."""

    version: str
    products: dict[str, ProductRule]
    primary_mixing: frozenset[tuple[str, str]]
    additional_min_days: int
    booster_min_after_primary: int
    booster_min_between: int
    booster_any_primary_platforms: frozenset[str]


@dataclass(frozen=True, slots=True)
class Dose:
    """A dose as schedule rules see it."""

    date: dt.date
    vaccine_key: str
    category: str
    sequence: int


@dataclass(frozen=True, slots=True)
class ScheduleWarning:
    """One coded warning with its message in both languages."""

    code: Code
    vi: str
    en: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        """The message in `lang` ("vi" or "en")."""
        return self.en if lang == "en" else self.vi


def rules_from(data: dict[str, Any]) -> Rules:
    """Rules from the JSON shape of `schedule_rules.json`."""
    booster = data["booster"]
    return Rules(
        version=str(data["version"]),
        products={
            key: ProductRule(
                str(p["platform"]), int(p["min_interval_days"]), int(p["recommended_interval_days"])
            )
            for key, p in data["products"].items()
        },
        primary_mixing=frozenset((m["first"], m["then"]) for m in data["primary_mixing"]),
        additional_min_days=int(data["additional"]["min_days_after_primary"]),
        booster_min_after_primary=int(booster["min_days_after_primary"]),
        booster_min_between=int(booster["min_days_between_boosters"]),
        booster_any_primary_platforms=frozenset(booster["any_primary_platforms"]),
    )


@cache
def rules() -> Rules:
    """The packaged rule set."""
    text = resources.files("vaxlink.cleaning").joinpath(RULES_FILE).read_text("utf-8")
    return rules_from(json.loads(text))


def _warn(code: Code, **params: Any) -> ScheduleWarning:
    vi, en = _MESSAGES[code]
    return ScheduleWarning(code, vi.format(**params), en.format(**params), params)


def _name(key: str) -> str:
    v = vaccines.catalogue().get(key)
    return v.display if v else key


def _series_length(key: str) -> int:
    v = vaccines.catalogue().get(key)
    return v.primary_doses if v else 2


def _words(category: str, sequence: int) -> tuple[str, str]:
    vi, en = _CATEGORY_WORDS.get(category, ("mũi {n}", "dose {n}"))
    return vi.format(n=sequence), en.format(n=sequence)


def _of(history: Sequence[Dose], category: str) -> list[Dose]:
    return sorted((d for d in history if d.category == category), key=lambda d: d.date)


def expected_next(before: Sequence[Dose], vaccine_key: str) -> tuple[str, int]:
    """The (category, sequence) the next dose takes after `before` (to pre-fill the form)."""
    primaries = _of(before, DoseCategory.PRIMARY)
    series = _series_length(primaries[0].vaccine_key if primaries else vaccine_key)
    if len(primaries) < series:
        return DoseCategory.PRIMARY.value, len(primaries) + 1
    return DoseCategory.BOOSTER.value, len(_of(before, DoseCategory.BOOSTER)) + 1


def dose_number(before: Sequence[Dose], new: Dose) -> int:
    """The overall dose number, in the importer's convention: primary doses count 1..n, then
    additional doses, then boosters."""
    primaries = _of(before, DoseCategory.PRIMARY)
    series = _series_length(primaries[0].vaccine_key if primaries else new.vaccine_key)
    if new.category == DoseCategory.PRIMARY:
        return new.sequence
    if new.category == DoseCategory.ADDITIONAL:
        return series + new.sequence
    return series + len(_of(before, DoseCategory.ADDITIONAL)) + new.sequence


def _interval(
    new: Dose, previous: Dose, min_days: int, rec_days: int | None = None
) -> list[ScheduleWarning]:
    days = (new.date - previous.date).days
    common = {
        "days": days,
        "previous": _name(previous.vaccine_key),
        "prev_date": previous.date.isoformat(),
    }
    if days < min_days:
        return [_warn(Code.INTERVAL_TOO_SHORT, min_days=min_days, **common)]
    if rec_days is not None and days < rec_days:
        return [_warn(Code.INTERVAL_BELOW_RECOMMENDED, rec_days=rec_days, **common)]
    return []


def _sequence(new: Dose, expected: int) -> list[ScheduleWarning]:
    if new.sequence == expected:
        return []
    (vi_e, en_e), (vi_n, en_n) = _words(new.category, expected), _words(new.category, new.sequence)
    return [
        _warn(
            Code.SEQUENCE_MISMATCH, expected=vi_e, entered=vi_n, expected_en=en_e, entered_en=en_n
        )
    ]


def _primary(new: Dose, before: list[Dose], r: Rules) -> list[ScheduleWarning]:
    primaries = _of(before, DoseCategory.PRIMARY)
    first = primaries[0].vaccine_key if primaries else new.vaccine_key
    series = _series_length(first)
    out = _sequence(new, len(primaries) + 1)
    if new.sequence > series:
        out.append(_warn(Code.PRIMARY_SERIES_EXCEEDED, vaccine=_name(first), doses=series))
    if not primaries:
        return out
    rule = r.products.get(first)
    if rule is not None:
        out += _interval(new, primaries[-1], rule.min_interval_days, rule.recommended_interval_days)
    new_rule = r.products.get(new.vaccine_key)
    if (
        new.vaccine_key != first
        and rule is not None
        and new_rule is not None
        and (rule.platform, new_rule.platform) not in r.primary_mixing
    ):
        out.append(
            _warn(Code.MIXING_NOT_ALLOWED, vaccine=_name(new.vaccine_key), previous=_name(first))
        )
    return out


def _beyond_primary(new: Dose, before: list[Dose], r: Rules) -> list[ScheduleWarning]:
    primaries = _of(before, DoseCategory.PRIMARY)
    series = _series_length(primaries[0].vaccine_key if primaries else new.vaccine_key)
    out: list[ScheduleWarning] = []
    if len(primaries) < series:
        out.append(_warn(Code.PRIMARY_SERIES_INCOMPLETE, done=len(primaries), doses=series))
    same = _of(before, new.category)
    out += _sequence(new, len(same) + 1)
    if new.category == DoseCategory.ADDITIONAL:
        if primaries:
            out += _interval(new, primaries[-1], r.additional_min_days)
        return out
    if same:
        out += _interval(new, same[-1], r.booster_min_between)
    else:
        series_doses = primaries + _of(before, DoseCategory.ADDITIONAL)
        if series_doses:
            last = max(series_doses, key=lambda d: d.date)
            out += _interval(new, last, r.booster_min_after_primary)
    new_rule = r.products.get(new.vaccine_key)
    first_rule = r.products.get(primaries[0].vaccine_key) if primaries else None
    if new_rule is not None and first_rule is not None:
        allowed = (
            new_rule.platform in r.booster_any_primary_platforms
            or new_rule.platform == first_rule.platform
        )
        if not allowed:
            out.append(
                _warn(
                    Code.MIXING_NOT_ALLOWED,
                    vaccine=_name(new.vaccine_key),
                    previous=_name(primaries[0].vaccine_key),
                )
            )
    return out


def check(
    history: Sequence[Dose], new: Dose, *, today: dt.date, rules_: Rules | None = None
) -> list[ScheduleWarning]:
    """Warnings for recording `new` after the person's `history` (any order, any facility)."""
    r = rules_ or rules()
    out: list[ScheduleWarning] = []
    same_day = [d for d in history if d.date == new.date]
    if same_day:
        out.append(_warn(Code.DUPLICATE_SAME_DAY, date=new.date.isoformat()))
    later = sorted(d.date for d in history if d.date > new.date)
    if later:
        out.append(_warn(Code.LATER_DOSE_ON_RECORD, date=later[-1].isoformat()))
    if new.date < today:
        out.append(
            _warn(Code.ENTERED_LATE, date=new.date.isoformat(), days=(today - new.date).days)
        )
    if new.vaccine_key not in r.products:
        out.append(_warn(Code.UNKNOWN_PRODUCT, vaccine=_name(new.vaccine_key)))
    before = [d for d in history if d.date < new.date]
    if new.category == DoseCategory.PRIMARY:
        out += _primary(new, before, r)
    else:
        out += _beyond_primary(new, before, r)
    return out
