"""The feature tables the passes work on: `lk_reg` (one row per citizen) and `lk_dose` (one row
per input dose row, with the codes that make it unusable in `invalid`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pyarrow as pa

from vaxlink.ingest.checks import reasons_sql
from vaxlink.linkage.engine import Engine
from vaxlink.linkage.errors import LinkageInputError
from vaxlink.linkage.normalise import map_dates, map_names, map_sexes
from vaxlink.records import vaccines

#: Dose records before this day are not from the campaign (the import's rule).
FIRST_VACCINATION_DAY = dt.date(2021, 1, 1)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# (code, condition): the dose import's checks, on identity-relevant and dose fields alike, so a
# row the import would quarantine is `invalid` here too.
CHECKS: tuple[tuple[str, str], ...] = (
    ("record_id_missing", "record_id IS NULL"),
    ("record_id_duplicate", "rid_count > 1"),
    ("name_missing", "raw_name IS NULL"),
    ("name_no_letters", "raw_name IS NOT NULL AND NOT coalesce(regexp_matches(nf, '[a-z]'), false)"),
    ("dob_not_a_date", "dob_error = 'not_a_date'"),
    ("dob_does_not_exist", "dob_error = 'does_not_exist'"),
    ("dob_implausible", "dy IS NOT NULL AND (dy < 1900 OR make_date(dy, coalesce(dm, 1), coalesce(dd, 1)) > $today)"),
    ("id_too_long", "id_kind = 'too_long' AND length(idn) > 13"),  # 13: a digit typed twice
    ("vaccine_missing", "vaccine IS NULL"),
    ("vaccine_unknown", "vaccine IS NOT NULL AND vaccine_key IS NULL"),
    ("vaccination_date_missing", "vaccination_date IS NULL"),
    ("vaccination_date_invalid", "vaccination_date IS NOT NULL AND vd_error IS NOT NULL"),
    ("vaccination_date_partial", "vd_precision IN ('year', 'month')"),
    ("vaccination_date_out_of_range", "vd_precision = 'day' AND (vdate < $first_day OR vdate > $today)"),
    ("dob_after_vaccination", "dd IS NOT NULL AND vd_precision = 'day' AND make_date(dy, dm, dd) > vdate"),
    ("dose_number_missing", "dose_number IS NULL"),
    ("dose_number_invalid", "dose_number IS NOT NULL AND dn IS NULL"),
)  # fmt: skip


def ident(name: str) -> str:
    """A table name checked to be a plain identifier (table names cannot be bound parameters)."""
    if not _IDENT.fullmatch(name):
        raise LinkageInputError(f"'{name}' is not a plain table name")
    return name


def _columns(engine: Engine, table: str) -> set[str]:
    return set(engine.to_arrow(f"SELECT * FROM {ident(table)} LIMIT 0").column_names)


def map_ids(engine: Engine, values_sql: str) -> None:
    """Table lk_idmap(raw, idn): vx_id of each distinct ID text that is not plain digits already
    (plain digits are their own normal form, and vx_id is too slow to run on every row)."""
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE lk_idmap AS
        SELECT raw, vx_id(raw) AS idn
        FROM (SELECT DISTINCT v AS raw FROM ({values_sql}) t(v)
              WHERE v IS NOT NULL AND NOT regexp_full_match(v, '[0-9]+'))
        """
    )


def _id_sql(raw: str, alias: str) -> str:
    return f"CASE WHEN regexp_full_match({raw}, '[0-9]+') THEN {raw} ELSE {alias}.idn END"


