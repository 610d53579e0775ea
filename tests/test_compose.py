"""The composition root: built once per app, each port built once and honouring the settings,
secrets kept as SecretStr and never shown."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from vaxlink import compose
from vaxlink.certificates import service as keys
from vaxlink.certificates.errors import HsmError, KeyManagementError
from vaxlink.clock import Clock, FixedClock, SystemClock
from vaxlink.compose import Container
from vaxlink.linkage.errors import ModelError
from vaxlink.linkage.service import LinkModel
from vaxlink.registry.service import HttpRegistry, LocalRegistry, RegistryPort
from vaxlink.settings import Settings
from vaxlink.web import deps
from vaxlink.web.app import create_app

SECRET = "correct horse battery staple 7"
PIN = "246810-secret-pin"
T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _probe() -> APIRouter:
    """Routes answering what the app's dependencies hand out (object ids, the time)."""
    router = APIRouter()

    @router.get("/probe")
    async def probe(
        c: Annotated[Container, Depends(deps.container)],
        registry: Annotated[RegistryPort, Depends(deps.registry_port)],
        model: Annotated[LinkModel, Depends(deps.link_model)],
        now: Annotated[dt.datetime, Depends(deps.now)],
    ) -> dict[str, object]:
        return {"container": id(c), "registry": id(registry), "model": id(model),
                "engine": id(c.engine), "now": now.isoformat(),
                "kind": type(registry).__name__}  # fmt: skip

    return router


def test_the_app_builds_one_container_and_each_port_once(store_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=store_url))
    app.include_router(_probe())
    container = app.state.container
    assert isinstance(container, Container)
    assert isinstance(container.clock, SystemClock)
    with TestClient(app) as client:
        first, second = client.get("/probe").json(), client.get("/probe").json()
        assert app.state.engine is container.engine
        with TestClient(app) as overlapping:  # a second lifespan shares the container
            third = overlapping.get("/probe").json()
        assert client.get("/healthz").json() == {"status": "ok"}  # the first still works
    for answer in (first, second, third):
        answer.pop("now")  # the system clock moves on; everything else is the same object
    assert first == second == third
    assert first["container"] == id(container)
    assert first["kind"] == "LocalRegistry"
    assert app.state.container is container
    assert "engine" not in repr(container)  # released when the last lifespan ended


def test_the_app_runs_on_the_clock_it_is_given(tmp_path: Path) -> None:
    clock = FixedClock(T0)
    app = create_app(Settings(data_dir=tmp_path), clock=clock)
    app.include_router(_probe())
    with TestClient(app) as client:
        assert client.get("/probe").json()["now"] == T0.isoformat()
        clock.advance(dt.timedelta(minutes=16))
        assert client.get("/probe").json()["now"] == (T0 + dt.timedelta(minutes=16)).isoformat()
    assert app.state.container.clock is clock


def test_the_registry_port_honours_registry_url(tmp_path: Path) -> None:
    remote = compose.build(Settings(data_dir=tmp_path, registry_url="http://registry.invalid:9/"))
    port = remote.registry
    assert isinstance(port, HttpRegistry)
    assert remote.registry is port
    remote.close()  # closes its HTTP pool; a later use builds a new one
    assert remote.registry is not port
    local = Container(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/s.db"))
    assert isinstance(local.registry, LocalRegistry)
    assert "engine" in repr(local)  # the store's port reads the container's engine
    local.close()


def test_a_remote_registry_is_asked_through_the_app(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, registry_url="http://127.0.0.1:9/"))
    app.include_router(_probe())
    with TestClient(app) as client:
        assert client.get("/probe").json()["kind"] == "HttpRegistry"


def test_the_linkage_model_is_the_configured_one_loaded_once(tmp_path: Path) -> None:
    c = compose.build(Settings(data_dir=tmp_path))
    assert c.link_model is c.link_model
    missing = compose.build(Settings(data_dir=tmp_path, linkage_model=tmp_path / "none.json"))
    with pytest.raises(ModelError, match=r"none\.json"):
        _ = missing.link_model


def test_running_closes_what_it_built(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/s.db")
    with compose.running(settings, clock=FixedClock(T0)) as c:
        with c.transaction() as s:
            assert s.connection().exec_driver_sql("SELECT 1").scalar() == 1
        assert c.clock.now() == T0
        assert "engine" in repr(c)
    assert "engine" not in repr(c)


def test_the_dsc_passphrase_is_a_secret_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VAXLINK_DSC_PASSPHRASE", SECRET)
    monkeypatch.setenv("VAXLINK_PKCS11_PIN", PIN)
    settings = Settings()
    assert settings.dsc_passphrase is not None
    assert settings.dsc_passphrase.get_secret_value() == SECRET
    assert settings.pkcs11_pin is not None
    assert settings.pkcs11_pin.get_secret_value() == PIN
    shown = [repr(settings), str(settings), settings.model_dump_json(), repr(settings.model_dump())]
    container = compose.build(settings)
    shown.append(repr(container))
    for text in shown:
        assert SECRET not in text
        assert PIN not in text


def test_an_encrypted_dsc_opens_with_the_settings_passphrase_and_nothing_logs_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    csca = keys.create_csca(country="VN", organization="Bộ Y tế", now=T0)
    dsc = keys.create_dsc(csca, now=T0, common_name="DSC 1", types=(keys.DccType.VACCINATION,))
    store = keys.KeyStore(tmp_path / "keys")
    store.save(keys.Role.DSC, dsc, passphrase=SECRET.encode())
    store.set_active_dsc(dsc.kid)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(KeyManagementError, match="a passphrase is needed"):
        compose.build(Settings(data_dir=tmp_path)).dsc_signer()
    c = compose.build(Settings(data_dir=tmp_path, dsc_passphrase=SECRET), clock=FixedClock(T0))
    signer = c.dsc_signer()
    assert signer.kid == dsc.kid
    assert c.dsc_signer() is signer  # loaded once while the active DSC stays
    issuer = c.issuer(by="test")
    assert issuer.now == T0
    assert issuer.kid_hex == dsc.kid.hex()
    assert SECRET not in caplog.text
    assert SECRET not in repr(c)


def test_a_pkcs11_dsc_needs_its_token_and_key_labels(tmp_path: Path) -> None:
    c = compose.build(Settings(data_dir=tmp_path, pkcs11_library=tmp_path / "hsm.so",
                               pkcs11_pin=PIN))  # fmt: skip
    with pytest.raises(HsmError, match="VAXLINK_PKCS11_TOKEN_LABEL") as raised:
        c.dsc_signer()
    assert PIN not in str(raised.value)


def test_the_clock_port_is_what_the_container_hands_out(tmp_path: Path) -> None:
    assert isinstance(compose.build(Settings(data_dir=tmp_path)).clock, Clock)
    fixed = FixedClock(T0)
    assert compose.build(Settings(data_dir=tmp_path), clock=fixed).clock is fixed
