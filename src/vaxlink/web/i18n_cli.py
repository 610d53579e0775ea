"""`vaxlink i18n`: the app's strings as PO files for translators, the check of an edited one, and
its installation as the deployment's translation (read at start over the built-in texts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from vaxlink.web.po import Change

app = typer.Typer(help="Translations: export the strings as PO files, check an edited one back "
                       "and install it.", no_args_is_help=True)  # fmt: skip


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
    install: Annotated[
        bool,
        typer.Option(
            "--install",
            help="Once checked, keep it as this deployment's translation "
            "(VAXLINK_LOCALE_DIR, default <data dir>/locale/<lang>.po): the app and the "
            "commands use it from their next start. Audited.",
        ),
    ] = False,
    by: Annotated[str | None, typer.Option("--by", help="Who installs (audit).")] = None,
) -> None:
    """Check an edited PO file: unknown keys, missing or added {placeholders}, empty or fuzzy
    entries are refused (exit 2, every problem named); otherwise list what it changes, and with
    --install keep it as the deployment's translation (the file as checked, 0600)."""
    from vaxlink.web import po

    if install:
        lang, changes, path = _install(file, by)
    else:
        lang, changes = po.read_po(file)
    for change in changes:
        typer.echo(f"{change.key}: {change.old!r} -> {change.new!r}")
    typer.echo(f"{file.name} ({lang}): {len(changes)} text(s) changed, no problems")
    if out is not None:
        out.write_text(json.dumps({lang: {c.key: c.new for c in changes}}, ensure_ascii=False,
                                  indent=2, sort_keys=True) + "\n", encoding="utf-8")  # fmt: skip
        typer.echo(f"wrote {out}")
    if install:
        typer.echo(f"installed {path}: in use from the next start of the app and of each command")


def _install(file: Path, by: str | None) -> tuple[str, list[Change], Path]:
    """Check and install `file` in the settings' locale folder, audited as `i18n.install`."""
    import hashlib

    from vaxlink import compose
    from vaxlink.web import po

    with compose.running() as c, c.transaction() as session:
        lang, changes, path = po.install_po(file, c.settings.resolved_locale_dir())
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        c.audit_cli(session, "i18n.install", "translation", lang, by=by,
                    detail={"file": path.name, "sha256": digest, "changed": len(changes),
                            "keys": sorted(ch.key for ch in changes)[:50]})  # fmt: skip
    return lang, changes, path
