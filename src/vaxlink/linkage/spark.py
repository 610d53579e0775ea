"""The Spark engine: the linkage's step SQL run on Apache Spark (PySpark), as Splink does it.

Every step is written once, in DuckDB's dialect. `to_spark` translates a statement with sqlglot
plus a small dialect layer for what sqlglot cannot know or does not translate:

* the DuckDB macros (`vx_*` of `ingest.sqlnorm`, `lk_*` of `linkage.macros`) are expanded in
  place, their string subscripts (`i[4]`, `x[3:]`) becoming `substring`; a few get a Spark body
  (`hamming`, `lk_transposed`, `lk_words_in`: functions Spark lacks, written with `filter` and
  `sequence` over the characters);
* list slices (`f[2:n]`, 1-based and inclusive) become `slice`; `regexp_full_match` an anchored
  `RLIKE`; bound parameters (`$name`) literals (doubles as exact DOUBLE casts);
* `nfc_normalize` and `strip_accents` are Python functions registered with Spark (they only
  see distinct name and vaccine texts);
* tables are temporary views over checkpointed DataFrames: `CREATE OR REPLACE TABLE … AS`,
  `INSERT INTO … SELECT`, `ALTER TABLE … RENAME TO`, `DROP TABLE|VIEW` are carried out on them.

Anything the layer does not know how to translate raises instead of running differently.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from vaxlink.ingest import sqlnorm
from vaxlink.linkage import macros as lk_macros
from vaxlink.linkage.engine import Params
from vaxlink.linkage.errors import LinkageInputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Spark bodies for what Spark lacks (DuckDB dialect; translated like the rest). Both strings
# have equal length wherever the pipeline compares them (12-digit ID numbers).
_SPARK_MACROS = r"""
CREATE MACRO hamming(a, b) AS CASE WHEN length(a) = length(b) THEN array_length(list_filter(
    range(1, length(a) + 1), lambda i: substring(a, i, 1) <> substring(b, i, 1))) END;
CREATE MACRO lk_transposed(a, b) AS length(a) = length(b) AND hamming(a, b) = 2
    AND array_length(list_filter(range(1, length(a)), lambda i: substring(a, i, 1) <> substring(a, i + 1, 1)
        AND substring(a, i, 1) = substring(b, i + 1, 1) AND substring(a, i + 1, 1) = substring(b, i, 1))) > 0;
CREATE MACRO lk_words_in(a, b) AS array_length(list_filter(
    list_filter(string_split(coalesce(a, ''), ' '), lambda w: w <> ''),
    lambda w: NOT list_contains(string_split(coalesce(b, ''), ' '), w))) = 0;
"""
_UDFS = ("nfc_normalize", "strip_accents")
_NOT_ON_SPARK = ("damerau_levenshtein",)


def _string_subscripts(body: exp.Expression) -> exp.Expression:
    """A macro's subscripts are on strings (every macro parameter is text): `substring`."""

    def fix(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Bracket) or len(node.expressions) != 1:
            return node
        index = node.expressions[0]
        if isinstance(index, exp.Slice):  # 1-based, inclusive
            start, end = index.this, index.expression
            if end is None:
                return exp.Substring(this=node.this, start=start)
            length = exp.Add(
                this=exp.Sub(this=end, expression=start), expression=exp.Literal.number(1)
            )
            return exp.Substring(this=node.this, start=start, length=length)
        # sqlglot keeps a single subscript 0-based
        return exp.Substring(this=node.this, start=exp.Add(this=index, expression=exp.Literal.number(1)),
                             length=exp.Literal.number(1))  # fmt: skip

    return body.transform(fix)


@cache
def _macros() -> dict[str, tuple[list[str], exp.Expression]]:
    """name -> (parameters, body) of every macro a step may call, Spark bodies winning."""
    out: dict[str, tuple[list[str], exp.Expression]] = {}
    for text in (sqlnorm.MACROS, lk_macros.MACROS, _SPARK_MACROS):
        for stmt in sqlglot.parse(text, read="duckdb"):
            if not isinstance(stmt, exp.Create) or stmt.args.get("kind") != "MACRO":
                continue
            udf = stmt.this
            params = [p.name.lower() for p in udf.expressions]
            out[udf.this.name.lower()] = (params, _string_subscripts(stmt.expression))
    return out


