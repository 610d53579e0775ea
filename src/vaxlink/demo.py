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
        _campaign_work(console, c)
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


#: The demo's partner applications: (name, scopes, fields, kinds, days until the token ends).
DEMO_PARTNERS: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...], int | None], ...] = (
    ("Sổ sức khỏe điện tử (demo)", ("certificates:read", "changes:read"), "full", ("v", "r"),
     None),
    ("Ứng dụng PC-COVID (demo)", ("certificates:read",), "minimal", ("v",), 365),
)  # fmt: skip
#: The demo's campaign phases: (name, level of the demo commune's unit it is set for, days from
#: the demo's clock to its start and to its deadline, target, percent).
DEMO_PHASES: tuple[tuple[str, str, int, int, str, float], ...] = (
    ("Đợt 1: làm sạch dữ liệu tiêm chủng", "province", -30, 14, "linked_share", 95.0),
    ("Đợt 2: cấp chứng nhận cho người đã xác thực", "district", -7, 45, "people_verified_share",
     90.0),
)  # fmt: skip
#: The demo's focal points: (level of the demo commune's unit, name, organisation (with the
#: unit's name), role in the campaign, phone, e-mail). Invented people, example.vn addresses.
DEMO_FOCAL_POINTS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("ward", "Nguyễn Thị Lan", "Trạm Y tế {name}", "Đầu mối làm sạch dữ liệu tiêm chủng",
     "0901000101", "tram.yte@example.vn"),
    ("ward", "Trần Văn Hùng", "Công an {name}", "Xác minh danh tính người tiêm",
     "0901000102", "congan@example.vn"),
    ("ward", "Lê Thị Mai", "Ủy ban nhân dân {name}", "Nhập sửa theo danh sách công an đã xác minh",
     "0901000103", "ubnd@example.vn"),
    ("district", "Phạm Minh Tuấn", "Trung tâm Y tế {name}", "Đầu mối tiêm chủng của huyện",
     "0901000104", "ttyt@example.vn"),
    ("province", "Võ Thu Hà", "Trung tâm Kiểm soát bệnh tật {name}", "Đầu mối chiến dịch",
     "0901000105", "cdc@example.vn"),
)  # fmt: skip
#: At most this many of the demo commune's worklist doses go on the demo police's list.
DEMO_LIST_DOSES = 10


def _campaign_work(console: Console, c: compose.Container) -> None:
    """What the campaign's pages show besides doses, made with the services the CLI and the
    pages use, each audited as they do: the partner applications (`api-client add`; a token is
    printed once, like the demo accounts' passwords, for the demo only), the campaign phases with
    deadlines around the demo's clock (`report phases add`), the focal points of the demo
    commune, its district and province (`facilities focal-points add`), and one police
    verification list of the demo commune's worklist made and marked verified by demo.congan
    (the police's export and their "verified" button), which the committee (demo.ubnd) types
    from. Running the demo again gives the partners new tokens and adds nothing twice."""
    import datetime as dt

    from sqlalchemy import select

    from vaxlink.auth import service as auth
    from vaxlink.auth.demo import busiest_ward
    from vaxlink.auth.models import User
    from vaxlink.certificates.clients import add_client, get_client, rotate_client
    from vaxlink.certificates.errors import CertificateNotFound
    from vaxlink.cleaning import police_lists
    from vaxlink.cleaning.models import PoliceList
    from vaxlink.cleaning.worklist import WorklistQuery, worklist
    from vaxlink.facilities import directory
    from vaxlink.geo.index import UnitIndex
    from vaxlink.reports.service import phases

    now = c.clock.now()
    with c.transaction() as s:
        found = busiest_ward(s)
    ward = found[0] if found else "00001"
    index = UnitIndex.for_version()
    units = {key.level.value: key for key in index.path(f"ward:{ward}")}
    names = {level: index.get(str(units[level])).name for level in ("ward", "district", "province")}

    tokens: list[tuple[str, str]] = []
    for name, scopes, fields, kinds, days in DEMO_PARTNERS:
        with c.transaction() as s:
            try:
                client = get_client(s, name)
            except CertificateNotFound:
                client, token = add_client(
                    s, name, by="demo", now=now, scopes=scopes, fields=fields, kinds=kinds,
                    expires_at=now + dt.timedelta(days=days) if days else None,
                )  # fmt: skip
                c.audit_cli(s, "certificates.api_client_add", "api_client", client.id, by="demo",
                            detail={"scopes": client.scopes.split(), "fields": client.fields,
                                    "kinds": client.kinds.split(), "per_minute": None,
                                    "expires": bool(client.expires_at), "push": False})  # fmt: skip
            else:
                if not client.active:
                    continue
                client, token = rotate_client(s, name, now=now)
                c.audit_cli(s, "certificates.api_client_rotate", "api_client", client.id,
                            by="demo")  # fmt: skip
            tokens.append((client.name, token))

    added_phases = 0
    with c.transaction() as s:
        for name, level, start, end, target, percent in DEMO_PHASES:
            unit = str(units[level])
            if any(p.name == name for p in phases.listing(s, units[level])):
                continue
            phase = phases.create(s, name=name, unit=unit,
                                  starts_on=now.date() + dt.timedelta(days=start),
                                  deadline=now.date() + dt.timedelta(days=end),
                                  target_kind=target, target_percent=percent,
                                  by=c.operator("demo"), now=now)  # fmt: skip
            c.audit_cli(s, "campaign.phase_add", "campaign_phase", phase.id, by="demo", unit=unit)
            added_phases += 1

    added_points = 0
    with c.transaction() as s:
        for level, person, organisation, role, phone, email in DEMO_FOCAL_POINTS:
            unit = str(units[level])
            held = directory.listing(s, unit=unit)
            if any(f.full_name == person and f"{f.unit_level}:{f.unit_code}" == unit
                   for f in held):  # fmt: skip
                continue
            row = directory.add(s, directory.FocalPointInput(
                unit=unit, full_name=person, organisation=organisation.format(name=names[level]),
                campaign_role=role, phone=phone, email=email), now=now)  # fmt: skip
            c.audit_cli(s, "directory.add", "focal_point", row.id, by="demo",
                        unit=f"{row.unit_level}:{row.unit_code}")  # fmt: skip
            added_points += 1

    listed = None
    with c.transaction() as s:
        police = s.scalar(select(User).where(User.username == "demo.congan"))
        if police is not None and s.scalar(select(PoliceList.id).where(
                PoliceList.created_by == police.id)) is None:  # fmt: skip
            principal = auth.principal_of(police)
            rows = worklist(s, principal, WorklistQuery(limit=DEMO_LIST_DOSES)).rows
            if rows:
                list_id = police_lists.create_list(
                    s, principal, [(int(r["id"]), int(r["version"])) for r in rows], now=now
                )
                police_lists.mark_verified(
                    s, principal, list_id, now=now,
                    paper_ref=f"Danh sách số {list_id:02d}/CAX ngày {now:%d/%m/%Y} (demo)",
                )  # fmt: skip
                listed = (list_id, len(rows))

    table = Table(title="Demo partner applications (tokens for the demo only, shown once)")
    table.add_column("application", overflow="fold")
    table.add_column("token", no_wrap=True, min_width=47)
    for name, token in tokens:
        table.add_row(name, token)
    if tokens:
        console.print(table)
    said = f"Campaign: {added_phases} phases and {added_points} focal points added"
    if listed:
        said += (f"; police verification list {listed[0]} of the demo commune ({listed[1]} doses) "
                 "marked verified by demo.congan, for demo.ubnd to type from")  # fmt: skip
    console.print(said + ".", highlight=False)


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
