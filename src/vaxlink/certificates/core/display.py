"""The labelled fields a verifier shows of a DCC payload (English, value-set displays)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from vaxlink.certificates.core.schema import ENTRY_KINDS
from vaxlink.standards import eu_valueset


@dataclass(frozen=True, slots=True)
class DisplayField:
    """One labelled line of a certificate as a verifier shows it (English, value-set displays)."""

    key: str
    label: str
    value: str


def _display(valueset: str, code: Any) -> str:
    entry = eu_valueset(valueset)["valueSetValues"].get(code) if isinstance(code, str) else None
    return str(entry["display"]) if entry else str(code)


def _name(nam: Any) -> str:
    nam = nam if isinstance(nam, Mapping) else {}
    written = ", ".join(str(nam[k]) for k in ("fn", "gn") if nam.get(k))
    icao = "<<".join(str(nam.get(k) or "") for k in ("fnt", "gnt")).strip("<")
    return f"{written} / {icao}" if written and icao else written or icao


_LABELS: Final[dict[str, tuple[tuple[str, str, str | None], ...]]] = {
    # (field key, English label, value set for the display or None for the raw value)
    "v": (("disease", "Disease or agent targeted", "disease-agent-targeted:tg"),
          ("vaccine_prophylaxis", "Vaccine/prophylaxis", "vaccine-prophylaxis:vp"),
          ("product", "Vaccine medicinal product", "vaccine-medicinal-product:mp"),
          ("manufacturer", "Vaccine marketing authorisation holder or manufacturer",
           "vaccine-mah-manf:ma"),
          ("dose", "Number in a series of doses / overall number of doses", None),
          ("vaccination_date", "Date of vaccination", ":dt"),
          ("country", "Member State or third country of vaccination", "country-2-codes:co")),
    "r": (("disease", "Disease or agent the citizen has recovered from",
           "disease-agent-targeted:tg"),
          ("first_positive", "Date of first positive test result", ":fr"),
          ("country", "Member State or third country of test", "country-2-codes:co"),
          ("valid_from", "Certificate valid from", ":df"),
          ("valid_until", "Certificate valid until", ":du")),
    "t": (("disease", "Disease or agent targeted", "disease-agent-targeted:tg"),
          ("test_type", "Type of test", "test-type:tt"), ("test_name", "Test name", ":nm"),
          ("test_manufacturer", "Test manufacturer", ":ma"),
          ("sample_collected", "Date and time of the test sample collection", ":sc"),
          ("test_result", "Result of the test", "test-result:tr"),
          ("testing_centre", "Testing centre or facility", ":tc"),
          ("country", "Member State or third country of test", "country-2-codes:co")),
}  # fmt: skip


def display_fields(payload: Mapping[str, Any]) -> tuple[DisplayField, ...]:
    """The fields a verifier shows (11 for a vaccination), labelled in English."""
    kinds = [k for k in ENTRY_KINDS if isinstance(payload.get(k), list) and payload[k]]
    entry = payload[kinds[0]][0] if kinds else {}
    entry = entry if isinstance(entry, Mapping) else {}
    out = [
        DisplayField("name", "Surname(s) and forename(s)", _name(payload.get("nam"))),
        DisplayField("date_of_birth", "Date of birth", str(payload.get("dob", ""))),
    ]
    for key, label, source in _LABELS[kinds[0]] if kinds else ():
        if source is None:
            value = f"{entry.get('dn', '?')}/{entry.get('sd', '?')}"
        else:
            valueset, _, field = source.partition(":")
            raw = entry.get(field, "")
            value = _display(valueset, raw) if valueset else str(raw)
        out.append(DisplayField(key, label, value))
    out.append(DisplayField("issuer", "Certificate issuer", str(entry.get("is", ""))))
    out.append(
        DisplayField("certificate_id", "Unique certificate identifier", str(entry.get("ci", "")))
    )
    return tuple(out)
