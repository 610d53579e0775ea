"""`vaxlink certificates …` over the store: approval, issuance, life cycle, recoveries, clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.console import Console
from rich.table import Table

from vaxlink.certificates.issuance.batch import BatchReport
from vaxlink.certificates.issuance.lifecycle import DscReport
from vaxlink.certificates.issuance.sweep import LifecycleReport, Mode
from vaxlink.certificates.models import CertificateKind
from vaxlink.errors import InvalidInput

if TYPE_CHECKING:
    from vaxlink.compose import Container

KeyDir = Annotated[
    Path | None,
    typer.Option("--key-dir", help="Key directory (default: <data_dir>/keys).", show_default=False),
]
#: Why a signing is made (approval and district list), kept with it.
SigningNote = Annotated[str | None, typer.Option(help="Why, or which session this is.")]
#: The signing account's passphrase from a file instead of a prompt.
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        show_default=False,
        help="The signing account's passphrase from a file (mode 0600) instead of a hidden "
        "prompt.",
    ),
]
By = Annotated[
    str,
    typer.Option(
        "--by", envvar="VAXLINK_OPERATOR", help="Who does this (kept on every row written)."
    ),
]
ChunkSize = Annotated[int, typer.Option(min=1, help="People per committed chunk.")]
AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATETIME",
        help="Run with the clock at this instant (ISO date or date-time; UTC without a zone): "
        "new certificates are issued at it.",
        show_default=False,
    ),
]


def _instant(text: str | None) -> datetime | None:
    """The instant an `--as-of` names (a date is its midnight, no zone is UTC), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"--as-of {text!r} is not an ISO date or date-time (e.g. 2026-01-05 or "
            "2026-01-05T09:00:00+07:00)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _operator() -> str:
    import getpass

    return getpass.getuser()


@contextmanager
def _running(key_dir: Path | None = None, *, as_of: datetime | None = None) -> Iterator[Container]:
    """The composition root for one command: store, clock (standing at `as_of` when given), key
    store and signer."""
    from vaxlink import compose

    with compose.running(key_dir=key_dir, as_of=as_of) as c:
        yield c


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


def _sweep_detail(report: LifecycleReport) -> dict[str, int]:
    """A sweep's counts for its audit entry."""
    return {"checked": report.checked, "issued": report.issued, "revoked": report.revoked,
            "superseded": report.superseded, "expired": report.expired}  # fmt: skip


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
    approver: Annotated[
        str,
        typer.Option("--approver", help="The approving site approver's account (user name)."),
    ],
    note: SigningNote = None,
    passphrase_file: PassphraseFile = None,
    key_dir: KeyDir = None,
) -> None:
    """Sign the facility's verified records not yet approved in their current form, as the
    approver account, with its own wrap of the site's key (its signing passphrase unlocks it)."""
    from vaxlink.certificates.approval.signing import (
        SigningCredential,
        approve_records,
        unlock_site_key,
    )
    from vaxlink.certificates.cli import passphrases
    from vaxlink.certificates.errors import SigningRefused
    from vaxlink.ratelimit import secret_of

    name = approver.strip().lower()
    credential = SigningCredential(
        name, passphrases.read(passphrase_file, f"Signing passphrase of {name}")
    )
    with _running(key_dir) as c:
        now = c.clock.now()
        failure: SigningRefused | None = None
        with c.transaction() as session:  # commits the count of a wrong passphrase
            try:
                signer = unlock_site_key(session, c.key_store, facility, credential, now=now,
                                         secret=secret_of(c.settings))  # fmt: skip
            except SigningRefused as exc:
                failure = exc
                c.audit_cli(session, "certificates.approve_refused", "facility", facility,
                            detail={"approver": name, "reason": exc.code})  # fmt: skip
        if failure is not None:
            raise failure
        with c.transaction() as session:
            result = approve_records(
                session, signer, facility_code=facility, approver=name, now=now, note=note
            )
            if result.approval_id is not None:
                c.audit_cli(session, "certificates.approve", "approval", result.approval_id,
                            detail={"facility": facility, "records": result.record_count,
                                    "approver": name})  # fmt: skip
                settled = c.after_approval(session, approval_id=result.approval_id, actor=None,
                                           by=f"{c.operator(name)} (approval #{result.approval_id})")  # fmt: skip
    if result.approval_id is None:
        Console().print(f"Nothing to approve at {facility}: every verified record is approved.")
        return
    if settled.resolved:
        Console().print(f"{len(settled.resolved):,} citizen report(s) waiting for a certificate "
                        "resolved: the new certificates are issued.")  # fmt: skip
    Console().print(
        f"Approval #{result.approval_id}: {result.record_count:,} record(s) of {facility} "
        f"signed by {name}; manifest SHA-256 {result.manifest_digest}",
        highlight=False,
    )


