"""Vietnamese name vocabulary with frequencies, written for the synthetic population (NFC text).

Family-name shares follow published surveys (Nguyễn ≈ 38 %, Trần ≈ 11 %, ...). Given names carry a
popularity tier and an era: `o` old-fashioned, `n` timeless, `m` modern, so that cohorts differ.
"""

from __future__ import annotations

from typing import Final

#: Family name -> percent of the population (country-wide). Hoàng/Huỳnh and Vũ/Võ are split by
#: region in `population.py`: the pairs listed here are the combined share of both spellings.
FAMILY_TOP: Final[dict[str, float]] = {
    "Nguyễn": 38.0, "Trần": 11.0, "Lê": 9.5, "Phạm": 7.0, "Hoàng": 5.0, "Phan": 4.5,
    "Vũ": 3.9, "Đặng": 2.1, "Bùi": 2.0, "Đỗ": 1.4, "Hồ": 1.3, "Ngô": 1.3, "Dương": 1.0,
    "Lý": 0.5,
}  # fmt: skip

#: The long tail, relative weights; scaled to fill the remaining share.
FAMILY_TAIL: Final[dict[str, float]] = {
    "Đào": 0.9, "Đoàn": 0.8, "Trương": 0.9, "Trịnh": 0.7, "Đinh": 0.7, "Hà": 0.7, "Lâm": 0.6,
    "Mai": 0.5, "Lương": 0.5, "Cao": 0.5, "Vương": 0.4, "Phùng": 0.4, "Lưu": 0.4, "Tô": 0.3,
    "Tạ": 0.3, "Châu": 0.3, "Thái": 0.3, "Chu": 0.3, "Triệu": 0.3, "Nông": 0.3, "Quách": 0.2,
    "Kiều": 0.2, "Thạch": 0.2, "Lại": 0.15, "Tăng": 0.15, "Hứa": 0.15, "Văn": 0.1, "Lò": 0.1,
    "Mạc": 0.1, "Tôn": 0.1, "Thân": 0.1, "Giang": 0.1, "La": 0.1, "Nghiêm": 0.1, "Từ": 0.1,
    "Diệp": 0.1, "Danh": 0.1, "Đàm": 0.1, "Vi": 0.1, "Khúc": 0.05, "Lục": 0.05, "Doãn": 0.05,
    "Âu": 0.05, "Bạch": 0.05, "Khổng": 0.05, "Kim": 0.05, "Lạc": 0.05, "Lã": 0.05, "Mẫn": 0.05,
    "Ninh": 0.05, "Ông": 0.05, "Quan": 0.05, "Tiêu": 0.05, "Hầu": 0.05, "Khương": 0.05,
    "Cù": 0.05, "Sầm": 0.03, "Ứng": 0.03, "Viên": 0.03, "Yên": 0.02, "Mã": 0.05, "Lữ": 0.05,
    "Đồng": 0.05, "Trình": 0.05, "Bế": 0.05,
}  # fmt: skip

#: Middle names by sex: name -> (weight in cohorts born before 1970, weight born 2000 or later).
MIDDLE_MALE: Final[dict[str, tuple[float, float]]] = {
    "Văn": (55, 16), "Đức": (6, 7), "Minh": (3, 10), "Quang": (4, 5), "Hữu": (5, 3),
    "Công": (4, 3), "Thanh": (4, 3), "Xuân": (3, 2), "Ngọc": (2, 2), "Hoàng": (1, 5),
    "Gia": (0.2, 6), "Bảo": (0.2, 5), "Tuấn": (1, 3), "Anh": (1, 3), "Trung": (1, 2),
    "Duy": (1, 4), "Quốc": (2, 4), "Thế": (2, 1), "Tiến": (1, 1), "Đình": (4, 2),
    "Mạnh": (1, 2), "Huy": (0.5, 3), "Hồng": (2, 0.5), "Trọng": (2, 2), "Việt": (1, 2),
    "Khánh": (0.3, 3), "Nhật": (0.2, 3), "Thành": (1, 2), "Kim": (1, 0.3), "Phúc": (0.5, 2),
    "Thiên": (0.1, 2), "Đăng": (0.3, 2), "Hải": (1, 2), "Chí": (1, 1.5), "Tấn": (2, 1),
    "Bá": (1, 0.5), "Như": (0.5, 0.2), "Phước": (1, 0.5), "Viết": (1, 0.3), "Trường": (0.5, 1),
}  # fmt: skip
MIDDLE_FEMALE: Final[dict[str, tuple[float, float]]] = {
    "Thị": (75, 28), "Ngọc": (4, 9), "Thu": (4, 4), "Thanh": (3, 4), "Kim": (3, 3),
    "Phương": (1, 4), "Minh": (0.5, 5), "Bảo": (0.1, 5), "Khánh": (0.2, 5), "Hồng": (2, 2),
    "Thùy": (1, 4), "Mỹ": (1, 3), "Hoài": (0.5, 2), "Diệu": (0.2, 2), "Quỳnh": (0.3, 2),
    "Thảo": (0.2, 2), "Hà": (0.3, 1.5), "Mai": (0.5, 2), "Hải": (0.5, 2), "Ánh": (0.3, 1),
    "Cẩm": (0.5, 1), "Xuân": (1, 1), "Tường": (0.2, 1), "Như": (0.3, 2), "Yến": (0.2, 1),
    "Lan": (0.5, 1), "Vân": (0.5, 1), "Hương": (0.5, 1), "Tuyết": (0.5, 0.5), "Bích": (1, 1),
    "Thúy": (1, 1), "Huyền": (0.3, 1), "Gia": (0.1, 3), "An": (0.1, 2), "Hoàng": (0.2, 1),
    "Trà": (0.1, 1), "Uyên": (0.1, 1), "Ngân": (0.1, 1), "Diễm": (0.5, 1), "Lệ": (1, 0.3),
}  # fmt: skip

