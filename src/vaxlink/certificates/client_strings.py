"""Vietnamese and English messages about a partner application's name, shared by the partner page
(`/admin/partners`, through the catalogue) and `vaxlink certificates api-client add` (whose
refusal carries the English text and the key; `vaxlink.catalogue.text_in`)."""

from __future__ import annotations

from typing import Final

STRINGS: Final[dict[str, dict[str, str]]] = {
    "vi": {
        "partners.err.name": "Tên ứng dụng gồm chữ cái (có dấu hoặc không), chữ số, dấu cách và các dấu . _ - ( ) &; không có ký tự điều khiển hay ký hiệu khác.",
        "partners.err.name_long": "Tên ứng dụng dài tối đa 64 ký tự.",
        "partners.err.name_start": "Tên ứng dụng phải bắt đầu bằng một chữ cái, chữ số hoặc dấu mở ngoặc (không bắt đầu bằng = + - @).",
    },
    "en": {
        "partners.err.name": "An application name is letters (with or without accents), digits, spaces and . _ - ( ) &; no control characters or other symbols.",
        "partners.err.name_long": "An application name is at most 64 characters long.",
        "partners.err.name_start": "An application name starts with a letter, a digit or an opening bracket (not with = + - @).",
    },
}  # fmt: skip
