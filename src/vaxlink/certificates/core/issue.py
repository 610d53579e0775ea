"""Issue an EU DCC: payload -> CWT -> COSE_Sign1 -> zlib -> Base45 -> ``HC1:`` text. Pure: no db, no web."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final, NamedTuple

from cryptography import x509

from vaxlink.certificates.core import cose, hc1
from vaxlink.certificates.core.dsc import DscProfile, check_key_usage, dsc_profile
from vaxlink.certificates.core.payload import issuable_cbor
from vaxlink.certificates.core.schema import entry_kind
from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.errors import DscValidityInvalid, IssuanceInvalid


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


class _Batch(NamedTuple):
    """What every certificate of one (issue time, validity, issuer, DSC) shares, worked out once."""

    start: datetime
    end: datetime
    day: str  # the issue date, ISO 8601: no attested event may lie after it
    dsc: DscProfile
    claims_head: bytes  # the CWT claims up to the DCC
    dsc_error: str | None  # why the DSC cannot sign certificates valid start..end


@lru_cache(maxsize=16)
def _batch(
    issued_at: datetime, validity: timedelta | Months, issuer: str, certificate_der: bytes
) -> _Batch:
    """The shared part of issuing; cached, as a batch shares its issue time, issuer and DSC."""
    if not _COUNTRY.fullmatch(issuer):
        raise IssuanceInvalid(f"issuer {issuer!r} must be an ISO 3166-1 alpha-2 country code")
    iat = int(issued_at.timestamp())
    start = datetime.fromtimestamp(iat, UTC)
    end = add_validity(start, validity).replace(microsecond=0)
    if end <= start:
        raise IssuanceInvalid("the validity must be positive")
    dsc = dsc_profile(x509.load_der_x509_certificate(certificate_der))
    error = None
    if start < dsc.not_before or end > dsc.not_after:
        error = (
            f"the DSC is valid {dsc.not_before:%Y-%m-%d}..{dsc.not_after:%Y-%m-%d}; "
            f"it cannot sign a certificate valid {start:%Y-%m-%d}..{end:%Y-%m-%d}"
        )
    head = cose.claims_around(b"", iss=issuer, iat=iat, exp=int(end.timestamp()))
    return _Batch(start, end, start.date().isoformat(), dsc, head, error)


def _check_dates(entry: Mapping[str, Any], kind: str, day: str) -> None:
    """No event a certificate attests may lie after the day it is issued."""
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
    batch = _batch(issued_at, validity, issuer, signer.certificate_der)
    dcc_cbor = issuable_cbor(payload)
    kind = entry_kind(payload)
    entry = payload[kind][0]
    _check_dates(entry, kind, batch.day)
    if batch.dsc_error is not None:
        raise DscValidityInvalid(batch.dsc_error)
    check_key_usage(payload, batch.dsc)
    text = hc1.encode(cose.sign1(batch.claims_head + dcc_cbor, signer))
    return IssuedCertificate(text, entry["ci"], batch.start, batch.end, signer.kid)


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