#: The generic middle names, used at most once and never as a second middle name.
GENERIC_MIDDLE: Final[frozenset[str]] = frozenset({"Văn", "Thị"})

# Given names as "Name:tier:era" (tier 1 = most common); compounds arise from middle + given.
_MALE = """
Anh:1:n Hùng:1:o Dũng:1:o Tuấn:1:n Nam:1:n Hải:1:n Minh:1:m Long:1:n Hiếu:1:n Huy:1:m
Đức:1:n Thành:1:n Trung:1:n Phong:1:n Quân:1:m Khoa:1:m Bảo:1:m Hoàng:1:n Sơn:1:o Thắng:1:o
Cường:1:o Tùng:1:n Vinh:1:n Phúc:1:m Duy:1:m Khang:1:m Kiên:1:n Hưng:1:n Tài:1:n Thịnh:1:n
Bình:2:o Hòa:2:o Lâm:2:m Quang:2:n Tâm:2:n Thanh:2:o Toàn:2:n Trí:2:m Việt:2:n Vũ:2:n
Tiến:2:n Thái:2:n Tú:2:n Lợi:2:o Lực:2:o Mạnh:2:n Nghĩa:2:n Nhân:2:n Phát:2:m Phú:2:n
Quý:2:o Sang:2:n Tân:2:o Thiện:2:n Thuận:2:n Trọng:2:o Tuân:2:o Tường:2:n Vương:2:m An:2:m
Đạt:2:m Định:2:o Đông:2:o Hà:2:o Hậu:2:n Hiển:2:n Học:2:o Hội:2:o Khải:2:m Khánh:2:m
Khôi:2:m Lộc:2:n Luân:2:n Lương:2:o Nguyên:2:m Nhật:2:m Phước:2:o Quốc:2:n Sỹ:2:o Thạch:2:o
Thông:2:n Thuần:2:o Triều:2:n Trường:2:n Tín:2:n Toản:2:o Tuệ:2:m Vĩnh:2:o Xuân:2:o Đăng:2:m
Đạo:3:o Điền:3:o Gia:3:m Giang:3:n Hào:3:n Hạnh:3:o Hiệp:3:n Hoan:3:o Hoàn:3:o Hợp:3:o
Huân:3:o Hữu:3:o Kha:3:m Khiêm:3:n Kỳ:3:n Linh:3:n Lĩnh:3:o Mậu:3:o Ninh:3:o Phi:3:n
Phương:3:n Quyết:3:o Quyền:3:o Sinh:3:o Tấn:3:o Thạnh:3:o Thiên:3:m Thọ:3:o Thuật:3:o
Tiệp:3:o Toại:3:o Trình:3:o Trực:3:o Tuyên:3:o Uy:3:m Viễn:3:m Vỹ:3:m Bách:3:m Bằng:3:o
Chiến:3:o Chính:3:o Công:3:o Cảnh:3:o Đại:3:n Đoàn:3:o Dương:3:n Đô:3:o Hiền:3:o Huấn:3:o
Khương:3:o Lập:3:o Liêm:3:o Mẫn:3:m Ngọc:3:o Nhất:3:n Quảng:3:o Sáng:3:o Sâm:3:o Tạo:3:o
Thăng:3:o Thìn:3:o Thủy:3:o Tình:3:o Tráng:3:o Trị:3:o Tư:3:o Tưởng:3:o Vượng:3:o Vân:3:o
Ánh:3:o Ân:3:m Danh:3:n Hoạt:3:o Kiệt:3:m Lân:3:n Luật:3:o Phụng:3:o Thiệu:3:o Vạn:3:o
Chung:3:o Chương:3:n Cương:3:o Đắc:3:o Hảo:3:o Kính:3:o Lễ:3:o Nhuận:3:o Tam:3:o Thế:3:o
Thiết:3:o Thức:3:o Tích:3:o Đạm:3:o Diệu:3:o Hiệu:3:o Khiết:3:m Lãm:3:m
Nghị:3:o Tuyển:3:o Ước:3:o Xuyên:3:o Bắc:3:o Chánh:3:o Dinh:3:o
"""
_FEMALE = """
Anh:1:n Linh:1:n Hương:1:n Lan:1:o Hoa:1:o Mai:1:o Thảo:1:n Trang:1:n Hà:1:n Phương:1:n
Ngọc:1:n Hằng:1:n Nhung:1:o Huyền:1:n Thủy:1:o Hạnh:1:o Nga:1:o Dung:1:o Loan:1:o Thu:1:o
Yến:1:n Vy:1:m Nhi:1:m Chi:1:m Hân:1:m My:1:m Ngân:1:m Quỳnh:1:n Vân:1:n Oanh:1:o
Bích:2:o Cúc:2:o Đào:2:o Hồng:2:o Liên:2:o Lụa:2:o Tuyết:2:o Xuân:2:o Hiền:2:n Hòa:2:o
Huệ:2:o Lệ:2:o Lý:2:o Minh:2:m Nguyệt:2:n Phượng:2:o Sen:2:o Tâm:2:n Thanh:2:o Thắm:2:o
Thơ:2:n Thúy:2:o Tiên:2:n Trâm:2:n Trinh:2:n Tú:2:n Uyên:2:m Vi:2:m Diệp:2:m Giang:2:n
Hậu:2:o Khánh:2:m Kim:2:o Lam:2:m Liễu:2:o Ly:2:m Mận:2:o Na:2:n Nhàn:2:o Như:2:m
Ninh:2:o Nương:2:o Phúc:2:m Quyên:2:n Sương:2:o Thoa:2:o Thùy:2:n Thư:2:m Thương:2:n
Tình:2:o Trà:2:m Tuyền:2:n Việt:2:n Xuyến:2:o An:2:m Ánh:2:n Băng:2:m Châu:2:n Diễm:2:n
Diệu:2:n Duyên:2:n Hải:2:n Hoài:2:n Khuê:2:m Kiều:2:n Mỹ:2:n Trúc:2:n Thy:2:m Đan:2:m
Cầm:3:o Gấm:3:o Hạ:3:m Hiên:3:o Huế:3:o Hường:3:o Lành:3:o Lài:3:o Lê:3:o Luyến:3:o
Mến:3:o Miên:3:m Mơ:3:o Nở:3:o Nụ:3:o Phấn:3:o Quế:3:o San:3:m Sáu:3:o Sinh:3:o Son:3:o
Thêu:3:o Thìn:3:o Thục:3:o Thuận:3:o Thường:3:o Tươi:3:o Út:3:o Vinh:3:o Vui:3:o Xinh:3:o
Ý:3:m Ngà:3:o Nhạn:3:o Nhị:3:o Nhu:3:m Phụng:3:o Tường:3:m Uyển:3:m Vàng:3:o Điệp:3:o
Đông:3:o Hảo:3:o Hợi:3:o Kha:3:m Khanh:3:n Lạc:3:o Lương:3:o Mùi:3:o Nhiên:3:m Quý:3:o
Sa:3:m Tám:3:o Thi:3:m Tiền:3:o Tím:3:o Tịnh:3:o Trân:3:m Tuệ:3:m Xoan:3:o Bình:3:o
Cẩm:3:o Nhật:3:m
Hiếu:3:n Hoàn:3:o Lợi:3:o Tố:3:o Vĩnh:3:o
"""


def _parse(block: str) -> tuple[tuple[str, int, str], ...]:
    seen: dict[str, tuple[str, int, str]] = {}
    for item in block.split():
        name, tier, era = item.split(":")
        seen.setdefault(name, (name, int(tier), era))
    return tuple(seen.values())


#: Given names (name, tier, era), one syllable each.
GIVEN_MALE: Final = _parse(_MALE)
GIVEN_FEMALE: Final = _parse(_FEMALE)
