"""District approval (ký số cấp huyện): the district health centre signs the list of its residents'
verified records, as they stand, over the sites' approvals (HCMC DoH 2665/SYT-NVY).

The list is every dose record of a resident of the district (the registry citizen's
`district_code`) that is verified or auto-linked and covered, in its current form, by a sound
approval of its own site. Each entry binds `(dose id, dose version, record digest, site approval
id)`; the entries are stored (`district_approval_entry`) and their lines, in dose-id order, are
hashed into `entries_digest`. The district key (EC P-256, EKU `OID_DISTRICT_APPROVAL`, CN = the
district code, certified by the issuer's CSCA; wrapped per district-approver account like a site
key, `KeyStore.save_facility(..., role=Role.DISTRICT)`) signs the canonical manifest
(`vaxlink-district-approval/1`: district, approver, time, signer fingerprint, entry count, entries
digest) with ES256.

Verification streams the stored entries back, rehashes them, rebuilds the manifest and checks its
digest, the certificate fingerprint, the signature, the certificate (EKU, CN, validity) and its
chain to the trust anchors. A dose is covered by the district when an entry of a sound approval of
its resident's district carries its current record digest: a correction (new version, new digest)
leaves the person uncovered until the district signs again.

Selection walks residents in citizen-ID order (an index range scan over `ix_citizen_district`) a
chunk at a time and reads their doses and site-approval links with one query each; only the record
digest of each dose (canonical JSON, the site approval's own definition) is computed per row.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import ColumnElement, and_, case, delete, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth import service as auth
from vaxlink.certificates.approval.check import ApprovalVerdicts, _signature_holds
from vaxlink.certificates.approval.signing import (
    CHUNK,
    RECORD_COLUMNS,
    SigningCredential,
    counted_unlock,
    fingerprint,
    record_digest,
)
from vaxlink.certificates.core.canonical import canonical_json
from vaxlink.certificates.core.signer import ES256, Signer
from vaxlink.certificates.errors import ApprovalError, CertificateNotFound, SigningRefused
from vaxlink.certificates.keys.hierarchy import (
    OID_DISTRICT_APPROVAL,
    extended_key_usages,
    is_issued_by,
    is_valid_at,
    kid,
)
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.models import (
    ApprovalRecord,
    DistrictApproval,
    DistrictApprovalEntry,
    FacilityApproval,
    approvable,
)
from vaxlink.db import transaction
from vaxlink.errors import Conflict, NotFound
from vaxlink.geo.codes import Level, format_code
from vaxlink.geo.errors import GeoError
from vaxlink.records.service import DoseRecord
from vaxlink.registry.service import Citizen

MANIFEST_VERSION: Final = "vaxlink-district-approval/1"
#: Residents per chunk of the selection (about two doses each, under the parameter limits).
RESIDENTS_PER_CHUNK: Final = 2_000
#: Entries read per query when an approval's entries are rehashed.
ENTRY_CHUNK: Final = 20_000


def district_code_of(raw: str) -> str:
    """The canonical 3-digit district code (ApprovalError for anything else)."""
    try:
        return format_code(Level.DISTRICT, raw)
    except GeoError as exc:
        raise ApprovalError(f"mã huyện không hợp lệ / not a district code: {exc}") from exc


def entry_line(dose_id: int, version: int, digest: str, site_approval_id: int) -> bytes:
    """One entry as hashed into `entries_digest`."""
    return f"{dose_id},{version},{digest},{site_approval_id}\n".encode("ascii")


def manifest_bytes(
    *,
    district_code: str,
    approver: str,
    approved_at: datetime,
    signer_fingerprint: str,
    entry_count: int,
    entries_digest: str,
) -> bytes:
    """The canonical manifest a district approval signs."""
    return canonical_json(
        {
            "v": MANIFEST_VERSION,
            "district": district_code,
            "approver": approver,
            "approved_at": approved_at.astimezone(UTC).isoformat(),
            "signer": signer_fingerprint,
            "count": entry_count,
            "entries": entries_digest,
        }
    )


def _common_name(certificate: x509.Certificate) -> str:
    values = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def certificate_problems(
    certificate: x509.Certificate, district_code: str, at: datetime
) -> list[str]:
    """Why `certificate` cannot sign district approvals for `district_code` at `at`."""
    problems = []
    if OID_DISTRICT_APPROVAL not in extended_key_usages(certificate):
        problems.append("the signing certificate is not a district-approval certificate")
    if _common_name(certificate) != district_code:
        problems.append(f"the signing certificate belongs to {_common_name(certificate)!r}")
    if not is_valid_at(certificate, at):
        problems.append(f"the signing certificate was not valid at {at:%Y-%m-%d %H:%M}")
    return problems


# ---- who may sign ---------------------------------------------------------------------------


def check_district_approver(session: Session, username: str, district_code: str) -> None:
    """Refuse (SigningRefused) unless `username` is an active district health account of
    `district_code`."""
    try:
        user = auth.get_user(session, username)
    except NotFound:
        user = None
    if (
        user is None
        or not user.active
        or user.role != auth.Role.DISTRICT_HEALTH.value
        or user.unit_level != Level.DISTRICT.value
        or user.unit_code != district_code
    ):
        raise SigningRefused(
            f"Tài khoản {username} không phải tài khoản của trung tâm y tế huyện {district_code} / "
            f"{username} is not an active district health account of district {district_code}"
        )


def district_signer(
    store: KeyStore, district_code: str, now: datetime, credential: SigningCredential
) -> Signer:
    """The district's newest valid approval key, opened with the account's own wrap of it (or on
    its PKCS#11 token, the passphrase being the PIN)."""
    candidates = [
        c
        for c in store.certificates(Role.DISTRICT)
        if _common_name(c) == district_code and is_valid_at(c, now)
    ]
    if not candidates:
        raise ApprovalError(
            f"no valid approval key for district {district_code} in {store.directory}; issue one "
            f"with `vaxlink keys issue-district --code {district_code} --approver <account>`"
        )
    key_id = kid(candidates[-1])
    if credential.username not in store.facility_holders(key_id, role=Role.DISTRICT):
        raise SigningRefused(
            f"Tài khoản {credential.username} không giữ khóa ký của huyện {district_code} / "
            f"account {credential.username} holds no wrap of district {district_code}'s key; a "
            f"holder grants it with `vaxlink keys grant-district --code {district_code} "
            f"--holder <holder> --approver {credential.username}`"
        )
    return store.unlock_facility_signer(
        key_id, credential.username, credential.passphrase, role=Role.DISTRICT
    )


def unlock_district_key(
    session: Session,
    keys: KeyStore,
    district_code: str,
    credential: SigningCredential,
    *,
    now: datetime,
    secret: bytes | None,
) -> Signer:
    """The district's key for this account: the account checked (`check_district_approver`), then
    its wrap opened, wrong passphrases counted and locked like a site approver's."""
    check_district_approver(session, credential.username, district_code)
    return counted_unlock(
        session, credential.username,
        lambda: district_signer(keys, district_code, now, credential), now=now, secret=secret,
    )  # fmt: skip


# ---- what the district signs ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """A dose on the list: as signed, with the site approval that covers it."""

    dose_id: int
    version: int
    digest: str
    site_approval_id: int


@dataclass
class Selection:
    """One chunk of residents' doses: those on the list, and the others counted by why not."""

    entries: list[Entry] = field(default_factory=list)
    #: (ward code, facility code) -> doses on the list.
    by_place: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Verified doses not on the list: never approved by their site as they stand (`waiting`),
    #: or approved only by site approvals that do not verify (`site_invalid`).
    waiting: int = 0
    site_invalid: int = 0


def _residents(session: Session, district_code: str, after: str, size: int) -> list[Any]:
    return list(
        session.execute(
            select(Citizen.citizen_id, Citizen.ward_code)
            .where(Citizen.district_code == district_code, Citizen.citizen_id > after)
            .order_by(Citizen.citizen_id)
            .limit(size)
        ).all()
    )


def _select_part(
    session: Session, district_code: str, sites: ApprovalVerdicts, after: str, chunk: int
) -> tuple[Selection, str | None]:
    """One chunk of the district's list: residents after `after` in ID order, and the last
    resident's ID (None when no resident is left)."""
    people = _residents(session, district_code, after, chunk)
    out = Selection()
    if not people:
        return out, None
    ward = {p.citizen_id: p.ward_code or "" for p in people}
    rows = session.execute(
        select(*RECORD_COLUMNS).where(DoseRecord.citizen_id.in_(list(ward)), approvable())
    ).all()
    digests = {r.id: record_digest(r) for r in rows}
    covering, broken = sites.covering_approvals(session, rows, digests)
    for r in rows:
        site_approval = covering.get(r.id)
        if site_approval is None:
            if r.id in broken:
                out.site_invalid += 1
            else:
                out.waiting += 1
            continue
        out.entries.append(Entry(r.id, r.version, digests[r.id], site_approval))
        out.by_place[(ward[r.citizen_id], r.facility_code or "")] += 1
    return out, people[-1].citizen_id


def select_entries(
    session: Session,
    district_code: str,
    sites: ApprovalVerdicts,
    *,
    chunk: int = RESIDENTS_PER_CHUNK,
) -> Iterator[Selection]:
    """The district's list, a chunk of residents at a time (site approvals re-verified once each
    through `sites`)."""
    after: str | None = ""
    while True:
        part, after = _select_part(session, district_code, sites, after or "", chunk)
        if after is None:
            return
        yield part


def entries_digest(session: Session, approval_id: int) -> tuple[str, int]:
    """SHA-256 (hex) of the approval's stored entry lines in dose-id order, and their number."""
    digest = hashlib.sha256()
    count, after = 0, 0
    while True:
        rows = session.execute(
            select(
                DistrictApprovalEntry.dose_id,
                DistrictApprovalEntry.dose_version,
                DistrictApprovalEntry.record_digest,
                DistrictApprovalEntry.site_approval_id,
            )
            .where(
                DistrictApprovalEntry.approval_id == approval_id,
                DistrictApprovalEntry.dose_id > after,
            )
            .order_by(DistrictApprovalEntry.dose_id)
            .limit(ENTRY_CHUNK)
        ).all()
        if not rows:
            return digest.hexdigest(), count
        digest.update(b"".join(entry_line(*r) for r in rows))
        count += len(rows)
        after = rows[-1][0]


@dataclass(frozen=True, slots=True)
class DistrictResult:
    """What `approve_district` signed (no approval is stored when the list is empty)."""

    approval_id: int | None
    district_code: str
    entry_count: int
    manifest_digest: str | None
    by_place: dict[tuple[str, str], int]
    waiting: int
    site_invalid: int


#: An approval being written (entries stored a chunk at a time, not yet signed) has this prefix
#: in place of its manifest digest; nothing counts it until it is signed.
PENDING: Final = "pending-"
#: A pending approval older than this was left by a run that died: it is discarded.
STALE_AFTER: Final = timedelta(hours=1)


def signed_only() -> ColumnElement[bool]:
    """Approvals that are signed (not one being written)."""
    return DistrictApproval.manifest_digest.not_like(f"{PENDING}%")


@dataclass
class _Tally:
    by_place: Counter[tuple[str, str]] = field(default_factory=Counter)
    waiting: int = 0
    site_invalid: int = 0

    def store(self, session: Session, approval_id: int, part: Selection) -> None:
        if part.entries:
            session.execute(
                insert(DistrictApprovalEntry),
                [
                    {"approval_id": approval_id, "dose_id": e.dose_id, "dose_version": e.version,
                     "record_digest": e.digest, "site_approval_id": e.site_approval_id}
                    for e in part.entries
                ],
            )  # fmt: skip
        self.by_place.update(part.by_place)
        self.waiting += part.waiting
        self.site_invalid += part.site_invalid


def _open(
    session: Session,
    signer: Signer,
    *,
    district_code: str,
    approver: str,
    now: datetime,
    note: str | None,
) -> DistrictApproval:
    """Check the key and the approver and store the approval as pending (no entries yet)."""
    if not approver.strip():
        raise ApprovalError("a district approval needs the approver's name")
    if signer.algorithm != ES256:
        raise ApprovalError("a district approval key must be EC P-256 (ES256)")
    certificate_der = signer.certificate_der
    certificate = x509.load_der_x509_certificate(certificate_der)
    problems = certificate_problems(certificate, district_code, now)
    if problems:
        raise ApprovalError(f"cannot approve for district {district_code}: {'; '.join(problems)}")
    approval = DistrictApproval(
        district_code=district_code,
        manifest_version=MANIFEST_VERSION,
        manifest_digest=f"{PENDING}{secrets.token_hex(28)}",  # replaced once signed
        entries_digest="",
        entry_count=0,
        signature=b"",
        signer_kid=signer.kid.hex(),
        signer_fingerprint=fingerprint(certificate_der),
        signer_certificate=certificate_der,
        approver=approver,
        approved_at=now.astimezone(UTC).replace(microsecond=0),
        note=note,
    )
    session.add(approval)
    session.flush()
    return approval


def _discard(session: Session, approval_id: int) -> None:
    session.execute(
        delete(DistrictApprovalEntry).where(DistrictApprovalEntry.approval_id == approval_id)
    )
    session.execute(delete(DistrictApproval).where(DistrictApproval.id == approval_id))


def _seal(session: Session, signer: Signer, approval_id: int, tally: _Tally) -> DistrictResult:
    """Digest the stored entries, sign the manifest and make the approval count (or discard it
    when the list is empty)."""
    approval = session.get(DistrictApproval, approval_id)
    if approval is None:
        raise ApprovalError("the district list being signed is gone (discarded as stale)")
    district_code = approval.district_code
    digest, count = entries_digest(session, approval_id)
    if count == 0:
        _discard(session, approval_id)
        return DistrictResult(None, district_code, 0, None, {}, tally.waiting, tally.site_invalid)
    manifest = manifest_bytes(
        district_code=district_code,
        approver=approval.approver,
        approved_at=approval.approved_at,
        signer_fingerprint=approval.signer_fingerprint,
        entry_count=count,
        entries_digest=digest,
    )
    manifest_digest = hashlib.sha256(manifest).hexdigest()
    session.execute(
        update(DistrictApproval)
        .where(DistrictApproval.id == approval_id)
        .values(
            manifest_digest=manifest_digest,
            entries_digest=digest,
            entry_count=count,
            signature=signer.sign(manifest),
        )
    )
    return DistrictResult(approval_id, district_code, count, manifest_digest,
                          dict(tally.by_place), tally.waiting, tally.site_invalid)  # fmt: skip


def approve_district(
    session: Session,
    signer: Signer,
    *,
    district_code: str,
    approver: str,
    now: datetime,
    anchors: Sequence[x509.Certificate] = (),
    note: str | None = None,
) -> DistrictResult:
    """Sign the district's list as it stands, in one transaction: every verified dose of its
    residents covered in its current form by a sound approval of its own site (checked against
    `anchors`). For a large district from the web, `approve_district_in_steps`."""
    district_code = district_code_of(district_code)
    approval = _open(session, signer, district_code=district_code, approver=approver, now=now,
                     note=note)  # fmt: skip
    sites, tally = ApprovalVerdicts(anchors), _Tally()
    for part in select_entries(session, district_code, sites):
        tally.store(session, approval.id, part)
    return _seal(session, signer, approval.id, tally)


class SigningInProgress(Conflict):
    """The district's list is already being signed."""

    code = "district_signing_in_progress"


def start_district_approval(
    session: Session,
    signer: Signer,
    *,
    district_code: str,
    approver: str,
    now: datetime,
    note: str | None = None,
) -> int:
    """Store a pending approval for `district_code` (to be filled by `continue_district_approval`
    outside the request), discarding one left by a run that died; refuse while another runs."""
    district_code = district_code_of(district_code)
    pending = session.scalars(
        select(DistrictApproval).where(
            DistrictApproval.district_code == district_code, ~signed_only()
        )
    ).all()
    for old in pending:
        if _aware(old.approved_at) > now - STALE_AFTER:
            raise SigningInProgress(
                f"the list of district {district_code} is being signed (since "
                f"{_aware(old.approved_at):%H:%M} UTC); wait for it to finish"
            )
        _discard(session, old.id)
    approval = _open(session, signer, district_code=district_code, approver=approver, now=now,
                     note=note)  # fmt: skip
    return approval.id


def continue_district_approval(
    engine: Engine,
    signer: Signer,
    approval_id: int,
    *,
    anchors: Sequence[x509.Certificate] = (),
    chunk: int = RESIDENTS_PER_CHUNK,
) -> DistrictResult:
    """Fill a pending approval a chunk of residents at a time, each chunk its own short
    transaction (the embedded store's other writers take their turn between chunks), then sign
    it. On any failure the pending approval and its entries are discarded.

    A dose that changes after its chunk is stored stays on the list as it was: the list then
    does not cover it as it stands, exactly as when it changes after the signature."""
    with transaction(engine) as session:
        approval = session.get(DistrictApproval, approval_id)
        if approval is None:
            raise ApprovalError(f"there is no district approval #{approval_id} to continue")
        district_code = approval.district_code
    sites, tally = ApprovalVerdicts(anchors), _Tally()
    try:
        after: str | None = ""
        while after is not None:
            with transaction(engine) as session:
                part, after = _select_part(session, district_code, sites, after, chunk)
                tally.store(session, approval_id, part)
        with transaction(engine) as session:
            return _seal(session, signer, approval_id, tally)
    except BaseException:
        with transaction(engine) as session:
            _discard(session, approval_id)
        raise


def district_of_approval(session: Session, approval_id: int) -> str | None:
    """The district an approval (signed or pending) belongs to."""
    return session.scalar(
        select(DistrictApproval.district_code).where(DistrictApproval.id == approval_id)
    )


def stored_so_far(session: Session, approval_id: int) -> int | None:
    """Entries stored so far on a pending approval (None: it is not pending any more)."""
    approval = session.get(DistrictApproval, approval_id)
    if approval is None or not approval.manifest_digest.startswith(PENDING):
        return None
    return int(session.scalar(select(func.count()).select_from(DistrictApprovalEntry)
                              .where(DistrictApprovalEntry.approval_id == approval_id)) or 0)  # fmt: skip


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)


