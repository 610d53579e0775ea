"""Partner application names in Vietnamese (#fixes-2): letters and digits of any script (NFC),
spaces and `. _ - ( ) &` are accepted by the service, `/admin/partners` and
`vaxlink certificates api-client add`; control characters, markup, a formula's first character
(`= + - @`) and names over 64 characters are refused with the catalogue's message (vi and en)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from vaxlink.auth.roles import Role
from vaxlink.certificates.client_strings import STRINGS
from vaxlink.certificates.clients import (
    add_client,
    client_name,
    client_name_problem,
    get_client,
)
from vaxlink.certificates.models import ApiClient
from vaxlink.errors import Conflict, InvalidInput

from .test_partner_cli import NOW, run  # noqa: F401  (the CLI fixture)

ACCEPTED = (
    "Sổ sức khỏe điện tử",
    "PC-COVID",
    "VNeID (Bộ Công an)",
    "Đăng ký & Tiêm chủng 2.0",
    "ứng_dụng.tỉnh-Đắk Lắk",
    "(Thử nghiệm) Sở Y tế",
    "Ứng dụng " + "ệ" * 55,  # 64 characters
)
REFUSED = {
    "": "partners.err.name",
    "Sổ sức khỏe!": "partners.err.name",
    "<b>Sổ</b>": "partners.err.name",
    'Sổ "sức khỏe"': "partners.err.name",
    "Sổ\tsức khỏe": "partners.err.name",
    "Sổ\nsức khỏe": "partners.err.name",
    "\x00Sổ": "partners.err.name",
    "Sổ\u202esức": "partners.err.name",  # a bidirectional override
    "Sổ\u200bsức": "partners.err.name",  # a zero-width space
    "=HYPERLINK(1)": "partners.err.name_start",
    "+84 app": "partners.err.name_start",
    "-app": "partners.err.name_start",
    "@app": "partners.err.name_start",
    ".app": "partners.err.name_start",
    "Ứng dụng " + "ệ" * 56: "partners.err.name_long",
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_vietnamese_names_are_accepted(name: str) -> None:
    assert client_name_problem(client_name(name)) is None
    decomposed = unicodedata.normalize("NFD", name)
    assert client_name(f" {decomposed} ") == unicodedata.normalize("NFC", name)
    assert client_name_problem(client_name(decomposed)) is None


@pytest.mark.parametrize(("name", "key"), REFUSED.items())
def test_what_is_refused_and_why(name: str, key: str) -> None:
    assert client_name_problem(client_name(name)) == key


def test_the_service_stores_nfc_and_refuses_with_the_catalogues_message(session) -> None:
    typed = unicodedata.normalize("NFD", "Sổ sức khỏe điện tử")
    client, _ = add_client(session, f" {typed} ", by="ops", now=NOW)
    assert client.name == "Sổ sức khỏe điện tử"
    assert get_client(session, typed).id == client.id  # looked up as typed, in either form
    with pytest.raises(Conflict):
        add_client(session, "Sổ sức khỏe điện tử", by="ops", now=NOW)
    with pytest.raises(InvalidInput) as refused:
        add_client(session, "=1+1", by="ops", now=NOW)
    assert refused.value.key == "partners.err.name_start"
    assert str(refused.value) == STRINGS["en"]["partners.err.name_start"]
    assert session.scalar(select(ApiClient.name).where(ApiClient.name == "=1+1")) is None


def test_the_page_accepts_a_vietnamese_name_and_says_what_is_wrong(
    staff_client: Callable[..., Any],
) -> None:
    admin = staff_client(Role.ADMIN, "VN")
    good = {"scopes": ["certificates:read"], "kinds": ["v"]}
    added = admin.post("/admin/partners", data={**good, "name": "Sổ sức khỏe điện tử"})
    assert added.status_code == 201, added.text[:500]
    assert '<td translate="no">Sổ sức khỏe điện tử</td>' in added.text
    for name, key in (("=cmd|' /C calc'!A0", "name_start"), ("<script>x</script>", "name"),
                      ("Sổ" * 40, "name_long")):  # fmt: skip
        bad = admin.post("/admin/partners", data={**good, "name": name})
        assert bad.status_code == 422, (name, bad.text[:500])
        assert f'data-error="partners.err.{key}"' in bad.text
        assert STRINGS["vi"][f"partners.err.{key}"].replace("&", "&amp;") in bad.text
        assert "<script>x" not in bad.text
    english = admin.post("/admin/partners?lang=en", data={**good, "name": "-x"})
    assert STRINGS["en"]["partners.err.name_start"] in english.text


def test_the_command_accepts_a_vietnamese_name_and_refuses_a_formula(run, world) -> None:  # noqa: F811
    stdout, _ = run("api-client", "add", "Sổ sức khỏe điện tử", "--by", "ops.le")
    assert stdout.strip().startswith("vxl_")
    run("api-client", "rotate", unicodedata.normalize("NFD", "Sổ sức khỏe điện tử"))
    _, refused = run("api-client", "add", "=1+1", code=1)  # raised to the top-level CLI
    assert STRINGS["en"]["partners.err.name_start"] in refused
    with world.session() as s:
        assert s.scalars(select(ApiClient.name)).all() == ["Sổ sức khỏe điện tử"]
