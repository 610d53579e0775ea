"""The renewal job: renew, by itself, the certificates that expire within a window (#14).

Run by `vaxlink report scheduler` and by a background thread of the web app (`vaxlink serve`),
both through the composition root (`Container.renewal_job`). It signs as the job (`job:renewal`,
kept on the new certificates and on its audit entry), only when a DSC signer can be had: without
one it logs a clear warning once and does nothing, until one is configured.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Final

from sqlalchemy.engine import Engine

from vaxlink.auth.service import append
from vaxlink.certificates.errors import CertificateError
from vaxlink.certificates.issuance.issuer import Issuer
from vaxlink.certificates.issuance.sweep import LifecycleReport, renew_expiring
from vaxlink.db import transaction

log = logging.getLogger(__name__)

#: Who renews: kept as `created_by` of the new certificates and as the audit entry's operator.
RENEWAL_JOB: Final = "job:renewal"


class RenewalJob:
    """Renew what expires within `within_days`, at most once per `every`, as `RENEWAL_JOB`.

    `issuer(now)` builds the issuer signing at `now` (the composition root's DSC signer); when it
    cannot (no DSC, no token, wrong passphrase), the job warns once and skips the run."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        issuer: Callable[[dt.datetime], Issuer],
        *,
        within_days: int,
        every: dt.timedelta,
    ) -> None:
        self._engine, self._issuer = engine, issuer
        self.within_days, self.every = within_days, every
        self._lock = threading.Lock()
        self._warned: str | None = None
        #: When the last run finished its sweep, and its report (for tests and the health page).
        self.last_run: dt.datetime | None = None
        self.last: LifecycleReport | None = None

    def due(self, now: dt.datetime) -> bool:
        """Whether a run is due at `now` (never run, or `every` has passed since the last)."""
        return self.last_run is None or now - self.last_run >= self.every

    def run_if_due(self, now: dt.datetime) -> LifecycleReport | None:
        """`run(now)` when due, else None."""
        return self.run(now) if self.due(now) else None

    def run(self, now: dt.datetime) -> LifecycleReport | None:
        """Renew now; None when no DSC signer is available (warned about once)."""
        with self._lock:  # the scheduler and the app's thread never sweep at the same time
            try:
                issuer = self._issuer(now)
            except (CertificateError, OSError) as exc:
                self._warn_once(str(exc) or type(exc).__name__)
                return None
            self._warned = None
            report = renew_as_job(self._engine(), issuer, within_days=self.within_days)
            self.last_run, self.last = now, report
            return report

    def _warn_once(self, why: str) -> None:
        if self._warned == why:
            return
        self._warned = why
        log.warning("renewal job: no DSC signer is available (%s); certificates are not renewed "
                    "until one is configured (`vaxlink keys issue-dsc`, or the VAXLINK_PKCS11_* "
                    "settings)", why)  # fmt: skip


def renew_as_job(engine: Engine, issuer: Issuer, *, within_days: int) -> LifecycleReport:
    """Renew the certificates expiring within `within_days` of the issuer's time, audited as the
    job (`certificates.renew`)."""
    report = renew_expiring(
        engine, issuer.signer, issuer_name=issuer.issuer_name, by=issuer.by,
        within_days=within_days, now=issuer.now, uvci_key=issuer.uvci_key, anchors=issuer.anchors,
        require_district=issuer.require_district,
    )  # fmt: skip
    detail = {"operator": issuer.by, "within_days": within_days, "checked": report.checked,
              "issued": report.issued, "revoked": report.revoked, "superseded": report.superseded,
              "expired": report.expired, "skipped": dict(report.skipped),
              "refused_approvals": sorted(report.refused_approvals)}  # fmt: skip
    with transaction(engine) as session:
        append(session, actor=None, action="certificates.renew", object_type="certificate_batch",
               object_id="renew", detail=detail, at=issuer.now)  # fmt: skip
    if report.skipped:
        log.warning("renewal job: %d certificate(s) not renewed: %s", sum(report.skipped.values()),
                    ", ".join(f"{k} {n}" for k, n in sorted(report.skipped.items())))  # fmt: skip
    return report
