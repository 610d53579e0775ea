"""Row checks as SQL: each is (code, condition, message expression) over one table's columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Check = tuple[str, str, str]


def reasons_sql(checks: Sequence[Check]) -> tuple[str, str]:
    """SQL expressions for the ';'-joined codes and the '; '-joined messages of failed checks."""
    codes = ", ".join(f"CASE WHEN {cond} THEN '{code}' END" for code, cond, _m in checks)
    msgs = ", ".join(f"CASE WHEN {cond} THEN {msg} END" for _c, cond, msg in checks)
    return (
        f"array_to_string(list_filter([{codes}], lambda x: x IS NOT NULL), ';')",
        f"array_to_string(list_filter([{msgs}], lambda x: x IS NOT NULL), '; ')",
    )


def raw_hash_sql(fields: Sequence[str], prefix: str = "") -> str:
    """md5 over the raw text of `fields`, so an identical re-sent row is recognised."""
    # NULL and '' differ: each field is prefixed with a marker saying which it was.
    parts = ", chr(31), ".join(f"coalesce('=' || {prefix}{f}, '~')" for f in fields)
    return f"md5(concat({parts}))"


def raw_json_sql(fields: Sequence[str], prefix: str = "") -> str:
    """The raw values of a row, with its unknown columns, as a JSON text."""
    packed = ", ".join(f"{f} := {prefix}{f}" for f in fields)
    return f"CAST(to_json(struct_pack({packed}, extra := {prefix}_extra)) AS VARCHAR)"


def any_failed_sql(checks: Sequence[Check]) -> str:
    """SQL that is true when any check fails (cheap: no messages are built)."""
    return "(" + " OR ".join(f"coalesce(({cond}), false)" for _c, cond, _m in checks) + ")"


def values_sql(values: Mapping[str, str]) -> str:
    """The row's values a reason text names (`{placeholder}` -> SQL expression) as a JSON text,
    which the report fills into the catalogue's `import.reason.<code>` (`pipeline.BAD_COLUMNS`
    `args`)."""
    packed = ", ".join(f"'{name}', CAST({expr} AS VARCHAR)" for name, expr in values.items())
    return f"CAST(json_object({packed}) AS VARCHAR)"