def build_registry(engine: Engine, registry: str, names: str | None = None) -> None:
    """Table lk_reg: the registry's normalised features, one row per usable citizen_id.

    `names` is a name table already mapped (see `map_all_names`); else the names are mapped."""
    registry = ident(registry)
    cols = _columns(engine, registry)
    missing = {"citizen_id", "full_name", "date_of_birth", "sex"} - cols

    def col(name: str) -> str:
        return f"r.{name}" if name in cols else "CAST(NULL AS VARCHAR)"

    if missing:
        raise LinkageInputError(f"the registry lacks column(s): {', '.join(sorted(missing))}")
    if names is None:
        map_names(engine, f"SELECT full_name FROM {registry}")
        engine.execute("ALTER TABLE lk_name RENAME TO lk_name_reg")
    else:
        engine.execute(f"CREATE OR REPLACE VIEW lk_name_reg AS SELECT * FROM {ident(names)}")
    map_dates(engine, f"SELECT date_of_birth FROM {registry}", "lk_dob_reg")
    map_sexes(engine, f"SELECT sex FROM {registry}")
    map_ids(
        engine,
        f"SELECT citizen_id FROM {registry} UNION ALL SELECT {col('old_id')} FROM {registry} r",
    )
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE lk_reg AS
        WITH i AS (
            SELECT r.*, {_id_sql("r.citizen_id", "c")} AS cid0, {_id_sql(col("old_id"), "o")} AS old0,
                   lk_phone({col("phone")}) AS ph0
            FROM {registry} r
            LEFT JOIN lk_idmap c ON c.raw = r.citizen_id
            LEFT JOIN lk_idmap o ON o.raw = {col("old_id")})
        SELECT cid0 AS cid,
               n.nm, n.nf, n.fam, n.giv, n.giva, n.mid, n.mida, n.ssort,
               b.y AS dy, b.m AS dm, b.d AS dd, lk_dday(b.y, b.m, b.d) AS dday,
               lk_dob8(b.y, b.m, b.d) AS dob8, s.sex,
               cid0 AS id12, CASE WHEN vx_id_kind(old0) = 'cmnd9' THEN old0 END AS id9,
               CAST(NULL AS VARCHAR) AS idd, false AS id_padded,
               lk_id_year(cid0) AS idy, lk_id_sex(cid0) AS ids, ph0 AS ph,
               vx_code({col("province_code").replace("r.", "i.")}, 3) AS prov,
               vx_code({col("district_code").replace("r.", "i.")}, 3) AS dist,
               vx_code({col("ward_code").replace("r.", "i.")}, 5) AS ward
        FROM i
        LEFT JOIN lk_name_reg n ON n.raw = i.full_name
        LEFT JOIN lk_dob_reg b ON b.raw = i.date_of_birth
        LEFT JOIN lk_sex s ON s.raw = i.sex
        WHERE vx_id_kind(cid0) = 'cccd12'
        """
    )
    engine.execute(
        f"DROP {'TABLE' if names is None else 'VIEW'} lk_name_reg; DROP TABLE lk_dob_reg; "
        "DROP TABLE lk_sex; DROP TABLE lk_idmap"
    )


def _vaccine_table() -> pa.Table:
    rows = list(vaccines.aliases().items())
    return pa.table({"folded": [a for a, _ in rows], "key": [k for _, k in rows]})


def sql_map(engine: Engine, out: str, values_sql: str, expr: str) -> None:
    """Table `out`(raw, val) with the SQL expression `expr` (of `v`) once per distinct value."""
    engine.execute(
        f"CREATE OR REPLACE TABLE {out} AS SELECT v AS raw, {expr} AS val "
        f"FROM (SELECT DISTINCT v FROM ({values_sql}) t(v) WHERE v IS NOT NULL)"
    )


def map_all_names(engine: Engine, registry: str, doses: str, out: str = "lk_names") -> None:
    """Map the names of both sides at once into table `out` (most are the same names)."""
    map_names(engine, f"SELECT full_name FROM {ident(registry)} UNION ALL "
                      f"SELECT full_name FROM {ident(doses)}")  # fmt: skip
    engine.execute(f"DROP TABLE IF EXISTS {ident(out)}; ALTER TABLE lk_name RENAME TO {out}")


def _map_dose_fields(
    engine: Engine, doses: str, col: Callable[[str], str], names: str | None, today: dt.date
) -> None:
    """The distinct-value tables build_doses joins (each identity function runs once a value)."""
    if names is None:
        map_names(engine, f"SELECT full_name FROM {doses}")
    else:
        engine.execute(f"CREATE OR REPLACE VIEW lk_name AS SELECT * FROM {ident(names)}")
    # a two-digit year on a dose record: 20YY unless that day is after the run's, else 19YY
    map_dates(engine, f"SELECT {col('date_of_birth')} FROM {doses} d", "lk_dob",
              century_pivot=today)  # fmt: skip
    map_dates(engine, f"SELECT {col('vaccination_date')} FROM {doses} d", "lk_vdate")
    map_sexes(engine, f"SELECT {col('sex')} FROM {doses} d")
    map_ids(engine, f"SELECT {col('id_number')} FROM {doses} d")
    engine.register_arrow("lk_vaccine_alias", _vaccine_table())
    sql_map(engine, "lk_vaccine", f"SELECT {col('vaccine')} FROM {doses} d",
            "(SELECT key FROM lk_vaccine_alias "
            "WHERE folded = regexp_replace(vx_fold(v), '[^0-9a-z]', '', 'g'))")  # fmt: skip
    for name, width in (("province_code", 3), ("district_code", 3), ("ward_code", 5)):
        sql_map(engine, f"lk_{name}", f"SELECT {col(name)} FROM {doses} d", f"vx_code(v, {width})")
    sql_map(engine, "lk_dose_number", f"SELECT {col('dose_number')} FROM {doses} d",
            "CASE WHEN TRY_CAST(v AS DOUBLE) BETWEEN 1 AND 10 "
            "AND TRY_CAST(v AS DOUBLE) = floor(TRY_CAST(v AS DOUBLE)) THEN 1 END")  # fmt: skip
    engine.execute(
        f"CREATE OR REPLACE TABLE lk_dup AS SELECT record_id FROM {doses} "
        "WHERE record_id IS NOT NULL GROUP BY record_id HAVING count(*) > 1"
    )


_DOSE_TABLES = (
    "lk_name", "lk_dob", "lk_vdate", "lk_sex", "lk_idmap", "lk_vaccine_alias", "lk_vaccine",
    "lk_province_code", "lk_district_code", "lk_ward_code", "lk_dose_number", "lk_dup",
)  # fmt: skip


def build_doses(engine: Engine, doses: str, today: dt.date, names: str | None = None) -> None:
    """Table lk_dose: every input row with its features and, for unusable rows, `invalid`."""
    doses = ident(doses)
    cols = _columns(engine, doses)
    if "record_id" not in cols or "full_name" not in cols:
        raise LinkageInputError("the dose records need at least record_id and full_name")

    def col(name: str) -> str:
        return f"d.{name}" if name in cols else "CAST(NULL AS VARCHAR)"

    _map_dose_fields(engine, doses, col, names, today)
    row = "d._row" if "_row" in cols else "row_number() OVER ()"
    failed = " OR ".join(f"coalesce({cond}, false)" for _, cond in CHECKS)
    codes, _ = reasons_sql([(code, cond, "''") for code, cond in CHECKS])
    engine.execute(
        f"""
        CREATE OR REPLACE TABLE lk_dose AS
        WITH b AS (
            SELECT CAST({row} AS BIGINT) AS _row, d.record_id, d.full_name AS raw_name,
                   {col("id_number")} AS id_raw,
                   n.nm, n.nf, n.fam, n.giv, n.giva, n.mid, n.mida, n.ssort,
                   b.y AS dy, b.m AS dm, b.d AS dd, b.error AS dob_error, s.sex,
                   d.idn, vx_id_kind(d.idn) AS id_kind, lk_phone({col("phone")}) AS ph,
                   pc.val AS prov, dc.val AS dist, wc.val AS ward,
                   {col("vaccine")} AS vaccine, v.val AS vaccine_key,
                   {col("vaccination_date")} AS vaccination_date, vd.error AS vd_error,
                   vd.precision AS vd_precision,
                   CASE WHEN vd.precision = 'day' THEN make_date(vd.y, vd.m, vd.d) END AS vdate,
                   {col("dose_number")} AS dose_number, dn.val AS dn,
                   CASE WHEN dup.record_id IS NOT NULL THEN 2 ELSE 1 END AS rid_count
            FROM (SELECT d.*, {_id_sql(col("id_number"), "m")} AS idn FROM {doses} d
                  LEFT JOIN lk_idmap m ON m.raw = {col("id_number")}) d
            LEFT JOIN lk_name n ON n.raw = d.full_name
            LEFT JOIN lk_dob b ON b.raw = {col("date_of_birth")}
            LEFT JOIN lk_vdate vd ON vd.raw = {col("vaccination_date")}
            LEFT JOIN lk_sex s ON s.raw = {col("sex")}
            LEFT JOIN lk_vaccine v ON v.raw = {col("vaccine")}
            LEFT JOIN lk_province_code pc ON pc.raw = {col("province_code")}
            LEFT JOIN lk_district_code dc ON dc.raw = {col("district_code")}
            LEFT JOIN lk_ward_code wc ON wc.raw = {col("ward_code")}
            LEFT JOIN lk_dose_number dn ON dn.raw = {col("dose_number")}
            LEFT JOIN lk_dup dup ON dup.record_id = d.record_id
        ),
        c AS (
            SELECT *,
                CASE id_kind WHEN 'cccd12' THEN idn WHEN 'cccd12_lost_zeros' THEN lpad(idn, 12, '0') END AS id12,
                CASE id_kind WHEN 'cmnd9' THEN idn WHEN 'cmnd9_lost_zeros' THEN lpad(idn, 9, '0') END AS id9
            FROM b)
        SELECT _row, record_id, id_raw,
               nm, nf, fam, giv, giva, mid, mida, ssort, dy, dm, dd,
               lk_dday(dy, dm, dd) AS dday, lk_dob8(dy, dm, dd) AS dob8, sex, id12, id9,
               -- 11 or 13 digits that are no ID form: a 12-digit number with a digit dropped
               -- or added (compared by edit distance)
               CASE WHEN id12 IS NULL AND id9 IS NULL AND length(idn) IN (11, 13)
                         AND regexp_full_match(idn, '[0-9]+') THEN idn END AS idd,
               id_kind IN ('cccd12_lost_zeros', 'cmnd9_lost_zeros') AS id_padded,
               lk_id_year(id12) AS idy, lk_id_sex(id12) AS ids, ph, prov, dist, ward,
               CASE WHEN {failed} THEN {codes} END AS invalid
        FROM c
        """,
        {"today": today, "first_day": FIRST_VACCINATION_DAY},
    )
    engine.execute("; ".join(f"DROP TABLE {t}" for t in _DOSE_TABLES if t != "lk_name"))
    engine.execute(f"DROP {'TABLE' if names is None else 'VIEW'} lk_name")
