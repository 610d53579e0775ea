"""Facility approval (ký số): a vaccination site's approver signs the verified records it vouches for.

Each record has a canonical form (`vaxlink-record/1`: identity, vaccine, lot, date, dose, facility
and the row's `version`) and a digest of it. An approval signs a manifest (`vaxlink-approval/1`)
listing `[record_id, digest]` pairs, sorted, as canonical JSON, with the facility's ES256 key. The
pairs are kept per record, so the manifest can be rebuilt and the signature checked at any time,
and a record whose digest moved since (any update bumps `version`) is no longer approved.

Only the site's approvers can sign: the facility key is stored wrapped per approver account
(`KeyStore.save_facility`), and `unlock_site_key` opens it for one `SigningCredential` (the
account and its signing passphrase) after checking that the account is an active site approver
of that site, counting wrong passphrases against the account so they cannot be guessed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.certificates.core.canonical import canonical_json
from vaxlink.certificates.core.signer import ES256, Signer
from vaxlink.certificates.errors import (
    ApprovalError,
    KeyManagementError,
    PlainFacilityKey,
    SigningLocked,
    SigningPassphraseWrong,
    SigningRefused,
)
from vaxlink.certificates.keys.hierarchy import (
    OID_FACILITY_APPROVAL,
    extended_key_usages,
    is_valid_at,
    kid,
)
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.models import APPROVABLE as APPROVABLE
from vaxlink.certificates.models import ApprovalRecord, FacilityApproval, approvable
from vaxlink.errors import NotFound
from vaxlink.ratelimit import Limit, StoreCounters
from vaxlink.records.service import DoseRecord

MANIFEST_VERSION: Final = "vaxlink-approval/1"
RECORD_VERSION: Final = "vaxlink-record/1"
#: Dose ids per query (under SQLite's and PostgreSQL's bound-parameter limits).
CHUNK: Final = 5_000

#: The dose columns an approval covers, in the order `canonical_record` reads them.
RECORD_COLUMNS: Final = (
    DoseRecord.id,
    DoseRecord.record_id,
    DoseRecord.citizen_id,
    DoseRecord.full_name,
    DoseRecord.date_of_birth,
    DoseRecord.id_number,
    DoseRecord.vaccine_key,
    DoseRecord.vaccine_mp,
    DoseRecord.lot_number,
    DoseRecord.vaccination_date,
    DoseRecord.dose_number,
    DoseRecord.dose_category,
    DoseRecord.dose_sequence,
    DoseRecord.facility_code,
    DoseRecord.version,
)


def canonical_record(row: Any) -> dict[str, Any]:
    """The versioned canonical form of a dose record that approvals sign (via its digest)."""
    return {
        "v": RECORD_VERSION,
        "record_id": row.record_id,
        "citizen_id": row.citizen_id,
        "full_name": row.full_name,
        "date_of_birth": row.date_of_birth,
        "id_number": row.id_number,
        "vaccine_key": row.vaccine_key,
        "vaccine_mp": row.vaccine_mp,
        "lot_number": row.lot_number,
        "vaccination_date": row.vaccination_date.isoformat(),
        "dose_number": row.dose_number,
        "dose_category": row.dose_category,
        "dose_sequence": row.dose_sequence,
        "facility_code": row.facility_code,
        "version": row.version,
    }


def record_digest(row: Any) -> str:
    """SHA-256 (hex) of the record's canonical JSON."""
    return hashlib.sha256(canonical_json(canonical_record(row))).hexdigest()


def manifest_bytes(
    *,
    facility_code: str,
    approver: str,
    approved_at: datetime,
    signer_fingerprint: str,
    records: Iterable[tuple[str, str]],
) -> bytes:
    """The canonical manifest an approval signs: who, when, with which key, and the record digests."""
    return canonical_json(
        {
            "v": MANIFEST_VERSION,
            "facility": facility_code,
            "approver": approver,
            "approved_at": approved_at.astimezone(UTC).isoformat(),
            "signer": signer_fingerprint,
            "records": sorted([r, d] for r, d in records),
        }
    )


@dataclass(frozen=True, slots=True)
class ApprovalResult:
    """What `approve_records` signed (no approval is stored when there was nothing to sign)."""

    approval_id: int | None
    facility_code: str
    record_count: int
    manifest_digest: str | None


