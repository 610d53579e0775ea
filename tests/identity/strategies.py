"""Hypothesis strategies for real-looking Vietnamese names, shared by the identity tests."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

FAMILY = (
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trương", "Lương", "Mai", "Trịnh", "Đoàn", "Cao", "Tạ",
    "Lâm", "Quách", "Thái", "Kiều", "Hà", "Triệu", "Khúc", "Âu", "Ông", "Giang", "Mạc", "Ưng",
)  # fmt: skip
MIDDLE = (
    "Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc", "Xuân", "Thu", "Kim", "Gia",
    "Bảo", "Đình", "Công", "Quang", "Thùy", "Mỹ", "Diệu", "Phương", "Tuấn", "Khánh", "Như",
    "Hoài", "Trọng", "Nguyên", "Tường", "Thế", "Duy", "Khắc",
)  # fmt: skip
GIVEN = (
    "An", "Anh", "Ánh", "Bình", "Chi", "Cường", "Dũng", "Duy", "Đức", "Giang", "Hà", "Hải",
    "Hằng", "Hiếu", "Hòa", "Hoàng", "Huệ", "Hùng", "Hương", "Huy", "Khoa", "Khuê", "Lan",
    "Linh", "Loan", "Long", "Mai", "Minh", "Nga", "Ngọc", "Nguyệt", "Nhung", "Oanh", "Phúc",
    "Phượng", "Quân", "Quyên", "Quỳnh", "Sơn", "Tâm", "Thảo", "Thắng", "Thủy", "Thúy", "Tiến",
    "Trang", "Trinh", "Trung", "Tuấn", "Tuyết", "Uyên", "Việt", "Vy", "Xuân", "Yến", "Ý",
    "Khỏe", "Thoa", "Hiền", "Giàu", "Khuyến", "Luật", "Nghĩa", "Hưởng", "Dậu", "Gấm", "Ngát",
    "Quế", "Thuận", "Toàn", "Ước", "Ngoạn", "Hoạt", "Khuya", "Người", "Rượu", "Ngoài",
)  # fmt: skip
#: New-style spellings of old-style syllables above (hoà for hòa ...).
NEW_STYLE = {"Hòa": "Hoà", "Thủy": "Thuỷ", "Thùy": "Thuỳ", "Thúy": "Thuý", "Khỏe": "Khoẻ"}


@st.composite
def clean_names(draw: st.DrawFn, *, min_words: int = 1) -> str:
    """A title-case NFC name: family, 0-2 middle names, given (or just a given name)."""
    given = draw(st.sampled_from(GIVEN))
    if min_words <= 1 and draw(st.integers(0, 9)) == 0:
        return given
    middles = draw(st.lists(st.sampled_from(MIDDLE), min_size=0, max_size=2))
    return " ".join([draw(st.sampled_from(FAMILY)), *middles, given])


def respell(name: str, *, case: int, nfd: bool, new_style: bool, spaces: str) -> str:
    """The name in another case (0 as is, 1 lower, 2 upper), form, tone style and spacing."""
    words = [NEW_STYLE.get(w, w) if new_style else w for w in name.split()]
    text = spaces.join(words)
    text = (text, text.lower(), text.upper())[case]
    return unicodedata.normalize("NFD" if nfd else "NFC", text)


@st.composite
def messy_names(draw: st.DrawFn) -> str:
    """A clean name as typed at a station: any case, NFC or NFD, either tone style, odd spacing."""
    spaces = draw(st.sampled_from([" ", "  ", " \u00a0", "\t"]))
    return draw(st.sampled_from([" ", ""])) + respell(
        draw(clean_names()),
        case=draw(st.integers(0, 2)),
        nfd=draw(st.booleans()),
        new_style=draw(st.booleans()),
        spaces=spaces,
    )
