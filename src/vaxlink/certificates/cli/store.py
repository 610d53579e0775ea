"""`vaxlink certificates …` over the store: approval, issuance, life cycle, recoveries, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from vaxlink.certificates.issuance.lifecycle import DscReport
from vaxlink.certificates.issuance.sweep import LifecycleReport, Mode
from vaxlink.certificates.keys.hierarchy import KeyPair
from vaxlink.certificates.keys.store import KeyStore, Role
from vaxlink.certificates.models import CertificateKind
from vaxlink.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from vaxlink.settings import Settings

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
    from vaxlink.certificates.issuance.issuer import uvci_key_from_secret

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


def approve_command(
    facility: Annotated[str, typer.Option("--facility", help="Facility (vaccination site) code.")],
    approver: Annotated[str, typer.Option("--approver", help="Name of the approving official.")],
    note: Annotated[str | None, typer.Option(help="Why, or which session this is.")] = None,
    key_dir: KeyDir = None,
) -> None:
    """Sign the facility's verified records not yet approved in their current form."""
    from vaxlink.certificates.approval.signing import approve_records, facility_signer
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


def renew_command(
    within_days: Annotated[int, typer.Option(min=1, help="Renew what expires within this.")] = 30,
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
) -> None:
    """Renew certificates that expire soon (the old ones become superseded, not revoked)."""
    from vaxlink.certificates.issuance.sweep import renew_expiring

    signer, (name, key) = _dsc(_key_store(key_dir)), _issuing()
    with _engine() as engine, _progress("Renewing certificates") as on_progress:
        report = renew_expiring(
            engine, signer, within_days=within_days, by=by or _operator(), chunk_size=chunk_size,
            on_progress=on_progress, issuer_name=name, uvci_key=key,
        )  # fmt: skip
    _lifecycle_summary("renewal", report)


def reissue_changed_command(
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
) -> None:
    """Re-issue certificates whose person or doses changed; corrected ones are revoked."""
    from vaxlink.certificates.issuance.sweep import reissue_changed

    signer, (name, key) = _dsc(_key_store(key_dir)), _issuing()
    with _engine() as engine, _progress("Checking active certificates") as on_progress:
        report = reissue_changed(
            engine, signer, by=by or _operator(), chunk_size=chunk_size,
            on_progress=on_progress, issuer_name=name, uvci_key=key,
        )  # fmt: skip
    _lifecycle_summary("re-issue after changes", report)


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
    from vaxlink.certificates.issuance.lifecycle import dsc_report
    from vaxlink.certificates.issuance.sweep import reissue_for_dsc
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
