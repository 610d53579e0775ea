"""The site approver's pages and queue (SQLite and PostgreSQL): select, sign, see the manifest;
a changed record loses its approval and comes back; other sites' approvals are refused."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path

from sqlalchemy import select
from tests.cleaning.entry_support import SIGNING, add_citizen, add_dose, facility_keys

from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.approval import queue
from vaxlink.certificates.approval.check import ApprovalState, approval_state
from vaxlink.certificates.keys.hierarchy import kid
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.keys.store import Role as KeyRole
from vaxlink.certificates.models import FacilityApproval
from vaxlink.records.models import DoseRecord

SITE = "F-TEST"
D1 = dt.date(2021, 8, 2)
_citizens = itertools.count(1)


def seed(engine, n: int = 3, facility: str = SITE) -> list[int]:
    cid = add_citizen(engine, f"00108509{next(_citizens):04d}")
    return [add_dose(engine, cid, D1 + dt.timedelta(days=28 * i), facility=facility,
                     dose_number=i + 1) for i in range(n)]  # fmt: skip


def queued_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'name="dose_id" value="(\d+)"', html)]


def home_waiting(client) -> int:
    """The count beside the link to /approval on the account's home page."""
    found = re.search(r'data-waiting="(\d+)"[^<]*</strong>\s*<a [^>]*href="/approval"',
                      client.get("/").text)  # fmt: skip
    assert found, "the home page shows no count beside /approval"
    return int(found[1])


def test_approver_signs_selected_doses_then_all(staff_client, tmp_path: Path) -> None:
    approver = staff_client(Role.SITE_APPROVER, "ward:00001")
    facility_keys(tmp_path, SITE, holders=[approver.account.username])
    ids = seed(approver.engine)
    add_dose(approver.engine, None, D1, facility=SITE, status="review")  # not approvable
    add_dose(approver.engine, "001085099999", D1, facility="F-OTHER")  # another site
    r = approver.get("/approval")
    assert r.status_code == 200
    assert queued_ids(r.text) == ids
    assert home_waiting(approver) == len(ids)  # the home page counts what waits to be signed
    r = approver.post("/approval/sign", data={"dose_id": [str(ids[0])], "scope": "selected",
                                              "passphrase": SIGNING}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    manifest = approver.get(r.headers["location"])
    assert manifest.status_code == 200
    assert 'id="manifest-valid"' in manifest.text
    assert "Chữ ký hợp lệ" in manifest.text
    assert re.search(r'id="manifest-count">1<', manifest.text)
    assert queued_ids(approver.get("/approval").text) == ids[1:]
    r = approver.post("/approval/sign", data={"scope": "all", "passphrase": SIGNING},
                      follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert "Không còn mũi nào chờ ký" in approver.get("/approval").text
    assert home_waiting(approver) == 0
    listing = approver.get("/approval/manifests")
    assert len(re.findall(r'href="/approval/manifests/\d+"', listing.text)) == 2
    with approver.session() as s:
        assert {approval_state(s, i) for i in ids} == {ApprovalState.APPROVED}
        signed = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "certificates.approve")
        ).all()
        assert len(signed) == 2
        assert {a.actor_id for a in signed} == {approver.account.user_id}
        assert all(a.approver == approver.account.username
                   for a in s.scalars(select(FacilityApproval)))  # fmt: skip


def test_changed_record_loses_approval_and_returns_to_the_queue(staff_client, tmp_path) -> None:
    approver = staff_client(Role.SITE_APPROVER, "ward:00001")
    facility_keys(tmp_path, SITE, holders=[approver.account.username])
    ids = seed(approver.engine, 2)
    r = approver.post("/approval/sign", data={"scope": "all", "passphrase": SIGNING},
                      follow_redirects=False)  # fmt: skip
    location = r.headers["location"].split("?")[0]
    with approver.session() as s:
        record = s.get(DoseRecord, ids[0])
        assert record is not None
        record.lot_number = "CHANGED1"  # an ORM update bumps `version`
    page = approver.get("/approval").text
    assert queued_ids(page) == [ids[0]]
    assert "Đã sửa sau khi ký" in page
    manifest = approver.get(location).text
    assert 'id="changed-records"' in manifest
    assert "Chữ ký hợp lệ" in manifest  # the signature still holds over what was signed


def test_sign_refusals(staff_client, tmp_path: Path) -> None:
    approver = staff_client(Role.SITE_APPROVER, "ward:00001")
    ids = seed(approver.engine, 1)
    one = {"dose_id": [str(ids[0])], "passphrase": SIGNING}
    r = approver.post("/approval/sign", data=one)
    assert r.status_code == 422
    assert "vaxlink keys issue-facility" in r.text  # no key for the site yet
    facility_keys(tmp_path, SITE, holders=[approver.account.username])
    r = approver.post("/approval/sign", data={"scope": "selected", "passphrase": SIGNING})
    assert r.status_code == 422
    assert "Chọn ít nhất một mũi tiêm để ký" in r.text
    r = approver.post("/approval/sign", data={"dose_id": [str(ids[0])]})
    assert r.status_code == 422
    assert "Hãy nhập mật khẩu ký" in r.text
    station = staff_client(Role.HEALTH_STATION)  # same site, no APPROVE permission
    assert station.get("/approval").status_code == 403
    assert station.post("/approval/sign", data=one).status_code == 403


