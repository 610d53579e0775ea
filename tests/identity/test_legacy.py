"""TCVN3 (ABC) and VNI-Windows text from old Excel files."""

from __future__ import annotations

import itertools
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.identity.strategies import FAMILY, GIVEN, MIDDLE, clean_names, messy_names

from vaxlink.identity import (
    detect_legacy_encoding,
    is_vietnamese_syllable,
    legacy_to_unicode,
    normalise_name,
    unicode_to_legacy,
)
from vaxlink.identity.legacy import LegacyEncoding

# TCVN 5712:1993 VN3 as cp1252 characters, written out from the standard's code chart.
TCVN3_CHART = [
    ("àáảãạ", "µ¸¶·¹"),
    ("ăằắẳẵặ", "¨»¾¼½Æ"),
    ("âầấẩẫậ", "©ÇÊÈÉË"),
    ("đ", "®"),
    ("èéẻẽẹ", "ÌÐÎÏÑ"),
    ("êềếểễệ", "ªÒÕÓÔÖ"),
    ("ìíỉĩị", "×ÝØÜÞ"),
    ("òóỏõọ", "ßãáâä"),
    ("ôồốổỗộ", "«åèæçé"),
    ("ơờớởỡợ", "¬êíëìî"),
    ("ùúủũụ", "ïóñòô"),
    ("ưừứửữự", "\u00adõøö÷ù"),
    ("ỳýỷỹỵ", "úýûüþ"),
    ("ĂÂÊÔƠƯĐ", "¡¢£¤¥¦§"),
]

# VNI-Windows (VNI-Times font) as cp1252 characters, one letter per item.
VNI_CHART = [
    ("à á ả ã ạ", "aø aù aû aõ aï"),
    ("ă ằ ắ ẳ ẵ ặ", "aê aè aé aú aü aë"),
    ("â ầ ấ ẩ ẫ ậ", "aâ aà aá aå aã aä"),
    ("đ", "ñ"),
    ("è é ẻ ẽ ẹ", "eø eù eû eõ eï"),
    ("ê ề ế ể ễ ệ", "eâ eà eá eå eã eä"),
    ("ì í ỉ ĩ ị", "ì í æ ó ò"),
    ("ò ó ỏ õ ọ", "oø où oû oõ oï"),
    ("ô ồ ố ổ ỗ ộ", "oâ oà oá oå oã oä"),
    ("ơ ờ ớ ở ỡ ợ", "ô ôø ôù ôû ôõ ôï"),
    ("ù ú ủ ũ ụ", "uø uù uû uõ uï"),
    ("ư ừ ứ ử ữ ự", "ö öø öù öû öõ öï"),
    ("ỳ ý ỷ ỹ ỵ", "yø yù yû yõ î"),
    ("À Á Ả Ã Ạ", "AØ AÙ AÛ AÕ AÏ"),
    ("Ă Ằ Ắ Ẳ Ẵ Ặ", "AÊ AÈ AÉ AÚ AÜ AË"),
    ("Â Ầ Ấ Ẩ Ẫ Ậ", "AÂ AÀ AÁ AÅ AÃ AÄ"),
    ("Đ", "Ñ"),
    ("È É Ẻ Ẽ Ẹ", "EØ EÙ EÛ EÕ EÏ"),
    ("Ê Ề Ế Ể Ễ Ệ", "EÂ EÀ EÁ EÅ EÃ EÄ"),
    ("Ì Í Ỉ Ĩ Ị", "Ì Í Æ Ó Ò"),
    ("Ò Ó Ỏ Õ Ọ", "OØ OÙ OÛ OÕ OÏ"),
    ("Ô Ồ Ố Ổ Ỗ Ộ", "OÂ OÀ OÁ OÅ OÃ OÄ"),
    ("Ơ Ờ Ớ Ở Ỡ Ợ", "Ô ÔØ ÔÙ ÔÛ ÔÕ ÔÏ"),
    ("Ù Ú Ủ Ũ Ụ", "UØ UÙ UÛ UÕ UÏ"),
    ("Ư Ừ Ứ Ử Ữ Ự", "Ö ÖØ ÖÙ ÖÛ ÖÕ ÖÏ"),
    ("Ỳ Ý Ỷ Ỹ Ỵ", "YØ YÙ YÛ YÕ Î"),
]


@pytest.mark.parametrize(("unicode", "tcvn3"), TCVN3_CHART)
def test_tcvn3_chart(unicode: str, tcvn3: str) -> None:
    assert legacy_to_unicode(tcvn3, "tcvn3") == unicode
    assert unicode_to_legacy(unicode, "tcvn3") == tcvn3


def test_tcvn3_chart_covers_every_letter_once() -> None:
    codes = "".join(code for _, code in TCVN3_CHART)
    assert len(codes) == len(set(codes)) == 74
    assert all(0xA1 <= ord(code) <= 0xFE for code in codes)


@pytest.mark.parametrize(("unicode", "vni"), VNI_CHART)
def test_vni_chart(unicode: str, vni: str) -> None:
    for letter, code in zip(unicode.split(), vni.split(), strict=True):
        assert legacy_to_unicode(code, "vni") == letter
        assert unicode_to_legacy(letter, "vni") == code


def test_vni_chart_covers_every_letter() -> None:
    letters = "".join(unicode.replace(" ", "") for unicode, _ in VNI_CHART)
    assert len(letters) == len(set(letters)) == 134