def issue_command(
    kind: Annotated[
        list[CertificateKind] | None,
        typer.Option(
            "--kind",
            help="v (vaccination), r (recovery); default: every kind the active DSC may sign.",
        ),
    ] = None,
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
    as_of: AsOf = None,
) -> None:
    """Issue certificates to everyone ready who has none, in committed chunks (safe to re-run)."""
    from vaxlink.certificates.console import signable
    from vaxlink.certificates.errors import IssuanceCapped, KeyUsageInvalid
    from vaxlink.certificates.issuance.batch import issue_batch

    with _running(key_dir, as_of=_instant(as_of)) as c:
        issuer = c.issuer(by=by or _operator())
        kinds = list(kind or signable(issuer))
        if not kinds:
            raise KeyUsageInvalid(
                f"the active DSC ({issuer.kid_hex}) may sign no kind of certificate now; "
                "issue or activate a DSC (`vaxlink keys issue-dsc`, `vaxlink keys rotate-dsc`)"
            )
        left_out = [k for k in CertificateKind if k not in kinds] if kind is None else []
        for k in left_out:
            Console(stderr=True).print(
                f"{_LABEL[k]} certificates not issued: the active DSC ({issuer.kid_hex}) may "
                f"not sign type {k.value!r}", highlight=False, soft_wrap=True,
            )  # fmt: skip
        cap = c.settings.issuance_cap_per_day
        for k in kinds:
            with _progress(f"Issuing {_LABEL[k]} certificates") as on_progress:
                report = issue_batch(
                    c.engine, issuer.signer, kind=k, by=issuer.by, chunk_size=chunk_size,
                    on_progress=on_progress, issuer_name=issuer.issuer_name,
                    uvci_key=issuer.uvci_key, anchors=issuer.anchors, now=issuer.now,
                    cap_per_day=cap, require_district=issuer.require_district,
                )  # fmt: skip
            c.audit_cli_now("certificates.issue", "certificate_batch", k.value, by=by,
                            detail={"issued": report.issued, "people": report.looked_at,
                                    "refused_approvals": sorted(report.refused_approvals),
                                    "refused_district_approvals":
                                        sorted(report.refused_district_approvals),
                                    "capped": report.capped})  # fmt: skip
            _issue_summary(k, report)
            if report.capped:
                c.audit_cli_now("certificate.issue_capped", "certificate_batch", k.value, by=by,
                                detail={"account": issuer.by, "cap": cap,
                                        "issued": report.issued})  # fmt: skip
                raise IssuanceCapped(issuer.by, cap)


_LABEL: Final = {CertificateKind.VACCINATION: "vaccination", CertificateKind.RECOVERY: "recovery"}


def _issue_summary(kind: CertificateKind, report: BatchReport) -> None:
    rate = report.issued / report.seconds if report.seconds else 0.0
    rows: list[tuple[str, object]] = [
        ("people with records", report.looked_at),
        ("already holding an active certificate", report.already_active),
        ("certificates issued", report.issued),
    ]
    rows += [(f"not issued: {r}", n) for r, n in sorted(report.skipped.items())]
    rows += _refused_rows(report.refused_approvals)
    rows += [(f"refused district approval #{a}", "; ".join(p) or "does not verify")
             for a, p in sorted(report.refused_district_approvals.items())]  # fmt: skip
    if report.capped:
        rows.append(("stopped at the daily cap of the account", report.cap_per_day))
    rows += [("seconds", f"{report.seconds:.1f}"), ("per second", f"{rate:,.0f}")]
    _counts(f"{_LABEL[kind]} certificates", rows)


def _refused_rows(refused: dict[int, tuple[str, ...]]) -> list[tuple[str, object]]:
    """One row per site approval that no longer verifies (its records were not issued)."""
    return [(f"refused approval #{a}", "; ".join(p) or "does not verify")
            for a, p in sorted(refused.items())]  # fmt: skip


