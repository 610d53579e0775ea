"""`vaxlink certificates …`: approve, issue, renew, revoke and verify certificates. Thin commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from cryptography import x509
from rich.console import Console
from rich.table import Table

from vaxlink.certificates.core import conformance
from vaxlink.certificates.core.verify import InMemoryRevocationList, InMemoryTrustList, verify
from vaxlink.certificates.issuance.lifecycle import DscReport, LifecycleReport, Mode
from vaxlink.certificates.keys.hierarchy import KeyPair
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.models import CertificateKind
from vaxlink.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from vaxlink.settings import Settings

app = typer.Typer(
    name="certificates",
    help="EU Digital COVID Certificates: approve records, issue, renew, revoke and verify them.",
    no_args_is_help=True,
)

_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")


def _read_source(source: str) -> str:
    """The text of a file (plain text, or a QR image), else `source` itself as certificate text."""
    path = Path(source)
    if source.startswith("HC1:") or not path.is_file():
        return source  # verification reports a malformed text as a structured failure
    data = path.read_bytes()
    if data.startswith(_IMAGE_MAGIC):
        from vaxlink.certificates.qrimage import read_qr

        return read_qr(data)
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{source} is neither UTF-8 text nor a PNG/JPEG/GIF/BMP/WebP image"
        ) from exc


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc


def _load_certificates(paths: list[Path]) -> list[x509.Certificate]:
    certificates: list[x509.Certificate] = []
    for path in paths:
        try:
            data = path.read_bytes()
            if b"-----BEGIN CERTIFICATE-----" in data:
                certificates.extend(x509.load_pem_x509_certificates(data))
            else:
                certificates.append(x509.load_der_x509_certificate(data))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"cannot read a certificate from {path}: {exc}") from exc
    return certificates


def _clock(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        return conformance.parse_instant(text)
    except ValueError as exc:
        raise InvalidInput(f"--clock {text!r} is not an ISO 8601 instant") from exc


@app.command("verify")
def verify_command(
    source: Annotated[
        str, typer.Argument(help="HC1 text, or a file holding HC1 text or a QR image.")
    ],
    trust: Annotated[
        list[Path],
        typer.Option("--trust", "-t", help="Trusted DSC certificate (PEM or DER)."),
    ],
    clock: Annotated[str | None, typer.Option(help="Verify at this ISO 8601 instant.")] = None,
    revoked: Annotated[
        Path | None, typer.Option(help="File of revoked certificate ids (UVCI), one a line.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify one certificate and print the structured result; exit 1 when it is not valid."""
    text = _read_source(source)
    revocation = None
    if revoked is not None:
        lines = _read_text(revoked).splitlines()
        revocation = InMemoryRevocationList(line.strip() for line in lines if line.strip())
    trust_list = InMemoryTrustList(_load_certificates(trust))
    result = verify(text, trust_list, clock=_clock(clock), revocation=revocation)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        console = Console()
        if result.valid:
            console.print("[bold green]VALID[/]")
        else:
            assert result.failure is not None
            console.print(
                f"[bold red]NOT VALID[/] at step {result.failed_step}: "
                f"{result.failure.message} ({result.failure.code})",
                highlight=False,
            )
        if result.fields and not result.authentic:
            console.print("[yellow]The signature was not verified: these fields are not proof.[/]")
        if result.fields:
            table = Table(show_header=False)
            for item in result.fields:
                table.add_row(item.label, item.value)
            console.print(table)
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if not result.valid:
        raise typer.Exit(1)


