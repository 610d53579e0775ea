"""The Spark engine: the linkage's step SQL run on Apache Spark (PySpark), as Splink does it.

Every step is written once, in DuckDB's dialect, and translated by `linkage.spark_sql`. Here:
the engine that runs the translation on a Spark session (tables are temporary views over
checkpointed DataFrames: `CREATE OR REPLACE TABLE … AS`, `INSERT INTO … SELECT`,
`ALTER TABLE … RENAME TO`, `DROP TABLE|VIEW` are carried out on them), the two Python functions
it registers (`nfc_normalize`, `strip_accents`), a local session, and the `spark-submit` entry.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from vaxlink.linkage.engine import Params
from vaxlink.linkage.errors import LinkageInputError
from vaxlink.linkage.spark_sql import to_spark, translate

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_UDFS = ("nfc_normalize", "strip_accents")


def _nfc(s: str | None) -> str | None:
    return None if s is None else unicodedata.normalize("NFC", s)


def _strip_accents(s: str | None) -> str | None:
    if s is None:
        return None
    kept = "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", kept)


def java_available() -> bool:
    """Whether a Java runtime is on PATH (or JAVA_HOME): Spark needs one."""
    import os

    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and shutil.which("java", path=f"{home}/bin")))


def local_session(cores: int = 2, memory: str = "2g", partitions: int = 2) -> SparkSession:
    """A local Spark session (`local[cores]`) that needs no network: no UI, loopback only."""
    import os

    from pyspark.sql import SparkSession

    # The Python workers (two small UDFs) must be this interpreter, with vaxlink importable.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("vaxlink-linkage")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.default.parallelism", str(partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .getOrCreate()
    )


class SparkEngine:
    """The `Engine` protocol on a Spark session: step SQL translated by `to_spark`, each table a
    checkpointed DataFrame behind a temporary view."""

    def __init__(self, spark: SparkSession | None = None) -> None:
        from pyspark.sql import SparkSession
        from pyspark.sql.functions import udf
        from pyspark.sql.types import StringType

        # A session someone else started (a test's, a cluster job's) is left running.
        self._owned = spark is None and SparkSession.getActiveSession() is None
        self.spark = spark if spark is not None else local_session()
        # DuckDB semantics: NULL on a bad cast or division by zero, not an error.
        self.spark.conf.set("spark.sql.ansi.enabled", "false")
        self.spark.sparkContext.setLogLevel("ERROR")
        self.spark.udf.register("nfc_normalize", udf(_nfc, StringType(), useArrow=False))
        self.spark.udf.register("strip_accents", udf(_strip_accents, StringType(), useArrow=False))
        self.tables: dict[str, DataFrame] = {}

    # -- tables ---------------------------------------------------------------------------
    def _store(self, name: str, df: DataFrame) -> None:
        df = df.localCheckpoint(eager=True)
        df.createOrReplaceTempView(name)
        old = self.tables.pop(name.lower(), None)
        self.tables[name.lower()] = df
        if old is not None:
            old.unpersist()

    def _drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        old = self.tables.pop(name.lower(), None)
        if old is not None:
            old.unpersist()

    def table(self, name: str) -> DataFrame:
        """The DataFrame behind table `name`."""
        return self.spark.table(name)

    # -- Engine protocol ------------------------------------------------------------------
    def execute(self, sql: str, params: Params | None = None) -> None:
        """Run each statement: DDL on the temporary views, queries for their effect."""
        for stmt in sqlglot.parse(sql, read="duckdb"):
            if stmt is not None:
                self._statement(stmt, params)

    def _statement(self, stmt: exp.Expr, params: Params | None) -> None:
        if isinstance(stmt, exp.Create) and stmt.args.get("kind") in ("TABLE", "VIEW"):
            name = stmt.this.name
            if stmt.expression is None:
                raise LinkageInputError("CREATE TABLE without AS SELECT has no Spark translation")
            df = self.spark.sql(to_spark(stmt.expression, params))
            if stmt.args["kind"] == "TABLE":
                self._store(name, df)
            else:
                self._drop(name)
                df.createOrReplaceTempView(name)
        elif isinstance(stmt, exp.Drop):
            for t in stmt.args.get("tables") or [stmt.this]:
                self._drop(t.name)
        elif isinstance(stmt, exp.Alter):
            (action,) = stmt.args["actions"]
            if not isinstance(action, exp.AlterRename):
                raise LinkageInputError("only ALTER TABLE … RENAME TO runs on Spark")
            df = self.spark.table(stmt.this.name)
            self._store(action.this.name, df)
            self._drop(stmt.this.name)
        elif isinstance(stmt, exp.Insert):
            name = stmt.this.name
            added = self.spark.sql(to_spark(stmt.expression, params))
            self._store(name, self.spark.table(name).union(added))
        else:
            self.spark.sql(to_spark(stmt, params)).collect()

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Make an Arrow table a (checkpointed) table `name`."""
        if table.num_rows == 0:
            from pyspark.sql.pandas.types import from_arrow_schema

            df = self.spark.createDataFrame([], from_arrow_schema(table.schema))
        else:
            df = self.spark.createDataFrame(table)
        self._store(name, df)

    def to_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        """The query's result as one Arrow table."""
        (stmt,) = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        df = self.spark.sql(to_spark(stmt, params))
        return _plain_strings(df.toArrow())

    def to_batches(
        self, sql: str, params: Params | None = None, batch_rows: int = 200_000
    ) -> Iterable[pa.RecordBatch]:
        """The query's result in batches (collected first: for small results)."""
        yield from self.to_arrow(sql, params).to_batches(batch_rows)

    def close(self) -> None:
        """Drop the tables; stop the session if this engine started it."""
        for name in list(self.tables):
            self._drop(name)
        if self._owned:
            self.spark.stop()


