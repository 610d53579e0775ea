"""DCC payloads: builders, ICAO names, schema and value-set validation, display fields."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from vaxlink.certificates.core.display import display_fields
from vaxlink.certificates.core.payload import (
    name_fields,
    names_from_full,
    partial_date,
    recovery_payload,
    vaccination_payload,
)
from vaxlink.certificates.core.schema import (
    ValueSets,
    _Compiler,
    compiled_schema,
    schema_releases,
    schema_version_for,
    validate_payload,
)
from vaxlink.certificates.core.uvci import uvci_from_seed
from vaxlink.certificates.errors import SchemaInvalid, ValueSetInvalid
from vaxlink.standards import eu_schema

COMIRNATY = {
    "product": "EU/1/20/1528",
    "manufacturer": "ORG-100030215",
    "prophylaxis": "1119349007",
}


def vaccination(**changes: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "family_name": "Nguyễn",
        "given_name": "Thị Ánh Tuyết",
        "date_of_birth": "1990-02-03",
        **COMIRNATY,
        "dose_number": 2,
        "total_doses": 2,
        "vaccination_date": "2021-09-01",
        "uvci": uvci_from_seed("dose-1"),
        "issuer": "Ministry of Health of Viet Nam",
    }
    return vaccination_payload(**{**args, **changes})


@pytest.mark.parametrize(
    ("name", "icao"),  # through vaxlink.identity.names, as the DCC builder uses it
    [
        ("Nguyễn", "NGUYEN"),
        ("Thị Ánh Tuyết", "THI<ANH<TUYET"),
        ("Đặng Đức", "DANG<DUC"),
        ("đoàn", "DOAN"),
        ("Musterfrau-Gößinger", "MUSTERFRAU<GOESSINGER"),  # as in the EU test data
        ("O'Neill", "ONEILL"),
        ("  Lê   Văn  ", "LE<VAN"),
        ("Phạm 3", "PHAM"),
    ],
)
def test_icao_transliteration(name: str, icao: str) -> None:
    assert name_fields(name, "")["fnt"] == icao


@settings(max_examples=100)
@given(st.text(max_size=120), st.text(max_size=120))
def test_icao_forms_are_always_schema_conformant(family: str, given: str) -> None:
    for key, value in name_fields(family, given).items():
        if key.endswith("t"):
            assert len(value) <= 80
            assert set(value) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ<")
            assert not value.endswith("<")


@pytest.mark.parametrize(
    ("full", "parts"),
    [("Nguyễn Văn Đức", ("Nguyễn", "Văn Đức")), ("Lê Thị Minh Khai", ("Lê", "Thị Minh Khai")),
     ("Nguyễn  An", ("Nguyễn", "An")), ("H'Hen", ("H'Hen", "")), ("", ("", ""))],
)  # fmt: skip
def test_names_from_a_full_name(full: str, parts: tuple[str, str]) -> None:
    assert names_from_full(full) == parts


def test_name_fields_drop_missing_parts() -> None:
    assert name_fields("Trần", "") == {"fn": "Trần", "fnt": "TRAN"}
    decomposed = "Tra\u0302\u0300n"  # NFD input is stored composed (NFC)
    assert name_fields(decomposed, "")["fn"] == "Trần"
    assert name_fields("", "An") == {"gn": "An", "gnt": "AN"}


def test_vaccination_payload_shape() -> None:
    payload = vaccination()
    assert payload == {
        "ver": "1.3.0",
        "nam": {"fn": "Nguyễn", "fnt": "NGUYEN", "gn": "Thị Ánh Tuyết", "gnt": "THI<ANH<TUYET"},
        "dob": "1990-02-03",
        "v": [
            {
                "tg": "840539006",
                "vp": "1119349007",
                "mp": "EU/1/20/1528",
                "ma": "ORG-100030215",
                "dn": 2,
                "sd": 2,
                "dt": "2021-09-01",
                "co": "VN",
                "is": "Ministry of Health of Viet Nam",
                "ci": uvci_from_seed("dose-1"),
            }
        ],
    }
    assert Draft202012Validator(eu_schema("1.3.0")).is_valid(payload)


@pytest.mark.parametrize("dob", ["1990", "1990-02", "1990-02-28"])
def test_partial_dates_of_birth(dob: str) -> None:
    assert vaccination(date_of_birth=dob)["dob"] == dob


@pytest.mark.parametrize("dob", ["1990-13", "1990-02-30", "90-02-03", "1990/02/03", "1890-01-01"])
def test_bad_dates_of_birth(dob: str) -> None:
    with pytest.raises(SchemaInvalid):
        vaccination(date_of_birth=dob)
    with pytest.raises(SchemaInvalid):
        partial_date("1990-00")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"vaccination_date": "2021-02-30"}, SchemaInvalid),
        ({"dose_number": 0}, SchemaInvalid),
        ({"issuer": "x" * 81}, SchemaInvalid),
        ({"family_name": "", "given_name": ""}, SchemaInvalid),
        ({"country": "XX"}, ValueSetInvalid),
        ({"product": "EU/9/99/9999"}, ValueSetInvalid),
        ({"prophylaxis": "J07BX03"}, ValueSetInvalid),  # in the value set, but inactive
    ],
)
def test_builder_refuses_bad_payloads(changes: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        vaccination(**changes)


def test_inactive_codes_are_accepted_by_verifiers_not_issuers() -> None:
    payload = vaccination()
    payload["v"][0]["vp"] = "J07BX03"
    validate_payload(payload, value_sets=ValueSets.KNOWN)
    with pytest.raises(ValueSetInvalid, match="inactive"):
        validate_payload(payload, value_sets=ValueSets.ACTIVE)
    payload["v"][0]["vp"] = "not-a-code"
    validate_payload(payload)
    with pytest.raises(ValueSetInvalid, match="not in the EU value set"):
        validate_payload(payload, value_sets=ValueSets.KNOWN)


def test_recovery_payload() -> None:
    payload = recovery_payload(
        family_name="Lê",
        given_name="Minh",
        date_of_birth="1985",
        first_positive="2021-08-01",
        valid_from="2021-08-12",
        valid_until="2022-01-28",
        uvci=uvci_from_seed("rec-1"),
        issuer="Ministry of Health of Viet Nam",
    )
    assert payload["r"][0]["fr"] == "2021-08-01"
    assert set(payload["r"][0]) == {"tg", "fr", "co", "is", "df", "du", "ci"}
    with pytest.raises(SchemaInvalid, match="first positive"):
        recovery_payload(
            family_name="Lê",
            given_name="Minh",
            date_of_birth="1985",
            first_positive="2021-08-20",
            valid_from="2021-08-12",
            valid_until="2022-01-28",
            uvci=uvci_from_seed("rec-1"),
            issuer="Ministry of Health of Viet Nam",
        )


def test_exactly_one_entry_group() -> None:
    payload = vaccination()
    old = dict(payload, ver="1.0.0")
    old["r"] = []
    with pytest.raises(SchemaInvalid):
        validate_payload(old)
    with pytest.raises(SchemaInvalid, match="exactly one"):
        validate_payload({"ver": "1.0.0", "nam": {"fnt": "A"}, "dob": "1990-01-01"})


@pytest.mark.parametrize(
    ("ver", "release"),
    [("1.3.0", "1.3.0"), ("1.0.4", "1.0.1"), ("1.3.9", "1.3.3"), ("1.4.0", "1.3.3"), ("0.9.0", "1.3.3"),
     ("2.0.0", "1.3.3"), ("x", "1.3.3"), (None, "1.3.3"), (130, "1.3.3")],
)  # fmt: skip
def test_schema_release_chosen_by_ver(ver: object, release: str) -> None:
    assert schema_version_for(ver) == release


def _public_payloads(dcc_public: Path) -> list[dict[str, Any]]:
    cases = dcc_public.rglob("*.json")
    loaded = (json.loads(p.read_text(encoding="utf-8")).get("JSON") for p in cases)
    return [j for j in loaded if isinstance(j, dict)]


def test_compiled_schemas_agree_with_jsonschema_on_public_payloads(dcc_public: Path) -> None:
    payloads = _public_payloads(dcc_public)
    assert len(payloads) > 400
    verdicts = set()
    for payload in payloads:
        version = schema_version_for(payload.get("ver"))
        reference = Draft202012Validator(eu_schema(version)).is_valid(payload)
        assert (compiled_schema(version)(payload) is None) == reference, payload
        verdicts.add(reference)
    assert verdicts == {True, False}


def test_every_shipped_release_compiles() -> None:
    payload = vaccination()
    for release in schema_releases():
        for mode in ValueSets:
            verdict = compiled_schema(release, mode)(payload)
            assert verdict is None or isinstance(verdict, str)
        if release.startswith("1.3."):
            assert compiled_schema(release, ValueSets.ACTIVE)(payload) is None
    with pytest.raises(ValueError, match="not supported"):
        _Compiler({"$defs": {}}, ValueSets.IGNORE).compile({"const": 1})


def _mutations() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(-3, 12), st.floats(allow_nan=False), st.text(max_size=90),
        st.sampled_from(["", "1990", "1990-02", "VN", "EU/1/20/1528", "2021-09-01", "A<B"]),
    )  # fmt: skip
    return st.recursive(
        leaves, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3),
        max_leaves=6,
    )  # fmt: skip


PATHS = [("ver",), ("dob",), ("nam",), ("nam", "fnt"), ("nam", "gn"), ("nam", "gnt"), ("v",),
         ("v", 0), ("v", 0, "dn"), ("v", 0, "sd"), ("v", 0, "co"), ("v", 0, "is"), ("v", 0, "ci"),
         ("v", 0, "tg"), ("t",), ("r",)]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(PATHS),
    _mutations(),
    st.booleans(),
    st.sampled_from(["1.0.0", "1.2.1", "1.3.0"]),
)
def test_compiled_schema_agrees_with_jsonschema_on_mutations(
    path: tuple[Any, ...], value: Any, delete: bool, version: str
) -> None:
    payload = copy.deepcopy(vaccination())
    target: Any = payload
    for step in path[:-1]:
        target = target[step]
    if delete and isinstance(path[-1], str):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    reference = Draft202012Validator(eu_schema(version)).is_valid(payload)
    assert (compiled_schema(version)(payload) is None) == reference


def test_display_fields_of_a_vaccination() -> None:
    fields = display_fields(vaccination())
    assert len(fields) == 11
    values = {f.key: f.value for f in fields}
    assert values == {
        "name": "Nguyễn, Thị Ánh Tuyết / NGUYEN<<THI<ANH<TUYET",
        "date_of_birth": "1990-02-03",
        "disease": "COVID-19",
        "vaccine_prophylaxis": "SARS-CoV-2 mRNA vaccine",
        "product": "Comirnaty",
        "manufacturer": "Biontech Manufacturing GmbH",
        "dose": "2/2",
        "vaccination_date": "2021-09-01",
        "country": "Viet Nam",
        "issuer": "Ministry of Health of Viet Nam",
        "certificate_id": uvci_from_seed("dose-1"),
    }
    assert all(f.label for f in fields)


def test_display_fields_tolerate_odd_payloads() -> None:
    assert [f.key for f in display_fields({})] == [
        "name",
        "date_of_birth",
        "issuer",
        "certificate_id",
    ]
    odd = display_fields({"nam": "x", "v": ["not a map"], "dob": 5})
    assert {f.key: f.value for f in odd}["dose"] == "?/?"
    unknown = vaccination()
    unknown["v"][0]["mp"] = "Made-up vaccine"
    assert {f.key: f.value for f in display_fields(unknown)}["product"] == "Made-up vaccine"