@app.command("conformance")
def conformance_command(
    directory: Annotated[
        Path, typer.Argument(help="Folder of EU DCC test cases (*.json, any depth).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per case.")] = False,
    known_issues: Annotated[
        Path | None,
        typer.Option(help="Lines '<case>' or '<case>:<STEP>' expected to disagree ('#' comments)."),
    ] = None,
) -> None:
    """Run every case and report each expectation; exit 0 only when all are met or known."""
    if not directory.is_dir() or not conformance.find_cases(directory):
        raise InvalidInput(f"{directory} is not a folder with *.json test cases")
    known = conformance.KnownIssues()
    if known_issues is not None:
        known = conformance.KnownIssues.parse(_read_text(known_issues))
    outcomes = []
    for outcome in conformance.run(directory, known):
        outcomes.append(outcome)
        if as_json:
            typer.echo(json.dumps(outcome.to_json(), ensure_ascii=False))
        elif outcome.counts:
            typer.echo(f"FAIL {outcome.case}: {_misses(outcome)}")
    failed = sum(o.counts for o in outcomes)
    known_count = sum(not o.ok and o.known_issue for o in outcomes)
    err = Console(stderr=True)
    err.print(
        f"{len(outcomes)} cases: {sum(o.ok for o in outcomes)} met every expectation, "
        f"{known_count} known issues, {failed} failed",
        highlight=False,
    )
    for entry in conformance.stale_known_issues(outcomes, known):
        err.print(f"[yellow]known issue no longer fails:[/] {entry}", highlight=False)
    if failed:
        raise typer.Exit(1)


def _misses(outcome: conformance.CaseOutcome) -> str:
    if outcome.error:
        return outcome.error
    return "; ".join(
        f"{name} expected {step.expected}, got {step.actual} ({step.detail})"
        for name, step in outcome.steps.items()
        if not step.met and not step.known_issue
    )


# --- Over the store: approval, issuance, life cycle, recoveries, client applications. ---------

KeyDir = Annotated[
    Path | None,
    typer.Option("--key-dir", help="Key directory (default: <data_dir>/keys).", show_default=False),
]
By = Annotated[
    str,
    typer.Option(
        "--by", envvar="VAXLINK_OPERATOR", help="Who does this (kept on every row written)."
    ),
]
ChunkSize = Annotated[int, typer.Option(min=1, help="People per committed chunk.")]
recovery_app = typer.Typer(help="Recoveries from COVID-19 entered by commune health stations.")
client_app = typer.Typer(help="Citizen applications allowed to fetch certificates.")
app.add_typer(recovery_app, name="recovery")
app.add_typer(client_app, name="api-client")


def _operator() -> str:
    import getpass

    return getpass.getuser()


def _settings() -> Settings:
    from vaxlink.settings import get_settings

    return get_settings()


@contextmanager
def _engine() -> Iterator[Engine]:
    """The configured store, migrated, disposed of when the command ends."""
    from vaxlink.db import engine_from_settings

    engine = engine_from_settings(_settings())
    try:
        yield engine
    finally:
        engine.dispose()


def _key_store(key_dir: Path | None) -> KeyStore:
    return KeyStore(key_dir or _settings().data_dir / "keys")


def _dsc(store: KeyStore) -> KeyPair:
    """The active DSC (its key may be encrypted: VAXLINK_DSC_PASSPHRASE)."""
    import os

    passphrase = os.environ.get("VAXLINK_DSC_PASSPHRASE")
    return store.load(
        Role.DSC, store.active_dsc_kid(), passphrase=passphrase.encode() if passphrase else None
    )


def _issuing() -> tuple[str, bytes | None]:
    """(issuer name, UVCI key) from the settings."""
    from vaxlink.certificates.issuance.batch import uvci_key_from_secret

    settings = _settings()
    secret = settings.uvci_secret.get_secret_value() if settings.uvci_secret else None
    return settings.certificate_issuer, uvci_key_from_secret(secret)


@contextmanager
def _progress(description: str) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on stderr; yields the callback the batch reports to."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=max(total, done))

        yield update


def _counts(title: str, rows: Iterable[tuple[str, object]]) -> None:
    table = Table(title=title, show_header=False)
    for label, value in rows:
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    Console().print(table)


def _lifecycle_summary(title: str, report: LifecycleReport) -> None:
    rows: list[tuple[str, object]] = [
        ("active certificates checked", report.checked),
        ("unchanged", report.unchanged),
        ("revoked (on the revocation list)", report.revoked),
        ("superseded", report.superseded),
        ("new certificates issued", report.issued),
    ]
    if report.mode is Mode.RENEW:
        rows.append(("marked expired", report.expired))
    rows += [(f"left as is: {k}", v) for k, v in sorted(report.skipped.items())]
    rows.append(("seconds", f"{report.seconds:.1f}"))
    _counts(title, rows)