def test_signing_needs_the_approvers_own_passphrase_and_wrap(staff_client, tmp_path) -> None:
    approver = staff_client(Role.SITE_APPROVER, "ward:00001")
    colleague = staff_client(Role.SITE_APPROVER, "ward:00001")  # same site, no wrap of the key
    other = "violet kettle 19 silent meadow"
    facility_keys(tmp_path, SITE, holders=[approver.account.username])
    store = KeyStore(tmp_path / "keys")
    (key_id,) = [kid(c) for c in store.certificates(KeyRole.FACILITY)]
    ids = seed(approver.engine, 1)
    wrong = "not-my-passphrase-Q8"
    r = approver.post("/approval/sign", data={"dose_id": [str(ids[0])], "passphrase": wrong})
    assert r.status_code == 403
    assert "Sai mật khẩu ký" in r.text
    assert wrong not in r.text  # never echoed back
    assert 'type="password" name="passphrase"' in r.text
    r = colleague.post("/approval/sign", data={"dose_id": [str(ids[0])], "passphrase": SIGNING})
    assert r.status_code == 403
    assert "không giữ khóa ký" in r.text
    # granted a wrap of their own, the colleague signs with their passphrase, not the holder's
    pair = store.unlock_facility(key_id, approver.account.username, SIGNING)
    store.add_facility_holder(pair, colleague.account.username, other)
    r = colleague.post("/approval/sign", data={"dose_id": [str(ids[0])], "passphrase": SIGNING})
    assert r.status_code == 403
    assert "Sai mật khẩu ký" in r.text
    r = colleague.post("/approval/sign", data={"dose_id": [str(ids[0])], "passphrase": other},
                       follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    with approver.session() as s:
        (approval,) = s.scalars(select(FacilityApproval)).all()
        assert approval.approver == colleague.account.username
        refused = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "certificates.approve_refused")
        ).all()
    assert [e.actor_id for e in refused] == [approver.account.user_id] + [
        colleague.account.user_id
    ] * 2


def test_wrong_passphrases_lock_signing_for_a_while(staff_client, tmp_path: Path) -> None:
    approver = staff_client(Role.SITE_APPROVER, "ward:00001")
    facility_keys(tmp_path, SITE, holders=[approver.account.username])
    ids = seed(approver.engine, 1)
    statuses = [
        approver.post("/approval/sign",
                      data={"dose_id": [str(ids[0])], "passphrase": f"guess-{i}-xyz"}).status_code
        for i in range(6)
    ]  # fmt: skip
    assert statuses == [403] * 5 + [429]
    r = approver.post("/approval/sign", data={"dose_id": [str(ids[0])], "passphrase": SIGNING})
    assert r.status_code == 429  # even the right one waits: no guessing between
    assert int(r.headers["Retry-After"]) > 60
    assert "Nhập sai mật khẩu ký quá nhiều lần" in r.text


def test_another_sites_manifest_is_refused_and_audited(staff_client, tmp_path: Path) -> None:
    mine = staff_client(Role.SITE_APPROVER, "ward:00001")
    theirs = staff_client(Role.SITE_APPROVER, "ward:00001", facility_code="F-TWO")
    facility_keys(tmp_path, SITE, holders=[mine.account.username])
    facility_keys(tmp_path, "F-TWO", holders=[theirs.account.username])
    seed(mine.engine, 1)
    r = mine.post("/approval/sign", data={"scope": "all", "passphrase": SIGNING},
                  follow_redirects=False)  # fmt: skip
    path = r.headers["location"].split("?")[0]
    assert theirs.get(path).status_code == 403
    # signing "all" at F-TWO signs nothing of F-TEST
    r = theirs.post("/approval/sign", data={"scope": "all", "passphrase": SIGNING},
                    follow_redirects=False)  # fmt: skip
    assert r.headers["location"] == "/approval?n=0"
    with mine.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied")).all()
    assert [e.actor_id for e in denied] == [theirs.account.user_id]


def test_queue_keyset_pages_through_every_waiting_dose(staff_client, tmp_path: Path) -> None:
    approver = staff_client(Role.SITE_APPROVER, "ward:00001")
    facility_keys(tmp_path, SITE, holders=[approver.account.username])
    ids = seed(approver.engine, 7)
    principal = approver.account.principal
    seen: list[int] = []
    after = 0
    with approver.session() as s:
        queue.sign(s, principal, KeyStore(tmp_path / "keys"), passphrase=SIGNING,
                   dose_ids=ids[2:4], now=dt.datetime.now(dt.UTC), secret=b"test")  # fmt: skip
        while True:
            page = queue.pending_page(s, principal, after=after, limit=2, now=dt.datetime.now(dt.UTC))
            seen += [r.id for r in page.rows]
            if page.next_after is None:
                break
            after = page.next_after
        # a scan limit smaller than the approved run stops early and says so
        stopped = queue.pending_page(s, principal, after=ids[1], limit=2, scan_limit=2, now=dt.datetime.now(dt.UTC))
    assert seen == ids[:2] + ids[4:]
    assert stopped.rows == ()
    assert stopped.scan_stopped
    assert stopped.next_after == ids[3]
