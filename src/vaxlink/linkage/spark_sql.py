"""The linkage's step SQL translated from DuckDB's dialect to Spark SQL (for `linkage.spark`).

Every step is written once, in DuckDB's dialect. `to_spark` translates a statement with sqlglot
plus a small dialect layer for what sqlglot cannot know or does not translate:

* the DuckDB macros (`vx_*` of `ingest.sqlnorm`, `lk_*` of `linkage.macros`) are expanded in
  place, their string subscripts (`i[4]`, `x[3:]`) becoming `substring`; a few get a Spark body
  (`hamming`, `lk_transposed`, `lk_words_in`: functions Spark lacks, written with `filter` and
  `sequence` over the characters);
* list slices (`f[2:n]`, 1-based and inclusive) become `slice`; `regexp_full_match` an anchored
  `RLIKE`; bound parameters (`$name`) literals (doubles as exact DOUBLE casts);
* `nfc_normalize` and `strip_accents` are left as calls: `linkage.spark` registers them with
  Spark as Python functions (they only see distinct name and vaccine texts);
* tables are temporary views over checkpointed DataFrames: `CREATE OR REPLACE TABLE … AS`,
  `INSERT INTO … SELECT`, `ALTER TABLE … RENAME TO`, `DROP TABLE|VIEW` are carried out on them.

Anything the layer does not know how to translate raises instead of running differently.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import sqlglot
from sqlglot import exp

from vaxlink.ingest import sqlnorm
from vaxlink.linkage import macros as lk_macros
from vaxlink.linkage.engine import Params
from vaxlink.linkage.errors import LinkageInputError

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
