"""Dose-entry pages over HTTP (SQLite and PostgreSQL): identity first, warnings to acknowledge,
photo decode on the server, site scope, CSRF, no ID number in any URL."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from tests.cleaning.entry_support import add_citizen, add_dose, chip_png, chip_text
from vaxlink.auth.models import AuditEntry
from vaxlink.auth.roles import Role
from vaxlink.identity import format_chip_qr
from vaxlink.identity.dates import PartialDate
from vaxlink.records.models import DoseRecord

CID = "001085012345"


def clerk(staff_client, facility: str = "F001"):
    return staff_client(Role.HEALTH_STATION, "ward:00001", facility_code=facility)


def test_entry_page_requires_dose_entry_and_a_site(staff_client) -> None:
    station = clerk(staff_client)
    r = station.get("/entry")
    assert r.status_code == 200
    assert 'name="id_number"' in r.text
    assert 'name="photo"' in r.text
    assert "20/10/2021" in r.text
    assert staff_client(Role.COMMUNE_POLICE).get("/entry").status_code == 403
    no_site = staff_client(Role.HEALTH_STATION, facility_code="")
    r = no_site.get("/entry")  # allowed, but told it has nowhere to record doses
    assert r.status_code == 200
    assert "chưa gắn với điểm tiêm" in r.text
    assert 'name="id_number"' not in r.text
    assert no_site.post("/entry/identify", data={"id_number": CID}).status_code == 409
    en = station.get("/entry?lang=en")
    assert "Dose entry at the vaccination point" in en.text


def test_typed_id_shows_registry_identity_then_records_a_verified_dose(staff_client) -> None:
    station = clerk(staff_client)
    add_citizen(station.engine)
    r = station.post("/entry/identify", data={"id_number": CID})
    assert r.status_code == 200
    assert "Nguyễn Văn An" in r.text
    assert "Phúc Xá" in r.text
    assert 'id="dose-form"' in r.text
    today = dt.date.today().isoformat()
    r = station.post(
        "/entry/dose",
        data={"citizen_id": CID, "source": "typed", "vaccine": "Comirnaty", "lot": "FK1",
              "category": "primary", "sequence": "1", "date": today},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    assert CID not in r.headers["location"]
    done = station.get(r.headers["location"])
    assert done.status_code == 200
    assert "Đã xác thực" in done.text
    with station.session() as s:
        record = s.scalars(select(DoseRecord)).one()
        assert (record.status, record.citizen_id, record.lot_number) == ("verified", CID, "FK1")


def test_too_short_interval_must_be_acknowledged(staff_client) -> None:
    station = clerk(staff_client)
    add_citizen(station.engine)
    today = dt.date.today()
    add_dose(station.engine, CID, today - dt.timedelta(days=10))
    form = {"citizen_id": CID, "source": "typed", "vaccine": "Comirnaty", "lot": "FK2",
            "category": "primary", "sequence": "2", "date": today.isoformat()}  # fmt: skip
    r = station.post("/entry/dose", data=form, follow_redirects=False)
    assert r.status_code == 409
    assert 'value="interval_too_short"' in r.text
    assert "tối thiểu 21 ngày" in r.text
    assert 'value="FK2"' in r.text  # the form keeps what was typed
    with station.session() as s:
        assert len(s.scalars(select(DoseRecord)).all()) == 1
    r = station.post("/entry/dose", data={**form, "ack": "interval_too_short"},
                     follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    with station.session() as s:
        new = s.scalars(select(DoseRecord).where(DoseRecord.lot_number == "FK2")).one()
        assert new.warnings == "schedule warning acknowledged: interval_too_short"


def test_photo_of_the_chip_qr_is_decoded_on_the_server(staff_client) -> None:
    station = clerk(staff_client)
    add_citizen(station.engine)
    r = station.post(
        "/entry/identify",
        files={"photo": ("card.png", chip_png(chip_text()), "image/png")},
        data={"csrf_token": station.csrf_token},
    )
    assert r.status_code == 200, r.text[:500]
    assert "Nguyễn Văn An" in r.text
    assert 'name="source" value="photo"' in r.text
    blank = station.post(
        "/entry/identify",
        files={"photo": ("x.png", b"not an image", "image/png")},
        data={"csrf_token": station.csrf_token},
    )
    assert blank.status_code == 422
    assert "Không đọc được mã QR" in blank.text


def test_scanned_chip_text_identifies(staff_client) -> None:
    station = clerk(staff_client)
    add_citizen(station.engine)
    r = station.post("/entry/identify", data={"chip_qr": chip_text()})
    assert r.status_code == 200
    assert 'name="source" value="chip_qr"' in r.text


def test_chip_text_typed_into_the_id_field_is_read_as_a_scan(staff_client) -> None:
    """A keyboard-wedge scanner types the whole QR text into the ID field (no JS to catch it):
    the text is read as the card's QR, never cut to 20 characters or refused as a bad number."""
    station = clerk(staff_client)
    add_citizen(station.engine)
    text = chip_text()
    assert len(text) > 20
    r = station.post("/entry/identify", data={"id_number": text})
    assert r.status_code == 200
    assert 'name="source" value="chip_qr"' in r.text
    assert 'id="card-mismatch"' not in r.text
    broken = station.post("/entry/identify", data={"id_number": "001085012345|x|Nguyễn"})
    assert broken.status_code == 422
    assert "Không đọc được mã QR trên CCCD" in broken.text
    assert "001085012345|x" not in broken.text  # the scanned text is not put back in the field
    start = station.get("/entry")
    assert 'maxlength="20"' not in start.text


