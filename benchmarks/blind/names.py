"""Vietnamese name tables with frequency weights, and text helpers (diacritics, Telex, keyboards)."""

from __future__ import annotations

import unicodedata

import numpy as np

# Family names, share of the population in percent (national surveys, rounded); the rest of the
# mass goes to TAIL_FAMILY evenly.
FAMILY: dict[str, float] = {
    "Nguyễn": 38.0,
    "Trần": 11.0,
    "Lê": 9.5,
    "Phạm": 7.0,
    "Hoàng": 3.0,
    "Huỳnh": 2.1,
    "Phan": 4.5,
    "Vũ": 2.0,
    "Võ": 1.9,
    "Đặng": 2.1,
    "Bùi": 2.0,
    "Đỗ": 1.4,
    "Hồ": 1.3,
    "Ngô": 1.3,
    "Dương": 1.0,
    "Lý": 0.5,
}
TAIL_FAMILY = [
    "Đào", "Đoàn", "Vương", "Trịnh", "Trương", "Lâm", "Phùng", "Mai", "Tô", "Hà", "Tạ", "Lưu",
    "Cao", "Chu", "Đinh", "Lương", "Quách", "Thái", "Triệu", "Kiều", "Văn", "Âu", "Khúc", "Lại",
    "Tăng", "Châu", "Hứa", "La", "Thân", "Nghiêm", "Mạc", "Doãn", "Giang", "Khổng", "Ông", "Hầu",
    "Lạc", "Diệp", "Tôn", "Bạch", "Lã", "Phó", "Từ", "Cù", "Kim", "Mẫn", "Ninh", "Trang", "Viên",
    "Quan",
]  # fmt: skip

# Middle names: (name, weight before 1990, weight from 1990)
MIDDLE_M: list[tuple[str, float, float]] = [
    ("Văn", 45, 18), ("Đức", 8, 9), ("Minh", 6, 14), ("Hữu", 6, 4), ("Quang", 5, 6),
    ("Thanh", 4, 4), ("Công", 4, 3), ("Xuân", 3, 2), ("Ngọc", 3, 3), ("Đình", 4, 3),
    ("Quốc", 3, 5), ("Hoàng", 2, 5), ("Tuấn", 1, 3), ("Anh", 1, 3), ("Gia", 1, 4),
    ("Bảo", 1, 4), ("Trung", 2, 2), ("Mạnh", 1, 2), ("Thế", 2, 2), ("Tiến", 1, 2),
    ("Nhật", 0.5, 3), ("Duy", 1, 3), ("Khánh", 0.5, 2), ("Phúc", 0.5, 2),
]  # fmt: skip
MIDDLE_F: list[tuple[str, float, float]] = [
    ("Thị", 60, 25), ("Ngọc", 6, 9), ("Thanh", 5, 6), ("Thu", 4, 5), ("Minh", 2, 6),
    ("Kim", 4, 3), ("Bảo", 1, 5), ("Phương", 2, 4), ("Mai", 1, 3), ("Hoài", 1, 2),
    ("Khánh", 1, 4), ("Thùy", 2, 4), ("Hồng", 3, 2), ("Diệu", 1, 2), ("Quỳnh", 1, 3),
    ("Tuyết", 1, 1), ("Hà", 1, 2), ("Lan", 1, 1), ("Gia", 0.5, 3), ("Hải", 1, 2),
]  # fmt: skip

# Given names, most frequent first; weight ~ 1 / rank**0.9
GIVEN_M = [
    "Hùng", "Dũng", "Tuấn", "Nam", "Minh", "Hải", "Thắng", "Long", "Huy", "Sơn", "Cường", "Hoàng",
    "Quân", "Trung", "Hiếu", "Phúc", "Thành", "Tùng", "Đức", "Hưng", "Khoa", "Bình", "Hòa", "An",
    "Toàn", "Tài", "Thịnh", "Vinh", "Khánh", "Tâm", "Lâm", "Phong", "Việt", "Hiển", "Tiến", "Lộc",
    "Quang", "Hậu", "Duy", "Nghĩa", "Trí", "Thuận", "Đạt", "Kiên", "Hoan", "Quý", "Tú", "Vũ",
    "Bảo", "Thái", "Tín", "Luân", "Sang", "Khải", "Hào", "Định", "Thủy", "Tuyên", "Mạnh", "Thọ",
    "Kha", "Huân", "Lợi", "Chiến", "Danh", "Giang", "Hạnh", "Thoại", "Uy", "Vĩ", "Thụy",
]  # fmt: skip
GIVEN_F = [
    "Hương", "Linh", "Trang", "Hà", "Lan", "Anh", "Thảo", "Ngọc", "Hằng", "Phương", "Hạnh",
    "Mai", "Thủy", "Nhung", "Huyền", "Dung", "Yến", "Hoa", "Nga", "Loan", "Vân", "Thúy", "Hiền",
    "Trinh", "Hồng", "Liên", "Oanh", "Chi", "Nhi", "Vy", "My", "Quyên", "Thư", "Giang", "Diệp",
    "Tâm", "Uyên", "Hoài", "Bích", "Xuân", "Tuyết", "Nguyệt", "Ly", "Khánh", "Ngân", "Hòa",
    "Châu", "Duyên", "Thoa", "Hậu", "Nhàn", "Quỳnh", "Tuyền", "Lụa", "Tươi", "Thắm", "Hoan",
    "Diễm", "Kiều", "Thanh", "Sương", "Đào", "Cúc", "Huệ", "Xoan", "Toàn", "Khuê",
]  # fmt: skip