@app.command("approve")
def approve_command(
    facility: Annotated[str, typer.Option("--facility", help="Facility (vaccination site) code.")],
    approver: Annotated[str, typer.Option("--approver", help="Name of the approving official.")],
    note: Annotated[str | None, typer.Option(help="Why, or which session this is.")] = None,
    key_dir: KeyDir = None,
) -> None:
    """Sign the facility's verified records not yet approved in their current form."""
    from vaxlink.certificates.approval.manifest import approve_records, facility_signer
    from vaxlink.db import transaction

    now = datetime.now(UTC)
    signer = facility_signer(_key_store(key_dir), facility, now)
    with _engine() as engine, transaction(engine) as session:
        result = approve_records(
            session, signer, facility_code=facility, approver=approver, now=now, note=note
        )
    if result.approval_id is None:
        Console().print(f"Nothing to approve at {facility}: every verified record is approved.")
        return
    Console().print(
        f"Approval #{result.approval_id}: {result.record_count:,} record(s) of {facility} "
        f"signed by {approver}; manifest SHA-256 {result.manifest_digest}",
        highlight=False,
    )


@app.command("issue")
def issue_command(
    kind: Annotated[
        list[CertificateKind] | None,
        typer.Option("--kind", help="v (vaccination), r (recovery); default both."),
    ] = None,
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
) -> None:
    """Issue certificates to everyone ready who has none, in committed chunks (safe to re-run)."""
    from vaxlink.certificates.issuance.batch import issue_batch

    signer, (name, key) = _dsc(_key_store(key_dir)), _issuing()
    for k in kind or list(CertificateKind):
        label = "vaccination" if k is CertificateKind.VACCINATION else "recovery"
        with _engine() as engine, _progress(f"Issuing {label} certificates") as on_progress:
            report = issue_batch(
                engine, signer, kind=k, by=by or _operator(), chunk_size=chunk_size,
                on_progress=on_progress, issuer_name=name, uvci_key=key,
            )  # fmt: skip
        rate = report.issued / report.seconds if report.seconds else 0.0
        rows: list[tuple[str, object]] = [
            ("people with records", report.looked_at),
            ("already holding an active certificate", report.already_active),
            ("certificates issued", report.issued),
        ]
        rows += [(f"not issued: {r}", n) for r, n in sorted(report.skipped.items())]
        rows += [("seconds", f"{report.seconds:.1f}"), ("per second", f"{rate:,.0f}")]
        _counts(f"{label} certificates", rows)


@app.command("renew")
def renew_command(
    within_days: Annotated[int, typer.Option(min=1, help="Renew what expires within this.")] = 30,
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
) -> None:
    """Renew certificates that expire soon (the old ones become superseded, not revoked)."""
    from vaxlink.certificates.issuance.lifecycle import renew_expiring

    signer, (name, key) = _dsc(_key_store(key_dir)), _issuing()
    with _engine() as engine, _progress("Renewing certificates") as on_progress:
        report = renew_expiring(
            engine, signer, within_days=within_days, by=by or _operator(), chunk_size=chunk_size,
            on_progress=on_progress, issuer_name=name, uvci_key=key,
        )  # fmt: skip
    _lifecycle_summary("renewal", report)


@app.command("reissue-changed")
def reissue_changed_command(
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
) -> None:
    """Re-issue certificates whose person or doses changed; corrected ones are revoked."""
    from vaxlink.certificates.issuance.lifecycle import reissue_changed

    signer, (name, key) = _dsc(_key_store(key_dir)), _issuing()
    with _engine() as engine, _progress("Checking active certificates") as on_progress:
        report = reissue_changed(
            engine, signer, by=by or _operator(), chunk_size=chunk_size,
            on_progress=on_progress, issuer_name=name, uvci_key=key,
        )  # fmt: skip
    _lifecycle_summary("re-issue after changes", report)


@app.command("revoke")
def revoke_command(
    uvci: Annotated[str, typer.Argument(help="The certificate identifier (URN:UVCI:…).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is revoked.")],
    by: By = "",
) -> None:
    """Revoke one certificate: verifiers that download the revocation list refuse it."""
    from vaxlink.certificates.issuance.lifecycle import revoke
    from vaxlink.db import transaction

    with _engine() as engine, transaction(engine) as session:
        certificate = revoke(
            session, uvci, reason=reason, by=by or _operator(), now=datetime.now(UTC)
        )
    Console().print(f"{certificate.uvci} revoked.", highlight=False)


