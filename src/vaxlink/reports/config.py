"""Configuration of the daily reports and their e-mail (VAXLINK_REPORT_* and VAXLINK_SMTP_*)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReportSettings(BaseSettings):
    """When each level's daily report is due, how often figures are refreshed, who gets mail."""

    model_config = SettingsConfigDict(env_prefix="VAXLINK_REPORT_", env_file=".env", extra="ignore")

    #: Local time (Viet Nam) each level's report is due; a level left out gets no scheduled report.
    times: dict[str, dt.time] = Field(
        default_factory=lambda: {"district": dt.time(13, 30), "province": dt.time(15, 0)},
        description='JSON, e.g. {"district": "13:30", "province": "15:00", "nation": "16:00"}',
    )
    refresh_minutes: int = Field(default=10, ge=1, description="Minutes between refreshes.")
    #: The web app refreshes the figures itself in a background thread (off: run
    #: `vaxlink report scheduler`, e.g. with several web workers).
    refresh_in_app: bool = True
    #: Unit reference -> addresses; "province:*" etc. reaches every unit of a level.
    recipients: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("times")
    @classmethod
    def _levels(cls, value: dict[str, dt.time]) -> dict[str, dt.time]:
        unknown = set(value) - {"nation", "province", "district", "ward"}
        if unknown:
            raise ValueError(f"no such level: {', '.join(sorted(unknown))}")
        return value

    def recipients_for(self, level: str, code: str) -> list[str]:
        """Addresses for one unit's report: its own and its level's."""
        own = self.recipients.get(f"{level}:{code}", [])
        if level == "nation":
            own = own + self.recipients.get("VN", [])
        return sorted({*own, *self.recipients.get(f"{level}:*", [])})


class SmtpSettings(BaseSettings):
    """The SMTP server reports are sent through; unset host: no mail is sent."""

    model_config = SettingsConfigDict(env_prefix="VAXLINK_SMTP_", env_file=".env", extra="ignore")

    host: str | None = None
    port: int = 25
    username: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    ssl: bool = False
    sender: str = "vaxlink@localhost"
    timeout: float = 30.0
