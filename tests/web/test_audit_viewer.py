"""The audit viewer: admins only, filters, keyset pages, and reading it is audited."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy import func, select
from tests.web_support import StaffClient

from vaxlink.auth import audit
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'data-seq="(\d+)"', html)]


def test_viewer_filters_pages_and_is_audited(staff_client: Callable[..., StaffClient]) -> None:
    admin = staff_client(Role.ADMIN, "VN")
    police = staff_client(Role.COMMUNE_POLICE, "ward:00001")
    assert police.get("/audit").status_code == 403
    with admin.session() as s:
        for i in range(120):
            audit.record(s, actor=police.account.principal, action="dose.view",
                         object_type="dose_record", object_id=i, unit="00001", at=dt.datetime.now(dt.UTC))  # fmt: skip
    first = admin.get("/audit", params={"action": "dose."})
    assert first.status_code == 200
    seqs = _seqs(first.text)
    assert len(seqs) == 50
    assert seqs == sorted(seqs, reverse=True)
    assert police.account.username in first.text
    assert "ward:00001" in first.text  # bare ward codes are stored canonically
    older = re.search(r'href="\?([^"]+)" id="audit-older"', first.text)
    assert older is not None
    second = admin.get("/audit?" + older.group(1).replace("&amp;", "&"))
    assert _seqs(second.text)[0] == seqs[-1] - 1
    assert set(_seqs(second.text)).isdisjoint(seqs)
    one = admin.get("/audit", params={"object_type": "dose_record", "object_id": "7"})
    assert len(_seqs(one.text)) == 1
    by_actor = admin.get("/audit", params={"actor": police.account.username, "action": "auth."})
    assert len(_seqs(by_actor.text)) == 1  # police's login
    with admin.session() as s:
        views = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "audit.view")
        )
        assert views == 4
        assert audit.verify_chain(s).intact


def test_viewer_in_english_and_on_a_province_admin(
    staff_client: Callable[..., StaffClient],
) -> None:
    province_admin = staff_client(Role.ADMIN, "province:002")
    with province_admin.session() as s:
        audit.record(s, actor=None, action="x.inside", object_type="t", object_id=1,
                     unit="ward:00688", at=dt.datetime.now(dt.UTC))  # fmt: skip
        audit.record(s, actor=None, action="x.outside", object_type="t", object_id=2,
                     unit="ward:00001", at=dt.datetime.now(dt.UTC))  # fmt: skip
    page = province_admin.get("/audit?lang=en&action=x.")
    assert "Audit log" in page.text
    assert "x.inside" in page.text
    assert "x.outside" not in page.text
