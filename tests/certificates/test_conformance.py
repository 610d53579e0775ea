"""`vaxlink certificates conformance` over the public EU test cases, and `… verify` on text and images."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from vaxlink.certificates.cli.app import app
from vaxlink.certificates.core import hc1
from vaxlink.certificates.core.conformance import KnownIssues, run
from vaxlink.certificates.core.issue import issue
from vaxlink.certificates.core.payload import vaccination_payload
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.keys.pem import PemSigner
from vaxlink.certificates.qrimage import qr_png

REPO = Path(__file__).resolve().parents[2]
KNOWN_ISSUES = REPO / "docs" / "dcc-conformance-known-issues.txt"
runner = CliRunner()


@pytest.fixture(scope="module")
def public_cases(dcc_public: Path) -> Path:
    return dcc_public


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_every_public_case_meets_its_expectations_or_is_a_documented_known_issue(
    public_cases: Path,
) -> None:
    result = runner.invoke(
        app, ["conformance", str(public_cases), "--json", "--known-issues", str(KNOWN_ISSUES)]
    )
    assert result.exit_code == 0, result.stdout[-3000:] + result.stderr
    lines = _lines(result.stdout)
    files = sorted(public_cases.rglob("*.json"))
    assert len(lines) == len(files) == 464
    assert {line["case"] for line in lines} == {
        p.relative_to(public_cases).as_posix() for p in files
    }
    for line in lines:
        expected = json.loads((public_cases / line["case"]).read_text(encoding="utf-8"))[
            "EXPECTEDRESULTS"
        ]
        assert list(line["steps"]) == list(expected)  # every EXPECTED… key the case carries
        for name, step in line["steps"].items():
            assert step["expected"] == expected[name]
        assert line["ok"] or line.get("known_issue")
    assert sum(line["ok"] for line in lines) >= 270
    assert "464 cases" in result.stderr
    assert "0 failed" in result.stderr
    assert "no longer fails" not in result.stderr  # the known-issue list has no stale entries


def test_without_the_known_issues_the_run_fails(public_cases: Path) -> None:
    result = runner.invoke(app, ["conformance", str(public_cases / "ES"), "--json"])
    assert result.exit_code == 1
    failed = {line["case"] for line in _lines(result.stdout) if not line["ok"]}
    assert "2DCode/raw/401.json" in failed


def test_every_known_issue_carries_a_reason() -> None:
    entries = [
        line
        for line in KNOWN_ISSUES.read_text(encoding="utf-8").splitlines()
        if line and line[0] != "#"
    ]
    assert entries
    for line in entries:
        entry, _, reason = line.partition("#")
        assert len(reason.strip()) > 20, line
        assert ":EXPECTED" in entry or ":EXPTECTED" in entry, line


def test_known_issue_syntax() -> None:
    known = KnownIssues.parse(
        "# comment\n\nA/1.json  # whole case\nB/2.json:EXPECTEDVERIFY # one step\n"
    )
    assert known.covers("A/1.json")
    assert known.covers("A/1.json", "EXPECTEDDECODE")
    assert known.covers("B/2.json", "EXPECTEDVERIFY")
    assert not known.covers("B/2.json")
    assert not known.covers("B/2.json", "EXPECTEDDECODE")


# --- a case built from a vaxlink certificate -------------------------------------------------------
@pytest.fixture(scope="module")
def issued() -> tuple[str, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.COMMON_NAME, "DSC"),
        ]
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(3)
        .not_valid_before(datetime(2021, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2031, 1, 1, tzinfo=UTC))
        .add_extension(
            x509.ExtendedKeyUsage([x509.ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.2")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    payload = vaccination_payload(
        family_name="Hoàng",
        given_name="Mai",
        date_of_birth="1999-09-09",
        product="EU/1/20/1528",
        manufacturer="ORG-100030215",
        prophylaxis="1119349007",
        dose_number=1,
        total_doses=2,
        vaccination_date="2021-10-01",
        uvci=uvci_from_seed("conformance"),
        issuer="Ministry of Health of Viet Nam",
    )
    text = issue(
        payload,
        PemSigner(key, certificate),
        issuer="VN",
        issued_at=datetime(2021, 10, 2, tzinfo=UTC),
    ).hc1
    return text, certificate


def _case(text: str, certificate: x509.Certificate, **changes: Any) -> dict[str, Any]:
    cose = hc1.decode(text)
    claims = cbor2.loads(cbor2.loads(cose).value[2])
    steps = ["EXPECTEDVALIDOBJECT", "EXPECTEDSCHEMAVALIDATION", "EXPECTEDENCODE", "EXPECTEDDECODE",
             "EXPECTEDVERIFY", "EXPECTEDUNPREFIX", "EXPECTEDVALIDJSON", "EXPECTEDCOMPRESSION",
             "EXPECTEDB45DECODE", "EXPECTEDPICTUREDECODE", "EXPECTEDEXPIRATIONCHECK", "EXPECTEDKEYUSAGE"]  # fmt: skip
    case = {
        "JSON": claims[-260][1],
        "CBOR": cbor2.dumps(claims[-260][1]).hex(),
        "COSE": cose.hex(),
        "COMPRESSED": hc1.b45decode(text[4:]).hex(),
        "BASE45": text[4:],
        "PREFIX": text,
        "2DCODE": base64.b64encode(qr_png(text)).decode(),
        "TESTCTX": {
            "VERSION": 1,
            "SCHEMA": "1.3.0",
            "CERTIFICATE": base64.b64encode(
                certificate.public_bytes(serialization.Encoding.DER)
            ).decode(),
            "VALIDATIONCLOCK": "2022-01-01T00:00:00Z",
        },
        "EXPECTEDRESULTS": dict.fromkeys(steps, True),
    }
    for key, value in changes.items():
        if key.startswith("EXPECTED"):
            case["EXPECTEDRESULTS"][key] = value
        elif value is None:
            del case[key]
        else:
            case[key] = value
    return case


def _run_one(tmp_path: Path, case: dict[str, Any]) -> dict[str, Any]:
    folder = tmp_path / "VN" / "2DCode" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "1.json").write_text(json.dumps(case), encoding="utf-8")
    [outcome] = list(run(tmp_path, now=datetime.now(UTC)))
    line = outcome.to_json()
    return {name: step["actual"] for name, step in line["steps"].items()}


def test_a_vaxlink_certificate_meets_every_expectation(
    tmp_path: Path, issued: tuple[str, x509.Certificate]
) -> None:
    actual = _run_one(tmp_path, _case(*issued))
    assert actual == dict.fromkeys(actual, True)
    assert len(actual) == 12


def test_derived_stages_are_used_when_a_case_leaves_them_out(
    tmp_path: Path, issued: tuple[str, x509.Certificate]
) -> None:
    actual = _run_one(tmp_path, _case(*issued, COSE=None, COMPRESSED=None, BASE45=None))
    assert all(actual.values()), actual


@pytest.mark.parametrize(
    ("changes", "step"),
    [
        ({"PREFIX": "HC2:ABC"}, "EXPECTEDUNPREFIX"),
        ({"BASE45": "GGW"}, "EXPECTEDB45DECODE"),
        ({"COMPRESSED": "00ff"}, "EXPECTEDCOMPRESSION"),
        ({"JSON": {"ver": "1.3.0"}}, "EXPECTEDDECODE"),
        ({"TESTCTX": {"CERTIFICATE": "bm90IGEgY2VydA=="}}, "EXPECTEDVERIFY"),
        ({"TESTCTX": {"VALIDATIONCLOCK": "2031-01-01T00:00:00+0700"}}, "EXPECTEDEXPIRATIONCHECK"),
        ({"2DCODE": base64.b64encode(qr_png("HC1:OTHER")).decode()}, "EXPECTEDPICTUREDECODE"),
    ],
)
def test_each_step_can_fail(
    tmp_path: Path, issued: tuple[str, x509.Certificate], changes: dict[str, Any], step: str
) -> None:
    case = _case(*issued)
    for key, value in changes.items():
        case[key] = {**case[key], **value} if key == "TESTCTX" else value
    assert _run_one(tmp_path, case)[step] is False


def test_unreadable_cases_and_unknown_steps_are_failures(tmp_path: Path) -> None:
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "broken.json").write_text("{", encoding="utf-8")
    (tmp_path / "odd.json").write_text(json.dumps({"EXPECTEDRESULTS": {"EXPECTEDTELEPATHY": True}}))
    result = runner.invoke(app, ["conformance", str(tmp_path), "--json"])
    assert result.exit_code == 1
    lines = {line["case"]: line for line in _lines(result.stdout)}
    assert set(lines) == {"deep/er/broken.json", "odd.json"}
    assert "unreadable" in lines["deep/er/broken.json"]["error"]
    assert lines["odd.json"]["steps"]["EXPECTEDTELEPATHY"]["actual"] is None
    known = tmp_path.parent / f"{tmp_path.name}-known.txt"
    known.write_text(
        "deep/er/broken.json  # broken on purpose\nodd.json:EXPECTEDTELEPATHY  # no such step\n"
    )
    ok = runner.invoke(app, ["conformance", str(tmp_path), "--json", "--known-issues", str(known)])
    assert ok.exit_code == 0
    assert all(line.get("known_issue") for line in _lines(ok.stdout))


# --- verify ------------------------------------------------------------------------------------
def test_verify_command_reads_text_files_and_images(
    tmp_path: Path, issued: tuple[str, x509.Certificate]
) -> None:
    text, certificate = issued
    pem = tmp_path / "dsc.pem"
    pem.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "code.txt").write_text(text + "\n", encoding="utf-8")
    (tmp_path / "code.png").write_bytes(qr_png(text))
    for source in (text, str(tmp_path / "code.txt"), str(tmp_path / "code.png")):
        result = runner.invoke(
            app,
            ["verify", source, "--trust", str(pem), "--clock", "2022-01-01T00:00:00Z", "--json"],
        )
        assert result.exit_code == 0, result.output
        shown = json.loads(result.stdout)
        assert shown["valid"] is True
        assert len(shown["fields"]) == 11
    expired = runner.invoke(
        app, ["verify", text, "--trust", str(pem), "--clock", "2030-01-01T00:00:00Z"]
    )
    assert expired.exit_code == 1
    assert "expired" in expired.stdout
    revoked = tmp_path / "revoked.txt"
    revoked.write_text(uvci_from_seed("conformance") + "\n")
    result = runner.invoke(app, ["verify", text, "--trust", str(pem), "--clock", "2022-01-01T00:00:00Z",
                                 "--revoked", str(revoked), "--json"])  # fmt: skip
    assert result.exit_code == 1
    assert json.loads(result.stdout)["failure"]["code"] == "revoked"


def test_the_root_cli_mounts_the_certificates_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vaxlink.cli", "certificates", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "conformance" in result.stdout
    assert "verify" in result.stdout


def test_key_usages_of_dscs_that_strict_parsers_refuse(public_cases: Path) -> None:
    from vaxlink.certificates.core.dsc import _lenient_key_usages, dsc_profile

    certificates = {}
    for path in public_cases.rglob("*.json"):
        encoded = json.loads(path.read_text(encoding="utf-8")).get("TESTCTX", {}).get("CERTIFICATE")
        if encoded:
            certificates[encoded] = x509.load_der_x509_certificate(base64.b64decode(encoded))
    strict_refused = 0
    for certificate in certificates.values():
        lenient = _lenient_key_usages(certificate.tbs_certificate_bytes)
        try:
            eku = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            assert lenient is None
        except ValueError:  # FI (explicit DEFAULT) and CO15 (empty EKU)
            strict_refused += 1
            assert lenient is not None
            dsc_profile(certificate)  # readable through the lenient path
        else:
            assert lenient == [oid.dotted_string for oid in eku]
    assert strict_refused >= 2
