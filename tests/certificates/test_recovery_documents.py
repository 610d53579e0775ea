"""Recovery certificates as documents: the bilingual PDF (text, fonts, QR) and the FHIR document
Bundle around a Condition, built from fixed values (the store and API paths are in
test_recovery_api.py)."""

from __future__ import annotations

import dataclasses
import json
import random
import unicodedata
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition

from vaxlink.certificates.core.fhir import (
    CONDITION_CLINICAL,
    EXT_COUNTRY,
    Coding,
    DdccRecovery,
    build_recovery_bundle,
    recovery_bundle_json,
)
from vaxlink.certificates.errors import DocumentRenderError
from vaxlink.certificates.pdf import (
    RecoveryDisplay,
    render_certificate_html,
    render_certificate_pdf,
)
from vaxlink.certificates.qrimage import read_qr

from .test_pdf import BASE45, _run

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
UVCI = "URN:UVCI:01:VN:R7K2M9Q4P3T1X#B"
DISPLAY = RecoveryDisplay(
    name="Trần Thị Hằng",
    transliterated_name="TRAN<<THI<HANG",
    date_of_birth=date(1990, 7, 2),
    disease="COVID-19",
    first_positive=date(2025, 1, 10),
    country="Việt Nam (VN)",
    issuer="Bộ Y tế · Ministry of Health of Viet Nam",
    valid_from=date(2025, 1, 21),
    valid_until=date(2025, 7, 9),
    certificate_id=UVCI,
)
HC1 = "HC1:" + "".join(random.Random(11).choice(BASE45) for _ in range(540))
RECORD = DdccRecovery(
    name="Trần Thị Hằng",
    birth_date=date(1990, 7, 2),
    identifier="001090012345",
    identifier_system="urn:oid:2.16.704.1.1",
    disease=Coding("http://snomed.info/sct", "840539006", "COVID-19"),
    first_positive=date(2025, 1, 10),
    country="VNM",
    issuer="Bộ Y tế",
    valid_from=date(2025, 1, 21),
    valid_until=date(2025, 7, 9),
    certificate_id=UVCI,
)


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recovery-pdf") / "recovery.pdf"
    path.write_bytes(render_certificate_pdf(DISPLAY, HC1))
    return path


def test_recovery_pdf_prints_the_recovery_fields_in_both_languages(pdf_path: Path) -> None:
    info = _run("pdfinfo", str(pdf_path))
    assert "Pages:           1" in info
    text = unicodedata.normalize("NFC", _run("pdftotext", "-enc", "UTF-8", str(pdf_path), "-"))
    text = " ".join(text.split())  # labels wrap inside their table cell
    for expected in (
        "Giấy chứng nhận khỏi bệnh COVID-19", "COVID-19 Recovery Certificate",
        "Thông tin khỏi bệnh", "Recovery details",
        "Trần Thị Hằng", "TRAN<<THI<HANG", "1990-07-02",
        "Bệnh đã khỏi", "Disease or agent recovered from", "COVID-19",
        "Ngày xét nghiệm dương tính đầu tiên", "Date of first positive test result", "2025-01-10",
        "Quốc gia xét nghiệm", "Member State / country of test", "Việt Nam (VN)",
        "Đơn vị cấp", "Certificate issuer", "Bộ Y tế · Ministry of Health of Viet Nam",
        "Có giá trị từ ngày", "Certificate valid from", "2025-01-21",
        "Có giá trị đến ngày", "Certificate valid until", "2025-07-09",
        UVCI,
    ):  # fmt: skip
        assert expected in text, expected
    # nothing of the vaccination layout leaks into a recovery certificate
    for absent in ("tiêm chủng", "Vaccination", "Dose number"):
        assert absent not in text, absent


def test_recovery_pdf_embeds_the_fonts_and_its_qr_scans_back(
    pdf_path: Path, tmp_path: Path
) -> None:
    rows = _run("pdffonts", str(pdf_path)).splitlines()[2:]
    assert rows
    assert all("VaxlinkSans" in r and " yes yes yes " in r for r in rows), rows
    _run("pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf_path), str(tmp_path / "page"))
    assert read_qr(tmp_path / "page.png") == HC1


def test_recovery_fields_are_escaped_and_validity_is_checked() -> None:
    evil = dataclasses.replace(DISPLAY, issuer="<script>alert(1)</script>")
    html = render_certificate_html(evil, HC1)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    with pytest.raises(DocumentRenderError, match="end before it starts"):
        render_certificate_html(dataclasses.replace(DISPLAY, valid_until=date(2025, 1, 1)), HC1)


def _resources(text: str) -> dict[str, Any]:
    return {e["resource"]["resourceType"]: e["resource"] for e in json.loads(text)["entry"]}


def test_recovery_bundle_is_valid_fhir_with_a_resolved_condition() -> None:
    text = recovery_bundle_json(RECORD, now=NOW)
    parsed = Bundle.model_validate_json(text)  # the same R4B validation the vaccination uses
    assert parsed.type == "document"
    assert parsed.model_dump_json(indent=2) == text
    entries: list[Any] = parsed.entry or []
    condition = next(e.resource for e in entries if e.resource.get_resource_type() == "Condition")
    assert isinstance(condition, Condition)
    res = _resources(text)
    assert list(res) == ["Composition", "Patient", "Condition", "Organization"]
    cond, comp, patient = res["Condition"], res["Composition"], res["Patient"]
    assert cond["clinicalStatus"]["coding"] == [{"system": CONDITION_CLINICAL, "code": "resolved"}]
    assert cond["code"]["coding"][0]["code"] == "840539006"
    assert cond["onsetDateTime"] == "2025-01-10"
    assert {e["url"]: e["valueCode"] for e in cond["extension"]} == {EXT_COUNTRY: "VNM"}
    assert comp["event"] == [{"period": {"start": "2025-01-21", "end": "2025-07-09"}}]
    assert comp["identifier"]["value"] == UVCI
    assert json.loads(text)["identifier"]["value"] == UVCI
    assert patient["birthDate"] == "1990-07-02"
    assert res["Organization"]["name"] == "Bộ Y tế"


def test_recovery_bundle_references_resolve_and_are_stable() -> None:
    data = json.loads(recovery_bundle_json(RECORD, now=NOW))
    urls = {e["fullUrl"]: e["resource"]["resourceType"] for e in data["entry"]}
    res = {e["resource"]["resourceType"]: e["resource"] for e in data["entry"]}
    assert urls[res["Condition"]["subject"]["reference"]] == "Patient"
    assert urls[res["Composition"]["subject"]["reference"]] == "Patient"
    assert urls[res["Composition"]["author"][0]["reference"]] == "Organization"
    assert urls[res["Composition"]["section"][0]["entry"][0]["reference"]] == "Condition"
    assert recovery_bundle_json(RECORD, now=NOW) == recovery_bundle_json(RECORD, now=NOW)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"birth_date": "02/07/1990"}, "not valid FHIR"),
     ({"valid_until": date(2025, 1, 20)}, "end before it starts")],
)  # fmt: skip
def test_invalid_recoveries_are_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(DocumentRenderError, match=message):
        build_recovery_bundle(dataclasses.replace(RECORD, **change), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(DocumentRenderError, match="timezone"):
        build_recovery_bundle(RECORD, now=NOW.replace(tzinfo=None))
