"""EU DCC payloads: build vaccination and recovery payloads and check them for issuance.

The schema and value-set checks live in `schema`, the labels a verifier shows in `display`.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any, Final

import cbor2

from vaxlink.certificates.core.schema import ValueSets, entry_kind, validate_payload
from vaxlink.certificates.core.uvci import parse_uvci
from vaxlink.certificates.errors import SchemaInvalid
from vaxlink.identity.names import icao_transliterate, split_name

#: DCC schema version written into new payloads.
DCC_VERSION: Final = "1.3.0"
#: SNOMED CT code of COVID-19, the only disease in the EU value set.
COVID_19: Final = "840539006"
_MAX_NAME: Final = 80


# --- names -------------------------------------------------------------------------------------
@lru_cache(maxsize=65_536)  # names repeat a lot in a batch; transliterating one costs ~50 us
def _icao_field(name: str) -> str:
    return icao_transliterate(name)[:_MAX_NAME].rstrip("<")


def name_fields(family_name: str, given_name: str) -> dict[str, str]:
    """The DCC `nam` object: names as written (fn, gn) and their ICAO 9303 forms (fnt, gnt)."""
    out: dict[str, str] = {}
    family, given = (
        unicodedata.normalize("NFC", " ".join(n.split())) for n in (family_name, given_name)
    )
    if family:
        out |= {"fn": family, "fnt": _icao_field(family)}
    if given:
        out |= {"gn": given, "gnt": _icao_field(given)}
    return out


def names_from_full(full_name: str) -> tuple[str, str]:
    """(family name, given names) of a Vietnamese full name; a single word is the family name."""
    parts = split_name(full_name)
    given = " ".join(p for p in (parts.middle, parts.given) if p)
    return (parts.family, given) if parts.family else (given, "")


# --- builders ----------------------------------------------------------------------------------
def _iso_date(value: date | str, what: str) -> str:
    text = value.isoformat() if isinstance(value, date) else value
    try:
        date.fromisoformat(text)
    except (TypeError, ValueError):
        raise SchemaInvalid(f"{what} {value!r} is not a calendar date YYYY-MM-DD") from None
    if len(text) != 10:
        raise SchemaInvalid(f"{what} {value!r} is not written YYYY-MM-DD")
    return text


def partial_date(value: date | str) -> str:
    """A date of birth as YYYY, YYYY-MM or YYYY-MM-DD, checked against the calendar."""
    if isinstance(value, date):
        return value.isoformat()
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value)
    if match is None:
        raise SchemaInvalid(f"date of birth {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise SchemaInvalid(f"date of birth {value!r} is not a calendar date") from None
    return value


def vaccination_payload(
    *,
    family_name: str,
    given_name: str,
    date_of_birth: date | str,
    product: str,
    manufacturer: str,
    prophylaxis: str,
    dose_number: int,
    total_doses: int,
    vaccination_date: date | str,
    uvci: str,
    issuer: str,
    country: str = "VN",
) -> dict[str, Any]:
    """A DCC 1.3.0 vaccination payload (one `v` entry), validated for issuance."""
    entry = {
        "tg": COVID_19,
        "vp": prophylaxis,
        "mp": product,
        "ma": manufacturer,
        "dn": dose_number,
        "sd": total_doses,
        "dt": _iso_date(vaccination_date, "vaccination date"),
        "co": country,
        "is": issuer,
        "ci": uvci,
    }
    return _finish(family_name, given_name, date_of_birth, "v", entry)


def recovery_payload(
    *,
    family_name: str,
    given_name: str,
    date_of_birth: date | str,
    first_positive: date | str,
    valid_from: date | str,
    valid_until: date | str,
    uvci: str,
    issuer: str,
    country: str = "VN",
) -> dict[str, Any]:
    """A DCC 1.3.0 recovery payload (one `r` entry), validated for issuance."""
    entry = {
        "tg": COVID_19,
        "fr": _iso_date(first_positive, "first positive test date"),
        "co": country,
        "is": issuer,
        "df": _iso_date(valid_from, "valid-from date"),
        "du": _iso_date(valid_until, "valid-until date"),
        "ci": uvci,
    }
    if not entry["fr"] <= entry["df"] <= entry["du"]:
        raise SchemaInvalid("a recovery needs first positive test <= valid from <= valid until")
    return _finish(family_name, given_name, date_of_birth, "r", entry)


def _finish(
    family: str, given: str, dob: date | str, kind: str, entry: dict[str, Any]
) -> dict[str, Any]:
    payload = {
        "ver": DCC_VERSION,
        "nam": name_fields(family, given),
        "dob": partial_date(dob),
        kind: [entry],
    }
    issuable_cbor(payload)
    return payload


def _is_json(value: Any, depth: int = 0) -> bool:
    """Whether `value` is plain JSON data (str keys, finite numbers), as a DCC must be."""
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if depth > 32:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return isinstance(value, list) and all(_is_json(v, depth + 1) for v in value)


_ISSUABLE: Final[dict[bytes, None]] = {}
_ISSUABLE_LIMIT: Final = 4096
_ISSUABLE_LOCK: Final = threading.Lock()


def issuable_cbor(payload: Mapping[str, Any]) -> bytes:
    """The payload's CBOR encoding, once it has passed the issuance checks.

    Issuance checks: schema, active value-set codes, exactly one entry, a valid UVCI. Passing
    encodings are remembered (bounded, oldest forgotten first), so a payload made by the builders
    above is not checked again when issued, while any change to it is: the cache key is the exact
    bytes that will be signed.
    """
    try:
        encoded = cbor2.dumps(payload)
    except (cbor2.CBOREncodeError, TypeError, ValueError) as exc:
        raise SchemaInvalid(f"the payload is not JSON-like data: {exc}") from None
    if encoded in _ISSUABLE:
        return encoded
    if not _is_json(payload):
        raise SchemaInvalid(
            "the payload holds values JSON cannot (only objects, arrays, text, numbers)"
        )
    validate_payload(payload, value_sets=ValueSets.ACTIVE)
    uvci = payload[entry_kind(payload)][0].get("ci")
    if not isinstance(uvci, str):
        raise SchemaInvalid("the certificate entry has no certificate identifier (ci)")
    parse_uvci(uvci)
    with _ISSUABLE_LOCK:
        if len(_ISSUABLE) >= _ISSUABLE_LIMIT:
            del _ISSUABLE[next(iter(_ISSUABLE))]
        _ISSUABLE[encoded] = None
    return encoded
