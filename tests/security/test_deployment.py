"""Attack: a production install left on development defaults (console SMS printing one-time
codes, the public development feedback secret, unkeyed UVCIs) runs silently (issue #13, point 8).
Production must refuse to start naming the setting; development must warn once, loudly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.security.support import store_env, vaxlink
from vaxlink import compose
from vaxlink.errors import VaxlinkError
from vaxlink.feedback.sms import ConsoleSms, sms_from_settings
from vaxlink.settings import Settings

STRONG = SecretStr("k" * 40)
PIN = "pin-7731-never-shown"


def production(**overrides: object) -> Settings:
    values: dict[str, object] = {"env": "production", "sms_gateway_url": "https://sms.example/send",
                                 "feedback_secret": STRONG, "uvci_secret": STRONG,
                                 "totp_key": SecretStr("k" * 43),
                                 "pkcs11_library": Path("/usr/lib/softhsm/libsofthsm2.so"),
                                 "pkcs11_token_label": "vaxlink-dsc", "pkcs11_key_label": "dsc",
                                 "pkcs11_pin": SecretStr(PIN)}  # fmt: skip
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"sms_gateway_url": None}, "VAXLINK_SMS_GATEWAY_URL"),
        ({"feedback_secret": None}, "VAXLINK_FEEDBACK_SECRET"),
        (
            {"feedback_secret": SecretStr("vaxlink-development-feedback-secret")},
            "VAXLINK_FEEDBACK_SECRET",
        ),
        ({"uvci_secret": None}, "VAXLINK_UVCI_SECRET"),
        ({"totp_key": None}, "VAXLINK_TOTP_KEY"),
        ({"pkcs11_library": None}, "VAXLINK_PKCS11_LIBRARY"),  # the DSC as a PEM file
        ({"pkcs11_pin": None}, "VAXLINK_PKCS11_PIN"),
        ({"pkcs11_pin": SecretStr("")}, "VAXLINK_PKCS11_PIN"),
        ({"pkcs11_key_label": None}, "VAXLINK_PKCS11_KEY_LABEL"),
    ],
)
def test_production_refuses_development_defaults(override: dict[str, object], named: str) -> None:
    with pytest.raises(VaxlinkError, match=named):
        compose.build(production(**override))


def test_production_starts_when_configured() -> None:
    container = compose.build(production())
    assert container.settings.env == "production"


def test_the_token_pin_never_shows_in_a_repr_or_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from vaxlink.certificates.keys.pkcs11 import TokenKey

    caplog.set_level(logging.DEBUG)
    settings = production()
    compose.build(settings)
    token = TokenKey(Path("/usr/lib/softhsm/libsofthsm2.so"), "vaxlink-dsc", PIN, "dsc")
    shown = [repr(settings), str(settings), repr(token), str(token), caplog.text,
             str(settings.model_dump())]  # fmt: skip
    assert settings.pkcs11_pin is not None
    assert settings.pkcs11_pin.get_secret_value() == PIN
    for text in shown:
        assert PIN not in text


def test_production_never_builds_the_console_sms() -> None:
    with pytest.raises(VaxlinkError, match="VAXLINK_SMS_GATEWAY_URL"):
        sms_from_settings(Settings(env="production"))


def test_production_cli_refuses_with_the_setting_named(tmp_path: Path) -> None:
    run = vaxlink(["users", "list"], {**store_env(tmp_path), "VAXLINK_ENV": "production",
                                      "VAXLINK_FEEDBACK_SECRET": "k" * 40,
                                      "VAXLINK_UVCI_SECRET": "k" * 40})  # fmt: skip
    assert run.returncode != 0
    assert "VAXLINK_SMS_GATEWAY_URL" in run.output
    assert "Traceback" not in run.output


def test_development_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    compose._WARNED.clear()
    caplog.set_level(logging.WARNING, logger="vaxlink.compose")
    compose.build(Settings())
    compose.build(Settings())
    warnings = [r for r in caplog.records if "DEVELOPMENT DEFAULTS" in r.getMessage()]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    for name in ("VAXLINK_SMS_GATEWAY_URL", "VAXLINK_FEEDBACK_SECRET", "VAXLINK_UVCI_SECRET"):
        assert name in text


def test_console_sms_prints_a_warning_banner(capsys: pytest.CaptureFixture[str]) -> None:
    ConsoleSms().send("0912345678", "Ma xac thuc: 123456")
    err = capsys.readouterr().err
    banner, message = err.strip().splitlines()[-2:]
    assert "DEVELOPMENT SMS" in banner
    assert "NOT sent" in banner
    assert message.endswith("123456")
