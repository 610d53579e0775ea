"""Pure Vietnamese identity primitives: ID numbers, chip-card QR text, names, partial dates."""

from __future__ import annotations

from vaxlink.identity.chipqr import ChipQr, format_chip_qr, parse_chip_qr
from vaxlink.identity.dates import (
    PartialDate,
    Precision,
    excel_serial_to_date,
    is_plausible_birth_date,
    parse_date,
    swap_day_month,
    two_digit_year,
)
from vaxlink.identity.errors import (
    ChipQrError,
    DateParseError,
    IdentityParseError,
    IdNumberError,
    NameParseError,
    SexParseError,
)
from vaxlink.identity.idnumber import (
    CccdInfo,
    Finding,
    FindingCode,
    IdKind,
    classify_id,
    compose_cccd,
    consistency_findings,
    decode_cccd,
    id_problem,
    normalise_id,
    pad_lost_zeros,
)
from vaxlink.identity.legacy import (
    LegacyEncoding,
    detect_legacy_encoding,
    legacy_to_unicode,
    unicode_to_legacy,
)
from vaxlink.identity.names import (
    NameParts,
    fold_name,
    icao_name_fields,
    icao_transliterate,
    name_token_set,
    normalise_name,
    split_name,
    syllables,
)
from vaxlink.identity.provinces import BIRTH_PROVINCES
from vaxlink.identity.sex import Sex, parse_sex, sex_word
from vaxlink.identity.syllable import ToneStyle, canonical_tone_placement, is_vietnamese_syllable

__all__ = [
    "BIRTH_PROVINCES",
    "CccdInfo",
    "ChipQr",
    "ChipQrError",
    "DateParseError",
    "Finding",
    "FindingCode",
    "IdKind",
    "IdNumberError",
    "IdentityParseError",
    "LegacyEncoding",
    "NameParseError",
    "NameParts",
    "PartialDate",
    "Precision",
    "Sex",
    "SexParseError",
    "ToneStyle",
    "canonical_tone_placement",
    "classify_id",
    "compose_cccd",
    "consistency_findings",
    "decode_cccd",
    "detect_legacy_encoding",
    "excel_serial_to_date",
    "fold_name",
    "format_chip_qr",
    "icao_name_fields",
    "icao_transliterate",
    "id_problem",
    "is_plausible_birth_date",
    "is_vietnamese_syllable",
    "legacy_to_unicode",
    "name_token_set",
    "normalise_id",
    "normalise_name",
    "pad_lost_zeros",
    "parse_chip_qr",
    "parse_date",
    "parse_sex",
    "sex_word",
    "split_name",
    "swap_day_month",
    "syllables",
    "two_digit_year",
    "unicode_to_legacy",
]