def _expand_macros(tree: exp.Expr) -> exp.Expr:
    table = _macros()

    def expand(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() in table:
            params, body = table[node.name.lower()]
            if len(params) != len(node.expressions):
                raise LinkageInputError(f"macro {node.name} takes {len(params)} arguments")
            args = dict(zip(params, node.expressions, strict=True))

            def bind(n: exp.Expression) -> exp.Expression:
                if isinstance(n, exp.Column) and not n.table and n.name.lower() in args:
                    return exp.Paren(this=args[n.name.lower()].copy())
                return n

            return exp.Paren(this=body.copy().transform(bind))
        return node

    for _ in range(20):  # macros call macros: expand until none is left
        before = tree.sql(dialect="duckdb")
        tree = tree.transform(expand)
        if tree.sql(dialect="duckdb") == before:
            return tree
    raise LinkageInputError("macro expansion does not terminate")


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):  # exact: a bare 0.9999 would be a DECIMAL in Spark
        return exp.cast(exp.Literal.string(repr(value)), exp.DataType.build("DOUBLE"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    raise LinkageInputError(f"cannot bind a {type(value).__name__} parameter on Spark")


def _dialect_fixes(node: exp.Expression) -> exp.Expression:
    if (
        isinstance(node, exp.Bracket)
        and len(node.expressions) == 1
        and isinstance(node.expressions[0], exp.Slice)
    ):  # a list slice, 1-based and inclusive
        sl = node.expressions[0]
        start = sl.this
        end = sl.expression if sl.expression is not None else exp.ArraySize(this=node.this.copy())
        length = exp.Greatest(
            this=exp.Add(this=exp.Sub(this=end, expression=start.copy()),
                         expression=exp.Literal.number(1)),
            expressions=[exp.Literal.number(0)],
        )  # fmt: skip
        return exp.Anonymous(this="slice", expressions=[node.this, start, length])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "list_element":  # 1-based
        return exp.Anonymous(this="element_at", expressions=node.expressions)
    if isinstance(node, exp.Bracket):  # (slices were handled above)
        raise LinkageInputError("a subscript has no reliable Spark translation; use list_element")
    if isinstance(node, exp.JarowinklerSimilarity):  # sqlglot spells it Spark does not
        return exp.Anonymous(
            this="jaro_winkler_similarity", expressions=[node.this, node.expression]
        )
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if isinstance(pattern, exp.Literal):
            anchored: exp.Expression = exp.Literal.string(f"^(?:{pattern.this})\\z")
        else:
            anchored = exp.DPipe(
                this=exp.DPipe(this=exp.Literal.string("^(?:"), expression=pattern, safe=True),
                expression=exp.Literal.string(")\\z"), safe=True,
            )  # fmt: skip
        return exp.RegexpLike(this=node.this, expression=anchored)
    if isinstance(node, exp.RegexpReplace):
        mods = node.args.get("modifiers")
        if mods is None or mods.name != "g":  # Spark replaces every match
            raise LinkageInputError("regexp_replace without 'g' has no Spark translation")
    if isinstance(node, exp.ArrayAgg) and isinstance(node.this, exp.Order):
        raise LinkageInputError("an ordered list() has no Spark translation; use string_agg")
    if isinstance(node, exp.Anonymous) and node.name.lower() in _NOT_ON_SPARK:
        raise LinkageInputError(f"{node.name} has no Spark translation")
    return node


def to_spark(tree: exp.Expr, params: Params | None = None) -> str:
    """Spark SQL for one parsed DuckDB statement (or expression) with its parameters bound."""
    values = dict(params or {})

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in values:
                raise LinkageInputError(f"parameter ${node.name} is not bound")
            return _literal(values[node.name])
        return node

    tree = _expand_macros(tree.copy()).transform(bind)
    # A fix moves subtrees into a new node, where one pass does not look: repeat until stable.
    for _ in range(10):
        before = tree.sql(dialect="duckdb")
        tree = tree.transform(_dialect_fixes)
        if tree.sql(dialect="duckdb") == before:
            return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    raise LinkageInputError("the Spark translation does not settle")


def translate(sql: str, params: Params | None = None) -> list[str]:
    """The Spark SQL of each statement in `sql` (for reading and tests)."""
    return [to_spark(s, params) for s in sqlglot.parse(sql, read="duckdb") if s is not None]


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
    model: Any = None,
    today: dt.date | None = None,
    explain: bool = False,
) -> DataFrame:
    """Link on a running Spark session (a cluster's): `registry` and `doses` with the columns of
    docs/formats.md §1 and §2; returns the result (docs/formats.md §3 columns, `_row`, `rule`). The doses
    are numbered in their order (`_row`) when they have no `_row` column."""
    from pyspark.sql import functions as fn

    from vaxlink.linkage.model import LinkModel
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
    result = link_tables(engine, "registry_in", "doses_in", model or LinkModel.load(),
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
    result = link_spark(spark, spark.read.parquet(args.registry), spark.read.parquet(args.doses),
                        today=args.today)  # fmt: skip
    result.drop("rule").write.mode("overwrite").parquet(args.out)


if __name__ == "__main__":
    main()
