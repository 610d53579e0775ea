"""Every CLI action that changes data is audited with the operator's identity (the OS user, and
`--by` when given), through auth's front door, without personal data; the chain stays intact."""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from vaxlink.auth import audit_cli
from vaxlink.auth import cli as users_cli
from vaxlink.auth.audit import PERSONAL_KEYS
from vaxlink.auth.models import AuditEntry
from vaxlink.certificates.cli.app import app as certificates_cli
from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.facilities.cli import app as facilities_cli
from vaxlink.feedback.cli import app as feedback_cli
from vaxlink.records.cli import app as records_cli
from vaxlink.registry.cli import app as registry_cli
from vaxlink.settings import get_settings
from vaxlink.synth import generate, write

OPERATOR = f"cli:{getpass.getuser()}"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    monkeypatch.setenv("VAXLINK_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("VAXLINK_OPERATOR", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def _entries(url: str) -> list[tuple[str, str, str, dict[str, object]]]:
    engine = make_engine(url)
    try:
        with transaction(engine) as s:
            rows = s.execute(select(AuditEntry.action, AuditEntry.object_type,
                                    AuditEntry.object_id, AuditEntry.detail)
                             .order_by(AuditEntry.seq)).all()  # fmt: skip
    finally:
        engine.dispose()
    return [(a, t, i, json.loads(d)) for a, t, i, d in rows]


def _keys(value: object) -> set[str]:
    if isinstance(value, dict):
        return {str(k).lower() for k in value} | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


def test_data_changing_commands_are_audited_with_the_operator(store: str, tmp_path: Path) -> None:
    paths = write(generate(60, seed=3), tmp_path / "synth")
    runner = CliRunner()

    def run(app: object, *args: str, input: str | None = None) -> None:
        result = runner.invoke(app, list(args), input=input)  # type: ignore[arg-type]
        assert result.exit_code in (0, 5), (args, result.output, result.exception)

    run(registry_cli, "load", str(paths["registry"]))
    run(records_cli, str(paths["doses"]))  # its one command: Typer runs it without a name
    run(facilities_cli, "import", str(paths["facilities"]))
    run(users_cli.app, "create", "hs.phucxa", "--role", "health_station", "--unit", "ward:00001",
        "--password-stdin", input="a-long-enough-secret-9\n")  # fmt: skip
    run(feedback_cli, "escalate")
    run(certificates_cli, "api-client", "add", "VNeID", "--by", "tester")

    entries = _entries(store)
    by_action = {action: (otype, oid, detail) for action, otype, oid, detail in entries}
    for action in ("registry.load", "records.import", "facilities.import", "users.create",
                   "feedback.escalate", "certificates.api_client_add"):  # fmt: skip
        assert action in by_action, (action, [e[0] for e in entries])
        assert by_action[action][2]["operator"].startswith(OPERATOR)
    assert by_action["certificates.api_client_add"][2]["operator"] == f"{OPERATOR} as tester"
    imported = by_action["records.import"][2]
    assert imported["rows_read"] == imported["imported"] + imported["quarantined"] > 0
    for _action, _otype, oid, detail in entries:  # ids and counts, never personal data
        assert not _keys(detail) & PERSONAL_KEYS
        assert not (oid.isdigit() and len(oid) in (9, 12)), oid  # no CCCD/CMND as the object

    verified = runner.invoke(audit_cli.app, ["verify"])
    assert verified.exit_code == 0, verified.output
    assert f"{len(entries)} entries" in verified.output


def _commands(app: object, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every command path of a Typer app (sub-apps included)."""
    group = typer.main.get_command(app)  # type: ignore[arg-type]
    out: set[tuple[str, ...]] = set()

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        if hasattr(cmd, "commands"):  # a group (Typer's or click's)
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
        else:
            out.add(path)

    walk(group, prefix)
    return out


#: Commands that change nothing (they read the store, a key directory or a file).
READ_ONLY: frozenset[tuple[str, ...]] = frozenset({
    ("certificates", "verify"), ("certificates", "conformance"),
    ("certificates", "check-approvals"), ("keys", "list"), ("certificates", "api-client", "list"),
})  # fmt: skip


#: Data-changing commands whose audit entry is checked by another test (it needs a PKCS#11 token).
WALKED_ELSEWHERE = frozenset({
    ("keys", "issue-facility-token"),  # tests/certificates/test_facility_key_token.py
    ("keys", "issue-district-token"),  # tests/certificates/test_district_approval_token.py
    # a job: each delivered batch is audited as `certificates.client.push` (needs a receiver)
    ("certificates", "push"),  # tests/certificates/test_partner_cli.py, test_partner_delivery.py
})


def test_every_certificate_and_key_command_is_audited_with_the_operator(
    store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walk every data-changing `certificates …` and `keys …` command (a new command that is
    neither walked here nor read-only fails this test): each writes its audit entry, with the
    operator, in an intact chain."""
    from sqlalchemy import text

    from vaxlink.certificates.cli.keys import app as keys_cli
    from vaxlink.clock import SystemClock
    from vaxlink.linkage.store_cli import verify as link_verify

    monkeypatch.setenv("VAXLINK_CSCA_PASSPHRASE", "a long CSCA passphrase 42")
    monkeypatch.setenv("VAXLINK_UVCI_SECRET", "a secret only the issuer knows, 32 bytes+")
    paths = write(generate(40, seed=5), tmp_path / "synth")
    runner = CliRunner()
    walked: dict[tuple[str, ...], str] = {}

    def run(app: object, *args: str, action: str | None = None) -> str:
        result = runner.invoke(app, list(args))  # type: ignore[arg-type]
        assert result.exit_code in (0, 5), (args, result.output, result.exception)
        if action is not None:
            prefix = ("keys",) if app is keys_cli else ("certificates",)
            path = tuple(a for a in args if not a.startswith("-"))[: 2 if args[0] in
                                                                   ("recovery", "api-client") else 1]  # fmt: skip
            walked[(*prefix, *path)] = action
        return result.output

    linker = typer.Typer()
    linker.command()(link_verify)
    run(registry_cli, "load", str(paths["registry"]))
    run(records_cli, str(paths["doses"]))
    run(facilities_cli, "import", str(paths["facilities"]))
    run(linker)
    engine = make_engine(store)
    with transaction(engine) as s:
        site = s.execute(text("SELECT facility_code, count(*) FROM dose_record WHERE status IN "
                              "('verified', 'auto_linked') GROUP BY facility_code "
                              "ORDER BY 2 DESC")).first()  # fmt: skip
        person = s.scalar(text("SELECT citizen_id FROM citizen ORDER BY citizen_id"))
    assert site is not None, "linkage verified no dose"

    run(keys_cli, "init-csca", "--country", "VN", "--organization", "Bộ Y tế",
        action="keys.init_csca")  # fmt: skip
    run(keys_cli, "issue-dsc", "--name", "DSC 1", "--type", "v", "--type", "r",
        action="keys.issue_dsc")  # fmt: skip
    # the site's two approver accounts, each with a signing passphrase in a private file
    secrets = {}
    legacy_site = "LEGACY01"  # a site whose key predates wrapping (a plain file)
    for name, phrase, code in (("duyet.site", "amber lantern 42 quiet harbour", site[0]),
                               ("pho.site", "violet kettle 19 silent meadow", site[0]),
                               ("old.site", "copper willow 77 distant bell", legacy_site)):  # fmt: skip
        result = runner.invoke(users_cli.app, ["create", name, "--role", "site_approver",
                                               "--unit", "province:01", "--facility", code,
                                               "--password-stdin"],
                               input="a-long-enough-secret-9\n")  # fmt: skip
        assert result.exit_code == 0, (result.output, result.exception)
        secrets[name] = tmp_path / f"{name}.txt"
        secrets[name].write_text(phrase + "\n")
        secrets[name].chmod(0o600)
    run(keys_cli, "issue-facility", "--code", site[0], "--name", "Trạm", "--approver",
        "duyet.site", "--passphrase-file", str(secrets["duyet.site"]),
        action="keys.issue_facility")  # fmt: skip
    run(keys_cli, "grant-facility", "--code", site[0], "--holder", "duyet.site",
        "--holder-passphrase-file", str(secrets["duyet.site"]), "--approver", "pho.site",
        "--passphrase-file", str(secrets["pho.site"]), action="keys.grant_facility")  # fmt: skip
    run(keys_cli, "revoke-facility-approver", "--code", site[0], "--approver", "pho.site",
        action="keys.revoke_facility_approver")  # fmt: skip
    # a plain key from before wrapping: wrapped for its approver, the plain file deleted
    from cryptography.hazmat.primitives import serialization

    from vaxlink.certificates.keys.hierarchy import create_facility_signer
    from vaxlink.certificates.keys.store import KeyStore, Role

    store_keys = KeyStore(tmp_path / "var" / "keys")
    legacy = create_facility_signer(store_keys.latest(Role.CSCA, passphrase=b"a long CSCA passphrase 42"),
                                    facility_code=legacy_site, facility_name="Trạm cũ",
                                    now=SystemClock().now())  # fmt: skip
    store_keys.save_certificate(Role.FACILITY, legacy.certificate)
    plain = store_keys.directory / "facility" / f"{legacy.kid.hex()}.key.pem"
    plain.write_bytes(legacy.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    plain.chmod(0o600)
    run(keys_cli, "wrap-facility", "--kid", legacy.kid.hex(), "--approver", "old.site",
        "--passphrase-file", str(secrets["old.site"]), action="keys.wrap_facility")  # fmt: skip
    run(certificates_cli, "approve", "--facility", site[0], "--approver", "duyet.site",
        "--passphrase-file", str(secrets["duyet.site"]), action="certificates.approve")  # fmt: skip
    # the district health centre of the most vaccinated district signs its residents' list
    with transaction(engine) as s:
        district = s.scalar(text("SELECT c.district_code FROM citizen c JOIN dose_record d ON "
                                 "d.citizen_id = c.citizen_id WHERE c.district_code IS NOT NULL "
                                 "GROUP BY c.district_code ORDER BY count(*) DESC"))  # fmt: skip
    assert district is not None
    for name, phrase in (("ttyt.one", "saffron quay 58 hollow lantern"),
                         ("ttyt.two", "cobalt orchard 31 gentle ferry")):  # fmt: skip
        result = runner.invoke(users_cli.app, ["create", name, "--role", "district_health",
                                               "--unit", f"district:{district}",
                                               "--password-stdin"],
                               input="a-long-enough-secret-9\n")  # fmt: skip
        assert result.exit_code == 0, (result.output, result.exception)
        secrets[name] = tmp_path / f"{name}.txt"
        secrets[name].write_text(phrase + "\n")
        secrets[name].chmod(0o600)
    run(keys_cli, "issue-district", "--code", district, "--name", "TTYT", "--approver",
        "ttyt.one", "--passphrase-file", str(secrets["ttyt.one"]),
        action="keys.issue_district")  # fmt: skip
    run(keys_cli, "grant-district", "--code", district, "--holder", "ttyt.one",
        "--holder-passphrase-file", str(secrets["ttyt.one"]), "--approver", "ttyt.two",
        "--passphrase-file", str(secrets["ttyt.two"]), action="keys.grant_district")  # fmt: skip
    out = run(certificates_cli, "district-approve", "--district", district, "--approver",
              "ttyt.two", "--passphrase-file", str(secrets["ttyt.two"]),
              action="certificates.district_approve")  # fmt: skip
    assert f"district {district}" in out
    out = run(certificates_cli, "issue", "--by", "tester", action="certificates.issue")
    assert "certificates issued" in out
    with transaction(engine) as s:
        uvci, kid = s.execute(text("SELECT uvci, kid FROM certificate WHERE status = 'active' "
                                   "ORDER BY id")).first() or (None, None)  # fmt: skip
    assert uvci is not None, out
    run(certificates_cli, "revoke", uvci, "--reason", "reported lost", action="certificates.revoke")
    run(certificates_cli, "renew", "--within-days", "400", action="certificates.renew")
    run(certificates_cli, "reissue-changed", action="certificates.reissue_changed")
    run(keys_cli, "rotate-dsc", "--name", "DSC 2", "--type", "v", "--type", "r",
        action="keys.rotate_dsc")  # fmt: skip
    run(certificates_cli, "dsc-report", kid, "--reissue", action="certificates.reissue_for_dsc")
    run(keys_cli, "revoke-dsc", kid, action="keys.revoke_dsc")
    run(keys_cli, "trust-list", "--out", str(tmp_path / "published"), action="keys.trust_list")
    first_positive = (SystemClock().today() - dt.timedelta(days=20)).isoformat()
    run(certificates_cli, "recovery", "add", "--citizen-id", str(person), "--first-positive",
        first_positive, "--station", "TYT-00001", action="certificates.recovery_add")  # fmt: skip
    run(certificates_cli, "api-client", "add", "VNeID", action="certificates.api_client_add")
    run(certificates_cli, "api-client", "rotate", "VNeID", "--by", "tester",
        action="certificates.api_client_rotate")  # fmt: skip
    run(certificates_cli, "api-client", "revoke", "VNeID", "--by", "tester",
        action="certificates.api_client_revoke")  # fmt: skip
    engine.dispose()

    every = _commands(certificates_cli, ("certificates",)) | _commands(keys_cli, ("keys",))
    assert every - READ_ONLY - WALKED_ELSEWHERE == set(walked), sorted(
        (every - READ_ONLY - WALKED_ELSEWHERE) ^ set(walked))
    entries = _entries(store)
    actions = [a for a, _t, _i, _d in entries]
    for path, action in walked.items():
        assert action in actions, (path, action, actions)
    with transaction(make_engine(store)) as s:
        actors = set(s.scalars(select(AuditEntry.actor_id).where(
            AuditEntry.action.in_(set(walked.values())))))  # fmt: skip
    assert actors == {None}  # the CLI: no web account; the operator is named in the entry
    for action, _otype, _oid, detail in entries:
        if action in walked.values():
            assert str(detail["operator"]).startswith(OPERATOR), (action, detail)
        assert not _keys(detail) & PERSONAL_KEYS
    verified = runner.invoke(audit_cli.app, ["verify"])
    assert verified.exit_code == 0, verified.output


def test_installing_a_translation_is_audited_with_the_operator(store: str, tmp_path: Path) -> None:
    """`vaxlink i18n import-po --install` changes what every page and output says: audited as
    `i18n.install` with the operator, the file's digest and the keys it changes."""
    from vaxlink import catalogue
    from vaxlink.web import po
    from vaxlink.web.i18n_cli import app as i18n_cli

    _vi, en = po.export_po(tmp_path / "po")
    text = en.read_text(encoding="utf-8").replace(
        'msgstr "Log in"', 'msgstr "Sign in"', 1)  # fmt: skip
    assert text != en.read_text(encoding="utf-8")
    edited = tmp_path / "en-edited.po"
    edited.write_text(text, encoding="utf-8")
    try:
        result = CliRunner().invoke(i18n_cli, ["import-po", str(edited), "--install"])
    finally:
        catalogue.install({})
    assert result.exit_code == 0, (result.output, result.exception)
    (_action, otype, oid, detail), = [e for e in _entries(store) if e[0] == "i18n.install"]
    assert (otype, oid) == ("translation", "en")
    assert detail["operator"] == OPERATOR
    assert detail["changed"] >= 1
    assert not _keys(detail) & PERSONAL_KEYS
    assert (tmp_path / "var" / "locale" / "en.po").read_text(encoding="utf-8") == text
    verified = CliRunner().invoke(audit_cli.app, ["verify"])
    assert verified.exit_code == 0, verified.output
