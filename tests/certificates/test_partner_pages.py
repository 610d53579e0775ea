"""The partner applications page (`/admin/partners`): a national administrator adds a client
(token shown once), rotates and revokes it with a ticked confirmation, each audited with the
administrator as actor; the token works, then is refused at once (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from tests.web_support import home_waiting

from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.models import ApiClient
from vaxlink.db import transaction

FEED = "/api/v1/certificates/changes"


def _shown(html: str, element: str) -> str:
    found = re.search(rf'<code translate="no" id="{element}">([^<]+)</code>', html)
    assert found is not None, html[:3000]
    return found[1]


def _feed(admin: Any, token: str) -> int:
    return int(admin.get(FEED, headers={"Authorization": f"Bearer {token}"}).status_code)


def test_the_national_administrator_adds_rotates_and_revokes_a_partner(
    staff_client: Callable[..., Any],
) -> None:
    admin = staff_client(Role.ADMIN, "VN")
    page = admin.get("/admin/partners")
    assert page.status_code == 200
    assert "Ứng dụng đối tác nhận chứng nhận" in page.text
    added = admin.post("/admin/partners", data={
        "name": "PC-COVID", "scopes": ["certificates:read", "changes:read"], "kinds": ["v"],
        "fields": "minimal", "expires": "2099-12-31", "per_minute": "30",
        "push_url": "https://partner.example/hook",
    })  # fmt: skip
    assert added.status_code == 201, added.text[:2000]
    token = _shown(added.text, "token")
    assert _shown(added.text, "push-secret").startswith("vxs_")
    row = re.search(r'<tr data-client="PC-COVID">(.*?)</tr>', added.text, re.S)
    assert row is not None
    for shown in ("Tối thiểu", "Tiêm chủng", "31/12/2099", "Chưa dùng", "30"):
        assert shown in row[1], shown
    assert _feed(admin, token) == 200
    again = admin.get("/admin/partners")
    assert token not in again.text  # shown once
    assert "Chưa dùng" not in again.text  # its last use is shown
    with transaction(admin.engine) as s:
        client_id = s.scalar(select(ApiClient.id).where(ApiClient.name == "PC-COVID"))
    unconfirmed = admin.post(f"/admin/partners/{client_id}/rotate")
    assert unconfirmed.status_code == 422
    assert _feed(admin, token) == 200  # nothing happened
    rotated = admin.post(f"/admin/partners/{client_id}/rotate", data={"confirm": "yes"})
    assert rotated.status_code == 200
    fresh = _shown(rotated.text, "token")
    assert fresh != token
    assert _feed(admin, token) == 401
    assert _feed(admin, fresh) == 200
    revoked = admin.post(f"/admin/partners/{client_id}/revoke", data={"confirm": "yes"},
                         follow_redirects=False)  # fmt: skip
    assert revoked.status_code == 303
    assert _feed(admin, fresh) == 401
    assert "Đã thu hồi" in admin.get(revoked.headers["location"]).text
    with transaction(admin.engine) as s:
        rows = s.execute(select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.detail)
                         .where(AuditEntry.object_type == "api_client",
                                AuditEntry.action.like("certificates.api_client_%"))
                         .order_by(AuditEntry.seq)).all()  # fmt: skip
    assert [r[0] for r in rows] == ["certificates.api_client_add",
                                    "certificates.api_client_rotate",
                                    "certificates.api_client_revoke"]  # fmt: skip
    assert {r[1] for r in rows} == {admin.account.user_id}
    assert json.loads(rows[0][2])["fields"] == "minimal"
    assert not any(token in (d or "") or fresh in (d or "") for _a, _u, d in rows)


def test_a_bad_entry_says_what_to_fix_and_keeps_what_was_typed(
    staff_client: Callable[..., Any],
) -> None:
    admin = staff_client(Role.ADMIN, "VN")
    good = {"name": "Health book", "scopes": ["certificates:read"], "kinds": ["v", "r"]}
    for change, key in (({"name": "Sổ sức khỏe!"}, "name"), ({"scopes": []}, "scopes"),
                        ({"kinds": ["q"]}, "kinds"), ({"fields": "all"}, "fields"),
                        ({"expires": "2020-01-01"}, "expires"), ({"expires": "31/12"}, "expires"),
                        ({"per_minute": "0"}, "per_minute"), ({"push_url": "ftp://x"}, "push")):  # fmt: skip
        bad = admin.post("/admin/partners", data={**good, **change})
        assert bad.status_code == 422, (change, bad.text[:500])
        assert f'data-error="partners.err.{key}"' in bad.text, change
    typed = admin.post("/admin/partners", data={**good, "name": "Sổ sức khỏe!"})
    assert 'value="Sổ sức khỏe!"' in typed.text
    assert admin.post("/admin/partners", data=good).status_code == 201
    taken = admin.post("/admin/partners", data=good)
    assert taken.status_code == 409
    assert 'data-error="partners.err.taken"' in taken.text
    with transaction(admin.engine) as s:
        assert s.scalar(select(func.count()).select_from(ApiClient)) == 1


def test_only_a_national_administrator_manages_partners(staff_client: Callable[..., Any]) -> None:
    provincial = staff_client(Role.ADMIN, "province:001")
    assert provincial.get("/admin/partners").status_code == 403
    station = staff_client(Role.HEALTH_STATION, "ward:00001")
    assert station.get("/admin/partners").status_code == 403
    issuer = staff_client(Role.NATIONAL_ISSUER, "VN")
    assert issuer.post("/admin/partners", data={"name": "X", "scopes": ["certificates:read"],
                                                "kinds": ["v"]}).status_code == 403  # fmt: skip


def test_the_home_page_counts_partners_that_need_the_administrator(
    staff_client: Callable[..., Any],
) -> None:
    """A live token that ends within two weeks, or pushes a receiver keeps refusing, wait on the
    administrator's home page; a far expiry, a revoked client or a rotation does not."""
    admin = staff_client(Role.ADMIN, "VN")
    assert home_waiting(admin, "/admin/partners") == 0
    soon = (dt.date.today() + dt.timedelta(days=5)).isoformat()
    for name, expires in (("SAP-HET-HAN", soon), ("LAU-DAI", "2099-12-31")):
        added = admin.post("/admin/partners", data={
            "name": name, "scopes": ["certificates:read"], "kinds": ["v"], "fields": "minimal",
            "expires": expires,
        })  # fmt: skip
        assert added.status_code == 201, added.text[:2000]
    assert home_waiting(admin, "/admin/partners") == 1
    with transaction(admin.engine) as s:  # the receiver refused the last pushes
        s.execute(update(ApiClient).where(ApiClient.name == "LAU-DAI").values(push_attempts=3))
        ending = s.scalar(select(ApiClient.id).where(ApiClient.name == "SAP-HET-HAN"))
    assert home_waiting(admin, "/admin/partners") == 2
    revoked = admin.post(f"/admin/partners/{ending}/revoke", data={"confirm": "yes"},
                         follow_redirects=False)  # fmt: skip
    assert revoked.status_code == 303
    assert home_waiting(admin, "/admin/partners") == 1
