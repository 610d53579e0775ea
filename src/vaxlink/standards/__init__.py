"""Reference data shipped with the package: EU DCC schema and value sets (Apache-2.0, unchanged);
the WHO DDCC IG's profile constraints and code maps as vaxlink restates them (`who_ddcc/`)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

EU_DCC_DIR = Path(__file__).parent / "eu_dcc"
WHO_DDCC_DIR = Path(__file__).parent / "who_ddcc"


@cache
def eu_valueset(name: str) -> dict[str, Any]:
    """One EU DCC value-set file by name, e.g. `vaccine-medicinal-product`."""
    path = EU_DCC_DIR / "valuesets" / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def eu_schema(version: str | None = None) -> dict[str, Any]:
    """The combined DCC JSON schema: the newest, or the release matching a payload's `ver`."""
    if version is None:
        path = EU_DCC_DIR / "schema" / "DCC.combined-schema.json"
    else:
        rel = EU_DCC_DIR / "schema" / "releases" / version
        matches = sorted(rel.glob("*.combined-schema.json")) if rel.is_dir() else []
        if not matches:
            raise KeyError(version)
        path = matches[0]
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@cache
def who_ddcc(name: str) -> dict[str, Any]:
    """One WHO DDCC data file by name: `profiles` (profile rules) or `codes` (code maps)."""
    path = WHO_DDCC_DIR / f"{name}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
