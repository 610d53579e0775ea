"""`vaxlink geo`: load the unit lists into the configured store, show one unit."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vaxlink.db import engine_from_settings, transaction
from vaxlink.geo.codes import DEFAULT_VERSION, Level, ListVersion, UnitKey, format_code, level_of
from vaxlink.geo.service import ancestors, get_unit, load_successions, load_units, successors
from vaxlink.settings import get_settings

app = typer.Typer(
    help="Vietnamese administrative units: the 63-province and the 2025 lists.",
    no_args_is_help=True,
)


@app.command("load")
def load(
    version: Annotated[
        ListVersion | None,
        typer.Option(help="Load only this list (default: both lists and the 2025 successions)."),
    ] = None,
) -> None:
    """Load administrative units into the store (idempotent: a second run adds nothing)."""
    engine = engine_from_settings(get_settings())
    try:
        with transaction(engine) as session:
            counts = load_units(session, version)
            added = load_successions(session) if version is None else None
    finally:
        engine.dispose()
    table = Table("list", *(lv.value for lv in Level), title="units added")
    for v, per_level in counts.items():
        table.add_row(v.value, *(str(per_level[lv]) for lv in Level))
    console = Console()
    console.print(table)
    if added is not None:
        console.print(f"successions 2008-2025 → 2025 added: {added}")


@app.command("show")
def show(
    code: Annotated[
        str, typer.Argument(help="level:code (province:001), a 5-digit ward code, or VN.")
    ],
    level: Annotated[
        str | None, typer.Option(help="Level of a bare CODE: province, district or ward.")
    ] = None,
    version: Annotated[ListVersion, typer.Option(help="List the code belongs to.")] = (
        DEFAULT_VERSION
    ),
) -> None:
    """Print a stored unit, its ancestors and, for a 2008-2025 ward, the 2025 wards it went into."""
    ref: str | UnitKey = code
    if level is not None:
        lv = level_of(level)
        ref = UnitKey(lv, format_code(lv, code))
    engine = engine_from_settings(get_settings())
    try:
        with transaction(engine) as session:
            unit = get_unit(session, ref, version)
            chain = [unit, *ancestors(session, unit.key, version)]
            after = (
                successors(session, unit.key)
                if version is ListVersion.LEGACY and unit.level in (Level.WARD, Level.DISTRICT)
                else []
            )
            new_wards = [
                (s, get_unit(session, UnitKey(Level.WARD, s.new_code), ListVersion.V2025))
                for s in after
            ]
            provinces = {
                w.parent: get_unit(session, w.parent, ListVersion.V2025)
                for _, w in new_wards
                if w.parent is not None
            }
    finally:
        engine.dispose()
    table = Table("level", "code", "name", title=f"{unit.name} ({version} list)")
    for u in chain:
        table.add_row(u.level.value, u.code, u.name)
    console = Console()
    console.print(table)
    for s, ward in new_wards:
        province = provinces[ward.parent].name if ward.parent else ""
        marks = ", ".join(m for m, on in (("whole", s.whole), ("default", s.default)) if on)
        console.print(
            f"→ 2025: {ward.code} {ward.name}, {province}" + (f" ({marks})" if marks else "")
        )
