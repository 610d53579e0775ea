"""Parse and check dose records set-based in DuckDB: table `src` → tables `good` and `bad`.

Names, dates and sexes go through the identity functions once per distinct value
(`ingest.dictmap`); IDs, phones and codes through the SQL macros of `ingest.sqlnorm`.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from vaxlink.ingest.service import (
    Check,
    any_failed_sql,
    dictmap,
    raw_hash_sql,
    raw_json_sql,
    reader,
    reasons_sql,
    values_sql,
)
from vaxlink.records import vaccines
from vaxlink.records.columns import RAW_FIELDS

FIRST_VACCINATION_DAY = dt.date(2021, 1, 1)
#: From this day the Ministry's rule is "identify first, then vaccinate" (the same date as
#: `vaxlink.cleaning.entry.IDENTITY_FIRST_SINCE`): a dose of that day or later that arrives in a
#: file skipped the identity check. It is stored (nothing is lost) with warning `IDENTITY_FIRST`
#: and counted in the import's flags and in the figures until the registry check verifies it.
IDENTITY_FIRST_SINCE = dt.date(2021, 10, 20)
IDENTITY_FIRST = "identity_first_unverified"
#: A date of birth written DD/MM/YY: stored as 20YY (not after the import's year) or 19YY, with
#: this warning; the linkage compares it with the registry like any other date.
TWO_DIGIT_YEAR = "dob_two_digit_year"
_TWO_DIGIT_YEAR = r"regexp_matches(trim(k.date_of_birth), '^\d{1,2}[-/.]\d{1,2}[-/.]\d{2}$')"
_KNOWN = "AstraZeneca, Pfizer, Moderna, Vero Cell, Sputnik V, Abdala, Hayat-Vax, Janssen"

# (code, condition, message) over table `c` below. Messages name the value so a station can fix it.
CHECKS: tuple[Check, ...] = (
    ("record_id_missing", "record_id IS NULL", "'record id is empty (Mã mũi tiêm)'"),
    ("record_id_duplicate", "rid_count > 1",
     "'record id ' || record_id || ' appears ' || rid_count || ' times in this file; "
     "each dose needs its own id'"),
    ("name_missing", "n_full_name IS NULL", "'full name is empty'"),
    ("name_no_letters", "n_full_name IS NOT NULL AND NOT regexp_matches(n_name_folded, '[a-z]')",
     "'full name ''' || full_name || ''' has no letters'"),
    ("dob_invalid", "dob_error IS NOT NULL", "dob_error"),
    ("dob_implausible",
     "dob_iso IS NOT NULL AND (dob_iso < '1900' OR dob_iso > CAST($today AS VARCHAR))",
     "'date of birth ' || date_of_birth || ' is not plausible'"),
    # 13 digits: a 12-digit number with one digit typed twice, which the linkage matches by edit
    # distance; more is no ID number
    ("id_too_long", "id_kind = 'too_long' AND length(idn) > 13",
     "'ID number ' || id_number || ' has ' || length(idn) || ' digits; a CCCD has 12 and a CMND 9'"),
    ("vaccine_missing", "vaccine IS NULL", "'vaccine name is empty'"),
    ("vaccine_unknown", "vaccine IS NOT NULL AND vac_key IS NULL",
     f"'vaccine ''' || vaccine || ''' is not in the catalogue (e.g. {_KNOWN})'"),
    ("vaccination_date_missing", "vaccination_date IS NULL", "'vaccination date is empty'"),
    ("vaccination_date_invalid", "vd_error IS NOT NULL", "vd_error"),
    ("vaccination_date_partial", "vd_precision IN ('year', 'month')",
     "'vaccination date ' || vaccination_date || ' needs a day and a month'"),
    ("vaccination_date_out_of_range",
     "vd_precision = 'day' AND (vd_iso < CAST($first_day AS VARCHAR) "
     "OR vd_iso > CAST($today AS VARCHAR))",
     "'vaccination date ' || vaccination_date || ' is ' || CASE WHEN vd_iso > "
     "CAST($today AS VARCHAR) THEN 'in the future' ELSE 'before the campaign began' END"),
    ("dob_after_vaccination",
     "dob_iso IS NOT NULL AND vd_precision = 'day' AND dob_iso > vd_iso",
     "'date of birth ' || date_of_birth || ' is after the vaccination date ' || vaccination_date"),
    ("dose_number_missing", "dose_number IS NULL", "'dose number (Mũi số) is empty'"),
    ("dose_number_invalid", "dose_number IS NOT NULL AND dn IS NULL",
     "'dose number ''' || dose_number || ''' must be a whole number from 1 to 10'"),
)  # fmt: skip
#: The row's values the catalogue's reason texts name (`import.reason.<code>`, `{placeholder}` ->
#: SQL over the same columns as CHECKS); dates as the row wrote them.
REASON_VALUES: dict[str, str] = {
    "record_id": "record_id", "count": "rid_count", "full_name": "full_name",
    "date_of_birth": "date_of_birth", "id_number": "id_number", "digits": "length(idn)",
    "vaccine": "vaccine", "known": f"'{_KNOWN}'", "vaccination_date": "vaccination_date",
    "first_day": f"'{FIRST_VACCINATION_DAY.strftime('%d/%m/%Y')}'",
    "today": "strftime(CAST($today AS DATE), '%d/%m/%Y')", "dose_number": "dose_number",
    "batch": "first_batch",
}  # fmt: skip


def _register_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    """Table `vac_map`(raw, key, mp, primary_doses): each distinct written name looked up once."""

    def look(raw: str) -> tuple[object, ...]:
        v = vaccines.lookup(raw)
        return (v.key, v.mp, v.primary_doses) if v else (None, None, None)

    dictmap.map_distinct(
        con, "SELECT vaccine FROM src", "vac_map", look,
        [("key", pa.string()), ("mp", pa.string()), ("primary_doses", pa.int32())],
    )  # fmt: skip


def _checked(con: duckdb.DuckDBPyConnection, today: dt.date) -> None:
    """View `checked`: each source row's raw values, parsed values and whether a check failed.

    A view, not a table: the rows are checked once, while they stream to the store (see
    `rows_sql`). The per-value maps and `dup` (ids present more than once: a hash aggregate, far
    cheaper than a window over rows) are tables, made here; `release` drops them after the write.
    """
    dictmap.map_names(con, "SELECT full_name FROM src", "name_map")
    # DD/MM/YY on a dose record: 20YY unless that day is after today, else 19YY; with a warning
    dictmap.map_dates(con, "SELECT date_of_birth FROM src", "dob_map", "date of birth",
                      century_pivot=today)  # fmt: skip
    dictmap.map_dates(con, "SELECT vaccination_date FROM src", "vd_map", "vaccination date")
    dictmap.map_sexes(con, "SELECT sex FROM src", "sex_map")
    con.execute(
        "CREATE TABLE dup AS SELECT record_id, count(*) AS n FROM src "
        "GROUP BY record_id HAVING count(*) > 1"
    )
    con.execute(
        f"""
        CREATE VIEW checked AS
        WITH c0 AS (
            SELECT s.*, vx_id(s.id_number) AS idn,
                   CASE WHEN TRY_CAST(s.dose_number AS DOUBLE) BETWEEN 1 AND 10
                         AND TRY_CAST(s.dose_number AS DOUBLE)
                             = floor(TRY_CAST(s.dose_number AS DOUBLE))
                        THEN CAST(TRY_CAST(s.dose_number AS DOUBLE) AS INTEGER) END AS dn,
                   coalesce(d.n, 1) AS rid_count,
                   {raw_hash_sql(("record_id", *RAW_FIELDS), "s.")} AS row_hash,
                   vac.key AS vac_key, vac.mp AS vac_mp, vac.primary_doses,
                   nm.full_name AS n_full_name, nm.name_folded AS n_name_folded, nm.legacy,
                   dob.iso AS dob_iso, dob.precision AS dob_precision, dob.error AS dob_error,
                   vd.iso AS vd_iso, vd.precision AS vd_precision, vd.error AS vd_error,
                   sx.sex AS n_sex
            FROM src s
            LEFT JOIN dup d ON d.record_id IS NOT DISTINCT FROM s.record_id
            LEFT JOIN vac_map vac ON vac.raw = s.vaccine
            LEFT JOIN name_map nm ON nm.raw = s.full_name
            LEFT JOIN dob_map dob ON dob.raw = s.date_of_birth
            LEFT JOIN vd_map vd ON vd.raw = s.vaccination_date
            LEFT JOIN sex_map sx ON sx.raw = s.sex
        ), c AS (SELECT *, vx_id_kind(idn) AS id_kind FROM c0)
        SELECT *, CASE WHEN {_constants(any_failed_sql(CHECKS), today)} THEN 'x' ELSE '' END
               AS codes
        FROM c
        """
    )


def _constants(sql: str, today: dt.date) -> str:
    """`sql` with $today and $first_day written in as ISO date text (a view takes no parameters;
    dates are compared as ISO text)."""
    return sql.replace("$today", f"'{today.isoformat()}'").replace(
        "$first_day", f"'{FIRST_VACCINATION_DAY.isoformat()}'"
    )


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what `parse_doses` made, and the source rows (the stream to the store has read them)."""
    con.execute(
        "DROP VIEW IF EXISTS dose_rows; DROP TABLE IF EXISTS existing_in; "
        "DROP VIEW IF EXISTS checked; DROP TABLE IF EXISTS dup; DROP TABLE IF EXISTS name_map; "
        "DROP TABLE IF EXISTS dob_map; DROP TABLE IF EXISTS vd_map; DROP TABLE IF EXISTS sex_map; "
        "DROP TABLE IF EXISTS vac_map"
    )
    reader.release(con)


