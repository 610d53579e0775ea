"""`vaxlink certificates verify` and `conformance`: offline commands, no store needed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vaxlink.certificates.core import conformance
from vaxlink.certificates.core.trust import InMemoryRevocationList, InMemoryTrustList
from vaxlink.certificates.verification.result import is_shc, verification_result
from vaxlink.errors import InvalidInput

_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"RIFF")


def _read_source(source: str) -> str:
    """The text of a file (plain text, or a QR image), else `source` itself as certificate text.

    A file is read only up to the photo limit the verifier page has, and an image goes through
    the same pixel cap (`qr_text`), so a hostile file is a typed refusal, not a memory blow-up."""
    path = Path(source)
    try:
        a_file = not (source.startswith("HC1:") or is_shc(source)) and path.is_file()
    except (OSError, ValueError):  # longer than a file name may be, a NUL: text, not a path
        a_file = False
    if not a_file:
        return source  # verification reports a malformed text as a structured failure
    # Pillow and zxing-cpp load only when a file is given
    from vaxlink.certificates.verification.submission import UPLOAD_LIMIT, qr_text

    try:
        with path.open("rb") as handle:
            data = handle.read(UPLOAD_LIMIT + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc}") from exc
    if len(data) > UPLOAD_LIMIT:
        raise InvalidInput(
            f"{source} is larger than {UPLOAD_LIMIT // 2**20} MiB: not a certificate"
        )
    if data.startswith(_IMAGE_MAGIC):
        return qr_text(data)
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
    """The instant `--clock` names, else the composition root's clock's."""
    if text is None:
        from vaxlink import compose

        with compose.running() as c:
            return c.clock.now()
    try:
        return conformance.parse_instant(text)
    except ValueError as exc:
        raise InvalidInput(f"--clock {text!r} is not an ISO 8601 instant") from exc


def verify_command(
    source: Annotated[
        str,
        typer.Argument(
            help="The QR's text (HC1: of an EU DCC or WHO DDCC:VS, shc:/ of a SMART Health "
            "Card), or a file holding it or a QR image."
        ),
    ],
    trust: Annotated[
        list[Path],
        typer.Option(
            "--trust",
            "-t",
            help="Trusted DSC certificate (PEM or DER); its P-256 key is also the SMART Health "
            "Card key of its JWK thumbprint.",
        ),
    ],
    clock: Annotated[str | None, typer.Option(help="Verify at this ISO 8601 instant.")] = None,
    revoked: Annotated[
        Path | None, typer.Option(help="File of revoked certificate ids (UVCI), one a line.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify one certificate (EU DCC, WHO DDCC:VS or SMART Health Card) and print the structured
    result; exit 1 when it is not valid."""
    text = _read_source(source)
    revocation = None
    if revoked is not None:
        lines = _read_text(revoked).splitlines()
        revocation = InMemoryRevocationList(line.strip() for line in lines if line.strip())
    trust_list = InMemoryTrustList(_load_certificates(trust))
    result = verification_result(text, trust_list, clock=_clock(clock), revocation=revocation)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        console = Console()  # messages and fields are data: printed with their markup escaped
        form = f" ({result.format})" if result.format and result.authentic else ""
        if result.valid:
            console.print(f"[bold green]VALID[/]{form}")
        else:
            assert result.failure is not None
            console.print(
                f"[bold red]NOT VALID[/] at step {result.failed_step}: "
                f"{escape(result.failure.message)} ({result.failure.code})",
                highlight=False,
            )
        if result.fields:  # only ever those of a message whose signature held
            table = Table(show_header=False)
            for item in result.fields:
                table.add_row(escape(item.label), escape(item.value))
            console.print(table)
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if not result.valid:
        raise typer.Exit(1)


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
    for outcome in conformance.run(directory, known, now=_clock(None)):
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