@app.command("dsc-report")
def dsc_report_command(
    kid_hex: Annotated[str, typer.Argument(help="Kid of the DSC, in hex (see `keys list`).")],
    reissue: Annotated[
        bool, typer.Option(help="Re-issue its active certificates with the active DSC.")
    ] = False,
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
) -> None:
    """What withdrawing a DSC means for issued certificates; optionally re-issue them."""
    from vaxlink.certificates.issuance.lifecycle import dsc_report, reissue_for_dsc
    from vaxlink.db import transaction

    try:
        kid = bytes.fromhex(kid_hex)
    except ValueError as exc:
        raise InvalidInput(f"{kid_hex!r} is not a hex key id") from exc
    store, now = _key_store(key_dir), datetime.now(UTC)
    with _engine() as engine:
        with transaction(engine) as session:
            report = dsc_report(session, kid, now=now)
        _print_dsc_report(kid, report, withdrawn=kid in store.revoked_dsc_kids())
        if reissue:
            signer, (name, key) = _dsc(store), _issuing()
            with _progress(f"Re-issuing certificates of DSC {kid.hex()}") as on_progress:
                result = reissue_for_dsc(
                    engine, signer, kid, by=by or _operator(), chunk_size=chunk_size,
                    on_progress=on_progress, issuer_name=name, uvci_key=key,
                )  # fmt: skip
            _lifecycle_summary(f"re-issued with DSC {signer.kid.hex()}", result)


def _print_dsc_report(kid: bytes, report: DscReport, *, withdrawn: bool) -> None:
    from vaxlink.certificates.keys.trustlist import dsc_revocation_report

    console = Console()
    console.print(f"DSC {kid.hex()}: {'withdrawn' if withdrawn else 'still trusted'}")
    summary = dsc_revocation_report([kid], {kid: report.total_active}).summary()
    console.print(summary, highlight=False)
    _counts("active certificates by type", sorted(report.active.items()))
    if report.superseded_unexpired:
        console.print(
            f"{report.superseded_unexpired:,} superseded certificate(s) by this DSC still verify "
            "until they expire; the trust list withdrawal covers them too.",
            highlight=False,
        )


@recovery_app.command("add")
def recovery_add(
    citizen_id: Annotated[str, typer.Option("--citizen-id", help="Citizen ID number.")],
    first_positive: Annotated[
        datetime, typer.Option("--first-positive", formats=["%Y-%m-%d"], help="YYYY-MM-DD.")
    ],
    station: Annotated[str, typer.Option("--station", help="Commune health station code.")],
    note: Annotated[str | None, typer.Option(help="Free text kept with the entry.")] = None,
    by: By = "",
) -> None:
    """Enter a recovery (then `certificates issue --kind r` issues its certificate)."""
    from vaxlink.certificates.issuance.recovery import record_recovery
    from vaxlink.db import transaction

    with _engine() as engine, transaction(engine) as session:
        entry = record_recovery(
            session, citizen_id=citizen_id, first_positive=first_positive.date(),
            station_code=station, recorded_by=by or _operator(), now=datetime.now(UTC), note=note,
        )  # fmt: skip
        Console().print(
            f"Recovery #{entry.id} entered: valid {entry.valid_from} to {entry.valid_until}.",
            highlight=False,
        )


@client_app.command("add")
def client_add(
    name: Annotated[str, typer.Argument(help="Application name, e.g. VNeID.")],
    by: By = "",
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="What the client may do: certificates:read (default), identity:verify. Repeatable.",
        ),
    ] = None,
) -> None:
    """Register a client application and print its token once (store it in the app's secrets)."""
    from vaxlink.certificates.clients import READ_CERTIFICATES, add_client
    from vaxlink.db import transaction

    with _engine() as engine, transaction(engine) as session:
        client, token = add_client(
            session,
            name,
            by=by or _operator(),
            now=datetime.now(UTC),
            scopes=scope or [READ_CERTIFICATES],
        )
        scopes = client.scopes
    Console(stderr=True).print(
        f"Client {name!r} added with scopes {scopes}. Its token is shown only now:",
        highlight=False,
    )
    typer.echo(token)
