"""Places and numbering plans for the synthetic population: populations, CMND prefixes, phones."""

from __future__ import annotations

from typing import Final

#: Approximate population in thousands (2019 census), by the 3-digit province code of ID numbers.
PROVINCE_POPULATION: Final[dict[str, int]] = {
    "001": 8054, "002": 854, "004": 530, "006": 314, "008": 785, "010": 731, "011": 599,
    "012": 460, "014": 1249, "015": 822, "017": 855, "019": 1287, "020": 782, "022": 1320,
    "024": 1804, "025": 1464, "026": 1152, "027": 1369, "030": 1893, "031": 2029, "033": 1253,
    "034": 1861, "035": 853, "036": 1781, "037": 983, "038": 3641, "040": 3328, "042": 1289,
    "044": 896, "045": 633, "046": 1129, "048": 1135, "049": 1496, "051": 1232, "052": 1487,
    "054": 962, "056": 1232, "058": 591, "060": 1231, "062": 541, "064": 1514, "066": 1870,
    "067": 623, "068": 1297, "070": 995, "072": 1170, "074": 2456, "075": 3097, "077": 1149,
    "079": 8993, "080": 1689, "082": 1765, "083": 1289, "084": 1010, "086": 1023, "087": 1600,
    "089": 1908, "091": 1724, "092": 1236, "093": 734, "094": 1200, "095": 907, "096": 1194,
}  # fmt: skip

#: From Thừa Thiên Huế southwards, Hoàng is mostly written Huỳnh and Vũ mostly Võ.
SOUTH_FROM: Final[str] = "046"

#: Where people who live outside their birth province mostly moved to (relative weights).
MIGRATION_TARGETS: Final[dict[str, float]] = {
    "079": 40, "001": 20, "074": 15, "075": 10, "048": 4, "031": 3, "092": 3, "027": 3, "077": 2,
}  # fmt: skip

#: First two digits of the 9-digit CMND by province (the pre-2016 numbering, loosely followed).
CMND_PREFIX: Final[dict[str, str]] = {
    "001": "01", "079": "02", "031": "03", "011": "04", "012": "04", "014": "05", "010": "06",
    "015": "06", "002": "07", "008": "07", "020": "08", "004": "08", "019": "09", "006": "09",
    "022": "10", "017": "11", "024": "12", "027": "12", "025": "13", "026": "13", "030": "14",
    "033": "14", "034": "15", "036": "16", "035": "16", "037": "16", "038": "17", "040": "18",
    "042": "18", "044": "19", "045": "19", "046": "19", "048": "20", "049": "20", "051": "21",
    "052": "21", "054": "22", "056": "22", "062": "23", "064": "23", "066": "24", "067": "24",
    "068": "25", "058": "26", "060": "26", "075": "27", "077": "27", "070": "28", "074": "28",
    "072": "29", "080": "30", "082": "31", "083": "32", "084": "33", "086": "33", "087": "34",
    "089": "35", "092": "36", "093": "36", "094": "36", "091": "37", "095": "38", "096": "38",
}  # fmt: skip

#: Mobile prefixes (after the 2018 renumbering) -> market-share weight.
PHONE_PREFIXES: Final[dict[str, float]] = {
    # Viettel
    "086": 3, "096": 8, "097": 9, "098": 9, "032": 4, "033": 4, "034": 4, "035": 4, "036": 4,
    "037": 4, "038": 4, "039": 4,
    # MobiFone
    "089": 2, "090": 6, "093": 5, "070": 2, "076": 2, "077": 2, "078": 1, "079": 2,
    # VinaPhone
    "088": 2, "091": 6, "094": 5, "081": 2, "082": 2, "083": 2, "084": 2, "085": 2,
    # Vietnamobile, Gmobile
    "092": 1, "056": 0.5, "058": 0.5, "099": 0.3, "059": 0.3,
}  # fmt: skip

#: Street names found in most Vietnamese towns.
STREETS: Final[tuple[str, ...]] = (
    "Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Nguyễn Huệ", "Lê Duẩn", "Hùng Vương", "Điện Biên Phủ", "Nguyễn Du", "Phan Chu Trinh",
    "Phan Bội Châu", "Trần Phú", "Lê Lai", "Hoàng Văn Thụ", "Nguyễn Văn Cừ", "Võ Thị Sáu",
    "Cách Mạng Tháng Tám", "30 Tháng 4", "Nguyễn Thị Minh Khai", "Lê Thánh Tông", "Ngô Quyền",
    "Bà Triệu", "Đinh Tiên Hoàng", "Trần Quốc Toản", "Tôn Đức Thắng", "Nguyễn Văn Linh",
    "Lạc Long Quân", "Âu Cơ", "Trường Chinh", "Lê Hồng Phong", "Nguyễn Chí Thanh",
    "Phạm Văn Đồng", "Võ Văn Kiệt", "Nguyễn Văn Trỗi", "Hoàng Hoa Thám", "Chu Văn An",
    "Lê Quý Đôn", "Nguyễn Đình Chiểu", "Yết Kiêu", "Lý Tự Trọng", "Trần Nhân Tông",
    "Nguyễn Khuyến", "Hàm Nghi", "Pasteur", "Nguyễn Công Trứ", "Phạm Ngũ Lão", "Trần Khánh Dư",
)  # fmt: skip
