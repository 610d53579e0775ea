"""Sex as recorded: M or F, read from the spellings found in records and on ID cards."""

from __future__ import annotations

import unicodedata
from typing import Literal

from vaxlink.identity.errors import SexParseError

Sex = Literal["M", "F"]

# Folded spellings (lowercase, no diacritics): English codes, Vietnamese words, the chip QR's.
_SPELLINGS: dict[str, Sex] = {
    "m": "M", "male": "M", "nam": "M", "nam gioi": "M",
    "f": "F", "female": "F", "nu": "F", "nu gioi": "F",
}  # fmt: skip


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


def parse_sex(raw: str | None, *, what: str = "sex") -> Sex | None:
    """'M' or 'F' from M/F, Nam/Nữ/Nu, Male/Female (any case); None when empty."""
    if raw is None or not raw.strip():
        return None
    sex = _SPELLINGS.get(_fold(raw))
    if sex is None:
        raise SexParseError(
            f"{what} '{raw.strip()}' is not recognised (expected M, F, Nam or Nữ)"
        ).keyed("error.invalid_sex")
    return sex


def sex_word(sex: Sex) -> str:
    """The Vietnamese word printed on ID cards: Nam or Nữ."""
    return "Nam" if sex == "M" else "Nữ"