# ---- checking a district approval -------------------------------------------------------------


def district_approval_problems(
    session: Session, approval: DistrictApproval, anchors: Sequence[x509.Certificate] = ()
) -> list[str]:
    """Why a stored district approval does not hold as signed (empty: it holds)."""
    problems: list[str] = []
    digest, count = entries_digest(session, approval.id)
    if digest != approval.entries_digest or count != approval.entry_count:
        problems.append("the stored entries do not match the signed list")
    manifest = manifest_bytes(
        district_code=approval.district_code,
        approver=approval.approver,
        approved_at=approval.approved_at,
        signer_fingerprint=approval.signer_fingerprint,
        entry_count=count,
        entries_digest=digest,
    )
    if hashlib.sha256(manifest).hexdigest() != approval.manifest_digest:
        problems.append("the stored approval does not match the signed manifest")
    if fingerprint(approval.signer_certificate) != approval.signer_fingerprint:
        problems.append("the stored certificate is not the one that signed")
    try:
        certificate = x509.load_der_x509_certificate(approval.signer_certificate)
    except ValueError:
        return [*problems, "the stored signing certificate cannot be read"]
    if not _signature_holds(certificate, approval.signature, manifest):
        problems.append("the signature does not verify")
    problems += certificate_problems(certificate, approval.district_code, approval.approved_at)
    if anchors and not any(is_issued_by(certificate, ca) for ca in anchors):
        problems.append("the district certificate was not issued by a trusted CA")
    return problems