def fingerprint(certificate_der: bytes) -> str:
    """SHA-256 (hex) of a certificate's DER encoding, as approvals record their signer."""
    return hashlib.sha256(certificate_der).hexdigest()


def _common_name(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def certificate_problems(
    certificate: x509.Certificate, facility_code: str, at: datetime
) -> list[str]:
    """Why `certificate` cannot sign approvals for `facility_code` at `at` (empty: it can)."""
    problems = []
    if OID_FACILITY_APPROVAL not in extended_key_usages(certificate):
        problems.append("the signing certificate is not a facility-approval certificate")
    if _common_name(certificate) != facility_code:
        problems.append(f"the signing certificate belongs to {_common_name(certificate)!r}")
    if not is_valid_at(certificate, at):
        problems.append(f"the signing certificate was not valid at {at:%Y-%m-%d %H:%M}")
    return problems


@dataclass(frozen=True, slots=True)
class SigningCredential:
    """Who signs: an approver account and its signing passphrase (never shown in a repr)."""

    username: str
    passphrase: str = field(repr=False)


#: Wrong signing passphrases an account may give per window; one more locks it until the window
#: ends (each try also costs scrypt's ~0.1 s).
PASSPHRASE_LIMIT: Final = Limit("sign-passphrase", 5, timedelta(minutes=15))


def facility_signer(
    store: KeyStore, facility_code: str, now: datetime, credential: SigningCredential
) -> Signer:
    """The facility's newest valid approval key, opened with the approver's own wrap of it (or
    on the approver's own PKCS#11 token, the passphrase being its PIN).

    Refused (typed) when the site has no valid key, when its key is still a plain file, when the
    account holds no wrap of it, and when the passphrase is wrong. Says nothing of the account
    itself: `unlock_site_key` checks that it is a site approver of this site."""
    candidates = [
        c
        for c in store.certificates(Role.FACILITY)
        if _common_name(c) == facility_code and is_valid_at(c, now)
    ]
    if not candidates:
        raise ApprovalError(
            f"no valid approval key for facility {facility_code} in {store.directory}; "
            f"issue one with `vaxlink keys issue-facility --code {facility_code} "
            f"--approver <site approver account>`"
        )
    key_id = kid(candidates[-1])
    if credential.username not in store.facility_holders(key_id):
        if store.plain_facility_key(key_id) is not None:
            raise PlainFacilityKey(
                f"the approval key of facility {facility_code} ({key_id.hex()}) is an unencrypted "
                "file and is no longer used: wrap it for its approver with `vaxlink keys "
                f"wrap-facility --kid {key_id.hex()} --approver <site approver account>`"
            )
        raise SigningRefused(
            f"Tài khoản {credential.username} không giữ khóa ký của điểm tiêm {facility_code} / "
            f"account {credential.username} holds no wrap of facility {facility_code}'s approval "
            f"key; a holder grants it with `vaxlink keys grant-facility --code {facility_code} "
            f"--holder <holder> --approver {credential.username}`"
        )
    return store.unlock_facility_signer(key_id, credential.username, credential.passphrase)


def check_signing_passphrase(passphrase: str, username: str) -> None:
    """Refuse a new signing passphrase by the rules of login passwords (length, not the user
    name, not easy to guess: zxcvbn score 3 or more)."""
    try:
        auth.check_password_rules(passphrase, username)
    except auth.AccountError as exc:
        message = str(exc).replace("the password", "it").replace("this password", "it")
        raise KeyManagementError(f"signing passphrase refused: {message}") from exc


def check_approver(session: Session, username: str, facility_code: str) -> None:
    """Refuse (SigningRefused) unless `username` is an active site approver of `facility_code`."""
    try:
        user = auth.get_user(session, username)
    except NotFound:
        user = None
    if (
        user is None
        or not user.active
        or user.role != auth.Role.SITE_APPROVER.value
        or user.facility_code != facility_code
    ):
        raise SigningRefused(
            f"Tài khoản {username} không phải người ký duyệt của điểm tiêm {facility_code} / "
            f"{username} is not an active site approver account of facility {facility_code}"
        )


def unlock_site_key(
    session: Session,
    keys: KeyStore,
    facility_code: str,
    credential: SigningCredential,
    *,
    now: datetime,
    secret: bytes | None,
) -> Signer:
    """The site's approval key for this approver: the account checked (`check_approver`), then
    its wrap opened (`facility_signer`). With `secret` (the rate limiter's HMAC key), wrong
    passphrases are counted per account in `session`, which the caller commits even when this
    raises, and an account past `PASSPHRASE_LIMIT` is refused with SigningLocked."""
    check_approver(session, credential.username, facility_code)
    return counted_unlock(
        session, credential.username, lambda: facility_signer(keys, facility_code, now, credential),
        now=now, secret=secret,
    )  # fmt: skip


def counted_unlock(
    session: Session,
    username: str,
    unlock: Callable[[], Signer],
    *,
    now: datetime,
    secret: bytes | None,
) -> Signer:
    """`unlock()` (which opens an approval key for `username`), with wrong passphrases counted
    per account in `session` when `secret` is given (the caller commits even when this raises):
    past `PASSPHRASE_LIMIT` the account is refused with SigningLocked until the window ends."""
    counters = (
        StoreCounters(session, PASSPHRASE_LIMIT, secret=secret, now=now)
        if secret is not None
        else None
    )
    locked = "Tạm khóa ký do nhập sai mật khẩu ký nhiều lần / too many wrong signing passphrases"
    if counters is not None:
        wait = counters.wait(username)
        if wait > 0:
            seconds = int(wait) + 1
            raise SigningLocked(f"{locked}; try again in {-(-seconds // 60)} minute(s)", seconds)
    try:
        pair = unlock()
    except SigningPassphraseWrong:
        if counters is not None:
            wait = counters.take(username)
            if wait > 0:
                seconds = int(wait) + 1
                raise SigningLocked(
                    f"{locked}; try again in {-(-seconds // 60)} minute(s)", seconds
                ) from None
        raise
    if counters is not None:
        counters.clear(username)
    return pair


def approved_digests(session: Session, dose_ids: Sequence[int]) -> dict[int, set[str]]:
    """Every digest each dose was approved under (empty set: never approved)."""
    out: dict[int, set[str]] = {i: set() for i in dose_ids}
    for start in range(0, len(dose_ids), CHUNK):
        part = dose_ids[start : start + CHUNK]
        stmt = select(ApprovalRecord.dose_id, ApprovalRecord.record_digest).where(
            ApprovalRecord.dose_id.in_(part)
        )
        for dose_id, digest in session.execute(stmt):
            out[dose_id].add(digest)
    return out


def approved_now(session: Session, rows: Sequence[Any]) -> set[int]:
    """The ids of the dose rows (with `RECORD_COLUMNS`) approved in their current form."""
    digests = approved_digests(session, [r.id for r in rows])
    return {r.id for r in rows if record_digest(r) in digests[r.id]}


def _facility_rows(
    session: Session, facility_code: str, dose_ids: Collection[int] | None = None
) -> Iterator[Sequence[Any]]:
    """The facility's approvable records (only `dose_ids` when given), in id order, a chunk at a
    time."""
    if dose_ids is not None:
        ids = sorted(set(dose_ids))
        for start in range(0, len(ids), CHUNK):
            stmt = (
                select(*RECORD_COLUMNS)
                .where(
                    DoseRecord.facility_code == facility_code,
                    approvable(),
                    DoseRecord.citizen_id.is_not(None),
                    DoseRecord.id.in_(ids[start : start + CHUNK]),
                )
                .order_by(DoseRecord.id)
            )
            yield session.execute(stmt).all()
        return
    after = 0
    while True:
        stmt = (
            select(*RECORD_COLUMNS)
            .where(
                DoseRecord.facility_code == facility_code,
                approvable(),
                DoseRecord.citizen_id.is_not(None),
                DoseRecord.id > after,
            )
            .order_by(DoseRecord.id)
            .limit(CHUNK)
        )
        rows = session.execute(stmt).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


def approve_records(
    session: Session,
    signer: Signer,
    *,
    facility_code: str,
    approver: str,
    now: datetime,
    note: str | None = None,
    dose_ids: Collection[int] | None = None,
) -> ApprovalResult:
    """Sign every verified record of the facility not yet approved in its current form (only
    those among `dose_ids` when given; ids of other facilities or statuses are ignored)."""
    if not approver.strip():
        raise ApprovalError("an approval needs the approver's name")
    if signer.algorithm != ES256:
        raise ApprovalError("a facility approval key must be EC P-256 (ES256)")
    certificate = x509.load_der_x509_certificate(signer.certificate_der)
    problems = certificate_problems(certificate, facility_code, now)
    if problems:
        raise ApprovalError(f"cannot approve for {facility_code}: {'; '.join(problems)}")
    pending: list[tuple[int, str, str]] = []
    for rows in _facility_rows(session, facility_code, dose_ids):
        known = approved_digests(session, [r.id for r in rows])
        for r in rows:
            digest = record_digest(r)
            if digest not in known[r.id]:
                pending.append((r.id, r.record_id, digest))
    if not pending:
        return ApprovalResult(None, facility_code, 0, None)
    signer_fingerprint = fingerprint(signer.certificate_der)
    approved_at = now.astimezone(UTC).replace(microsecond=0)
    manifest = manifest_bytes(
        facility_code=facility_code,
        approver=approver,
        approved_at=approved_at,
        signer_fingerprint=signer_fingerprint,
        records=((record_id, digest) for _, record_id, digest in pending),
    )
    manifest_digest = hashlib.sha256(manifest).hexdigest()
    approval = FacilityApproval(
        facility_code=facility_code,
        manifest_version=MANIFEST_VERSION,
        manifest_digest=manifest_digest,
        record_count=len(pending),
        signature=signer.sign(manifest),
        signer_kid=signer.kid.hex(),
        signer_fingerprint=signer_fingerprint,
        signer_certificate=signer.certificate_der,
        approver=approver,
        approved_at=approved_at,
        note=note,
    )
    session.add(approval)
    session.flush()
    session.execute(
        insert(ApprovalRecord),
        [
            {"approval_id": approval.id, "dose_id": i, "record_id": r, "record_digest": d}
            for i, r, d in pending
        ],
    )
    return ApprovalResult(approval.id, facility_code, len(pending), manifest_digest)


def approve_doses(
    session: Session,
    keys: KeyStore,
    dose_ids: Collection[int],
    *,
    credential: SigningCredential,
    now: datetime,
    note: str | None = None,
    secret: bytes | None = None,
) -> list[ApprovalResult]:
    """Sign the given doses, each with its own site's newest valid approval key (one approval per
    site), skipping those not approvable (status, no person) or approved as they stand now.

    Each site's key is unlocked for `credential` (`unlock_site_key`: the account must be an
    active approver of that site holding a wrap of its key); the approvals record that account.
    """
    ids = sorted(set(dose_ids))
    pending: dict[str, list[int]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(*RECORD_COLUMNS).where(
                DoseRecord.id.in_(ids[start : start + CHUNK]),
                approvable(),
                DoseRecord.citizen_id.is_not(None),
            )
        ).all()
        approved = approved_now(session, rows)
        for row in rows:
            if row.id in approved:
                continue
            if not row.facility_code:
                raise ApprovalError("the dose has no vaccination site, so no site can approve it")
            pending[row.facility_code].append(row.id)
    signers = {  # every site's key unlocked before anything is signed: all or nothing
        site: unlock_site_key(session, keys, site, credential, now=now, secret=secret)
        for site in sorted(pending)
    }
    return [
        approve_records(
            session,
            signers[site],
            facility_code=site,
            approver=credential.username,
            now=now,
            note=note,
            dose_ids=site_ids,
        )
        for site, site_ids in sorted(pending.items())
    ]


def approve_dose(
    session: Session,
    keys: KeyStore,
    dose_id: int,
    *,
    credential: SigningCredential,
    now: datetime,
    note: str | None = None,
    secret: bytes | None = None,
) -> int | None:
    """Sign one dose with its site's key, unlocked for `credential`, unless it is approved as it
    stands (or not approvable); the new approval's id, or None."""
    results = approve_doses(
        session, keys, [dose_id], credential=credential, now=now, note=note, secret=secret
    )
    return results[0].approval_id if results else None
