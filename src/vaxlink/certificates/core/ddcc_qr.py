"""The WHO DDCC:VS core data set in a signed CWT: the QR representation of the DDCC IG (RC2).

The IG's `HCert` logical model puts each core data set under its own key of the `hcert` claim
(-260): 1 is the EU DCC, 2 the DDCC:VS core data set (`DDCCCoreDataSet_VS`), 3 DDCC:TR. The data
set is the logical model's JSON (`name`, `birthDate`, `certificate`, `vaccination`, ...) as CBOR;
the message is a COSE_Sign1 with the issuer's DSC key (the same `Signer` as the EU DCC) and it
travels as an EU DCC does: zlib, Base45, `HC1:`. The national ID number is left out: the core
data set makes it optional, and a code shown at a border needs no more than the EU DCC carries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import cbor2

from vaxlink.certificates.core import cbor, cose, hc1
from vaxlink.certificates.core.fhir import Coding, DdccVaccination
from vaxlink.certificates.core.signer import Signer
from vaxlink.certificates.errors import ClaimsInvalid

#: Key of the DDCC:VS core data set inside the hcert claim (the IG's `HCert` logical model).
HCERT_DDCC_VS: Final = 2
#: The core data set's schema version (the logical models' `^version`).
CORE_DATA_SET_VERSION: Final = "RC2"
ISO3166_ALPHA3: Final = "urn:iso:std:iso:3166"


def _coding(c: Coding) -> dict[str, str]:
    return {"system": c.system, "code": c.code}


def core_data_set(record: DdccVaccination) -> dict[str, Any]:
    """The DDCC:VS core data set (the IG's logical model, as JSON) of one dose."""
    birth = record.birth_date
    certificate: dict[str, Any] = {
        "issuer": {"identifier": {"value": record.issuer}},
        "hcid": {"value": record.certificate_id},
        "version": CORE_DATA_SET_VERSION,
    }
    period = {k: v.date().isoformat() for k, v in (("start", record.certificate_valid_from),
              ("end", record.certificate_valid_until)) if v is not None}  # fmt: skip
    if period:
        certificate["period"] = period
    disease = next((c for c in record.disease_also if c.system.endswith("icd11/mms")),
                   record.disease)  # fmt: skip
    vaccination: dict[str, Any] = {
        "vaccine": _coding(record.vaccine),
        "brand": _coding(record.brand),
        "lot": record.lot_number,
        "date": record.vaccination_date.isoformat(),
        "dose": record.dose_number,
        "totalDoses": record.total_doses,
        "country": {"system": ISO3166_ALPHA3, "code": record.country},
        "centre": record.centre,
        "disease": _coding(disease),
    }
    if record.manufacturer is not None:
        vaccination["maholder"] = _coding(record.manufacturer)
    if record.valid_from is not None:
        vaccination["validFrom"] = record.valid_from.isoformat()
    return {
        "name": record.name,
        "birthDate": birth if isinstance(birth, str) else birth.isoformat(),
        "certificate": certificate,
        "vaccination": vaccination,
    }


def sign_ddcc(
    record: DdccVaccination, signer: Signer, *, country: str, issued: datetime, expires: datetime
) -> str:
    """The signed `HC1:` text of the DDCC:VS core data set (iss = the issuing country, alpha-2)."""
    claims = {
        cose.CLAIM_ISS: country,
        cose.CLAIM_IAT: int(issued.timestamp()),
        cose.CLAIM_EXP: int(expires.timestamp()),
        cose.CLAIM_HCERT: {HCERT_DDCC_VS: core_data_set(record)},
    }
    return hc1.encode(cose.sign1(cbor2.dumps(claims), signer))


def read_ddcc(text: str, public_key: object) -> dict[str, Any]:
    """The DDCC:VS core data set of an `HC1:` text whose signature `public_key` verifies."""
    message = cose.parse_sign1(hc1.decode(text))
    cose.verify_signature(message, public_key)
    claims = cbor.loads(message.payload, cbor.CLAIMS, "claims")
    hcert = claims.get(cose.CLAIM_HCERT) if isinstance(claims, dict) else None
    data = hcert.get(HCERT_DDCC_VS) if isinstance(hcert, dict) else None
    if not isinstance(data, dict):
        raise ClaimsInvalid("no DDCC:VS core data set (hcert key 2) in the claims")
    return data
