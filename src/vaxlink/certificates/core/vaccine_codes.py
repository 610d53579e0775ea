"""EU DCC codes translated to the codes WHO DDCC binds (ICD-11) and SMART Health Cards expect
(CVX), from `vaxlink/standards/who_ddcc/codes.json` (see its `about`)."""

from __future__ import annotations

from typing import Final

from vaxlink.certificates.core.fhir import Coding
from vaxlink.standards import who_ddcc

ICD11: Final = "http://id.who.int/icd11/mms"
CVX: Final = "http://hl7.org/fhir/sid/cvx"


def _coding(system: str, pair: list[str] | None) -> Coding | None:
    return Coding(system, pair[0], pair[1]) if pair else None


def icd11_disease(tg: str) -> Coding | None:
    """The ICD-11 code of an EU `tg` disease (840539006 -> RA01), None when unmapped."""
    return _coding(ICD11, who_ddcc("codes")["disease"].get(tg, {}).get("icd11"))


def icd11_vaccine(vp: str) -> Coding | None:
    """The ICD-11 vaccine type of an EU `vp` code (a member of WHODDCCVaccinesCOVID19)."""
    return _coding(ICD11, who_ddcc("codes")["vaccine_type"].get(vp, {}).get("icd11"))


def cvx_product(mp: str) -> Coding:
    """The CVX code of an EU `mp` product; CVX 500 (non-US product unknown) when it has none."""
    codes = who_ddcc("codes")
    found = _coding(CVX, codes["product"].get(mp, {}).get("cvx"))
    return found or Coding(CVX, *codes["cvx_unknown"])
