"""The HC1 compressor (libdeflate): within 1% of zlib level 9 on real certificates, not stored."""

from __future__ import annotations

import statistics
import zlib
from datetime import UTC, datetime

import pytest

from vaxlink.certificates.core import cose, hc1
from vaxlink.certificates.core.payload import issuable_cbor, vaccination_payload
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.keys import hierarchy as keys

NOW = datetime(2025, 3, 1, tzinfo=UTC)
NAMES = [("Nguyễn", "Thị Thủy"), ("Trần", "Văn Bảo"), ("Lê", "Minh Châu"), ("Đặng", "Quốc Dũng"),
         ("Hoàng", "Ngọc Lan"), ("Phạm", "Đức Huy"), ("Võ", "Thu Hà"), ("Bùi", "Xuân Trường")]  # fmt: skip


@pytest.fixture(scope="module")
def messages() -> list[bytes]:
    """Signed COSE messages of realistic vaccination payloads."""
    csca = keys.create_csca(country="VN", organization="Bộ Y tế", now=NOW)
    dsc = keys.create_dsc(csca, now=NOW, common_name="DSC")
    out = []
    for n in range(200):
        family, given = NAMES[n % len(NAMES)]
        payload = vaccination_payload(
            family_name=family, given_name=given, date_of_birth=f"{1940 + n % 70}-0{1 + n % 9}-1{n % 10}",
            product="EU/1/20/1528", manufacturer="ORG-100030215", prophylaxis="1119349007",
            dose_number=1 + n % 3, total_doses=3, vaccination_date=f"2021-1{n % 3}-0{1 + n % 9}",
            uvci=uvci_from_seed(f"zlib-{n}"), issuer="Ministry of Health of Viet Nam",
        )  # fmt: skip
        claims = cose.claims_around(
            issuable_cbor(payload), iss="VN", iat=1_700_000_000, exp=1_730_000_000
        )
        out.append(cose.sign1(claims, dsc))
    return out


def _mean_size(messages: list[bytes], level: int) -> float:
    def size(m: bytes) -> int:
        d = zlib.compressobj(level, zlib.DEFLATED, -10, 4)
        return len(d.compress(m) + d.flush())

    return statistics.mean(size(m) for m in messages)


def test_the_chosen_level_compresses_like_level_9_and_better_than_storing(messages) -> None:
    chosen = statistics.mean(len(hc1.compress(m)) - 6 for m in messages)
    assert chosen <= _mean_size(messages, 9) * 1.01
    assert chosen < _mean_size(messages, 0)  # real compression, not stored blocks
    for m in messages[:20]:
        assert hc1.decode(hc1.encode(m)) == m
        assert hc1.compress(m)[:2] == b"\x78\xda"
