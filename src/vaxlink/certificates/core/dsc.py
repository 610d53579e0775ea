"""What verification needs from a document-signer certificate (DSC): its key id, validity window
and the DCC types its extended key usage allows, and the checks of a certificate against them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vaxlink.certificates.core import cose
from vaxlink.certificates.core.schema import ENTRY_KINDS
from vaxlink.certificates.errors import DscValidityInvalid, Expired, KeyUsageInvalid, NotYetValid

DCC_KEY_USAGES: Final[Mapping[str, frozenset[str]]] = {
    kind: frozenset({f"1.3.6.1.4.1.1847.2021.1.{n}", f"1.3.6.1.4.1.0.1847.2021.1.{n}"})
    for kind, n in (("t", 1), ("v", 2), ("r", 3))
}
_ALL_DCC_USAGES: Final = frozenset().union(*DCC_KEY_USAGES.values())
_EKU_OID_DER: Final = bytes.fromhex("0603551d25")  # OID 2.5.29.37 (extendedKeyUsage), DER


def certificate_kid(certificate: x509.Certificate) -> bytes:
    """The EU DCC key id: the first 8 bytes of the SHA-256 of the DER certificate."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]


@dataclass(frozen=True, slots=True)
class DscProfile:
    """What verification needs from a DSC: its validity window and the DCC types it may sign."""

    not_before: datetime
    not_after: datetime
    dcc_types: frozenset[str] | None  # None: no DCC key usage, so every type is allowed


def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER item at `pos`."""
    tag, length = data[pos], data[pos + 1]
    start = pos + 2
    if length & 0x80:
        count = length & 0x7F
        if not 0 < count <= 4:
            raise ValueError("unsupported DER length")
        length, start = int.from_bytes(data[start : start + count], "big"), start + count
    if start + length > len(data):
        raise ValueError("DER item runs past its container")
    return tag, start, start + length


def _oid_text(body: bytes) -> str:
    parts, value = [], 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    first = min(parts[0] // 40, 2)
    return ".".join(str(p) for p in (first, parts[0] - 40 * first, *parts[1:]))


def _lenient_key_usages(tbs: bytes) -> list[str] | None:
    """EKU OIDs read straight from the TBS DER, for DSCs whose extensions strict parsers refuse."""
    _, pos, end = _der_item(tbs, 0)
    while pos < end:
        tag, start, stop = _der_item(tbs, pos)
        if tag == 0xA3:  # [3] extensions
            _, ext, ext_end = _der_item(tbs, start)
            while ext < ext_end:
                _, item, item_end = _der_item(tbs, ext)
                if tbs[item : item + len(_EKU_OID_DER)] == _EKU_OID_DER:
                    tag, value, value_end = _der_item(tbs, item + len(_EKU_OID_DER))
                    if tag == 0x01:  # critical flag, even when (wrongly) encoded as FALSE
                        tag, value, value_end = _der_item(tbs, value_end)
                    _, oid, seq_end = _der_item(tbs, value)
                    found = []
                    while oid < seq_end:
                        _, body, oid_end = _der_item(tbs, oid)
                        found.append(_oid_text(tbs[body:oid_end]))
                        oid = oid_end
                    return found
                ext = item_end
            return None
        pos = stop
    return None


def dsc_profile(certificate: x509.Certificate) -> DscProfile:
    """Validity window and DCC types of a DSC; an unreadable key usage raises `KeyUsageInvalid`."""
    usages: list[str] | None
    try:
        eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        usages = [oid.dotted_string for oid in eku]
    except x509.ExtensionNotFound:
        usages = None
    except ValueError:  # e.g. DER with an explicit DEFAULT, or an empty EKU sequence
        try:
            usages = _lenient_key_usages(certificate.tbs_certificate_bytes)
        except (ValueError, IndexError):
            raise KeyUsageInvalid("the DSC's extended key usage cannot be read") from None
    dcc = frozenset(usages or ()) & _ALL_DCC_USAGES
    types = frozenset(k for k, oids in DCC_KEY_USAGES.items() if oids & dcc) if dcc else None
    return DscProfile(certificate.not_valid_before_utc, certificate.not_valid_after_utc, types)


def check_time(claims: cose.Claims, clock: datetime) -> None:
    """iat <= clock <= exp."""
    now = clock.timestamp()
    if now < claims.iat:
        raise NotYetValid(f"issued {_iso(claims.iat)}, after the verification time {clock}")
    if now > claims.exp:
        raise Expired(f"expired {_iso(claims.exp)}")


def check_dsc_validity(claims: cose.Claims, dsc: DscProfile) -> None:
    """DSC notBefore <= iat and exp <= DSC notAfter."""
    if claims.iat < dsc.not_before.timestamp():
        raise DscValidityInvalid(f"issued {_iso(claims.iat)}, before its DSC was valid")
    if claims.exp > dsc.not_after.timestamp():
        raise DscValidityInvalid(f"valid until {_iso(claims.exp)}, after its DSC expires")


def check_key_usage(dcc: Mapping[str, Any], dsc: DscProfile) -> None:
    """Each certificate type in the payload is allowed by the DSC's DCC key usages."""
    if dsc.dcc_types is None:
        return
    for kind in ENTRY_KINDS:
        if kind in dcc and kind not in dsc.dcc_types:
            allowed = ", ".join(sorted(dsc.dcc_types)) or "none"
            raise KeyUsageInvalid(f"the DSC may sign types {allowed}, not {kind!r}")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat()
