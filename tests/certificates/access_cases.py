"""Approval routes (and the dose-entry ones, from tests/cleaning/access_cases_entry.py) for the
access-matrix test (tests/auth): an approval is scoped by its vaccination site."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

from sqlalchemy.orm import Session
from tests.cleaning import access_cases_entry

from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.models import FacilityApproval

#: The site `tests/web_support.create_account` gives site-approver accounts.
SITE = "F-TEST"


@cache
def _signer(code: str) -> keys.KeyPair:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    csca = keys.create_csca(country="VN", organization="Bộ Y tế", now=now)
    return keys.create_facility_signer(csca, facility_code=code, facility_name=code, now=now)


def _approval(s: Session, code: str) -> int:
    """An approval row of `code` (covering no record; its page re-verifies it and says why)."""
    signer = _signer(code)
    approval = FacilityApproval(
        facility_code=code, manifest_version="vaxlink-approval/1",
        manifest_digest=f"{code}-{dt.datetime.now(dt.UTC).timestamp()}", record_count=0,
        signature=b"\0" * 64, signer_kid=signer.kid.hex(), signer_fingerprint="0" * 64,
        signer_certificate=signer.certificate_der, approver="matrix",
        approved_at=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    s.add(approval)
    s.flush()
    return approval.id


def _manifest(s: Session, _inside: str, _outside: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return {"approval_id": _approval(s, SITE)}, {"approval_id": _approval(s, "F-ELSEWHERE")}


CASES: dict[str, Callable[[Session, str, str], tuple[dict[str, Any], dict[str, Any]]]] = {
    "/approval/manifests/{approval_id}": _manifest,
    **access_cases_entry.CASES,
}
SKIP: dict[str, str] = {
    **access_cases_entry.SKIP,
    "/admin/partners/{client_id}/{action}": "partner applications are national (only a "
    "national administrator manages them: partner_pages.national_admin); covered by "
    "tests/certificates/test_partner_pages.py",
    "/issuer/runs/{run_id}": "issue runs are national (the issuer's unit is the nation); the "
    "role check is covered by the matrix and tests/certificates/test_console_pages.py",
}