def renew_command(
    within_days: Annotated[int, typer.Option(min=1, help="Renew what expires within this.")] = 30,
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
    as_of: AsOf = None,
) -> None:
    """Renew certificates that expire soon (the old ones become superseded, not revoked)."""
    from vaxlink.certificates.issuance.sweep import renew_expiring

    with (
        _running(key_dir, as_of=_instant(as_of)) as c,
        _progress("Renewing certificates") as on_progress,
    ):
        issuer = c.issuer(by=by or _operator())
        report = renew_expiring(
            c.engine, issuer.signer, within_days=within_days, by=issuer.by, chunk_size=chunk_size,
            on_progress=on_progress, issuer_name=issuer.issuer_name, uvci_key=issuer.uvci_key, anchors=issuer.anchors,
            now=issuer.now, require_district=issuer.require_district,
        )  # fmt: skip
        c.audit_cli_now("certificates.renew", "certificate_batch", "renew", by=by,
                        detail=_sweep_detail(report))  # fmt: skip
    _lifecycle_summary("renewal", report)


def reissue_changed_command(
    chunk_size: ChunkSize = 1_000,
    by: By = "",
    key_dir: KeyDir = None,
) -> None:
    """Re-issue certificates whose person or doses changed; corrected ones are revoked."""
    from vaxlink.certificates.issuance.sweep import reissue_changed

    with _running(key_dir) as c, _progress("Checking active certificates") as on_progress:
        issuer = c.issuer(by=by or _operator())
        report = reissue_changed(
            c.engine, issuer.signer, by=issuer.by, chunk_size=chunk_size,
            on_progress=on_progress, issuer_name=issuer.issuer_name, uvci_key=issuer.uvci_key, anchors=issuer.anchors,
            now=issuer.now, require_district=issuer.require_district,
        )  # fmt: skip
        c.audit_cli_now("certificates.reissue_changed", "certificate_batch", "changed", by=by,
                        detail=_sweep_detail(report))  # fmt: skip
        settled = c.settle_certificates(by=c.operator(by or None))
    _lifecycle_summary("re-issue after changes", report)
    if settled.checked:
        Console().print(f"Citizen reports waiting for a certificate: {len(settled.resolved):,} "
                        f"resolved, {len(settled.waiting) + len(settled.failed):,} still waiting.")  # fmt: skip