@dataclass(frozen=True, slots=True)
class StoredDistrictCheck:
    """One stored district approval re-verified by `check_all_district_approvals`."""

    approval_id: int
    district_code: str
    entry_count: int
    problems: tuple[str, ...]


def verify_district_approval(
    session: Session, approval_id: int, *, cscas: Sequence[x509.Certificate] = ()
) -> StoredDistrictCheck:
    """Re-verify one stored district approval."""
    approval = session.get(DistrictApproval, approval_id)
    if approval is None:
        raise CertificateNotFound(f"there is no district approval #{approval_id}")
    problems = district_approval_problems(session, approval, cscas)
    return StoredDistrictCheck(
        approval.id, approval.district_code, approval.entry_count, tuple(problems)
    )


def check_all_district_approvals(
    session: Session, anchors: Sequence[x509.Certificate] = ()
) -> Iterator[StoredDistrictCheck]:
    """Re-verify every stored district approval, in id order."""
    ids = list(session.scalars(select(DistrictApproval.id).where(signed_only())
                               .order_by(DistrictApproval.id)))  # fmt: skip
    for approval_id in ids:
        yield verify_district_approval(session, approval_id, cscas=anchors)


class DistrictVerdicts:
    """Whether doses are covered, as they stand, by a sound approval of their resident's
    district; each district approval is re-verified once per run (`anchors`)."""

    def __init__(self, anchors: Sequence[x509.Certificate] = ()) -> None:
        self.anchors: tuple[x509.Certificate, ...] = tuple(anchors)
        self._verdicts: dict[int, tuple[str, tuple[str, ...]]] = {}
        self._unreported: list[int] = []

    def _check(self, session: Session, approval_ids: set[int]) -> None:
        for approval_id in sorted(approval_ids - self._verdicts.keys()):
            approval = session.get(DistrictApproval, approval_id)
            if approval is None:  # pragma: no cover - entries reference it
                self._verdicts[approval_id] = ("", ("the approval is gone",))
                continue
            problems = tuple(district_approval_problems(session, approval, self.anchors))
            self._verdicts[approval_id] = (approval.district_code, problems)
            if problems:
                self._unreported.append(approval_id)

    def covered(
        self, session: Session, rows: Sequence[Any], digests: Mapping[int, str]
    ) -> tuple[set[int], dict[int, tuple[int, ...]]]:
        """Of dose rows (with `RECORD_COLUMNS`, `digests` their current record digests): the ids
        on a sound approval of the resident's district as they stand, and, for those on such
        approvals that all fail, the approvals' ids."""
        people = sorted({r.citizen_id for r in rows})
        district: dict[str, str | None] = {}
        for start in range(0, len(people), CHUNK):
            homes = select(Citizen.citizen_id, Citizen.district_code).where(
                Citizen.citizen_id.in_(people[start : start + CHUNK])
            )
            district.update({c: d for c, d in session.execute(homes)})
        ids = sorted({r.id for r in rows})
        links: dict[int, list[tuple[int, str, str]]] = {i: [] for i in ids}
        for start in range(0, len(ids), CHUNK):
            stmt = (
                select(
                    DistrictApprovalEntry.dose_id,
                    DistrictApprovalEntry.approval_id,
                    DistrictApprovalEntry.record_digest,
                    DistrictApproval.district_code,
                )
                .join(DistrictApproval, DistrictApproval.id == DistrictApprovalEntry.approval_id)
                .where(DistrictApprovalEntry.dose_id.in_(ids[start : start + CHUNK]), signed_only())
            )
            for dose_id, approval_id, digest, code in session.execute(stmt):
                links[dose_id].append((approval_id, digest, code))
        sound: set[int] = set()
        broken: dict[int, tuple[int, ...]] = {}
        for row in rows:
            home = district.get(row.citizen_id)
            matching = {a for a, d, code in links[row.id] if d == digests[row.id] and code == home}
            if not matching:
                continue
            self._check(session, matching)
            if any(not self._verdicts[a][1] for a in matching):
                sound.add(row.id)
            else:
                broken[row.id] = tuple(sorted(matching))
        return sound, broken

    def failed(self) -> dict[int, tuple[str, ...]]:
        """Every district approval found broken so far, with its problems."""
        return {a: p for a, (_, p) in sorted(self._verdicts.items()) if p}

    def take_unreported(self) -> dict[int, tuple[str, ...]]:
        """The district approvals found broken since the last call (for the audit log)."""
        out = {a: self._verdicts[a][1] for a in self._unreported}
        self._unreported = []
        return out