def _plain_strings(table: pa.Table) -> pa.Table:
    """Large strings as strings (DuckDB's Arrow types, so results compare as equal)."""
    fields = [
        pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def link_spark(
    spark: SparkSession,
    registry: DataFrame,
    doses: DataFrame,
    *,
    model: Any,
    today: dt.date,
    explain: bool = False,
) -> DataFrame:
    """Link on a running Spark session (a cluster's): `registry` and `doses` with the columns of
    docs/formats.md §1 and §2; returns the result (docs/formats.md §3 columns, `_row`, `rule`). The doses
    are numbered in their order (`_row`) when they have no `_row` column."""
    from pyspark.sql import functions as fn

    from vaxlink.linkage.pipeline import LinkSettings, link_tables

    def text(df: DataFrame) -> DataFrame:
        # as `vaxlink link` reads files: trimmed text, empty cells NULL
        def cell(c: str) -> Any:
            t = fn.trim(fn.col(c).cast("string"))
            return fn.when(t != "", t).alias(c)

        return df.select(*[cell(c) for c in df.columns if c != "_row"],
                         *([fn.col("_row").cast("bigint")] if "_row" in df.columns else []))  # fmt: skip

    if "_row" not in doses.columns:
        doses = doses.withColumn("_row", fn.monotonically_increasing_id() + 2)
    engine = SparkEngine(spark)
    text(registry).createOrReplaceTempView("registry_in")
    text(doses).createOrReplaceTempView("doses_in")
    result = link_tables(engine, "registry_in", "doses_in", model,
                         LinkSettings(today=today, explain=explain))  # fmt: skip
    return engine.table(result)


def main(argv: list[str] | None = None) -> None:
    """`spark-submit …/vaxlink/linkage/spark.py --registry R --doses D --out O`: Parquet in,
    Parquet out (any Hadoop file system: s3a://, gs://, abfss://, hdfs://)."""
    import argparse

    from pyspark.sql import SparkSession

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--doses", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--partitions", type=int, default=0, help="shuffle partitions (0: keep)")
    args = parser.parse_args(argv)
    spark = SparkSession.builder.appName("vaxlink-linkage").getOrCreate()
    if args.partitions:
        spark.conf.set("spark.sql.shuffle.partitions", str(args.partitions))
    from vaxlink import compose

    c = compose.build()  # its clock (the default --today) and the configured linkage model
    result = link_spark(spark, spark.read.parquet(args.registry), spark.read.parquet(args.doses),
                        model=c.link_model, today=args.today or c.clock.today())  # fmt: skip
    result.drop("rule").write.mode("overwrite").parquet(args.out)


__all__ = ["SparkEngine", "java_available", "link_spark", "local_session", "to_spark", "translate"]


if __name__ == "__main__":
    main()
