"""Issue an EU DCC: payload -> CWT -> COSE_Sign1 -> zlib -> Base45 -> ``HC1:`` text. Pure: no db, no web."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple

from cryptography import x509

from vaxlink.certificates import cose, hc1
from vaxlink.certificates.errors import DscValidityInvalid, IssuanceInvalid
from vaxlink.certificates.payload import entry_kind, issuable_cbor
from vaxlink.certificates.signer import Signer
from vaxlink.certificates.verify import DscProfile, check_key_usage, dsc_profile


@dataclass(frozen=True, slots=True)
class Months:
    """A validity in calendar months: 12 months from 29 Feb 2024 end on 28 Feb 2025."""

    count: int


_COUNTRY: Final = re.compile(r"[A-Z]{2}")
#: Default validity of a vaccination certificate.
DEFAULT_VALIDITY: Final = timedelta(days=365)


class IssuedCertificate(NamedTuple):
    """A signed certificate ready for the QR code, with what the issuer records about it."""

    hc1: str
    uvci: str
    iat: datetime
    exp: datetime
    kid: bytes


def add_validity(start: datetime, validity: timedelta | Months) -> datetime:
    """`start` plus the validity; months keep the day of month, clamped to the month's end."""
    if isinstance(validity, Months):
        months = start.month - 1 + validity.count
        year, month = start.year + months // 12, months % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        return start.replace(year=year, month=month, day=day)
    return start + validity


@lru_cache(maxsize=16)
def _window(
    issued_at: datetime, validity: timedelta | Months
) -> tuple[int, int, datetime, datetime, date]:
    """(iat, exp, start, end, issue day) in whole seconds; cached: a batch shares its issue time."""
    iat = int(issued_at.timestamp())
    start = datetime.fromtimestamp(iat, UTC)
    end = add_validity(start, validity).replace(microsecond=0)
    if end <= start:
        raise IssuanceInvalid("the validity must be positive")
    return iat, int(end.timestamp()), start, end, start.date()


@lru_cache(maxsize=16)
def _dsc(certificate_der: bytes) -> DscProfile:
    return dsc_profile(x509.load_der_x509_certificate(certificate_der))


def _check_dates(entry: Mapping[str, Any], kind: str, issued: date) -> None:
    """No event a certificate attests may lie after the day it is issued."""
    day = issued.isoformat()
    for key in ("dt", "fr", "sc"):
        value = entry.get(key)
        if isinstance(value, str) and value[:10] > day:
            raise IssuanceInvalid(f"{kind}.{key} {value} is after the issue date {day}")


def issue(
    payload: Mapping[str, Any],
    signer: Signer,
    *,
    issuer: str,
    issued_at: datetime,
    validity: timedelta | Months = DEFAULT_VALIDITY,
) -> IssuedCertificate:
    """Sign `payload` as an HC1 certificate issued by country `issuer` (ISO 3166-1 alpha-2).

    The payload must pass the schema and the value sets (active codes only) and carry a valid
    UVCI; the signer's DSC must be valid for the whole validity and allowed to sign this type.
    """
    if issued_at.tzinfo is None:
        raise IssuanceInvalid("issued_at must be timezone-aware")
    if not _COUNTRY.fullmatch(issuer):
        raise IssuanceInvalid(f"issuer {issuer!r} must be an ISO 3166-1 alpha-2 country code")
    dcc_cbor = issuable_cbor(payload)
    kind = entry_kind(payload)
    entry = payload[kind][0]
    uvci: str = entry["ci"]
    iat, exp, start, end, day = _window(issued_at, validity)
    _check_dates(entry, kind, day)
    dsc = _dsc(signer.certificate_der)
    if start < dsc.not_before or end > dsc.not_after:
        raise DscValidityInvalid(
            f"the DSC is valid {dsc.not_before:%Y-%m-%d}..{dsc.not_after:%Y-%m-%d}; "
            f"it cannot sign a certificate valid {start:%Y-%m-%d}..{end:%Y-%m-%d}"
        )
    check_key_usage(payload, dsc)
    claims = cose.claims_around(dcc_cbor, iss=issuer, iat=iat, exp=exp)
    text = hc1.encode(cose.sign1(claims, signer))
    return IssuedCertificate(text, uvci, start, end, signer.kid)


def issue_stream(
    payloads: Iterable[Mapping[str, Any]],
    signer: Signer,
    *,
    issuer: str,
    issued_at: datetime,
    validity: timedelta | Months = DEFAULT_VALIDITY,
) -> Iterator[IssuedCertificate]:
    """Issue one certificate per payload, lazily, so a batch of millions runs in flat memory."""
    for payload in payloads:
        yield issue(payload, signer, issuer=issuer, issued_at=issued_at, validity=validity)
