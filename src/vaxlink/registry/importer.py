"""Registry snapshot load: validate set-based in DuckDB, upsert the local mirror in bulk."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
from sqlalchemy.engine import Engine

from vaxlink.clock import Clock
from vaxlink.duck import scalar
from vaxlink.ingest.service import (
    BulkConnection,
    Check,
    ImportJob,
    ImportKind,
    ImportReport,
    WriteCounts,
    any_failed_sql,
    dictmap,
    raw_hash_sql,
    raw_json_sql,
    reader,
    reasons_sql,
    run_import,
    values_sql,
)
from vaxlink.registry.columns import RAW_FIELDS, REGISTRY_COLUMNS
from vaxlink.settings import Settings

_CHECKS: tuple[Check, ...] = (
    ("citizen_id_invalid", "cid IS NULL OR NOT regexp_full_match(cid, '[0-9]{12}')",
     "'citizen id ''' || coalesce(citizen_id, '') || ''' is not a 12-digit number'"),
    ("citizen_id_duplicate", "cid_count > 1",
     "'citizen id ' || citizen_id || ' appears ' || cid_count || ' times in this file'"),
    ("name_missing", "n_full_name IS NULL", "'full name is empty'"),
    ("dob_missing", "date_of_birth IS NULL", "'date of birth is empty'"),
    ("dob_invalid", "dob_error IS NOT NULL", "dob_error"),
    ("sex_invalid", "n_sex IS NULL", "'sex ''' || coalesce(sex, '') || ''' is not M or F'"),
    ("province_invalid", "vx_code(province_code, 3) IS NULL",
     "'province code ''' || coalesce(province_code, '') || ''' is not a code'"),
)  # fmt: skip
#: The row's values the catalogue's reason texts name (`import.reason.<code>`).
_REASON_VALUES = {"citizen_id": "citizen_id", "count": "cid_count",
                  "date_of_birth": "date_of_birth", "sex": "sex", "province_code": "province_code"}  # fmt: skip


def parse_registry(con: duckdb.DuckDBPyConnection, today: dt.date) -> None:
    """Create DuckDB table `good` (citizens ready for the store) and add refused rows to `bad`."""
    dictmap.map_names(con, "SELECT full_name FROM src", "name_map")
    dictmap.map_dates(con, "SELECT date_of_birth FROM src", "dob_map", "date of birth")
    dictmap.map_sexes(con, "SELECT sex FROM src", "sex_map")
    con.execute(
        f"""
        CREATE TABLE checked AS
        WITH c AS (
            SELECT s.*, vx_id(s.citizen_id) AS cid,
                   count(*) OVER (PARTITION BY vx_id(s.citizen_id)) AS cid_count,
                   {raw_hash_sql(RAW_FIELDS, "s.")} AS row_hash,
                   nm.full_name AS n_full_name, nm.name_folded AS n_name_folded,
                   dob.iso AS dob_iso, dob.precision AS dob_precision, dob.error AS dob_error,
                   sx.sex AS n_sex
            FROM src s
            LEFT JOIN name_map nm ON nm.raw = s.full_name
            LEFT JOIN dob_map dob ON dob.raw = s.date_of_birth
            LEFT JOIN sex_map sx ON sx.raw = s.sex)
        SELECT c.*, CASE WHEN {any_failed_sql(_CHECKS)} THEN 'x' ELSE '' END AS codes FROM c
        """
    )
    con.execute("DROP TABLE name_map; DROP TABLE dob_map; DROP TABLE sex_map")
    reader.release(con)  # `checked` carries the raw values: the source copy is not needed now
    # Messages are built only for the few refused rows.
    codes_sql, msgs_sql = reasons_sql(_CHECKS)
    con.execute(
        f"""
        INSERT INTO bad
        SELECT _row, citizen_id, {raw_json_sql(RAW_FIELDS)}, {codes_sql}, {msgs_sql}, row_hash,
               {values_sql(_REASON_VALUES)}
        FROM checked WHERE codes <> ''
        """
    )
    con.execute(
        """
        CREATE TABLE good AS
        SELECT cid AS citizen_id, n_full_name AS full_name, n_name_folded AS name_folded,
               string_split(n_name_folded, ' ')[1] || ' ' || string_split(n_name_folded, ' ')[-1]
                   AS name_key,
               dob_iso AS date_of_birth, dob_precision, n_sex AS sex,
               vx_code(province_code, 3) AS province_code,
               vx_code(district_code, 3) AS district_code, vx_code(ward_code, 5) AS ward_code,
               CASE WHEN vx_id_kind(vx_id(old_id)) = 'cmnd9' THEN vx_id(old_id) END AS old_id,
               vx_space(address) AS address, vx_phone(phone) AS phone,
               row_hash, CAST(_row AS INTEGER) AS source_row
        FROM checked WHERE codes = '' ORDER BY _row
        """
    )
    con.execute("DROP TABLE checked")


def write_registry(
    bulk: BulkConnection, con: duckdb.DuckDBPyConnection, batch_id: int
) -> WriteCounts:
    """Upsert citizens: new ones appended in bulk, changed ones updated, identical ones left alone."""
    bulk.ingest("stg_keys", con.sql("SELECT citizen_id, row_hash FROM good").to_arrow_table())
    existing = bulk.arrow(
        "SELECT s.citizen_id, s.row_hash = c.row_hash AS same "
        "FROM stg_keys s JOIN citizen c ON c.citizen_id = s.citizen_id"
    )
    bulk.execute("DROP TABLE stg_keys")
    con.register("existing_in", existing)
    rows = "SELECT g.*, CAST($batch AS INTEGER) AS batch_id FROM good g"
    params = {"batch": batch_id}
    new = con.sql(f"{rows} ANTI JOIN existing_in e USING (citizen_id)", params=params)
    changed = con.sql(
        f"{rows} JOIN existing_in e USING (citizen_id) WHERE NOT e.same", params=params
    ).to_arrow_table()
    n_new = int(
        scalar(con, "SELECT count(*) FROM good ANTI JOIN existing_in USING (citizen_id)") or 0
    )
    if n_new:
        bulk.ingest("citizen", new.to_arrow_reader(100_000), temporary=False)
    if changed.num_rows:
        bulk.ingest("stg_changed", changed)
        sets = ", ".join(f"{c} = s.{c}" for c in changed.column_names if c != "citizen_id")
        bulk.execute(
            f"UPDATE citizen SET {sets} FROM stg_changed s WHERE citizen.citizen_id = s.citizen_id"
        )
        bulk.execute("DROP TABLE stg_changed")
    same = existing.num_rows - changed.num_rows
    con.unregister("existing_in")
    return WriteCounts(imported=n_new, unchanged=same, updated=changed.num_rows)


REGISTRY = ImportKind("registry", REGISTRY_COLUMNS, parse_registry, write_registry)


def load_registry(
    engine: Engine,
    path: Path,
    *,
    settings: Settings,
    clock: Clock,
    today: dt.date | None = None,
    imported_by: str | None = None,
    on_stage: Callable[[str], None] | None = None,
    sole_user: bool = False,
    lang: str = "vi",
) -> ImportReport:
    """Load a registry snapshot (docs/formats.md §1) into the local mirror.

    `sole_user`: nothing else in this process uses the store during the import (a command line
    run): the engine's connections are closed and the import runs in this process, not a child.
    """
    job = ImportJob(
        url=engine.url.render_as_string(hide_password=False),
        path=Path(path),
        kind="registry",
        settings=settings,
        today=today or clock.today(),
        clock=clock,
        imported_by=imported_by,
        lang=lang,
    )
    if sole_user:
        # Nothing else in this process uses the store: close our connections, import here.
        engine.dispose()
    return run_import(job, on_stage, in_process=sole_user)
