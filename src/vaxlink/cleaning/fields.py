"""Which dose fields may be corrected, by whom, and how a typed value becomes the stored one.

Pure functions over the identity primitives and the vaccine catalogue: the same rules the bulk
import applies, for one value at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final

from vaxlink.auth.service import Permission
from vaxlink.cleaning.errors import InvalidCorrection
from vaxlink.identity import (
    DateParseError,
    IdentityParseError,
    IdKind,
    classify_id,
    fold_name,
    id_problem,
    normalise_id,
    normalise_name,
    parse_date,
    parse_sex,
)
from vaxlink.records.service import FIRST_VACCINATION_DAY, vaccines

#: Identity facts: police verify identity.
IDENTITY_FIELDS: Final = ("full_name", "date_of_birth", "sex", "id_number")
#: Vaccination facts: health verifies vaccination.
VACCINATION_FIELDS: Final = ("vaccine", "lot_number", "vaccination_date", "dose_number",
                             "facility_code")  # fmt: skip
FIELD_PERMISSION: Final[dict[str, Permission]] = {
    **{f: Permission.IDENTITY_CORRECT for f in IDENTITY_FIELDS},
    **{f: Permission.VACCINATION_CORRECT for f in VACCINATION_FIELDS},
}

Columns = dict[str, Any]


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _name(value: object, _dose: Mapping[str, Any], _today: dt.date) -> Columns:
    text = _text(value)
    shown = normalise_name(text) if text else ""
    folded = fold_name(shown)
    if not folded or not any(c.isalpha() for c in folded):
        raise InvalidCorrection("full name must contain letters (e.g. Nguyễn Văn An)").keyed(
            "error.name_no_letters"
        )
    if len(shown) > 120:
        raise InvalidCorrection("full name is longer than 120 characters")
    return {"full_name": shown, "name_folded": folded}


def _dob(value: object, dose: Mapping[str, Any], today: dt.date) -> Columns:
    try:
        d = parse_date(_text(value), what="date of birth")
    except DateParseError as exc:
        raise InvalidCorrection(str(exc)) from exc
    iso = d.iso()
    if iso < "1900" or iso > today.isoformat():
        raise InvalidCorrection(f"date of birth {_text(value)} is not plausible")
    vd = dose.get("vaccination_date")
    if vd is not None and iso > str(vd):
        raise InvalidCorrection(f"date of birth {_text(value)} is after the vaccination date")
    return {"date_of_birth": iso, "dob_precision": d.precision}


def _sex(value: object, _dose: Mapping[str, Any], _today: dt.date) -> Columns:
    try:
        sex = parse_sex(_text(value))
    except IdentityParseError as exc:
        raise InvalidCorrection(str(exc)) from exc
    return {"sex": sex}


def _id(value: object, _dose: Mapping[str, Any], _today: dt.date) -> Columns:
    text = _text(value)
    kind = classify_id(text)
    if kind not in (IdKind.CCCD12, IdKind.CMND9):
        raise InvalidCorrection(id_problem(text) or "the ID number is not valid")
    return {"id_number": normalise_id(text), "id_kind": str(kind)}


def _vaccine(value: object, dose: Mapping[str, Any], _today: dt.date) -> Columns:
    v = vaccines.lookup(_text(value))
    if v is None:
        raise InvalidCorrection(f"vaccine '{_text(value)}' is not in the catalogue")
    return {"vaccine_key": v.key, "vaccine_mp": v.mp,
            **_series(v.primary_doses, int(dose["dose_number"]))}  # fmt: skip


def _series(primary_doses: int, n: int) -> Columns:
    if n <= primary_doses:
        return {"dose_category": "primary", "dose_sequence": n}
    return {"dose_category": "booster", "dose_sequence": n - primary_doses}


def _lot(value: object, _dose: Mapping[str, Any], _today: dt.date) -> Columns:
    text = _text(value)
    if len(text) > 64:
        raise InvalidCorrection("lot number is longer than 64 characters")
    return {"lot_number": text or None}


def _vdate(value: object, dose: Mapping[str, Any], today: dt.date) -> Columns:
    try:
        d = parse_date(_text(value), what="vaccination date")
    except DateParseError as exc:
        raise InvalidCorrection(str(exc)) from exc
    if d.day is None or d.month is None:
        raise InvalidCorrection(f"vaccination date {_text(value)} needs a day and a month")
    day = dt.date(d.year, d.month, d.day)
    if not FIRST_VACCINATION_DAY <= day <= today:
        raise InvalidCorrection(
            f"vaccination date {_text(value)} is "
            + ("in the future" if day > today else "before the campaign began")
        )
    dob = dose.get("date_of_birth")
    if dob and str(dob) > day.isoformat():
        raise InvalidCorrection(f"vaccination date {_text(value)} is before the date of birth")
    return {"vaccination_date": day}


def _dose_number(value: object, dose: Mapping[str, Any], _today: dt.date) -> Columns:
    text = _text(value)
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise InvalidCorrection(f"dose number '{text}' must be a whole number from 1 to 10")
    n = int(text)
    v = vaccines.catalogue().get(str(dose["vaccine_key"]))
    return {"dose_number": n, **_series(v.primary_doses if v else 2, n)}


def _facility(value: object, _dose: Mapping[str, Any], _today: dt.date) -> Columns:
    text = _text(value)
    if not text or len(text) > 64:
        raise InvalidCorrection("facility code must be 1 to 64 characters")
    return {"facility_code": text}


PARSERS: Final[dict[str, Callable[[object, Mapping[str, Any], dt.date], Columns]]] = {
    "full_name": _name, "date_of_birth": _dob, "sex": _sex, "id_number": _id,
    "vaccine": _vaccine, "lot_number": _lot, "vaccination_date": _vdate,
    "dose_number": _dose_number, "facility_code": _facility,
}  # fmt: skip
#: The column shown as a field's value (old and new values in the history).
SHOWN: Final[dict[str, str]] = {"vaccine": "vaccine_key"}


def shown(field: str, row: Mapping[str, Any]) -> str | None:
    """A field's stored value as text for the history."""
    value = row.get(SHOWN.get(field, field))
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def parse_changes(
    changes: Mapping[str, object], dose: Mapping[str, Any], today: dt.date
) -> dict[str, Columns]:
    """Each changed field's new column values; unknown fields and bad values are refused with
    every problem in one message. A field whose value does not change is left out."""
    unknown = sorted(set(changes) - set(PARSERS))
    if unknown:
        raise InvalidCorrection(f"these fields cannot be corrected: {', '.join(unknown)}")
    # Later fields are checked against earlier ones (a new date of birth against a new
    # vaccination date), so the dose is updated as values are read.
    current = dict(dose)
    out: dict[str, Columns] = {}
    problems: list[str] = []
    for field in PARSERS:
        if field not in changes:
            continue
        try:
            cols = PARSERS[field](changes[field], current, today)
        except InvalidCorrection as exc:
            problems.append(str(exc))
            continue
        if any(current.get(k) != v for k, v in cols.items()):
            out[field] = cols
            current.update(cols)
    if problems:
        raise InvalidCorrection("; ".join(problems))
    return out
