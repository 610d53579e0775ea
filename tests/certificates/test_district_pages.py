"""The district health centre's page (SQLite and PostgreSQL): what it would sign, signing with its
own passphrase, wrong passphrases refused, another district's list refused and audited, and the
issuer console's per-district counts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import select
from tests.cleaning.entry_support import SIGNING, add_citizen, add_dose

from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.certificates.approval.signing import approve_records
from vaxlink.certificates.keys import hierarchy as keys
from vaxlink.certificates.keys.store import KeyStore
from vaxlink.certificates.keys.store import Role as KeyRole
from vaxlink.certificates.models import DistrictApproval
from vaxlink.db import transaction

SITE = "F-DIST"
D1 = dt.date(2021, 8, 2)


def _keys(data_dir: Path, district_holder: str) -> keys.KeyPair:
    """A CSCA on file, and the district 001's key wrapped for `district_holder`; the site key
    (returned) signs directly."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    csca = keys.create_csca(country="VN", organization="Bộ Y tế", now=now)
    store = KeyStore(data_dir / "keys")
    store.save(KeyRole.CSCA, csca, passphrase=b"a long CSCA passphrase 42")
    district = keys.create_district_signer(csca, district_code="001", district_name="TTYT Ba Đình",
                                           now=now)  # fmt: skip
    store.save_facility(district, district_holder, SIGNING, role=KeyRole.DISTRICT)
    return keys.create_facility_signer(csca, facility_code=SITE, facility_name="Trạm", now=now)


def test_district_signs_its_list_from_its_page(staff_client, tmp_path: Path) -> None:
    centre = staff_client(Role.DISTRICT_HEALTH, "district:001")
    site_key = _keys(tmp_path, centre.account.username)
    engine = centre.engine
    person = add_citizen(engine, "001085077001")
    for i in range(2):
        add_dose(engine, person, D1 + dt.timedelta(days=28 * i), facility=SITE, dose_number=i + 1)
    with transaction(engine) as s:
        approve_records(s, site_key, facility_code=SITE, approver="x",
                        now=dt.datetime.now(dt.UTC))  # fmt: skip

    add_dose(engine, person, D1 + dt.timedelta(days=200), facility=SITE, dose_number=3)

    page = centre.get("/district/approval")
    assert page.status_code == 200
    assert "Mũi tiêm đã xác thực của người cư trú: 3" in page.text
    row = re.search(r'<tr data-ward="00001" data-site="F-DIST">(.*?)</tr>', page.text)
    assert row is not None
    counts = re.findall(r"<td[^>]*>([\d,]+)</td>", row.group(1))
    assert counts[-2:] == ["3", "2"]  # verified, signed by the site
    assert 'id="district-never"' in page.text

    wrong = centre.post(
        "/district/approval/sign", data={"passphrase": "not the one", "district": "001"}
    )
    assert wrong.status_code == 403
    assert "Sai mật khẩu ký" in wrong.text

    foreign = centre.post(
        "/district/approval/sign", data={"passphrase": SIGNING, "district": "002"}
    )
    assert foreign.status_code == 403
    assert "chỉ được ký danh sách của huyện mình" in foreign.text

    signed = centre.post("/district/approval/sign", data={"passphrase": SIGNING, "district": "001"},
                         follow_redirects=False)  # fmt: skip
    assert signed.status_code == 303
    shown = centre.get(signed.headers["location"])
    assert "Đã ký danh sách #" in shown.text
    assert "2 mũi tiêm. Còn 1 mũi" in shown.text  # the third waits for its site
    assert 'id="district-last"' in shown.text
    with transaction(engine) as s:
        (approval,) = s.scalars(select(DistrictApproval))
        actions = [(a.action, a.object_id) for a in s.scalars(
            select(AuditEntry).where(AuditEntry.action.like("certificates.district_approve%"))
            .order_by(AuditEntry.seq))]  # fmt: skip
    assert (approval.district_code, approval.entry_count) == ("001", 2)
    assert actions == [("certificates.district_approve_refused", "001"),
                       ("certificates.district_approve_refused", "002"),
                       ("certificates.district_approve", str(approval.id))]  # fmt: skip


def test_only_district_accounts_see_the_page(staff_client, tmp_path: Path) -> None:
    approver = staff_client(Role.SITE_APPROVER, "ward:00001", facility_code=SITE)
    assert approver.get("/district/approval").status_code == 403
    assert approver.post("/district/approval/sign", data={"passphrase": SIGNING}).status_code == 403
    cdc = staff_client(Role.PROVINCIAL_CDC, "province:001")
    assert cdc.get("/district/approval").status_code == 403


def test_a_signing_in_progress_shows_its_progress_and_only_to_its_district(
    staff_client, tmp_path: Path
) -> None:
    from vaxlink.certificates.approval.district import district_signer, start_district_approval
    from vaxlink.certificates.approval.signing import SigningCredential

    centre = staff_client(Role.DISTRICT_HEALTH, "district:001")
    _keys(tmp_path, centre.account.username)
    now = dt.datetime.now(dt.UTC)
    signer = district_signer(KeyStore(tmp_path / "keys"), "001", now,
                             SigningCredential(centre.account.username, SIGNING))  # fmt: skip
    with transaction(centre.engine) as s:
        job = start_district_approval(s, signer, district_code="001",
                                      approver=centre.account.username, now=now)  # fmt: skip
    page = centre.get(f"/district/approval?job={job}")
    assert page.status_code == 200
    assert f"Đang ký danh sách #{job}: đã ghi 0 mũi tiêm" in page.text
    assert '<meta http-equiv="refresh" content="3">' in page.text
    again = centre.post("/district/approval/sign", data={"passphrase": SIGNING, "district": "001"})
    assert again.status_code == 409
    assert "đang được ký" in again.text
    other = staff_client(Role.DISTRICT_HEALTH, "district:002")
    assert other.get(f"/district/approval?job={job}").status_code == 403
    assert other.get(f"/district/approval?job={job + 1000}").status_code == 404
