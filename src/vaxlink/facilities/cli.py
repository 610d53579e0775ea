"""`vaxlink facilities`: import the list of vaccination sites, list them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from vaxlink.db import engine_from_settings, transaction
from vaxlink.facilities import directory, service
from vaxlink.geo.service import normalise_ward_code
from vaxlink.ingest.service import EXIT_QUARANTINED
from vaxlink.settings import Settings, get_settings

app = typer.Typer(help="Vaccination sites: names, wards, heads and contacts.",
                  no_args_is_help=True)  # fmt: skip


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX list of sites, one a row.")],
) -> None:
    """Create or update sites by code; rows that cannot be used are listed with reasons (exit
    status 5 if any) and the others are imported. Running it again changes nothing."""
    from vaxlink import compose

    with compose.running() as c:
        summary = import_list(c.engine, file, settings=c.settings, now=c.clock.now(),
                              console=Console())  # fmt: skip
        c.audit_cli_now(
            "facilities.import", "facility_list", summary.source, detail=summary.audit_detail()
        )
    if summary.refused:
        raise typer.Exit(EXIT_QUARANTINED)


def import_list(
    engine: Engine, path: Path, *, settings: Settings, now: dt.datetime, console: Console
) -> service.ImportSummary:
    """Import the site list at `path` in one transaction, as of `now`, and print what it did
    (`vaxlink demo` uses this too)."""
    with transaction(engine) as session:
        summary = service.import_file(session, path, now=now, settings=settings)
    up = summary.upsert
    table = Table(title=f"Vaccination sites from {summary.source}", show_header=False)
    table.add_row("rows read", f"{summary.rows_read:,}")
    table.add_row("sites added", f"{len(up.created):,}")
    table.add_row("sites changed", f"{len(up.updated):,}")
    table.add_row("sites already as listed", f"{len(up.unchanged):,}")
    table.add_row("rows refused (listed below)", f"{len(summary.refused):,}")
    console.print(table)
    for code, fields in up.updated.items():
        console.print(f"changed {code}: {', '.join(fields)}", highlight=False)
    for refused in summary.refused:
        console.print(f"[red]refused[/] {refused}", highlight=False)
    return summary


@app.command("list")
def list_cmd(
    ward: Annotated[
        str | None, typer.Option("--ward", help="Only the sites of this ward (5-digit code).")
    ] = None,
    active_only: Annotated[
        bool, typer.Option("--active-only", help="Leave out sites no longer active.")
    ] = False,
) -> None:
    """Print the sites, by code."""
    code = normalise_ward_code(ward) if ward is not None else None
    engine = engine_from_settings(get_settings())
    try:
        with transaction(engine) as session:
            rows = service.list_facilities(session, ward=code, active_only=active_only)
            table = Table("code", "name", "ward", "kind", "head", "phone", "e-mail", "active",
                          title=f"{len(rows):,} vaccination sites")  # fmt: skip
            for f in rows:
                table.add_row(f.code, f.name, f.ward_code, f.kind.value, f.head_name or "",
                              f.phone or "", f.email or "", "yes" if f.active else "no")  # fmt: skip
    finally:
        engine.dispose()
    Console().print(table)


focal = typer.Typer(help="The campaign's focal-point officers per unit (danh bạ đầu mối).",
                    no_args_is_help=True)  # fmt: skip
app.add_typer(focal, name="focal-points")


@focal.command("add")
def focal_add(
    unit: Annotated[
        str, typer.Option("--unit", help="ward:00001, district:001, province:001 or VN")
    ],
    name: Annotated[str, typer.Option("--name", help="Full name of the officer.")],
    organisation: Annotated[
        str, typer.Option("--organisation", help='Organisation and title, e.g. "Công an xã".')
    ],
    role: Annotated[str, typer.Option("--role", help="Role in the campaign.")] = "",
    phone: Annotated[str | None, typer.Option("--phone")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
) -> None:
    """Add a focal point (audited; the audit entry names the id, never the contact data)."""
    from vaxlink import compose

    data = directory.FocalPointInput(unit=unit, full_name=name, organisation=organisation,
                                     campaign_role=role, phone=phone, email=email)  # fmt: skip
    with compose.running() as c, c.transaction() as s:
        row = directory.add(s, data, now=c.clock.now())
        c.audit_cli(s, "directory.add", "focal_point", row.id,
                    unit=f"{row.unit_level}:{row.unit_code}")  # fmt: skip
        Console().print(f"focal point {row.id} added to {row.unit_level}:{row.unit_code}",
                        highlight=False)  # fmt: skip


@focal.command("deactivate")
def focal_deactivate(fp_id: Annotated[int, typer.Argument(help="The focal point's id.")]) -> None:
    """Deactivate a focal point (kept, never deleted)."""
    from vaxlink import compose

    with compose.running() as c, c.transaction() as s:
        row = directory.get(s, fp_id)
        directory.set_active(s, row, False, now=c.clock.now())
        c.audit_cli(s, "directory.deactivate", "focal_point", row.id)


@focal.command("list")
def focal_list(
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit and below.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Deactivated ones too.")] = False,
) -> None:
    """Print the directory (audited as a read of contact data)."""
    from vaxlink import compose

    with compose.running() as c, c.transaction() as s:
        rows = directory.listing(s, active_only=not all_, unit=unit)
        c.audit_cli(s, "directory.list", "focal_point_list", unit or "VN",
                    detail={"rows": len(rows)})  # fmt: skip
        table = Table("id", "unit", "name", "organisation", "role", "phone", "e-mail", "active",
                      title=f"{len(rows):,} focal points")  # fmt: skip
        for r in rows:
            table.add_row(str(r.id), f"{r.unit_level}:{r.unit_code}", r.full_name, r.organisation,
                          r.campaign_role, r.phone or "", r.email or "",
                          "yes" if r.active else "no")  # fmt: skip
    Console().print(table)


@focal.command("export")
def focal_export(
    out: Annotated[Path, typer.Argument(help="The XLSX file to write.")],
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit and below.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Deactivated ones too.")] = False,
) -> None:
    """Write the directory as XLSX (Vietnamese headers, injection-safe); the read is audited."""
    from vaxlink import compose
    from vaxlink.files import write_private

    with compose.running() as c, c.transaction() as s:
        rows = directory.listing(s, active_only=not all_, unit=unit)
        write_private(out, directory.export_xlsx(rows))
        c.audit_cli(s, "directory.export", "focal_point_list", unit or "VN",
                    detail={"rows": len(rows), "via": "cli"})  # fmt: skip
    Console().print(f"{len(rows):,} focal points written to {out}", highlight=False)
