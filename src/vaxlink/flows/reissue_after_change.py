"""After a change to a person's records: re-approve the changed dose, re-issue the certificate.

The re-approval signs just that dose with its site's approval key (`approve_dose`); the re-issue
revokes a certificate whose facts changed and issues the new one through the certificate life
cycle's own decision rules (`reissue_person`). Both go through certificates' front door.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from vaxlink.certificates import service as certificates
from vaxlink.certificates.service import ApprovalError

if TYPE_CHECKING:
    from vaxlink.flows.ports import Ports

__all__ = ["ApprovalError", "Reissued", "reapprove_and_reissue"]

#: The note kept on a dose's approval signed again after a citizen report.
REAPPROVAL_NOTE = "re-approved after a citizen report"


@dataclass(frozen=True, slots=True)
class Reissued:
    """What re-approving and re-issuing did."""

    approval_id: int | None
    certificate_uvci: str
    revoked_uvci: str | None
    #: True when the person had no certificate before or theirs was replaced.
    reissued: bool


def reapprove_and_reissue(
    session: Session, *, citizen_id: str, dose_id: int | None, by: str, ports: Ports,
    now: datetime,
) -> Reissued:  # fmt: skip
    """Re-approve `dose_id` (when given) as it stands now, then bring the person's certificate
    in line with their records; raises ApprovalError (re-approval) or IssuanceInvalid (re-issue)
    saying what cannot be done. The site keys, DSC signer and issuer come from `ports`."""
    keys = ports.key_store
    approval_id = None
    if dose_id is not None:
        approval_id = certificates.approve_dose(
            session, keys, dose_id, approver=by, now=now, note=REAPPROVAL_NOTE
        )
    kind = certificates.CertificateKind.VACCINATION
    before = certificates.active_of(session, kind, [citizen_id]).get(citizen_id)
    before_uvci = before.uvci if before is not None else None
    issuer = ports.issuer(by=by, now=now)
    certificate = certificates.reissue_person(session, issuer, citizen_id, kind)
    revoked = before_uvci if before_uvci and before_uvci != certificate.uvci else None
    return Reissued(approval_id, certificate.uvci, revoked,
                    revoked is not None or before_uvci is None)  # fmt: skip