def weights(n: int, exponent: float = 0.9) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** exponent
    return np.asarray(w / w.sum())


def family_table() -> tuple[list[str], np.ndarray]:
    names = list(FAMILY) + TAIL_FAMILY
    head = np.array(list(FAMILY.values()))
    tail = np.full(len(TAIL_FAMILY), (100.0 - head.sum()) / len(TAIL_FAMILY))
    w = np.concatenate([head, tail])
    return names, w / w.sum()


# ---------------------------------------------------------------- text helpers

_TONES = {"\u0301": "s", "\u0300": "f", "\u0309": "r", "\u0303": "x", "\u0323": "j"}
_SHAPES = {"\u0302": "hat", "\u0306": "breve", "\u031b": "horn"}


def strip_diacritics(s: str) -> str:
    nfd = unicodedata.normalize("NFD", s)
    out = "".join(c for c in nfd if unicodedata.category(c) != "Mn")
    return out.replace("đ", "d").replace("Đ", "D")


def telex(word: str, *, keep_tone: bool = True) -> str:
    """A word as typed in Telex with no input method converting it: Nguyễn -> Nguyeenx."""
    out = []
    tone = ""
    for ch in word:
        nfd = unicodedata.normalize("NFD", ch)
        base, marks = nfd[0], nfd[1:]
        if base in "đĐ" or ch in "đĐ":
            out.append("dd" if ch == "đ" else "Dd")
            continue
        piece = base
        for m in marks:
            if m in _TONES:
                tone = _TONES[m]
            elif m == "\u0302":  # â ê ô
                piece = base + base.lower()
            elif m in ("\u0306", "\u031b"):  # ă, ơ, ư
                piece = base + "w"
        out.append(piece)
    return "".join(out) + (tone if keep_tone else "")


QWERTY_NEIGHBOURS = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij",
    "i": "uok", "o": "ipl", "p": "o", "a": "qsz", "s": "awdz", "d": "sefx", "f": "drgc",
    "g": "fthv", "h": "gyjb", "j": "hukn", "k": "jilm", "l": "ko", "z": "asx", "x": "zsdc",
    "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip
KEYPAD_NEIGHBOURS = {
    "0": "18", "1": "024", "2": "135", "3": "26", "4": "157", "5": "2468", "6": "359",
    "7": "48", "8": "5790", "9": "68",
}  # fmt: skip
OCR = {"0": "O", "1": "l", "5": "S", "8": "B"}

# Old-style (pre-1980 orthography, still common in software) tone placement: the tone mark on
# the first vowel of oa/oe/uy (new style: on the second).
_TONE_PLACEMENT_OLD = {
    "òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ",
    "òe": "oè", "óe": "oé", "ỏe": "oẻ", "õe": "oẽ", "ọe": "oẹ",
    "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ",
}  # fmt: skip


def old_tone_placement(name: str) -> str | None:
    """Name with old-style tone placement, or None if no word is affected."""
    out = name
    for new, old in _TONE_PLACEMENT_OLD.items():
        out = out.replace(new, old)
    return out if out != name else None


_TONE_CHANGE = [
    "aàáảãạ", "ăằắẳẵặ", "âầấẩẫậ", "eèéẻẽẹ", "êềếểễệ", "iìíỉĩị", "oòóỏõọ", "ôồốổỗộ",
    "ơờớởỡợ", "uùúủũụ", "ưừứửữự", "yỳýỷỹỵ",
]  # fmt: skip
TONE_ROW = {c: row for row in _TONE_CHANGE for c in row}