def revoke_command(
    uvci: Annotated[str, typer.Argument(help="The certificate identifier (URN:UVCI:…).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is revoked.")],
    by: By = "",
) -> None:
    """Revoke one certificate: verifiers that download the revocation list refuse it."""
    from vaxlink.certificates.issuance.lifecycle import revoke

    with _running() as c, c.transaction() as session:
        certificate = revoke(session, uvci, reason=reason, by=by or _operator(), now=c.clock.now())
        c.audit_cli(
            session,
            "certificates.revoke",
            "certificate",
            certificate.id,
            by=by,
            detail={"reason": reason.strip()[:200]},
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

    try:
        kid = bytes.fromhex(kid_hex)
    except ValueError as exc:
        raise InvalidInput(f"{kid_hex!r} is not a hex key id") from exc
    with _running(key_dir) as c:
        with c.transaction() as session:
            report = dsc_report(session, kid, now=c.clock.now())
        _print_dsc_report(kid, report, withdrawn=kid in c.key_store.revoked_dsc_kids())
        if reissue:
            issuer = c.issuer(by=by or _operator())
            with _progress(f"Re-issuing certificates of DSC {kid.hex()}") as on_progress:
                result = reissue_for_dsc(
                    c.engine, issuer.signer, kid, by=issuer.by, chunk_size=chunk_size,
                    on_progress=on_progress, issuer_name=issuer.issuer_name,
                    uvci_key=issuer.uvci_key, anchors=issuer.anchors, now=issuer.now,
                )  # fmt: skip
            c.audit_cli_now("certificates.reissue_for_dsc", "dsc", kid.hex(), by=by,
                            detail=_sweep_detail(result))  # fmt: skip
            _lifecycle_summary(f"re-issued with DSC {issuer.signer.kid.hex()}", result)


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

    with _running() as c, c.transaction() as session:
        entry = record_recovery(
            session, citizen_id=citizen_id, first_positive=first_positive.date(),
            station_code=station, recorded_by=by or _operator(), now=c.clock.now(), note=note,
        )  # fmt: skip
        c.audit_cli(session, "certificates.recovery_add", "recovery", entry.id, by=by,
                    detail={"station": station})  # fmt: skip
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
            help="What the client may do: certificates:read (default), changes:read (the "
            "change feed and pushes), identity:verify. Repeatable.",
        ),
    ] = None,
    scopes: Annotated[
        str | None,
        typer.Option("--scopes", help="The same as --scope, comma-separated.", show_default=False),
    ] = None,
    fields: Annotated[
        str,
        typer.Option(
            "--fields",
            help="full (the whole certificate, PDF, FHIR) or minimal "
            "(name, date of birth, validity).",
        ),
    ] = "full",
    kinds: Annotated[
        str, typer.Option("--kinds", help="Certificate kinds it may read: v, r or v,r.")
    ] = "v,r",
    expires: Annotated[
        str | None,
        typer.Option(
            "--expires",
            metavar="DATETIME",
            show_default=False,
            help="The token is refused from this instant (ISO date or date-time; UTC "
            "without a zone).",
        ),
    ] = None,
    per_minute: Annotated[
        int | None,
        typer.Option(
            "--per-minute",
            min=1,
            show_default=False,
            help="Its own requests a minute (default: VAXLINK_PARTNER_REQUESTS_PER_MINUTE).",
        ),
    ] = None,
    push_url: Annotated[
        str | None,
        typer.Option(
            "--push-url",
            show_default=False,
            help="POST the change feed to this address (needs changes:read).",
        ),
    ] = None,
) -> None:
    """Register a client application and print its token once (store it in the app's secrets)."""
    from vaxlink.certificates.clients import READ_CERTIFICATES, add_client, push_secret
    from vaxlink.ratelimit import secret_of

    wanted = [*(scope or []), *[x.strip() for x in (scopes or "").split(",") if x.strip()]]
    with _running() as c, c.transaction() as session:
        client, token = add_client(
            session,
            name,
            by=by or _operator(),
            now=c.clock.now(),
            scopes=wanted or [READ_CERTIFICATES],
            fields=fields.strip(),
            kinds=kinds.replace(",", " ").split(),
            expires_at=_instant(expires),
            per_minute=per_minute,
            push_url=push_url,
        )
        granted = client.scopes
        c.audit_cli(session, "certificates.api_client_add", "api_client", client.id, by=by,
                    detail={"scopes": granted.split(), "fields": client.fields,
                            "kinds": client.kinds.split(), "per_minute": client.per_minute,
                            "expires": bool(client.expires_at), "push": bool(client.push_url)})  # fmt: skip
        secret = push_secret(client, secret_of(c.settings)) if client.push_url else None
    _show_once(f"Client {name!r} added with scopes {granted}, fields {client.fields}, kinds "
               f"{client.kinds}. Its token is shown only now:", token, secret)  # fmt: skip


def _show_once(what: str, token: str, push_secret: str | None) -> None:
    """A client's new token (and push signing secret) on stdout, said on stderr: shown once."""
    Console(stderr=True).print(what, highlight=False)
    typer.echo(token)
    if push_secret:
        Console(stderr=True).print("Its push signing secret (shown only now):", highlight=False)
        typer.echo(push_secret)


def client_list() -> None:
    """Every client application: scopes, fields, kinds, quota, expiry, last use, push state."""
    from vaxlink.certificates.clients import list_clients

    with _running() as c, c.transaction() as session:
        clients = list_clients(session)
        default = c.settings.partner_requests_per_minute
    if not clients:
        Console().print("No client application yet (`vaxlink certificates api-client add`).")
    for x in clients:  # one block per client: a table would fold at a terminal's width
        push = "-"
        if x.push_url:
            push = f"{x.push_url} (delivered up to {x.push_cursor}"
            push += (
                f", last error {x.push_last_error}, try {x.push_attempts})"
                if x.push_last_error
                else ")"
            )
        Console().print(
            f"{x.name}: {'active' if x.active else 'revoked'}\n"
            f"  scopes {x.scopes}; fields {x.fields}; kinds {x.kinds}\n"
            f"  requests a minute {x.per_minute or f'{default} (default)'}; expires "
            f"{f'{x.expires_at:%Y-%m-%d %H:%M}' if x.expires_at else '-'}; last use "
            f"{f'{x.last_used_at:%Y-%m-%d %H:%M}' if x.last_used_at else '-'}\n"
            f"  push {push}",
            highlight=False, soft_wrap=True,
        )  # fmt: skip


def client_revoke(
    name: Annotated[str, typer.Argument(help="Application name given to `api-client add`.")],
    by: By = "",
) -> None:
    """Stop a client application's token from working at once (its access history stays)."""
    from vaxlink.certificates.clients import deactivate_client

    with _running() as c, c.transaction() as session:
        client = deactivate_client(session, name, by=by or _operator(), now=c.clock.now())
        c.audit_cli(session, "certificates.api_client_revoke", "api_client", client.id, by=by)
    Console().print(f"Client {name!r} revoked: its token no longer works.", highlight=False)


