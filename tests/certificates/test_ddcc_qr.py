"""The WHO DDCC:VS core data set in a signed CWT, checked by pycose (an independent COSE library)
after an own Base45 decoder and zlib, and read back by vaxlink's verifier path."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from pycose.keys import EC2Key
from pycose.messages import Sign1Message

from vaxlink.certificates.core.ddcc_qr import core_data_set, read_ddcc, sign_ddcc
from vaxlink.certificates.errors import SignatureInvalid
from vaxlink.certificates.qrimage import qr_png, read_qr

from .test_ddcc_profiles import DDCC_RECORD
from .test_independent_decode import base45_decode

ISSUED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EXPIRES = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _sign1(text: str) -> Sign1Message:
    """pycose's COSE_Sign1 of an HC1 text. cbor2 6 decodes a tagged array as a tuple (and its
    maps as frozendicts), which pycose 1.1's `decode` refuses, so the tag is opened here and the
    four items handed to pycose as the list it expects; the bytes are untouched."""
    assert text.startswith("HC1:")
    tagged = cbor2.loads(zlib.decompress(base45_decode(text[4:])))
    assert tagged.tag == Sign1Message.cbor_tag == 18
    protected, unprotected, payload, signature = tagged.value
    items = [protected, dict(unprotected), payload, signature]
    message: Sign1Message = Sign1Message.from_cose_obj(items, True)
    return message


def _pycose_payload(text: str, public_key: Any) -> dict[Any, Any]:
    message = _sign1(text)
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    message.key = EC2Key.from_pem_public_key(pem.decode("ascii"))
    assert message.verify_signature()
    claims: dict[Any, Any] = cbor2.loads(message.payload)
    return claims


def test_pycose_verifies_the_ddcc_cwt_and_finds_the_core_data_set(pki) -> None:
    text = sign_ddcc(DDCC_RECORD, pki.dsc, country="VN", issued=ISSUED, expires=EXPIRES)
    claims = _pycose_payload(text, pki.dsc.certificate.public_key())
    with pytest.raises(AssertionError):  # pycose's check fails with another DSC's key
        _pycose_payload(text, pki.dsc2.certificate.public_key())
    assert claims[1] == "VN"
    assert claims[6] == int(ISSUED.timestamp())
    assert claims[4] == int(EXPIRES.timestamp())
    assert list(claims[-260]) == [2]  # the DDCC:VS key of the hcert claim, no EU DCC beside it
    data = claims[-260][2]
    assert data == core_data_set(DDCC_RECORD)
    assert data["name"] == "Nguyễn Thị Thuỷ Đức"
    assert data["birthDate"] == "1985-03-14"
    assert "identifier" not in data  # the national ID stays out of the QR
    assert data["certificate"] == {
        "issuer": {"identifier": {"value": "Bộ Y tế"}},
        "hcid": {"value": DDCC_RECORD.certificate_id},
        "version": "RC2",
        "period": {"start": "2025-03-01", "end": "2026-03-01"},
    }
    vaccination = data["vaccination"]
    assert vaccination["vaccine"] == {"system": "http://id.who.int/icd11/mms", "code": "XM0GQ8"}
    assert vaccination["disease"] == {"system": "http://id.who.int/icd11/mms", "code": "RA01"}
    assert vaccination["brand"]["code"] == "EU/1/20/1528"
    assert vaccination["maholder"]["code"] == "ORG-100030215"
    assert (vaccination["lot"], vaccination["date"], vaccination["dose"],
            vaccination["totalDoses"]) == ("FK8891", "2021-09-01", 2, 2)  # fmt: skip
    assert vaccination["country"] == {"system": "urn:iso:std:iso:3166", "code": "VNM"}
    # the header names the DSC as the EU DCC does (kid = SHA-256 of its certificate, 8 bytes),
    # so the same trust list serves
    from pycose.headers import KID

    assert _sign1(text).phdr[KID] == pki.dsc.kid


def test_vaxlink_reads_it_back_and_refuses_another_key_and_the_qr_carries_it(pki) -> None:
    text = sign_ddcc(DDCC_RECORD, pki.dsc, country="VN", issued=ISSUED, expires=EXPIRES)
    assert read_ddcc(text, pki.dsc.certificate.public_key()) == core_data_set(DDCC_RECORD)
    with pytest.raises(SignatureInvalid):
        read_ddcc(text, pki.dsc2.certificate.public_key())
    assert read_qr(qr_png(text)) == text
