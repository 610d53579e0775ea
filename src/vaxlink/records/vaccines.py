"""Vaccine catalogue: names as written at Vietnamese sites -> EU DCC codes and the primary schedule.

The EU codes (mp, ma, vp) are not repeated here: they are read from the EU encoding instructions
shipped in `vaxlink.standards`; this module only knows how Vietnamese sites spell each product and
how many doses its primary series has.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Final

from vaxlink.standards import eu_valueset


@dataclass(frozen=True, slots=True)
class Vaccine:
    """One product: its EU encoding-instruction key, its codes and its primary series length."""

    key: str
    mp: str
    ma: str
    vp: str
    primary_doses: int
    display: str


# EU encoding-instruction key -> (doses in the primary series, spellings seen at sites).
_SITE_NAMES: Final[dict[str, tuple[int, tuple[str, ...]]]] = {
    "Vaxzevria": (2, ("AstraZeneca", "Astra Zeneca", "Astra-Zeneca", "AZ", "Vaxzevria",
                      "ChAdOx1", "ChAdOx1-S", "AstraZeneca (COVAX)")),
    "Covishield": (2, ("Covishield",)),
    "Comirnaty": (2, ("Pfizer", "Pfizer-BioNTech", "Pfizer BioNTech", "Comirnaty",
                      "Pfizer/BioNTech", "Pfizer (trẻ em)", "Pfizer nhi")),
    "Spikevax": (2, ("Moderna", "Spikevax", "mRNA-1273")),
    "BBIBP-CorV": (2, ("Vero Cell", "Verocell", "Vero-Cell", "VeroCell", "Sinopharm",
                       "BBIBP-CorV", "Sinopharm Vero Cell")),
    "Sputnik V": (2, ("Sputnik V", "Sputnik-V", "Sputnik", "Gam-COVID-Vac")),
    "Sputnik Light": (1, ("Sputnik Light",)),
    "Abdala": (3, ("Abdala", "CIGB-66")),
    "Hayat-Vax": (2, ("Hayat-Vax", "Hayat Vax", "HayatVax", "Hayat")),
    "Jcovden": (1, ("Janssen", "Johnson & Johnson", "J&J", "Jcovden")),
    "CoronaVac": (2, ("CoronaVac", "Sinovac")),
    "Covaxin": (2, ("Covaxin",)),
    "Nuvaxovid": (2, ("Nuvaxovid", "Novavax")),
}  # fmt: skip


def fold_vaccine_name(name: str) -> str:
    """Fold a written vaccine name for lookup: no accents, no case, letters and digits only."""
    text = unicodedata.normalize("NFD", name).replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^0-9a-z]", "", text.lower())


@cache
def catalogue() -> dict[str, Vaccine]:
    """Products by EU encoding-instruction key, codes from the shipped EU value sets."""
    instructions = eu_valueset("vaccine-encoding-instructions")["valueSetValues"]
    products = eu_valueset("vaccine-medicinal-product")["valueSetValues"]
    out: dict[str, Vaccine] = {}
    for key, (doses, _names) in _SITE_NAMES.items():
        ins = instructions[key]
        mp = ins["vaccine-code"]
        # The first SNOMED code is the generic "COVID-19 vaccine"; prefer the specific platform.
        sct = [c for c in ins["sct-codes"] if c != "28531000087107"] or ins["sct-codes"]
        display = products.get(mp, {}).get("display", key)
        out[key] = Vaccine(key, mp, ins["vaccine-manufacturer"], sct[0], doses, display)
    return out


@cache
def aliases() -> dict[str, str]:
    """Folded site spelling -> product key."""
    out: dict[str, str] = {}
    for key, (_doses, names) in _SITE_NAMES.items():
        for n in (key, *names):
            out[fold_vaccine_name(n)] = key
    return out


def site_spellings(key: str) -> tuple[str, ...]:
    """How sites write product `key` (used by the synthetic data generator)."""
    return _SITE_NAMES[key][1]


def lookup(written: str) -> Vaccine | None:
    """The product a site meant by `written`, or None when the name is not recognised."""
    key = aliases().get(fold_vaccine_name(written))
    return catalogue()[key] if key else None