def client_rotate(
    name: Annotated[str, typer.Argument(help="Application name given to `api-client add`.")],
    by: By = "",
) -> None:
    """Give a client application a new token (printed once); the old one is refused at once.
    A client with a push address gets a new push signing secret too."""
    from vaxlink.certificates.clients import push_secret, rotate_client
    from vaxlink.ratelimit import secret_of

    with _running() as c, c.transaction() as session:
        client, token = rotate_client(session, name, now=c.clock.now())
        c.audit_cli(session, "certificates.api_client_rotate", "api_client", client.id, by=by)
        secret = push_secret(client, secret_of(c.settings)) if client.push_url else None
    _show_once(f"Client {name!r} has a new token (the old one no longer works), shown only now:",
               token, secret)  # fmt: skip


def push_command() -> None:
    """Push the change feed once to every client with a push address (what the web app's
    background thread does every VAXLINK_PARTNER_PUSH_EVERY_SECONDS; run it from a scheduler
    when VAXLINK_PARTNER_PUSH_IN_APP is off)."""
    with _running() as c:
        report = c.pusher().run_once()
    _counts("Partner push", [("changes delivered", report.delivered),
                             ("requests acknowledged", report.batches),
                             ("failed", len(report.failures))])  # fmt: skip
    for failure in report.failures:
        Console(stderr=True).print(f"  {failure}", highlight=False)


def district_approve_command(
    district: Annotated[str, typer.Option("--district", help="District code (3 digits).")],
    approver: Annotated[
        str,
        typer.Option("--approver", help="The district health centre's account (user name)."),
    ],
    note: SigningNote = None,
    passphrase_file: PassphraseFile = None,
    key_dir: KeyDir = None,
) -> None:
    """Sign the district's list as it stands: every verified dose of its residents covered by a
    sound approval of its site, with the account's own wrap of the district key."""
    from vaxlink.certificates.approval.district import (
        continue_district_approval,
        district_code_of,
        start_district_approval,
        unlock_district_key,
    )
    from vaxlink.certificates.approval.signing import SigningCredential
    from vaxlink.certificates.cli import passphrases
    from vaxlink.certificates.errors import SigningRefused
    from vaxlink.ratelimit import secret_of

    code = district_code_of(district)
    name = approver.strip().lower()
    credential = SigningCredential(
        name, passphrases.read(passphrase_file, f"Signing passphrase of {name}")
    )
    with _running(key_dir) as c:
        now = c.clock.now()
        failure: SigningRefused | None = None
        with c.transaction() as session:  # commits the count of a wrong passphrase
            try:
                signer = unlock_district_key(session, c.key_store, code, credential, now=now,
                                             secret=secret_of(c.settings))  # fmt: skip
            except SigningRefused as exc:
                failure = exc
                c.audit_cli(session, "certificates.district_approve_refused", "district", code,
                            detail={"approver": name, "reason": exc.code})  # fmt: skip
        if failure is not None:
            raise failure
        with c.transaction() as session:  # a chunk of residents per transaction, as on the page
            job = start_district_approval(session, signer, district_code=code, approver=name,
                                          now=now, note=note)  # fmt: skip
        result = continue_district_approval(c.engine, signer, job, anchors=c.trust_anchors)
        with c.transaction() as session:
            c.audit_cli(session, "certificates.district_approve", "district_approval",
                        result.approval_id or code,
                        detail={"district": code, "entries": result.entry_count,
                                "waiting_for_site": result.waiting,
                                "site_approval_invalid": result.site_invalid,
                                "approver": name})  # fmt: skip
    if result.approval_id is None:
        Console().print(f"Nothing to sign for district {code}: no verified dose of its residents "
                        f"is approved by its site ({result.waiting:,} waiting).")  # fmt: skip
        return
    Console().print(
        f"District approval #{result.approval_id}: {result.entry_count:,} record(s) of district "
        f"{code} signed by {name}; manifest SHA-256 {result.manifest_digest}; "
        f"{result.waiting:,} verified record(s) still wait for their site's signature"
        + (f", {result.site_invalid:,} rest on site approvals that do not verify"
           if result.site_invalid else ""),
        highlight=False,
    )  # fmt: skip