def parse_doses(con: duckdb.DuckDBPyConnection, today: dt.date) -> None:
    """Map the distinct values; define view `dose_rows`, every row once with its fate, read in one
    pass by the write step after it has filled table `existing_in`."""
    _register_catalogue(con)
    _checked(con, today)
    con.execute(
        "CREATE TABLE existing_in (record_id VARCHAR, stored_hash VARCHAR, first_batch INTEGER)"
    )
    con.execute(f"CREATE VIEW dose_rows AS {rows_sql(today)}")


#: The columns of a dose row as `rows_sql` gives them, in the store's names.
STORE_COLUMNS: tuple[str, ...] = (
    "source_row", "record_id", "row_hash",
    *(f"raw_{f}" for f in RAW_FIELDS), "raw_extra",
    "full_name", "name_folded", "date_of_birth", "dob_precision", "sex", "id_number", "id_kind",
    "phone", "province_code", "district_code", "ward_code", "vaccine_key", "vaccine_mp",
    "lot_number", "vaccination_date", "dose_number", "dose_category", "dose_sequence",
    "facility_code", "warnings",
)  # fmt: skip
#: What becomes of a row: stored, already stored as it is, or quarantined (checks, changed id).
NEW, UNCHANGED, REFUSED = "new", "unchanged", "refused"