def test_disagreeing_card_shows_card_and_registry_values_side_by_side(staff_client) -> None:
    station = clerk(staff_client)
    add_citizen(station.engine)
    card = format_chip_qr(
        id_number=CID, full_name="Nguyễn Văn Anh", date_of_birth=PartialDate(1985, 4, 14),
        sex="M", address="Số 1 Phúc Xá, Ba Đình, Hà Nội", issue_date=dt.date(2021, 5, 1),
    )  # fmt: skip
    r = station.post("/entry/identify", data={"chip_qr": card})
    assert r.status_code == 200
    rows = dict(re.findall(r'<tr data-field="(\w+)">(.*?)</tr>', r.text, re.S))
    assert set(rows) == {"full_name", "date_of_birth"}
    assert re.search(r"Nguyễn Văn Anh</td>\s*<td[^>]*>Nguyễn Văn An<", rows["full_name"])
    assert re.search(r"14/04/1985</td>\s*<td[^>]*>14/03/1985<", rows["date_of_birth"])
    assert "Trên thẻ" in r.text
    assert "Trong CSDL dân cư" in r.text
    en = station.post("/entry/identify?lang=en", data={"chip_qr": card})
    assert "On the card" in en.text
    assert "In the registry" in en.text


def test_unknown_id_offers_the_documented_unregistered_path(staff_client) -> None:
    station = clerk(staff_client)
    r = station.post("/entry/identify", data={"id_number": "001099999999"})
    assert r.status_code == 200
    assert 'id="not-found"' in r.text
    assert 'action="/entry/unregistered"' in r.text
    today = dt.date.today().isoformat()
    form = {"full_name": "Lê Thị Hoa", "date_of_birth": "01/02/1990", "sex": "F",
            "id_number": "001099999999", "reason": "not_yet_in_registry",
            "note": "CCCD mới cấp, chưa có trong CSDL", "vaccine": "Spikevax", "lot": "M1",
            "category": "primary", "sequence": "1", "date": today}  # fmt: skip
    r = station.post("/entry/unregistered", data={**form, "reason": ""})
    assert r.status_code == 422
    r = station.post("/entry/unregistered", data=form, follow_redirects=False)
    assert r.status_code == 303
    done = station.get(r.headers["location"])
    assert "Chờ xác minh" in done.text
    with station.session() as s:
        record = s.scalars(select(DoseRecord)).one()
        assert record.status == "pending"
        assert record.citizen_id is None


def test_done_page_of_another_site_is_refused_and_audited(staff_client) -> None:
    station = clerk(staff_client)
    other = clerk(staff_client, "F002")
    dose_id = add_dose(station.engine, None, dt.date(2021, 8, 1), facility="F001")
    assert station.get(f"/entry/done/{dose_id}").status_code == 200
    assert other.get(f"/entry/done/{dose_id}").status_code == 403
    with station.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied")).all()
    assert [(e.object_type, e.object_id, e.actor_id) for e in denied] == [
        ("dose_record", str(dose_id), other.account.user_id)
    ]


def test_posts_without_csrf_token_are_refused(staff_client) -> None:
    station = clerk(staff_client)
    del station.headers["X-CSRF-Token"]
    r = station.post("/entry/identify", data={"id_number": CID})
    assert r.status_code == 403


def test_no_identity_in_urls(staff_client) -> None:
    station = clerk(staff_client)
    add_citizen(station.engine)
    page = station.post("/entry/identify", data={"id_number": CID}).text
    for url in re.findall(r'(?:href|action)="([^"]+)"', page):
        assert CID not in url
