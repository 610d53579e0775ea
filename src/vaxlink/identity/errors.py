"""Errors of the identity primitives; each message tells a health-station worker what to fix."""

from __future__ import annotations

from vaxlink.errors import InvalidInput


class IdentityParseError(InvalidInput):
    """A value (ID number, date, name, sex, chip QR) that cannot be read as given."""

    code = "identity_parse_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        #: The record field the bad value came from, when the caller said so.
        self.field = field


class IdNumberError(IdentityParseError):
    """An ID number (CCCD or CMND) that cannot be used as given."""

    code = "invalid_id_number"


class DateParseError(IdentityParseError):
    """A date that is not a date, or a day that does not exist."""

    code = "invalid_date"


class SexParseError(IdentityParseError):
    """A sex value that is neither male nor female in any accepted spelling."""

    code = "invalid_sex"


class NameParseError(IdentityParseError):
    """A personal name that cannot be used (empty, or nothing left after transliteration)."""

    code = "invalid_name"


class ChipQrError(IdentityParseError):
    """Text that is not a readable chip-card (CCCD) QR payload; the message names the bad field."""

    code = "invalid_chip_qr"