def rows_sql(today: dt.date) -> str:
    """Every source row once: its store columns and its fate, against table `existing_in`
    (record_id, stored_hash, first_batch: the file's ids the store holds already).

    Reason codes, messages and raw JSON are built for refused rows alone (a CASE evaluates a
    branch only for the rows it selects). The vaccination date is ISO text.
    """
    codes_sql, msgs_sql = reasons_sql(CHECKS)
    args = values_sql(REASON_VALUES)
    raw = raw_json_sql(("record_id", *RAW_FIELDS), "k.")
    failed = "k.codes <> ''"
    identity_first = (
        f"coalesce(k.vd_precision = 'day' AND k.vd_iso >= '{IDENTITY_FIRST_SINCE.isoformat()}', "
        "false)"
    )
    changed = "k.stored_hash IS NOT NULL AND k.stored_hash <> k.row_hash"
    return _constants(
        f"""
        WITH k AS (
            SELECT c.*, vx_phone(c.phone) AS n_phone, vx_code(c.province_code, 3) AS n_province,
                   e.stored_hash, e.first_batch
            FROM checked c LEFT JOIN existing_in e ON e.record_id = c.record_id
        )
        SELECT CAST(k._row AS INTEGER) AS source_row, k.record_id, k.row_hash,
               k.full_name AS raw_full_name, k.date_of_birth AS raw_date_of_birth,
               k.sex AS raw_sex, k.id_number AS raw_id_number, k.phone AS raw_phone,
               k.province_code AS raw_province_code, k.district_code AS raw_district_code,
               k.ward_code AS raw_ward_code, k.vaccine AS raw_vaccine,
               k.lot_number AS raw_lot_number, k.vaccination_date AS raw_vaccination_date,
               k.dose_number AS raw_dose_number, k.facility_code AS raw_facility_code,
               k._extra AS raw_extra,
               k.n_full_name AS full_name, k.n_name_folded AS name_folded,
               k.dob_iso AS date_of_birth, k.dob_precision, k.n_sex AS sex,
               k.idn AS id_number, k.id_kind, k.n_phone AS phone,
               k.n_province AS province_code,
               vx_code(k.district_code, 3) AS district_code,
               vx_code(k.ward_code, 5) AS ward_code,
               k.vac_key AS vaccine_key, k.vac_mp AS vaccine_mp, k.lot_number,
               k.vd_iso AS vaccination_date,
               CAST(k.dn AS INTEGER) AS dose_number,
               CASE WHEN k.dn <= k.primary_doses THEN 'primary' ELSE 'booster' END
                   AS dose_category,
               CAST(CASE WHEN k.dn <= k.primary_doses THEN k.dn ELSE k.dn - k.primary_doses END
                    AS INTEGER) AS dose_sequence,
               k.facility_code,
               -- concat_ws skips the NULLs: only the warnings that apply are joined.
               nullif(concat_ws('; ',
                   CASE WHEN k.legacy IS NOT NULL
                        THEN 'name converted from ' || upper(k.legacy) || ' legacy encoding' END,
                   CASE WHEN k.sex IS NOT NULL AND k.n_sex IS NULL
                        THEN 'sex ''' || k.sex || ''' not recognised' END,
                   CASE WHEN k.phone IS NOT NULL AND k.n_phone IS NULL
                        THEN 'phone ''' || k.phone || ''' not recognised' END,
                   CASE WHEN k.province_code IS NOT NULL AND k.n_province IS NULL
                        THEN 'province code ''' || k.province_code || ''' not recognised' END,
                   CASE WHEN k.dob_iso IS NOT NULL AND {_TWO_DIGIT_YEAR}
                        THEN '{TWO_DIGIT_YEAR}: date of birth ''' || k.date_of_birth
                             || ''' has a two-digit year, read as ' || k.dob_iso END,
                   CASE WHEN {identity_first}
                        THEN '{IDENTITY_FIRST}: vaccinated on or after 20/10/2021 and entered '
                             || 'from a file, without the identity check; verified against the '
                             || 'registry before any certificate' END
               ), '') AS warnings,
               {identity_first} AS _identity_first,
               CASE WHEN {failed} OR {changed} THEN '{REFUSED}'
                    WHEN k.stored_hash IS NOT NULL THEN '{UNCHANGED}' ELSE '{NEW}' END AS _fate,
               CASE WHEN {failed} OR {changed} THEN {raw} END AS _raw,
               CASE WHEN {failed} OR {changed} THEN {args} END AS _args,
               CASE WHEN {failed} THEN {codes_sql}
                    WHEN {changed} THEN 'record_id_changed' END AS _codes,
               CASE WHEN {failed} THEN {msgs_sql}
                    WHEN {changed} THEN 'record id ' || k.record_id
                        || ' was already imported (batch ' || k.first_batch || ') with other '
                        || 'values; send changes as corrections, not as a new file' END
                   AS _reasons
        FROM k
        """,
        today,
    )
