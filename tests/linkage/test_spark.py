"""The Spark engine: the step SQL translated for Spark gives what DuckDB gives.

The translation tests need no Java; the others run PySpark in local mode (marker `spark`) and
are skipped, with the reason, only when no Java runtime is installed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from vaxlink.linkage.engine import DuckDBEngine
from vaxlink.linkage.errors import LinkageInputError
from vaxlink.linkage.evaluate import evaluate
from vaxlink.linkage.files import link_files
from vaxlink.linkage.model import LinkModel
from vaxlink.linkage.spark import java_available, translate
from vaxlink.synth import generate, write

TODAY = dt.date(2025, 1, 1)
needs_java = pytest.mark.skipif(not java_available(), reason="Spark needs a Java runtime (17+)")


def test_macros_are_expanded_and_subscripts_translated() -> None:
    (sql,) = translate("SELECT lk_id_year(i), list_element(f, 1), f[2:array_length(f) - 1] FROM t")
    assert "lk_id_year" not in sql.lower()
    assert "SUBSTRING((i), 3 + 1, 1)" in sql  # i[4] of the macro: a string's 4th character
    assert "ELEMENT_AT(f, 1)" in sql
    assert "SLICE(f, 2, GREATEST(SIZE(f) - 1 - 2 + 1, 0))" in sql


def test_parameters_and_regexes() -> None:
    (sql,) = translate(
        "SELECT regexp_full_match(x, '[0-9]+') AND p >= $p AND list_contains($l, g) "
        "AND d <= $d FROM t",
        {"p": 0.9999, "l": [1, 2], "d": TODAY},
    )
    assert "RLIKE '^(?:[0-9]+)\\\\z'" in sql
    assert "CAST('0.9999' AS DOUBLE)" in sql
    assert "ARRAY_CONTAINS(ARRAY(1, 2), g)" in sql
    assert "CAST('2025-01-01' AS DATE)" in sql


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT regexp_replace(x, 'a', 'b') FROM t",  # DuckDB: first match only
        "SELECT s[pos] FROM t",
        "SELECT list(x ORDER BY y) FROM t",
        "SELECT damerau_levenshtein(a, b) FROM t",
        "SELECT x FROM t WHERE y = $missing",
    ],
)
def test_untranslatable_sql_is_refused(sql: str) -> None:
    with pytest.raises(LinkageInputError):
        translate(sql, {})


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local Spark session for the module (started once: the JVM takes seconds)."""
    if not java_available():
        pytest.skip("Spark needs a Java runtime (17+)")
    from vaxlink.linkage.spark import local_session

    session = local_session()
    yield session
    session.stop()


# Pairs for the functions the dialect layer writes anew for Spark, with edge cases.
PAIRS = [
    ("001085012345", "001085012345"), ("001085012345", "001085012346"),
    ("001085012345", "001085013245"), ("001085012345", "010085012345"),
    ("001085012345", "001058012345"), ("112233445566", "112233445566"),
    ("001085012345", "001085021354"), ("0010850123", "001085012345"),
    ("00108501234", "001085012345"), ("0010850123455", "001085012345"),
    ("20190315", "20190316"), ("19850304", "19580304"),
]  # fmt: skip
WORDS = [("van", "van thi"), ("", "van"), (None, "x"), ("thi ngoc", "ngoc thi"), ("a b", "a"),
         ("minh", None), ("  ", "van")]  # fmt: skip
TEXTS = ["0010 8501 2345", "１２３４５６７８９", "12.345.678", "084.912 345 678", "+84912345678",
         "Đặng Thị  Hoà", "Nguyễn Văn An", "ab\u00ad12", "079", "79.0", "7a", None, "", " 01 "]  # fmt: skip


@needs_java
@pytest.mark.spark
def test_functions_equal_duckdb(spark: Any) -> None:
    from vaxlink.linkage.spark import SparkEngine

    pairs = pa.table({"a": [a for a, _ in PAIRS], "b": [b for _, b in PAIRS]})
    words = pa.table({"a": [a for a, _ in WORDS], "b": [b for _, b in WORDS]})
    texts = pa.table({"s": pa.array(TEXTS, pa.string())})
    # month ends, leap days, the Gregorian century rule, unknown parts
    dates = pa.table({"y": pa.array([1900, 2000, 1999, 1985, 2024, 1985, None], pa.int32()),
                      "m": pa.array([2, 2, 12, 1, 2, None, 3], pa.int32()),
                      "d": pa.array([28, 29, 31, 1, 29, 4, 4], pa.int32())})  # fmt: skip
    queries = [
        ("pairs", "SELECT a, b, hamming(a, b) AS h, lk_transposed(a, b) AS t FROM pairs "
                  "WHERE length(a) = length(b)"),
        ("words", "SELECT a, b, lk_words_in(a, b) AS w FROM words"),
        ("pairs", "SELECT a, b, levenshtein(a, b) AS l FROM pairs"),
        ("dates", "SELECT y, m, d, lk_dday(y, m, d) AS n, lk_dob8(y, m, d) AS s FROM dates"),
        ("texts", "SELECT s, vx_id(s) AS i, vx_id_kind(vx_id(s)) AS k, lk_phone(s) AS p, "
                  "vx_code(s, 3) AS c, vx_fold(s) AS f, nfc_normalize(s) AS n, "
                  "CASE WHEN vx_id_kind(vx_id(s)) = 'cccd12' THEN lk_id_year(vx_id(s)) END AS y, "
                  "CASE WHEN vx_id_kind(vx_id(s)) = 'cccd12' THEN lk_id_sex(vx_id(s)) END AS x "
                  "FROM texts"),
    ]  # fmt: skip
    results = []
    for engine in (DuckDBEngine(), SparkEngine(spark)):
        for name, table in (("pairs", pairs), ("words", words), ("texts", texts),
                            ("dates", dates)):  # fmt: skip
            engine.register_arrow(name, table)
        results.append([sorted(map(str, engine.to_arrow(q).to_pylist())) for _, q in queries])
    assert results[0] == results[1]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """2,000 synthetic citizens and their dirty dose records (about 4,300)."""
    return write(generate(2_000, seed=31), tmp_path_factory.mktemp("spark2k"))


@needs_java
@pytest.mark.spark
@pytest.mark.slow
def test_spark_and_duckdb_write_identical_files(
    spark: Any, small: dict[str, Path], tmp_path: Path
) -> None:
    runs = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / f"{engine}.csv"
        runs[engine] = link_files(small["registry"], small["doses"], out, today=TODAY,
                                  engine_name=engine, model=LinkModel.load())  # fmt: skip
    duck, sp = runs["duckdb"], runs["spark"]
    assert duck.result.read_bytes() == sp.result.read_bytes()
    assert duck.explain is not None
    assert sp.explain is not None
    assert duck.explain.read_bytes() == sp.explain.read_bytes()
    assert duck.stats.statuses == sp.stats.statuses
    # and the result is a real one, with every kind of decision
    assert {"verified", "auto_linked", "review", "unmatched", "invalid"} <= set(sp.stats.statuses)
    report = evaluate(small["truth"], sp.result)
    assert report.wrong_auto_links == 0
    assert report.recall_at_3 > 0.99