@pytest.mark.parametrize(
    ("legacy", "encoding", "unicode"),
    [
        ("NguyÔn V¨n §øc", "tcvn3", "Nguyễn Văn Đức"),
        ("TrÇn ThÞ H\u00ad¬ng", "tcvn3", "Trần Thị Hương"),
        ("Céng hoµ x· héi chñ nghÜa ViÖt Nam", "tcvn3", "Cộng hoà xã hội chủ nghĩa Việt Nam"),
        ("§éc lËp - Tù do - H¹nh phóc", "tcvn3", "Độc lập - Tự do - Hạnh phúc"),
        ("NGUYÔN V¡N AN", "tcvn3", "NGUYỄN VĂN AN"),
        ("Nguyeãn Vaên Ñöùc", "vni", "Nguyễn Văn Đức"),
        ("Tröông Thò Hoaøng Yeán", "vni", "Trương Thị Hoàng Yến"),
        ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam", "vni", "Cộng hòa xã hội chủ nghĩa Việt Nam"),
        ("Ñoäc laäp - Töï do - Haïnh phuùc", "vni", "Độc lập - Tự do - Hạnh phúc"),
        ("NGUYEÃN THÒ TUYEÁT", "vni", "NGUYỄN THỊ TUYẾT"),
        ("Leâ Thò Hoa", "vni", "Lê Thị Hoa"),
    ],
)
def test_real_world_samples_are_detected_and_converted(
    legacy: str, encoding: LegacyEncoding, unicode: str
) -> None:
    assert detect_legacy_encoding(legacy) == encoding
    assert legacy_to_unicode(legacy) == unicode
    assert legacy_to_unicode(legacy, encoding) == unicode


@pytest.mark.parametrize(
    "text",
    [
        "Nguyễn Văn Đức",
        "NGUYỄN THỊ HOÀ",
        "Hoàng Thị Thuỷ",
        "Nguyen Van Duc",
        "Nguyễn Văn Hoàg",  # a typo, and VNI would read "Hoà" as "Hồ": no guess
        "Thò Lan",  # VNI for "Thị Lan", but also two valid Unicode syllables: no guess
        "Müller Jürgen",
        "",
        "12/03/1985",
    ],
)
def test_detection_does_not_guess(text: str) -> None:
    assert detect_legacy_encoding(text) is None
    assert legacy_to_unicode(text) == text


def test_capital_initials_break_a_tie() -> None:
    # "Öng" reads as TCVN3 "ệng" or VNI "Ưng": only VNI keeps the capital.
    assert legacy_to_unicode("Öng An", "tcvn3") == "ệng An"
    assert detect_legacy_encoding("Öng An") == "vni"
    assert legacy_to_unicode("Öng An") == "Ưng An"


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown legacy encoding"):
        legacy_to_unicode("abc", "viqr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown legacy encoding"):
        unicode_to_legacy("abc", "viqr")  # type: ignore[arg-type]


@given(messy_names())
def test_detection_never_fires_on_unicode_names(name: str) -> None:
    assert detect_legacy_encoding(name) is None
    assert legacy_to_unicode(name) == name


@given(st.text(alphabet=string.printable))
def test_detection_never_fires_on_ascii(text: str) -> None:
    assert detect_legacy_encoding(text) is None


def _has_non_syllable(text: str) -> bool:
    return any(not is_vietnamese_syllable(word) for word in re.split(r"[\s-]+", text) if word)


@given(clean_names(), st.sampled_from(["tcvn3", "vni"]), st.booleans())
def test_legacy_round_trip_and_detection(name: str, encoding: LegacyEncoding, upper: bool) -> None:
    original = name.upper() if upper else name
    legacy = unicode_to_legacy(original, encoding)
    back = legacy_to_unicode(legacy, encoding)
    if encoding == "vni":
        assert back == original
    else:  # TCVN3 has no toned capitals: they come back lowercase unless the word is in capitals
        assert back.lower() == original.lower()
    assert normalise_name(back) == name
    detected = detect_legacy_encoding(legacy)
    assert detected in (encoding, None)
    if _has_non_syllable(legacy):
        rival = legacy_to_unicode(legacy, "tcvn3" if encoding == "vni" else "vni")
        if detected is None:  # the tie the docstring allows: the other encoding reads as well
            assert not _has_non_syllable(rival), (legacy, rival)  # VNI "ÖNG": Ưng or TCVN3 Ệng
        else:
            assert detected == encoding
            assert normalise_name(legacy_to_unicode(legacy)) == name
    else:
        assert legacy_to_unicode(legacy) == legacy


def test_detection_rate_on_many_names() -> None:
    names = [" ".join(p) for p in itertools.product(FAMILY, MIDDLE, GIVEN)][::40]
    names += [" ".join(p) for p in itertools.product(FAMILY, GIVEN)][::4]
    for encoding in ("tcvn3", "vni"):
        for text in (names, [name.upper() for name in names]):
            legacy = [unicode_to_legacy(name, encoding) for name in text]  # type: ignore[arg-type]
            candidates = [item for item in legacy if _has_non_syllable(item)]
            found = [detect_legacy_encoding(item) for item in candidates]
            assert len(candidates) > 0.9 * len(names)
            assert set(found) <= {encoding, None}
            assert found.count(encoding) >= 0.97 * len(candidates), encoding
