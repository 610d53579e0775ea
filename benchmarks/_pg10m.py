"""A large PostgreSQL store made set-based in SQL: N dose records over the real administrative
units (legacy list), with citizens, a realistic status mix, approvals and certificates.

    store = make_store(n_doses=10_000_000)   # a fresh database; returns its URL

Everything is INSERT ... SELECT generate_series: nothing passes through Python row by row.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import text

from vaxlink.db import make_engine, transaction, upgrade
from vaxlink.geo.service import load_units

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def create_database(prefix: str = "vaxlink_bench") -> str:
    """A new, migrated PostgreSQL database with the administrative units loaded."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        load_units(s, "2008-2025")
    engine.dispose()
    return url


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fill(url: str, n_doses: int, *, now: dt.datetime) -> dict[str, float]:
    """Citizens (one per 2.2 doses), doses with a status mix like the campaign's (≈73% verified as
    entered, 13% auto-linked, 5% review, 4% unmatched, 0.5% invalid, the rest pending), approvals
    for most linked doses and a certificate for most linked people."""
    import time

    engine = make_engine(url)
    n_citizens = max(1000, int(n_doses / 2.2))
    timings: dict[str, float] = {}
    steps = [
        (
            "wards",
            """
            CREATE TABLE bench_ward AS
            SELECT row_number() OVER (ORDER BY w.code) - 1 AS n, w.code AS ward,
                   d.code AS district, d.parent_code AS province
            FROM admin_unit w JOIN admin_unit d ON d.list_version = w.list_version
              AND d.level = 'district' AND d.code = w.parent_code
            WHERE w.list_version = '2008-2025' AND w.level = 'ward'
        """,
        ),
        (
            "batch",
            """
            INSERT INTO import_batch (id, kind, file_name, file_sha256, file_kind, rows_read,
              rows_imported, rows_unchanged, rows_quarantined, started_at, finished_at)
            VALUES (1, 'doses', 'bench', 'x', 'csv', 0, 0, 0, 0, :t0, :t0)
        """,
        ),
        (
            "citizens",
            """
            INSERT INTO citizen (citizen_id, full_name, name_folded, name_key, date_of_birth,
              dob_precision, sex, province_code, district_code, ward_code, row_hash, batch_id,
              source_row)
            SELECT lpad(g::text, 12, '0'), 'Nguyen Van ' || g, 'nguyen van ' || g, 'nguyen ' || g,
                   '1980-01-01', 'day', CASE WHEN g % 2 = 0 THEN 'M' ELSE 'F' END,
                   w.province, w.district, w.ward, 'x', 1, g
            FROM generate_series(1, CAST(:nc AS integer)) g
            JOIN bench_ward w ON w.n = (hashint4(g) & 2147483647) % (SELECT count(*) FROM bench_ward)
        """,
        ),
        (
            "doses",
            """
            INSERT INTO dose_record (id, record_id, batch_id, source_row, row_hash, full_name,
              name_folded, id_kind, province_code, district_code, ward_code, vaccine_key,
              vaccine_mp, vaccination_date, dose_number, dose_category, dose_sequence,
              facility_code, status, citizen_id, version)
            SELECT g, 'MT' || g, 1, g, 'x', 'Nguyen Van', 'nguyen van', 'cccd',
                   c.province_code, c.district_code,
                   CASE WHEN g % 20 = 0 THEN NULL ELSE c.ward_code END,
                   'comirnaty', 'EU/1/20/1528', DATE '2021-03-01' + (g % 600),
                   1 + g % 3, 'primary', 1 + g % 3,
                   'F' || c.province_code || lpad(((hashint4(g) & 255) % 40)::text, 4, '0'),
                   s.status, CASE WHEN s.status IN ('verified', 'auto_linked')
                                  THEN c.citizen_id END, 2
            FROM generate_series(1, CAST(:nd AS integer)) g
            JOIN citizen c ON c.citizen_id = lpad((1 + g % CAST(:nc AS integer))::text, 12, '0')
            CROSS JOIN LATERAL (SELECT CASE
                WHEN (hashint4(g + 7) & 1023) < 748 THEN 'verified'
                WHEN (hashint4(g + 7) & 1023) < 881 THEN 'auto_linked'
                WHEN (hashint4(g + 7) & 1023) < 932 THEN 'review'
                WHEN (hashint4(g + 7) & 1023) < 973 THEN 'unmatched'
                WHEN (hashint4(g + 7) & 1023) < 978 THEN 'invalid'
                ELSE 'pending' END AS status) s
        """,
        ),
        (
            "approvals",
            """
            INSERT INTO facility_approval (id, facility_code, manifest_version, manifest_digest,
              record_count, signature, signer_kid, signer_fingerprint, signer_certificate,
              approver, approved_at)
            SELECT row_number() OVER (), f.facility_code, '1', md5(f.facility_code), 0, '\\x00',
                   'k', 'f', '\\x00', 'bench', :t0
            FROM (SELECT DISTINCT facility_code FROM dose_record) f
        """,
        ),
        (
            "approved",
            """
            INSERT INTO facility_approval_record (approval_id, dose_id, record_id, record_digest)
            SELECT a.id, d.id, d.record_id, 'x' FROM dose_record d
            JOIN facility_approval a ON a.facility_code = d.facility_code
            WHERE d.status IN ('verified', 'auto_linked') AND d.id % 10 <> 0
        """,
        ),
        (
            "certificates",
            """
            INSERT INTO certificate (uvci, citizen_id, kind, payload, hc1, kid, iat, exp, status,
              content_digest, generation, created_at, created_by, created_reason)
            SELECT 'URN:UVCI:01:VN:' || c.citizen_id, c.citizen_id, 'v', '{}'::jsonb, 'HC1:', 'k',
                   :t0, :t0 + ((hashint4(length(c.citizen_id) + c.source_row) & 511) || ' days')::interval,
                   'active', 'x', 0, :t0, 'bench', 'issue'
            FROM citizen c WHERE c.source_row % 3 <> 0
        """,
        ),
        ("analyze", "ANALYZE"),
    ]
    t0 = now - dt.timedelta(days=1)
    for name, sql in steps:
        started = time.perf_counter()
        with transaction(engine) as s:
            params = {"t0": t0, "nc": n_citizens, "nd": n_doses}
            stmt = text(sql)
            used = {k: v for k, v in params.items() if f":{k}" in sql}
            s.execute(stmt, used)
        timings[name] = round(time.perf_counter() - started, 2)
        print(f"  {name:<14} {timings[name]:>8.1f} s", flush=True)
    with transaction(engine) as s:
        s.execute(text("DROP TABLE bench_ward"))
    engine.dispose()
    return timings