# ---- what the district health centre sees before it signs ----------------------------------


@dataclass(frozen=True, slots=True)
class DistrictPreview:
    """The district's verified doses by commune and site, and what moved since its last
    signature (set-based counts; the exact list is decided when it signs)."""

    district_code: str
    verified_by_place: dict[tuple[str, str], int]
    verified: int
    #: Of those, doses their own site has signed (at some version: whether the signature covers
    #: the dose as it stands now is decided, per record digest, when the district signs).
    site_signed_by_place: dict[tuple[str, str], int]
    last_approval_id: int | None
    last_approved_at: datetime | None
    last_approver: str | None
    last_count: int
    #: Verified doses not on the last list, on it with another version, or on it but no
    #: longer verified (or gone).
    added: int
    changed: int
    removed: int


def preview(session: Session, district_code: str) -> DistrictPreview:
    """What the district would sign now, in counts (SQL aggregates, no row reaches Python)."""
    district_code = district_code_of(district_code)
    residents = and_(Citizen.citizen_id == DoseRecord.citizen_id,
                     Citizen.district_code == district_code)  # fmt: skip
    grouped = session.execute(
        select(Citizen.ward_code, DoseRecord.facility_code, func.count())
        .select_from(DoseRecord)
        .join(Citizen, residents)
        .where(approvable())
        .group_by(Citizen.ward_code, DoseRecord.facility_code)
    ).all()
    by_place = {(w or "", f or ""): int(n) for w, f, n in grouped}
    site_signed = (
        select(ApprovalRecord.dose_id)
        .join(FacilityApproval, FacilityApproval.id == ApprovalRecord.approval_id)
        .where(
            ApprovalRecord.dose_id == DoseRecord.id,
            FacilityApproval.facility_code == DoseRecord.facility_code,
        )
        .exists()
    )
    signed_grouped = session.execute(
        select(Citizen.ward_code, DoseRecord.facility_code, func.count())
        .select_from(DoseRecord)
        .join(Citizen, residents)
        .where(approvable(), site_signed)
        .group_by(Citizen.ward_code, DoseRecord.facility_code)
    ).all()
    signed_by_place = {(w or "", f or ""): int(n) for w, f, n in signed_grouped}
    last = session.scalars(
        select(DistrictApproval)
        .where(DistrictApproval.district_code == district_code, signed_only())
        .order_by(DistrictApproval.id.desc())
        .limit(1)
    ).first()
    added = changed = removed = 0
    verified = sum(by_place.values())
    if last is not None:
        on_list = select(DistrictApprovalEntry.dose_id).where(
            DistrictApprovalEntry.approval_id == last.id
        )
        added = int(session.scalar(
            select(func.count()).select_from(DoseRecord).join(Citizen, residents)
            .where(approvable(), DoseRecord.id.not_in(on_list))
        ) or 0)  # fmt: skip
        changed = int(session.scalar(
            select(func.count()).select_from(DistrictApprovalEntry)
            .join(DoseRecord, DoseRecord.id == DistrictApprovalEntry.dose_id)
            .where(DistrictApprovalEntry.approval_id == last.id, approvable(),
                   DoseRecord.version != DistrictApprovalEntry.dose_version)
        ) or 0)  # fmt: skip
        still = int(session.scalar(
            select(func.count()).select_from(DistrictApprovalEntry)
            .join(DoseRecord, DoseRecord.id == DistrictApprovalEntry.dose_id)
            .where(DistrictApprovalEntry.approval_id == last.id, approvable())
        ) or 0)  # fmt: skip
        removed = last.entry_count - still
    return DistrictPreview(
        district_code, by_place, verified, signed_by_place,
        last.id if last else None, last.approved_at if last else None,
        last.approver if last else None, last.entry_count if last else 0,
        added, changed, removed,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class DistrictCoverage:
    """Per district, verified people and how many of them the district's signature covers."""

    district_code: str
    people: int
    covered: int

    @property
    def waiting(self) -> int:
        """Verified people waiting for the district's signature."""
        return self.people - self.covered


def coverage_by_district(session: Session) -> list[DistrictCoverage]:
    """For the issuer's console: per district, people with a verified dose, and those all of
    whose verified doses are on a list of their district with their current version (set-based;
    signature checks happen at issuance)."""
    listed = (
        select(DistrictApprovalEntry.dose_id)
        .join(DistrictApproval, DistrictApproval.id == DistrictApprovalEntry.approval_id)
        .where(
            DistrictApprovalEntry.dose_id == DoseRecord.id,
            DistrictApprovalEntry.dose_version == DoseRecord.version,
            DistrictApproval.district_code == Citizen.district_code,
            signed_only(),
        )
        .exists()
    )
    per_person = (
        select(
            Citizen.district_code.label("district"),
            DoseRecord.citizen_id.label("citizen_id"),
            func.min(case((listed, 1), else_=0)).label("all_listed"),
        )
        .select_from(DoseRecord)
        .join(Citizen, Citizen.citizen_id == DoseRecord.citizen_id)
        .where(approvable())
        .group_by(Citizen.district_code, DoseRecord.citizen_id)
        .subquery()
    )
    rows = session.execute(
        select(per_person.c.district, func.count(), func.sum(per_person.c.all_listed))
        .group_by(per_person.c.district)
        .order_by(per_person.c.district)
    ).all()
    return [DistrictCoverage(d or "", int(n), int(c or 0)) for d, n, c in rows]
