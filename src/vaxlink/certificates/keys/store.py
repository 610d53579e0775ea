"""The issuer's key directory: certificates and keys as PEM files, the active and withdrawn DSCs.

`KeyStore` keeps them under one directory (mode 0700, files 0600) and never overwrites a key;
`rotate_dsc` and `rotate_csca` issue, store and activate new keys (built in `hierarchy`).

A facility's approval key is never kept in the clear: it is wrapped once per approver account
that holds it (`facility/<kid hex>.<user name>.wrap.json`, see `wrap`), and only that account's
signing passphrase opens it (`unlock_facility`). A plain `facility/<kid>.key.pem` left from
before is refused until it is wrapped (`wrap_plain_facility`, `vaxlink keys wrap-facility`).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.errors import HsmPinIncorrect, KeyManagementError, SigningPassphraseWrong
from vaxlink.certificates.keys.hierarchy import (
    CSCA_VALIDITY_DAYS,
    DSC_VALIDITY_DAYS,
    Curve,
    DccType,
    KeyPair,
    create_csca,
    create_dsc,
    is_valid_at,
    kid,
)
from vaxlink.certificates.keys.wrap import unwrap, wrap

MIN_CSCA_PASSPHRASE = 12
#: A facility key wrapped for one account: `<kid hex>.<user name>` + this, under `facility/`.
WRAP_SUFFIX: Final = ".wrap.json"
#: A facility key on one account's PKCS#11 token (its PIN is the account's signing secret).
TOKEN_SUFFIX: Final = ".token.json"  # noqa: S105 - a file name suffix, not a secret
#: Account names a wrap may be made for (the user-name rule of `auth`, so always a safe file name).
_HOLDER: Final = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")


class Role(StrEnum):
    """What a key in the key directory is for; also its sub-directory name."""

    CSCA = "csca"
    DSC = "dsc"
    FACILITY = "facility"
    #: A district health centre's approval key: wrapped per holder like a facility's.
    DISTRICT = "district"
    TRUST_LIST = "trust-list"


#: Roles whose private keys are kept only wrapped per holder account (or on a holder's token).
WRAPPED: Final = frozenset({Role.FACILITY, Role.DISTRICT})


def _write_secret(path: Path, data: bytes) -> None:
    """Create `path` with mode 0600 and write `data`; never overwrite an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyManagementError(f"{path} already exists; refusing to overwrite a key") from exc
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def _read_secret(path: Path) -> bytes:
    """Read a key-directory file, refusing one that others than the owner can read or write."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyManagementError(f"{path} not found") from exc
    if stat.S_IMODE(mode) & 0o077:
        raise KeyManagementError(f"{path} is readable by others; run `chmod 600 {path}` first")
    return path.read_bytes()


class KeyStore:
    """Keys and certificates as PEM files under `<directory>/<role>/<kid hex>.{crt,key}.pem`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _dir(self, role: Role) -> Path:
        path = self.directory / role.value
        for d in (self.directory, path):
            d.mkdir(mode=0o700, exist_ok=True)
            d.chmod(0o700)
        return path

    def save(self, role: Role, pair: KeyPair, *, passphrase: bytes | None = None) -> Path:
        """Write the certificate and the private key (encrypted when a passphrase is given)."""
        if role in WRAPPED:
            raise KeyManagementError(
                f"a {role.value} approval key is kept only wrapped for its approvers "
                "(save_facility)"
            )
        if role is Role.CSCA and (passphrase is None or len(passphrase) < MIN_CSCA_PASSPHRASE):
            raise KeyManagementError(
                f"the CSCA key must be encrypted with a passphrase of at least "
                f"{MIN_CSCA_PASSPHRASE} characters"
            )
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        key_pem = pair.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        path = self._dir(role) / f"{pair.kid.hex()}.key.pem"
        _write_secret(path, key_pem)
        self.save_certificate(role, pair.certificate)
        return path

    def save_certificate(self, role: Role, certificate: x509.Certificate) -> Path:
        """Write a certificate alone (its key lives elsewhere, e.g. on a PKCS#11 token)."""
        path = self._dir(role) / f"{kid(certificate).hex()}.crt.pem"
        _write_secret(path, certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def certificates(self, role: Role) -> list[x509.Certificate]:
        """All certificates of a role, oldest first."""
        folder = self.directory / role.value
        if not folder.is_dir():
            return []
        certs = [x509.load_pem_x509_certificate(_read_secret(p)) for p in folder.glob("*.crt.pem")]
        return sorted(certs, key=lambda c: (c.not_valid_before_utc, kid(c)))

    def certificate(self, role: Role, key_id: bytes) -> x509.Certificate:
        """The certificate of a role with this kid."""
        path = self.directory / role.value / f"{key_id.hex()}.crt.pem"
        return x509.load_pem_x509_certificate(_read_secret(path))

    def load(self, role: Role, key_id: bytes, *, passphrase: bytes | None = None) -> KeyPair:
        """The certificate and private key of a role with this kid (not a facility's: those
        open only for one of their holders, `unlock_facility`)."""
        if role in WRAPPED:
            raise KeyManagementError(
                f"a {role.value} approval key opens only with an approver's signing passphrase"
            )
        cert = self.certificate(role, key_id)
        path = self.directory / role.value / f"{key_id.hex()}.key.pem"
        try:
            key = serialization.load_pem_private_key(_read_secret(path), passphrase)
        except TypeError as exc:
            raise KeyManagementError(
                f"{path}: " + ("a passphrase is needed" if passphrase is None else "not encrypted")
            ) from exc
        except ValueError as exc:
            raise KeyManagementError(f"{path}: wrong passphrase or damaged key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyManagementError(f"{path} is not an EC private key")
        if key.public_key() != cert.public_key():
            raise KeyManagementError(f"{path} does not belong to its certificate")
        return KeyPair(cert, key)

    def latest(self, role: Role, *, passphrase: bytes | None = None) -> KeyPair:
        """The most recently issued key of a role (the active CSCA or trust-list signer)."""
        certs = self.certificates(role)
        if not certs:
            raise KeyManagementError(f"no {role.value} key in {self.directory}")
        return self.load(role, kid(certs[-1]), passphrase=passphrase)

    # ---- facility approval keys, wrapped per approver account ------------------------------

    def _wrap_path(self, key_id: bytes, holder: str, role: Role = Role.FACILITY) -> Path:
        if not _HOLDER.fullmatch(holder):
            raise KeyManagementError(f"{holder!r} is not an account name a key can be wrapped for")
        if role not in WRAPPED:
            raise KeyManagementError(f"{role.value} keys are not wrapped per holder")
        return self.directory / role.value / f"{key_id.hex()}.{holder}{WRAP_SUFFIX}"

    def save_facility(
        self, pair: KeyPair, holder: str, passphrase: str, *, role: Role = Role.FACILITY
    ) -> Path:
        """Write a new facility (or, with `role`, district) key's certificate and its first
        wrap, for `holder`."""
        path = self.add_facility_holder(pair, holder, passphrase, role=role)
        cert_path = self.directory / role.value / f"{pair.kid.hex()}.crt.pem"
        if not cert_path.exists():
            self.save_certificate(role, pair.certificate)
        return path

    def add_facility_holder(
        self, pair: KeyPair, holder: str, passphrase: str, *, role: Role = Role.FACILITY
    ) -> Path:
        """Wrap an (unlocked) facility or district key for one more account, under its own
        passphrase."""
        path = self._wrap_path(pair.kid, holder, role)
        self._dir(role)
        _write_secret(path, wrap(pair.private_key, passphrase, key_id=pair.kid, holder=holder))
        return path

    def save_facility_token(
        self,
        certificate: x509.Certificate,
        holder: str,
        *,
        library: Path,
        token_label: str,
        key_label: str,
        role: Role = Role.FACILITY,
    ) -> Path:
        """Record that the facility (or district) key of `certificate` lives on `holder`'s
        PKCS#11 token (the token's user PIN is their signing secret; nothing secret is written)."""
        key_id = kid(certificate)
        path = self._wrap_path(key_id, holder, role).with_name(
            f"{key_id.hex()}.{holder}{TOKEN_SUFFIX}"
        )
        self._dir(role)
        doc = {"v": "vaxlink-token/1", "library": str(library), "token_label": token_label,
               "key_label": key_label}  # fmt: skip
        _write_secret(path, (json.dumps(doc) + "\n").encode())
        cert_path = self.directory / role.value / f"{key_id.hex()}.crt.pem"
        if not cert_path.exists():
            self.save_certificate(role, certificate)
        return path

    def _holder_files(self, key_id: bytes, role: Role = Role.FACILITY) -> dict[str, Path]:
        folder = self.directory / role.value
        prefix = f"{key_id.hex()}."
        if not folder.is_dir():
            return {}
        out = {}
        for suffix in (WRAP_SUFFIX, TOKEN_SUFFIX):
            for p in folder.glob(f"{prefix}*{suffix}"):
                out[p.name[len(prefix) : -len(suffix)]] = p
        return out

    def facility_holders(self, key_id: bytes, *, role: Role = Role.FACILITY) -> list[str]:
        """The accounts a facility (or district) key is wrapped for (or on a token of), sorted."""
        return sorted(self._holder_files(key_id, role))

    def unlock_facility_signer(
        self, key_id: bytes, holder: str, passphrase: str, *, role: Role = Role.FACILITY
    ) -> Signer:
        """The facility (or district) key as a `Signer` for `holder`: their wrap opened with
        their passphrase (`unlock_facility`), or their PKCS#11 token logged into with it as the
        PIN."""
        path = self._holder_files(key_id, role).get(holder)
        if path is None or not path.name.endswith(TOKEN_SUFFIX):
            return self.unlock_facility(key_id, holder, passphrase, role=role)
        from vaxlink.certificates.keys.pkcs11 import TokenKey, TokenSigner

        try:
            doc = json.loads(_read_secret(path))
            token = TokenKey(Path(doc["library"]), doc["token_label"], passphrase,
                             doc["key_label"])  # fmt: skip
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyManagementError(f"{path} is not a token record: {exc}") from exc
        try:
            return TokenSigner(token, self.certificate(role, key_id))
        except HsmPinIncorrect:
            raise SigningPassphraseWrong(
                "Sai mã PIN ký / wrong signing PIN (the approval key was not unlocked)"
            ) from None

    def unlock_facility(
        self, key_id: bytes, holder: str, passphrase: str, *, role: Role = Role.FACILITY
    ) -> KeyPair:
        """A facility (or district) key opened with `holder`'s signing passphrase
        (SigningPassphraseWrong when it does not open)."""
        cert = self.certificate(role, key_id)
        path = self._wrap_path(key_id, holder, role)
        if not path.exists():
            raise KeyManagementError(f"{role.value} key {key_id.hex()} is not wrapped for {holder}")
        key = unwrap(_read_secret(path), passphrase, key_id=key_id, holder=holder)
        if key.public_key() != cert.public_key():
            raise KeyManagementError(f"{path} does not belong to its certificate")
        return KeyPair(cert, key)

    def remove_facility_holder(self, key_id: bytes, holder: str, *, last: bool = False) -> None:
        """Delete `holder`'s wrap of a facility key; the last one only with `last` (the key is
        then gone for good: nobody can sign with it any more)."""
        files = self._holder_files(key_id)
        holders = sorted(files)
        if holder not in holders:
            raise KeyManagementError(f"facility key {key_id.hex()} is not wrapped for {holder}")
        if holders == [holder] and not last:
            raise KeyManagementError(
                f"{holder} is the last holder of facility key {key_id.hex()}: grant another "
                "approver first, or confirm that the key is to be destroyed"
            )
        files[holder].unlink()

    def plain_facility_key(self, key_id: bytes) -> Path | None:
        """The unencrypted key file of a facility key kept from before wrapping, if any."""
        path = self.directory / Role.FACILITY.value / f"{key_id.hex()}.key.pem"
        return path if path.exists() else None

    def wrap_plain_facility(self, key_id: bytes, holder: str, passphrase: str) -> Path:
        """Wrap a plain facility key for `holder`, then delete the plain file."""
        plain = self.plain_facility_key(key_id)
        if plain is None:
            raise KeyManagementError(f"facility key {key_id.hex()} has no plain key file")
        cert = self.certificate(Role.FACILITY, key_id)
        try:
            key = serialization.load_pem_private_key(_read_secret(plain), None)
        except (TypeError, ValueError) as exc:
            raise KeyManagementError(f"{plain}: not an unencrypted private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
            raise KeyManagementError(f"{plain} does not belong to its certificate")
        path = self.add_facility_holder(KeyPair(cert, key), holder, passphrase)
        plain.unlink()
        return path

    def _marker(self, name: str) -> Path:
        return self.directory / name

    def active_dsc_kid(self) -> bytes:
        """Kid of the DSC that signs new certificates."""
        path = self._marker("active-dsc")
        if not path.exists():
            raise KeyManagementError(f"no active DSC in {self.directory}; issue one first")
        return bytes.fromhex(_read_secret(path).decode().strip())

    def set_active_dsc(self, key_id: bytes) -> None:
        """Make this DSC the one that signs new certificates (the others stay trusted)."""
        self.certificate(Role.DSC, key_id)
        if key_id in self.revoked_dsc_kids():
            raise KeyManagementError(f"DSC {key_id.hex()} is revoked")
        path = self._marker("active-dsc")
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        _write_secret(tmp, key_id.hex().encode() + b"\n")
        tmp.replace(path)

    def revoked_dsc_kids(self) -> frozenset[bytes]:
        """Kids of DSCs withdrawn from the trust list."""
        path = self._marker("revoked-dsc")
        if not path.exists():
            return frozenset()
        lines = _read_secret(path).decode().split()
        return frozenset(bytes.fromhex(line) for line in lines)

    def revoke_dsc(self, key_id: bytes) -> None:
        """Withdraw a DSC: it leaves the trust list and can no longer be made active."""
        self.certificate(Role.DSC, key_id)
        if self._marker("active-dsc").exists() and self.active_dsc_kid() == key_id:
            self._marker("active-dsc").unlink()
        revoked = sorted(self.revoked_dsc_kids() | {key_id})
        path = self._marker("revoked-dsc")
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        _write_secret(tmp, "".join(f"{k.hex()}\n" for k in revoked).encode())
        tmp.replace(path)

    def trusted_dscs(self, now: datetime) -> list[x509.Certificate]:
        """DSCs to publish: not revoked and not yet expired (a retired DSC stays until then)."""
        revoked = self.revoked_dsc_kids()
        return [
            c
            for c in self.certificates(Role.DSC)
            if kid(c) not in revoked and c.not_valid_after_utc >= now
        ]


#: What a DSC must still have ahead of it to sign a certificate valid for a full 12 months (12
#: calendar months are at most 366 days).
FULL_VALIDITY: Final = timedelta(days=366)
#: How long before the active DSC can no longer give 12 months a successor should exist.
ROLLOVER_NOTICE: Final = timedelta(days=90)


def signing_until(certificate: x509.Certificate) -> datetime:
    """The last instant this DSC can sign a certificate valid for a full 12 months."""
    return certificate.not_valid_after_utc - FULL_VALIDITY


@dataclass(frozen=True, slots=True)
class DscPlan:
    """Which DSC signs at `now`, until when it can give 12 months, and whether a successor is due."""

    now: datetime
    signing_kid: bytes | None
    signing_until: datetime | None
    successor_kid: bytes | None
    #: What the key custodian must do, or None when nothing is due.
    warning: str | None


def _can_sign_full(certificate: x509.Certificate, now: datetime) -> bool:
    return is_valid_at(certificate, now) and signing_until(certificate) >= now


def signing_dsc_kid(store: KeyStore, now: datetime) -> bytes:
    """The DSC that signs at `now`: the active one while it can still give a full 12 months;
    after that the newest DSC (not revoked, already valid) that can, a successor issued ahead of
    time as planned (so renewals never get shortened certificates); else the active one, whose
    certificates are then cut to its end (the issuer's console and `dsc-report` warn long before)."""
    try:
        active: bytes | None = store.active_dsc_kid()
    except KeyManagementError:
        active = None
    if active is not None and _can_sign_full(store.certificate(Role.DSC, active), now):
        return active
    revoked = store.revoked_dsc_kids()
    ready = [c for c in store.certificates(Role.DSC)
             if kid(c) not in revoked and _can_sign_full(c, now)]  # fmt: skip
    if ready:
        return kid(max(ready, key=lambda c: (c.not_valid_before_utc, kid(c))))
    if active is None:
        raise KeyManagementError(f"no active DSC in {store.directory}; issue one first")
    return active


def dsc_plan(store: KeyStore, now: datetime) -> DscPlan:
    """The DSC rollover plan at `now`: who signs, until when with full validity, the successor
    already on file (if any) and a warning when a new DSC is due within `ROLLOVER_NOTICE`."""
    try:
        signer = signing_dsc_kid(store, now)
    except KeyManagementError:
        return DscPlan(now, None, None, None, "no DSC: issue one (`vaxlink keys issue-dsc`)")
    until = signing_until(store.certificate(Role.DSC, signer))
    revoked = store.revoked_dsc_kids()
    later = [c for c in store.certificates(Role.DSC)
             if kid(c) not in {signer, *revoked} and signing_until(c) > until]  # fmt: skip
    successor = kid(later[-1]) if later else None
    warning = None
    if until < now:
        warning = (f"the signing DSC can no longer give certificates 12 months (since "
                   f"{until:%Y-%m-%d}): issue a new DSC now (`vaxlink keys issue-dsc`)")  # fmt: skip
    elif successor is None and until - now < ROLLOVER_NOTICE:
        warning = (f"the signing DSC gives full 12-month certificates until {until:%Y-%m-%d}: "
                   "issue its successor before then (`vaxlink keys issue-dsc`)")  # fmt: skip
    return DscPlan(now, signer, until, successor, warning)


def rotate_dsc(
    store: KeyStore,
    csca: KeyPair,
    *,
    now: datetime,
    common_name: str,
    types: Iterable[DccType] = (DccType.VACCINATION,),
    validity_days: int = DSC_VALIDITY_DAYS,
    passphrase: bytes | None = None,
) -> KeyPair:
    """Issue, store and activate a new DSC; the previous one stays trusted until it expires."""
    pair = create_dsc(
        csca, now=now, common_name=common_name, types=types, validity_days=validity_days
    )
    store.save(Role.DSC, pair, passphrase=passphrase)
    store.set_active_dsc(pair.kid)
    return pair


def rotate_csca(
    store: KeyStore,
    *,
    country: str,
    organization: str,
    now: datetime,
    passphrase: bytes,
    curve: Curve = "P-256",
    validity_days: int = CSCA_VALIDITY_DAYS,
) -> KeyPair:
    """Create and store a new CSCA; the old one stays on file to verify the DSCs it issued."""
    pair = create_csca(
        country=country,
        organization=organization,
        now=now,
        curve=curve,
        validity_days=validity_days,
        common_name=f"{organization} CSCA {now:%Y}",
    )
    store.save(Role.CSCA, pair, passphrase=passphrase)
    return pair
