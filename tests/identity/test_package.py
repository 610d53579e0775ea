"""The identity package's public surface and its house rules (pure, no I/O layers)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import vaxlink.identity as identity
from vaxlink.errors import InvalidInput, VaxlinkError
from vaxlink.identity import (
    ChipQrError,
    DateParseError,
    IdentityParseError,
    IdNumberError,
    NameParseError,
    SexParseError,
    parse_sex,
    sex_word,
)

PACKAGE = Path(identity.__file__).parent
ALLOWED_VAXLINK = ("vaxlink.identity", "vaxlink.errors")
FORBIDDEN_THIRD_PARTY = ("sqlalchemy", "fastapi", "typer", "httpx", "duckdb", "pydantic_settings")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_identity_imports_nothing_from_db_web_or_cli(path: Path) -> None:
    for name in _imports(path):
        if name.startswith("vaxlink"):
            assert name.startswith(ALLOWED_VAXLINK), f"{path.name} imports {name}"
        assert not name.startswith(FORBIDDEN_THIRD_PARTY), f"{path.name} imports {name}"


def test_public_names_exist() -> None:
    for name in identity.__all__:
        assert hasattr(identity, name), name
    assert len(identity.__all__) == len(set(identity.__all__))


@pytest.mark.parametrize(
    "error", [ChipQrError, DateParseError, IdNumberError, NameParseError, SexParseError]
)
def test_errors_sit_under_the_error_root(error: type[IdentityParseError]) -> None:
    assert issubclass(error, IdentityParseError)
    assert issubclass(error, InvalidInput)
    assert issubclass(error, VaxlinkError)
    assert error.code != InvalidInput.code
    assert error("message", field="sex").field == "sex"


@pytest.mark.parametrize(
    ("raw", "sex"),
    [
        ("M", "M"), ("m", "M"), ("Nam", "M"), ("NAM", "M"), (" male ", "M"), ("Nam giới", "M"),
        ("F", "F"), ("f", "F"), ("Nữ", "F"), ("NỮ", "F"), ("nu", "F"), ("Female", "F"),
        ("nữ giới", "F"), ("", None), ("  ", None), (None, None),
    ],
)  # fmt: skip
def test_parse_sex(raw: str | None, sex: str | None) -> None:
    assert parse_sex(raw) == sex


@pytest.mark.parametrize("raw", ["X", "Nammm", "1", "nữ nam"])
def test_parse_sex_refuses_other_values(raw: str) -> None:
    with pytest.raises(SexParseError, match="expected M, F, Nam or Nữ"):
        parse_sex(raw)


def test_sex_word() -> None:
    assert (sex_word("M"), sex_word("F")) == ("Nam", "Nữ")
