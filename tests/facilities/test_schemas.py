"""Checking one site as a list gives it: every problem named, values normalised (pure)."""

from __future__ import annotations

import pytest

from vaxlink.facilities.errors import FacilityError
from vaxlink.facilities.models import FacilityKind
from vaxlink.facilities.schemas import FacilityInput, check, checked, kind_of, normalise_phone

GOOD = {"code": "F0010001", "name": "Trạm  Y tế Phường Phúc Xá ", "ward_code": "1",
        "kind": "Trạm y tế", "head_name": "Nguyễn Văn A", "phone": "+84 912 345 678",
        "email": "tyt.phucxa@Example.VN"}  # fmt: skip


def test_a_good_row_is_normalised() -> None:
    item, reasons = check(GOOD)
    assert reasons == []
    assert item == FacilityInput(
        code="F0010001", name="Trạm Y tế Phường Phúc Xá", ward_code="00001",
        kind=FacilityKind.HEALTH_STATION, head_name="Nguyễn Văn A", phone="0912345678",
        email="tyt.phucxa@example.vn", active=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "kind"),
    [("Trạm y tế", FacilityKind.HEALTH_STATION), ("TRAM Y TE", FacilityKind.HEALTH_STATION),
     ("tyt", FacilityKind.HEALTH_STATION), ("Bệnh viện", FacilityKind.HOSPITAL),
     ("hospital", FacilityKind.HOSPITAL), ("Đội tiêm lưu động", FacilityKind.MOBILE_TEAM),
     ("mobile_team", FacilityKind.MOBILE_TEAM), ("Khác", FacilityKind.OTHER)],
)  # fmt: skip
def test_kinds_as_lists_write_them(raw: str, kind: FacilityKind) -> None:
    assert kind_of(raw) is kind


@pytest.mark.parametrize(
    ("raw", "want"),
    [("0912345678", "0912345678"), ("912345678", "0912345678"), ("84912345678", "0912345678"),
     ("024 3823 4567", "02438234567"), ("+84 24 3823 4567", "02438234567"),
     ("2438234567", "02438234567")],
)  # fmt: skip
def test_phones(raw: str, want: str) -> None:
    assert normalise_phone(raw) == want


@pytest.mark.parametrize("raw", ["12", "09123", "091234567890", "abc"])
def test_bad_phones(raw: str) -> None:
    with pytest.raises(FacilityError, match="not a Vietnamese phone number"):
        normalise_phone(raw)


def test_every_problem_of_a_row_is_named_at_once() -> None:
    item, reasons = check({"code": "F 1", "name": "", "ward_code": "99999", "kind": "tàu bay",
                           "phone": "12", "email": "no-at-sign", "active": "maybe"})  # fmt: skip
    assert item is None
    text = "\n".join(reasons)
    assert len(reasons) == 7, reasons
    for part in ("site code 'F 1' must be one word", "site name (Tên cơ sở) is empty",
                 "ward code 99999 does not exist", "kind 'tàu bay' is not known",
                 "phone '12'", "e-mail 'no-at-sign'", "active 'maybe' is not yes or no"):  # fmt: skip
        assert part in text


def test_empty_required_fields_say_what_to_write() -> None:
    item, reasons = check({})
    assert item is None
    assert reasons == [
        "the site code (Mã cơ sở) is empty",
        "the site name (Tên cơ sở) is empty",
        "the ward code (Mã xã) is empty: write the 5-digit code of the ward whose health "
        "station the site belongs to",
        "the kind (Loại) is empty: write one of Trạm y tế, Bệnh viện, Đội tiêm lưu động, Khác",
    ]


@pytest.mark.parametrize(("raw", "active"), [("Có", True), ("x", True), ("Không", False),
                                             ("0", False), (None, None)])  # fmt: skip
def test_active(raw: str | None, active: bool | None) -> None:
    item, _ = check({**GOOD, "active": raw})
    assert item is not None
    assert item.active is active


def test_checked_refuses_a_bad_item_with_its_code() -> None:
    with pytest.raises(FacilityError, match=r"site 'F9'.*ward code"):
        checked(FacilityInput("F9", "Trạm", "ABC", FacilityKind.OTHER))
    assert checked(FacilityInput("F9", "Trạm", "4", "hospital", active=False)) == FacilityInput(
        "F9", "Trạm", "00004", FacilityKind.HOSPITAL, active=False
    )
