"""`vaxlink demo`: the main job end to end on the embedded store with synthetic data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func

from vaxlink import compose
from vaxlink.facilities.cli import import_list
from vaxlink.ingest.service import print_report, stage_progress
from vaxlink.records.service import import_doses
from vaxlink.registry.service import load_registry
from vaxlink.settings import get_settings
from vaxlink.synth.generate import generate
from vaxlink.synth.output import write


def demo(
    citizens: Annotated[
        int, typer.Option("--citizens", min=100, help="People in the synthetic registry.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same data.")] = 2021,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the web app when done.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port for the web app.")] = 8000,
) -> None:
    """Synthesise a population and its dirty dose records, import them, and say what happened."""
    settings = get_settings()
    console = Console()
    folder: Path = settings.data_dir / "demo" / f"seed-{seed}-{citizens}"
    start = time.perf_counter()
    with console.status(f"Synthesising {citizens:,} citizens and their doses…"):
        paths = write(generate(citizens, seed), folder)
    console.print(f"Synthetic files in {folder}")
    with compose.running(settings) as c:
        engine = c.engine
        console.print(f"Store: {engine.url.render_as_string(hide_password=True)}")
        with stage_progress(console, "Loading the registry snapshot") as on_stage:
            registry = load_registry(engine, paths["registry"], settings=settings,
                                     clock=c.clock, on_stage=on_stage)  # fmt: skip
        print_report(console, registry, "Registry snapshot")
        with stage_progress(console, "Importing dose records") as on_stage:
            doses = import_doses(engine, paths["doses"], settings=settings, clock=c.clock,
                                 on_stage=on_stage)
        print_report(console, doses, "Dose records")
        import_list(engine, paths["facilities"], settings=settings, now=c.clock.now(),
                    console=console)
        statuses, issued = _verify_and_issue(console, c)
        table = Table(title="vaxlink demo", show_header=False)
        table.add_row(
            "citizens in the registry",
            f"{registry.imported + registry.unchanged + registry.updated:,}",
        )
        table.add_row("dose records read", f"{doses.rows_read:,}")
        table.add_row("dose records imported", f"{doses.imported + doses.unchanged:,}")
        table.add_row("dose records quarantined (kept with reasons)", f"{doses.quarantined:,}")
        for status, n in statuses.items():
            table.add_row(f"doses {status} (vaxlink verify)", f"{n:,}")
        table.add_row("vaccination certificates issued", f"{issued:,}")
        table.add_row("seconds", f"{time.perf_counter() - start:.1f}")
        console.print(table)
        from vaxlink.auth.demo import print_demo_accounts

        print_demo_accounts(console, engine, f"http://127.0.0.1:{port}" if serve else None,
                            now=c.clock.now())
    if serve:
        from vaxlink.web.cli import serve as serve_web

        serve_web(host="127.0.0.1", port=port, workers=1)


def _verify_and_issue(console: Console, c: compose.Container) -> tuple[dict[str, int], int]:
    """`vaxlink verify` over the store, then certificates for the verified and approved people. The
    demo's PKI is made on the spot (a CSCA, one DSC, one approval key per facility) and kept in the
    data directory's key store, the DSC unencrypted, the CSCA's key encrypted with a passphrase
    kept beside it, and each facility's key wrapped for its demo site approver under a demo signing
    passphrase also kept beside it (data_dir/demo/signing-passphrase.txt; never do this in
    production: docs/key-management.md), with a trust-list signer, so the served app's verifier
    pages (online and offline), signed trust list and approval pages work with it (demo.duyet signs
    with that passphrase). Its certificates verify against the demo's own CSCA only."""
    import datetime as dt
    import secrets

    from sqlalchemy import select

    from vaxlink.auth.demo import DISTRICT_APPROVER, busiest_ward, demo_site_approvers
    from vaxlink.certificates import service as certificates
    from vaxlink.certificates.service import approve_records, issue_batch
    from vaxlink.linkage.service import verify_store
    from vaxlink.records.service import DoseRecord

    engine, settings, transaction = c.engine, c.settings, c.transaction
    with console.status("Verifying the doses against the registry (vaxlink verify)…"):
        report = verify_store(engine.url.render_as_string(hide_password=False), settings,
                              c.link_model, clock=c.clock, started_by="demo")  # fmt: skip
    with transaction() as s:
        counts = dict(
            s.execute(select(DoseRecord.status, func.count()).group_by(DoseRecord.status)).all()
        )
    now = c.clock.now()
    with console.status("Facilities approve their verified records; issuing certificates…"):
        store = c.key_store
        csca = certificates.create_csca(
            country="VN", organization="Bộ Y tế (demo)", now=now - dt.timedelta(hours=1)
        )
        dsc = certificates.create_dsc(csca, now=now - dt.timedelta(hours=1), common_name="DSC demo",
                              types=(certificates.DccType.VACCINATION,))  # fmt: skip
        # Kept, encrypted, so the demo's DSC can be followed by a successor
        # (`VAXLINK_CSCA_PASSPHRASE=$(cat …/csca-passphrase.txt) vaxlink keys issue-dsc …`) and
        # its certificates renewed for years; the passphrase sits beside it only in a demo.
        passphrase = secrets.token_urlsafe(24)
        store.save(certificates.Role.CSCA, csca, passphrase=passphrase.encode())
        _write_demo_secret(settings.data_dir / "demo" / "csca-passphrase.txt", passphrase)
        store.save(certificates.Role.DSC, dsc)
        store.set_active_dsc(dsc.kid)
        # A trust-list signer, so the served app publishes a signed trust list at once and the
        # offline verifier (/verifier) can check the demo's certificates without a CLI step.
        store.save(certificates.Role.TRUST_LIST, certificates.create_trust_list_signer(
            csca, now=now - dt.timedelta(hours=1)))  # fmt: skip
        # Each site's approval key is wrapped for a demo site approver account (demo.duyet for
        # the demo commune's site), under one demo signing passphrase kept beside it like the
        # CSCA's, and every approval is signed as that account, unlocking its own wrap.
        signing = secrets.token_urlsafe(24)
        _write_demo_secret(settings.data_dir / "demo" / "signing-passphrase.txt", signing)
        with transaction() as s:
            facilities = s.scalars(select(DoseRecord.facility_code).where(
                DoseRecord.status.in_(("verified", "auto_linked"))).distinct()).all()  # fmt: skip
            sites = sorted(f for f in facilities if f)
            approvers = demo_site_approvers(s, sites, now=now)
        for code in sites:
            with transaction() as s:
                pair = certificates.create_facility_signer(csca, facility_code=code,
                                                           facility_name=code,
                                                           now=now - dt.timedelta(hours=1))  # fmt: skip
                store.save_facility(pair, approvers[code], signing)
                credential = certificates.SigningCredential(approvers[code], signing)
                signer = certificates.unlock_site_key(s, store, code, credential, now=now,
                                                      secret=None)  # fmt: skip
                approve_records(s, signer, facility_code=code, approver=credential.username,
                                now=now)  # fmt: skip
        # The demo commune's district health centre signs its residents' list (demo.huyen, the
        # same demo signing passphrase): without a key its approval page could only refuse.
        with transaction() as s:
            found = busiest_ward(s)
        district = _district_of(found[0] if found else "00001")
        if district is not None:
            code, name = district
            pair = certificates.create_district_signer(csca, district_code=code,
                                                       district_name=name,
                                                       now=now - dt.timedelta(hours=1))  # fmt: skip
            store.save_facility(pair, DISTRICT_APPROVER, signing, role=certificates.Role.DISTRICT)
        issued = issue_batch(engine, dsc, issuer_name="Bộ Y tế (demo)", by="demo", now=now,
                             anchors=(csca.certificate,))
    console.print(f"vaxlink verify: {report.written:,} doses decided in "
                  f"{sum(report.seconds.values()):.1f} s; {issued.issued:,} certificates issued "
                  f"in {issued.seconds:.1f} s")  # fmt: skip
    console.print(f"Site approvers (and the district health centre, demo.huyen) sign with the "
                  f"demo signing passphrase in "
                  f"{settings.data_dir / 'demo' / 'signing-passphrase.txt'}", highlight=False)  # fmt: skip
    order = ("verified", "auto_linked", "review", "unmatched", "pending", "quarantined", "invalid")
    statuses = {k: counts[k] for k in order if k in counts}
    statuses.update({k: v for k, v in counts.items() if k not in statuses})
    return statuses, issued.issued


def _district_of(ward: str) -> tuple[str, str] | None:
    """The code and name of the district of the demo commune (None: not in the unit list)."""
    from vaxlink.geo.codes import Level
    from vaxlink.geo.errors import GeoError
    from vaxlink.geo.index import UnitIndex

    try:
        path = UnitIndex.for_version().path(f"ward:{ward}")
    except GeoError:
        return None
    unit = next((u for u in path if u.level is Level.DISTRICT), None)
    return (unit.code, UnitIndex.for_version().get(str(unit)).name) if unit else None


def _write_demo_secret(path: Path, value: str) -> None:
    """Write a demo passphrase to `path` (mode 0600), replacing the previous run's."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
