"""`vaxlink i18n`: the app's strings as PO files for translators, and the check of an edited one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Translations: export the strings as PO files, check an edited one back.",
                  no_args_is_help=True)  # fmt: skip


@app.command("export-po")
def export_po(
    folder: Annotated[Path, typer.Argument(help="Folder to write vi.po and en.po into.")],
) -> None:
    """Write the app's strings (every domain) as vi.po and en.po (key as msgctxt)."""
    from vaxlink.web import po

    for path in po.export_po(folder):
        typer.echo(f"wrote {path}")


@app.command("import-po")
def import_po(
    file: Annotated[
        Path, typer.Argument(help="An edited vi.po or en.po.", exists=True, dir_okay=False)
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the changed texts as JSON {lang: {key: text}} here."),
    ] = None,
) -> None:
    """Check an edited PO file: unknown keys, missing or added {placeholders}, empty or fuzzy
    entries are refused (exit 2, every problem named); otherwise list what it changes."""
    from vaxlink.web import po

    lang, changes = po.read_po(file)
    for change in changes:
        typer.echo(f"{change.key}: {change.old!r} -> {change.new!r}")
    typer.echo(f"{file.name} ({lang}): {len(changes)} text(s) changed, no problems")
    if out is not None:
        out.write_text(json.dumps({lang: {c.key: c.new for c in changes}}, ensure_ascii=False,
                                  indent=2, sort_keys=True) + "\n", encoding="utf-8")  # fmt: skip
        typer.echo(f"wrote {out}")
