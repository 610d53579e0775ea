"""Dose-record import: parse and validate set-based in DuckDB, then bulk insert into the store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy.engine import Engine

from vaxlink.duck import scalar
from vaxlink.ingest.checks import Check, raw_hash_sql, raw_json_sql, reasons_sql
from vaxlink.ingest.pipeline import ImportJob, ImportKind, ImportReport, WriteCounts, run_import
from vaxlink.ingest.store import BulkConnection
from vaxlink.records import vaccines
from vaxlink.records.columns import DOSE_COLUMNS, RAW_FIELDS
from vaxlink.settings import Settings

FIRST_VACCINATION_DAY = dt.date(2021, 1, 1)

# Each check: (code, condition on table b, message). Messages name the value so a station can fix it.
_CHECKS: tuple[Check, ...] = (
    ("record_id_missing", "record_id IS NULL", "'record id is empty (Mã mũi tiêm)'"),
    ("record_id_duplicate", "rid_count > 1",
     "'record id ' || record_id || ' appears ' || rid_count || ' times in this file; "
     "each dose needs its own id'"),
    ("name_missing", "full_name IS NULL", "'full name is empty'"),
    ("name_no_letters", "full_name IS NOT NULL AND NOT regexp_matches(full_name, '[[:alpha:]]')",
     "'full name ''' || full_name || ''' has no letters'"),
    ("dob_not_a_date", "dob.error = 'not_a_date'",
     "'date of birth ''' || date_of_birth || ''' is not a date (write DD/MM/YYYY)'"),
    ("dob_does_not_exist", "dob.error = 'does_not_exist'",
     "'date of birth ' || date_of_birth || ' does not exist'"),
    ("dob_implausible", "dob.iso IS NOT NULL AND (dob.iso < '1900' OR dob.iso > CAST($today AS VARCHAR))",
     "'date of birth ' || date_of_birth || ' is not plausible'"),
    ("id_too_long", "vx_id_kind(idn) = 'too_long'",
     "'ID number ' || id_number || ' has ' || length(idn) || ' digits; a CCCD has 12 and a CMND 9'"),
    ("vaccine_missing", "vaccine IS NULL", "'vaccine name is empty'"),
    ("vaccine_unknown", "vaccine IS NOT NULL AND vac.key IS NULL",
     "'vaccine ''' || vaccine || ''' is not in the catalogue (e.g. AstraZeneca, Pfizer, "
     "Moderna, Vero Cell, Sputnik V, Abdala, Hayat-Vax, Janssen)'"),
    ("vaccination_date_missing", "vaccination_date IS NULL", "'vaccination date is empty'"),
    ("vaccination_date_invalid", "vaccination_date IS NOT NULL AND vd.error IS NOT NULL",
     "'vaccination date ''' || vaccination_date || ''' ' || CASE vd.error "
     "WHEN 'does_not_exist' THEN 'does not exist' ELSE 'is not a date (write DD/MM/YYYY)' END"),
    ("vaccination_date_partial", "vd.precision IN ('year', 'month')",
     "'vaccination date ' || vaccination_date || ' needs a day and a month'"),
    ("vaccination_date_out_of_range",
     "vd.precision = 'day' AND (vd.iso < CAST($first_day AS VARCHAR) OR vd.iso > CAST($today AS VARCHAR))",
     "'vaccination date ' || vaccination_date || ' is ' || CASE WHEN vd.iso > CAST($today AS VARCHAR) "
     "THEN 'in the future' ELSE 'before the campaign began' END"),
    ("dob_after_vaccination", "dob.iso IS NOT NULL AND vd.precision = 'day' AND dob.iso > vd.iso",
     "'date of birth ' || date_of_birth || ' is after the vaccination date ' || vaccination_date"),
    ("dose_number_missing", "dose_number IS NULL", "'dose number (Mũi số) is empty'"),
    ("dose_number_invalid", "dose_number IS NOT NULL AND dn IS NULL",
     "'dose number ''' || dose_number || ''' must be a whole number from 1 to 10'"),
)  # fmt: skip


def parse_doses(con: duckdb.DuckDBPyConnection, today: dt.date) -> None:
    """Create DuckDB tables `good` (ready for the store) and add refused rows to `bad`."""
    alias_rows = list(vaccines.aliases().items())
    cat = vaccines.catalogue()
    con.register(
        "vaccine_alias_in",
        pa.table(
            {
                "folded": [a for a, _k in alias_rows],
                "key": [k for _a, k in alias_rows],
                "mp": [cat[k].mp for _a, k in alias_rows],
                "primary_doses": [cat[k].primary_doses for _a, k in alias_rows],
            }
        ),
    )
    codes_sql, msgs_sql = reasons_sql(_CHECKS)
    raw_hash = raw_hash_sql(("record_id", *RAW_FIELDS))
    params = {"today": today.isoformat(), "first_day": FIRST_VACCINATION_DAY.isoformat()}
    con.execute(
        f"""
        CREATE TABLE checked AS
        WITH b0 AS (
            SELECT s.*, vx_date(date_of_birth) AS dob, vx_date(vaccination_date) AS vd,
                   vx_id(id_number) AS idn,
                   regexp_replace(vx_fold(vaccine), '[^0-9a-z]', '', 'g') AS vfold,
                   CASE WHEN TRY_CAST(dose_number AS DOUBLE) BETWEEN 1 AND 10
                         AND TRY_CAST(dose_number AS DOUBLE) = floor(TRY_CAST(dose_number AS DOUBLE))
                        THEN CAST(TRY_CAST(dose_number AS DOUBLE) AS INTEGER) END AS dn,
                   count(*) OVER (PARTITION BY record_id) AS rid_count,
                   {raw_hash} AS row_hash
            FROM src s
        ),
        b AS (SELECT b0.*, vac.key AS vac_key FROM b0 LEFT JOIN vaccine_alias_in vac
              ON vac.folded = b0.vfold)
        SELECT b.*, {codes_sql.replace("vac.key", "vac_key")} AS codes,
               {msgs_sql.replace("vac.key", "vac_key")} AS reasons
        FROM b
        """,
        params,
    )
    con.execute(
        f"""
        INSERT INTO bad
        SELECT _row, record_id, {raw_json_sql(("record_id", *RAW_FIELDS))}, codes, reasons, row_hash
        FROM checked WHERE codes <> ''
        """
    )
    con.execute(
        """
        CREATE TABLE good AS
        SELECT CAST(c._row AS INTEGER) AS source_row, c.record_id, c.row_hash,
               c.full_name AS raw_full_name, c.date_of_birth AS raw_date_of_birth, c.sex AS raw_sex,
               c.id_number AS raw_id_number, c.phone AS raw_phone,
               c.province_code AS raw_province_code, c.district_code AS raw_district_code,
               c.ward_code AS raw_ward_code, c.vaccine AS raw_vaccine, c.lot_number AS raw_lot_number,
               c.vaccination_date AS raw_vaccination_date, c.dose_number AS raw_dose_number,
               c.facility_code AS raw_facility_code, c._extra AS raw_extra,
               vx_name(c.full_name) AS full_name, vx_fold(vx_name(c.full_name)) AS name_folded,
               c.dob.iso AS date_of_birth, c.dob.precision AS dob_precision,
               vx_sex(c.sex) AS sex, c.idn AS id_number, vx_id_kind(c.idn) AS id_kind,
               vx_phone(c.phone) AS phone,
               vx_code(c.province_code, 3) AS province_code,
               vx_code(c.district_code, 3) AS district_code,
               vx_code(c.ward_code, 5) AS ward_code,
               v.key AS vaccine_key, v.mp AS vaccine_mp, c.lot_number,
               c.vd.iso AS vaccination_date, CAST(c.dn AS INTEGER) AS dose_number,
               CASE WHEN c.dn <= v.primary_doses THEN 'primary' ELSE 'booster' END AS dose_category,
               CAST(CASE WHEN c.dn <= v.primary_doses THEN c.dn ELSE c.dn - v.primary_doses END
                    AS INTEGER) AS dose_sequence,
               c.facility_code,
               nullif(array_to_string(list_filter([
                   CASE WHEN c.sex IS NOT NULL AND vx_sex(c.sex) IS NULL
                        THEN 'sex ''' || c.sex || ''' not recognised' END,
                   CASE WHEN c.phone IS NOT NULL AND vx_phone(c.phone) IS NULL
                        THEN 'phone ''' || c.phone || ''' not recognised' END,
                   CASE WHEN c.province_code IS NOT NULL AND vx_code(c.province_code, 3) IS NULL
                        THEN 'province code ''' || c.province_code || ''' not recognised' END
               ], lambda x: x IS NOT NULL), '; '), '') AS warnings
        FROM checked c
        JOIN (SELECT DISTINCT key, mp, primary_doses FROM vaccine_alias_in) v ON v.key = c.vac_key
        WHERE c.codes = ''
        ORDER BY c._row
        """
    )
    con.execute("DROP TABLE checked")
    con.unregister("vaccine_alias_in")


def write_doses(bulk: BulkConnection, con: duckdb.DuckDBPyConnection, batch_id: int) -> WriteCounts:
    """Append new records in bulk; identical re-sends count as unchanged; changed ones are refused."""
    bulk.ingest("stg_keys", con.sql("SELECT record_id, row_hash FROM good").to_arrow_table())
    existing = bulk.arrow(
        "SELECT s.record_id, s.row_hash = d.row_hash AS same, d.batch_id AS first_batch "
        "FROM stg_keys s JOIN dose_record d ON d.record_id = s.record_id"
    )
    bulk.execute("DROP TABLE stg_keys")
    con.register("existing_in", existing)
    con.execute(
        """
        INSERT INTO bad
        SELECT g.source_row, g.record_id,
               CAST(to_json(struct_pack(record_id := g.record_id, full_name := g.raw_full_name,
                    date_of_birth := g.raw_date_of_birth, id_number := g.raw_id_number,
                    vaccine := g.raw_vaccine, vaccination_date := g.raw_vaccination_date,
                    dose_number := g.raw_dose_number)) AS VARCHAR),
               'record_id_changed',
               'record id ' || g.record_id || ' was already imported (batch ' || e.first_batch
               || ') with other values; send changes as corrections, not as a new file',
               g.row_hash
        FROM good g JOIN existing_in e ON e.record_id = g.record_id AND NOT e.same
        """
    )
    unchanged = int(scalar(con, "SELECT count(*) FROM existing_in WHERE same") or 0)
    # Dates travel as ISO text on SQLite (how SQLAlchemy stores them) and as DATE on PostgreSQL.
    vdate = "CAST(vaccination_date AS DATE)" if bulk.dialect == "postgresql" else "vaccination_date"
    new_rows = con.sql(
        f"""
        SELECT g.* EXCLUDE (vaccination_date), {vdate} AS vaccination_date,
               CAST($batch AS INTEGER) AS batch_id, 'pending' AS status, CAST(1 AS INTEGER) AS version
        FROM good g ANTI JOIN existing_in e ON e.record_id = g.record_id
        """,
        params={"batch": batch_id},
    )
    imported = int(
        scalar(con, "SELECT count(*) FROM good g ANTI JOIN existing_in e USING (record_id)") or 0
    )
    if imported:
        bulk.ingest("dose_record", new_rows.to_arrow_reader(100_000), temporary=False)
    con.unregister("existing_in")
    return WriteCounts(imported=imported, unchanged=unchanged)


DOSES = ImportKind("doses", DOSE_COLUMNS, parse_doses, write_doses)


def import_doses(
    engine: Engine,
    path: Path,
    *,
    settings: Settings,
    today: dt.date | None = None,
    imported_by: str | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> ImportReport:
    """Import a dose-record file (formats.md §2); see `ImportReport` for what happened to each row."""
    job = ImportJob(
        url=engine.url.render_as_string(hide_password=False),
        path=Path(path),
        kind="doses",
        settings=settings,
        today=today or dt.date.today(),
        imported_by=imported_by,
    )
    return run_import(job, on_stage)
