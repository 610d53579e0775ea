"""The national issuer's console, as operations: what the pages show and do, audited as the person.

The pages (`web/console_pages.py`) are thin over this module. Every action is the signed-in
issuer's own: revocations and issue runs are written to the audit chain with their account as
actor, and the audit entries name certificates by their row id, never a person.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import exists, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from vaxlink.auth.service import (
    AuditView,
    NewAuditEntry,
    Principal,
    append,
    append_after_transaction,
    append_many,
    latest_entries,
)
from vaxlink.certificates.approval.district import DistrictCoverage, coverage_by_district
from vaxlink.certificates.approval.signing import APPROVABLE
from vaxlink.certificates.errors import (
    CertificateNotFound,
    IssuanceCapped,
    IssuanceInvalid,
    KeyUsageInvalid,
    TransitionInvalid,
)
from vaxlink.certificates.issuance.batch import BatchReport, issue_batch
from vaxlink.certificates.issuance.issuer import Issuer
from vaxlink.certificates.issuance.lifecycle import revoke
from vaxlink.certificates.issuance.sweep import reissue_person
from vaxlink.certificates.issuance.volume import AccountVolume, issued_today, volumes
from vaxlink.certificates.keys.hierarchy import dcc_types
from vaxlink.certificates.keys.store import ROLLOVER_NOTICE, DscPlan, KeyStore, Role, dsc_plan
from vaxlink.certificates.models import (
    ApprovalRecord,
    Certificate,
    CertificateKind,
    CertificateStatus,
    FacilityApproval,
)
from vaxlink.db import transaction
from vaxlink.records.service import DoseRecord

#: The CSCA is flagged this long before it expires (its replacement needs a ceremony).
CSCA_NOTICE: Final = timedelta(days=365)
#: Audit actions the console lists: its own (`certificate.*`), the CLI's and the renewal job's
#: (`certificates.*`, but not each partner fetch) and the key ceremonies.
AUDIT_ACTIONS: Final = (
    "certificate.",
    "certificates.approve",
    "certificates.issue",
    "certificates.renew",
    "certificates.reissue",
    "certificates.revoke",
    "certificates.recovery_add",
    "certificates.api_client",
    "keys.",
)


@dataclass(frozen=True, slots=True)
class KeyWarning:
    """What the key custodian must do, as a message key of the console's strings and its values
    (the page shows it in the reader's language)."""

    key: str
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """The signing keys as the issuer must watch them."""

    plan: DscPlan
    signing_types: tuple[str, ...]
    dsc_expires: datetime | None
    csca_expires: datetime | None
    warnings: tuple[KeyWarning, ...]


@dataclass(frozen=True, slots=True)
class Overview:
    """The console's first page."""

    certificates: dict[str, dict[str, int]]
    doses_waiting_for_a_site: int
    keys: KeyStatus
    recent: tuple[AuditView, ...]
    #: Certificates issued per account today and in the last 7 days (VAXLINK_ISSUANCE_CAP_PER_DAY).
    volumes: tuple[AccountVolume, ...] = ()
    cap_per_day: int = 0
    #: With `require_district_approval`: per district, verified people covered by / waiting for
    #: the district's signature.
    require_district: bool = False
    districts: tuple[DistrictCoverage, ...] = ()


def key_status(store: KeyStore, now: datetime) -> KeyStatus:
    """The DSC rollover plan, what the signing DSC may sign, and the CSCA's remaining life."""
    plan = dsc_plan(store, now)
    warnings: list[KeyWarning] = []
    until = plan.signing_until
    if plan.signing_kid is None or until is None:
        warnings.append(KeyWarning("issuer.warn.no_dsc", {}))
    elif until < now:
        warnings.append(KeyWarning("issuer.warn.dsc_short", {"day": f"{until:%d/%m/%Y}"}))
    elif plan.successor_kid is None and until - now < ROLLOVER_NOTICE:
        warnings.append(KeyWarning("issuer.warn.dsc_due", {"day": f"{until:%d/%m/%Y}"}))
    types: tuple[str, ...] = ()
    dsc_end = None
    if plan.signing_kid is not None:
        dsc = store.certificate(Role.DSC, plan.signing_kid)
        types = tuple(sorted(t.value for t in dcc_types(dsc)))
        dsc_end = dsc.not_valid_after_utc
    cscas = store.certificates(Role.CSCA)
    csca_end = cscas[-1].not_valid_after_utc if cscas else None
    if csca_end is None:
        warnings.append(KeyWarning("issuer.warn.no_csca", {}))
    elif csca_end - now < CSCA_NOTICE:
        warnings.append(KeyWarning("issuer.warn.csca_due", {"day": f"{csca_end:%d/%m/%Y}"}))
    return KeyStatus(plan, types, dsc_end, csca_end, tuple(warnings))


def certificate_counts(session: Session) -> dict[str, dict[str, int]]:
    """Certificates by kind and status."""
    out: dict[str, dict[str, int]] = {}
    stmt = select(Certificate.kind, Certificate.status, func.count()).group_by(
        Certificate.kind, Certificate.status
    )
    for kind, status, n in session.execute(stmt):
        out.setdefault(kind, {})[status] = int(n)
    return out


def doses_waiting_for_a_site(session: Session) -> int:
    """Verified doses of a known person that no site has signed in any form yet."""
    signed = exists().where(ApprovalRecord.dose_id == DoseRecord.id)
    stmt = select(func.count()).where(
        DoseRecord.status.in_(APPROVABLE), DoseRecord.citizen_id.is_not(None), ~signed
    )
    return int(session.scalar(stmt) or 0)


#: The audit actions of an issue run (the console's and the CLI's).
ISSUE_RUN_ACTIONS: Final = ("certificate.issue_run", "certificates.issue")


def signed_since_last_run(session: Session) -> int:
    """Doses the sites signed since the last issue run (all signed doses before the first): the
    issuer's new work. One read of the audit chain's newest run and a sum over the site approvals
    made since (a few rows a day per site), never a scan of the doses."""
    (last,) = latest_entries(session, action_prefixes=ISSUE_RUN_ACTIONS, limit=1) or (None,)
    stmt = select(func.coalesce(func.sum(FacilityApproval.record_count), 0))
    if last is not None:
        stmt = stmt.where(FacilityApproval.approved_at > last.at)
    return int(session.scalar(stmt) or 0)


def recent_actions(session: Session, *, limit: int = 20) -> tuple[AuditView, ...]:
    """The latest certificate and key actions of the audit chain, newest first."""
    return tuple(latest_entries(session, action_prefixes=AUDIT_ACTIONS, limit=limit))


def overview(
    session: Session, store: KeyStore, now: datetime, *, cap_per_day: int = 0,
    require_district: bool = False,
) -> Overview:  # fmt: skip
    """What the issuer sees first: certificates, doses no site has signed, keys, recent actions,
    and what each account issued today and this week (against the daily cap); when district
    approval is required, per district how many verified people its signature covers."""
    return Overview(
        certificate_counts(session),
        doses_waiting_for_a_site(session),
        key_status(store, now),
        recent_actions(session),
        tuple(volumes(session, now)),
        cap_per_day,
        require_district,
        tuple(coverage_by_district(session)) if require_district else (),
    )


def revoke_as(
    session: Session, principal: Principal, uvci: str, *, reason: str, now: datetime
) -> Certificate:
    """Revoke one certificate as the signed-in issuer, with a reason, audited in the chain."""
    certificate = revoke(session, uvci.strip(), reason=reason.strip(), by=principal.username,
                         now=now)  # fmt: skip
    append(session, actor=principal, action="certificate.revoke", object_type="certificate",
           object_id=certificate.id, detail={"reason": reason.strip()[:200]}, at=now)  # fmt: skip
    return certificate


def reissue_as(
    session: Session, principal: Principal, issuer: Issuer, uvci: str, *, reason: str,
    now: datetime, cap_per_day: int = 0,
) -> tuple[Certificate, Certificate]:  # fmt: skip
    """Revoke one certificate with a reason and issue its person a new one from their records as
    they stand now, as the signed-in issuer (e.g. a QR that was copied or handed out): both
    audited in the chain. Returns (revoked, new); raises when no certificate can be issued, and
    the caller's savepoint then keeps the old one."""
    old = find_certificate(session, uvci)
    if old.status != CertificateStatus.ACTIVE:
        raise TransitionInvalid(f"{old.uvci} is {old.status}: only an active certificate is "
                                  "re-issued (issue runs give people without one a new one)")  # fmt: skip
    if cap_per_day and issued_today(session, principal.username, now) >= cap_per_day:
        append_after_transaction(session, actor=principal, action="certificate.issue_capped",
                                 object_type="certificate", object_id=old.id,
                                 detail={"cap": cap_per_day, "reissue": True}, at=now)  # fmt: skip
        raise IssuanceCapped(principal.username, cap_per_day)
    revoked = revoke_as(session, principal, uvci, reason=reason, now=now)
    new = reissue_person(session, issuer, revoked.citizen_id, CertificateKind(revoked.kind))
    append(session, actor=principal, action="certificate.reissue", object_type="certificate",
           object_id=new.id, detail={"reason": reason.strip()[:200], "replaces": revoked.id},
           at=now)  # fmt: skip
    return revoked, new


def find_certificate(session: Session, uvci: str) -> Certificate:
    """A certificate by its UVCI (what the issuer types or pastes)."""
    found = session.scalar(select(Certificate).where(Certificate.uvci == uvci.strip()))
    if found is None:
        raise CertificateNotFound(f"no certificate {uvci.strip()} was issued here")
    return found


# -- issue runs ------------------------------------------------------------------------------------


@dataclass
class IssueRun:
    """One issue run started from the console: progress while it runs, the reports when done."""

    id: int
    by: str
    started_at: datetime
    kinds: tuple[CertificateKind, ...]
    done: int = 0
    total: int = 0
    finished: bool = False
    error: str | None = None
    reports: list[BatchReport] = field(default_factory=list)
    #: The account's daily cap (0: none); a run that reaches it stops there.
    cap_per_day: int = 0

    @property
    def capped(self) -> bool:
        return any(r.capped for r in self.reports)

    @property
    def issued(self) -> int:
        return sum(r.issued for r in self.reports)

    @property
    def skipped(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.reports:
            for k, n in r.skipped.items():
                out[k] = out.get(k, 0) + n
        return out

    @property
    def refused_approvals(self) -> dict[int, tuple[str, ...]]:
        out: dict[int, tuple[str, ...]] = {}
        for r in self.reports:
            out.update(r.refused_approvals)
        return out


class IssueRuns:
    """The issue runs of one web process (one at a time), each in its own thread; the result of
    each is also written to the audit chain, which outlives the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, IssueRun] = {}
        self._next = 1

    def get(self, run_id: int) -> IssueRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def latest(self, n: int = 5) -> list[IssueRun]:
        with self._lock:
            return sorted(self._runs.values(), key=lambda r: r.id, reverse=True)[:n]

    def running(self) -> IssueRun | None:
        with self._lock:
            return next((r for r in self._runs.values() if not r.finished), None)

    def start(
        self,
        engine: Engine,
        principal: Principal,
        issuer: Issuer,
        kinds: Sequence[CertificateKind],
        *,
        wait: bool = False,
        cap_per_day: int = 0,
    ) -> IssueRun:
        """Start an issue run of `kinds` as `principal` (refused while another runs), stopping
        once the account has issued `cap_per_day` certificates today (0: no cap)."""
        if not kinds:
            raise IssuanceInvalid("choose at least one kind of certificate")
        for kind in kinds:
            issuer.require(kind)
        with self._lock:
            if any(not r.finished for r in self._runs.values()):
                raise IssuanceInvalid("an issue run is already under way; wait for it to finish")
            run = IssueRun(self._next, principal.username, issuer.now, tuple(kinds),
                           cap_per_day=cap_per_day)  # fmt: skip
            self._runs[run.id] = run
            self._next += 1
        worker = threading.Thread(target=_work, args=(engine, principal, issuer, run),
                                  name=f"issue-run-{run.id}", daemon=True)  # fmt: skip
        worker.start()
        if wait:
            worker.join()
        return run


def _work(engine: Engine, principal: Principal, issuer: Issuer, run: IssueRun) -> None:
    def progress(done: int, total: int) -> None:
        run.done, run.total = done, total

    started = time.perf_counter()
    try:
        for kind in run.kinds:
            run.reports.append(_one_kind(engine, issuer, kind, progress, run.cap_per_day))
            if run.capped:
                break
    except Exception as exc:  # the page must say the run failed, not hang
        run.error = str(exc) or type(exc).__name__
    finally:
        run.finished = True
    detail: dict[str, Any] = {
        "kinds": [k.value for k in run.kinds],
        "issued": run.issued,
        "skipped": run.skipped,
        "refused_approvals": sorted(run.refused_approvals),
        "seconds": round(time.perf_counter() - started, 1),
        "failed": run.error is not None,
        "capped": run.capped,
    }
    entries = [NewAuditEntry(actor=principal, action="certificate.issue_run",
                             object_type="issue_run", object_id=run.id, detail=detail,
                             at=issuer.now)]  # fmt: skip
    if run.capped:
        entries.append(NewAuditEntry(actor=principal, action="certificate.issue_capped",
                                     object_type="issue_run", object_id=run.id,
                                     detail={"cap": run.cap_per_day, "issued": run.issued},
                                     at=issuer.now))  # fmt: skip
    with transaction(engine) as session:
        append_many(session, entries)


def _one_kind(
    engine: Engine,
    issuer: Issuer,
    kind: CertificateKind,
    progress: Callable[[int, int], None],
    cap_per_day: int,
) -> BatchReport:
    return issue_batch(engine, issuer.signer, issuer_name=issuer.issuer_name, by=issuer.by,
                       kind=kind, now=issuer.now, uvci_key=issuer.uvci_key,
                       anchors=issuer.anchors, on_progress=progress,
                       cap_per_day=cap_per_day,
                       require_district=issuer.require_district)  # fmt: skip


def signable(issuer: Issuer) -> tuple[CertificateKind, ...]:
    """The kinds the signing DSC may sign."""
    out = []
    for kind in CertificateKind:
        try:
            issuer.require(kind)
        except (IssuanceInvalid, KeyUsageInvalid):
            continue
        out.append(kind)
    return tuple(out)
