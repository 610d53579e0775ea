"""One Settings object for the whole application, read from VAXLINK_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from vaxlink.errors import VaxlinkError

#: Domains an installation may leave out (`VAXLINK_DISABLED_DOMAINS`): their web pages and CLI
#: commands are then not mounted. The web shell, auth, the store and the registry always are.
OPTIONAL_DOMAINS: frozenset[str] = frozenset(
    {
        "certificates",
        "linkage",
        "cleaning",
        "entry",
        "feedback",
        "reports",
        "synth",
        "directory",
        "campaign",
    }
)


class Settings(BaseSettings):
    """Runtime configuration; nothing is read until `get_settings()` is called."""

    model_config = SettingsConfigDict(env_prefix="VAXLINK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("var"), description="Where the embedded store and reports live."
    )
    database_url: str | None = Field(
        default=None,
        description="Any SQLAlchemy URL; default: SQLite file vaxlink.db inside data_dir.",
    )
    import_batch_rows: int = Field(default=200_000, ge=1_000, description="Rows per bulk insert.")
    duckdb_memory_limit: str = Field(default="1GB", description="Memory cap for DuckDB bulk work.")
    import_memory_limit: str = Field(
        default="384MB", description="DuckDB memory cap while importing a file (it spills beyond)."
    )
    duckdb_threads: int = Field(default=2, ge=1)
    certificate_issuer: str = Field(
        default="Ministry of Health of Viet Nam",
        max_length=80,
        description="Certificate issuer written into every DCC (`is`).",
    )
    shc_issuer_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+[^/\s]$",
        description="SMART Health Cards issuer URL (`iss`, no trailing '/'): verifiers fetch "
        "its `/.well-known/jwks.json`. Set it to the public https address in production; unset, "
        "the address the request came to is used.",
    )
    uvci_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for certificate identifiers, so outsiders cannot derive a UVCI "
        "from a citizen ID (set it in production; unset, UVCIs are plain hashes).",
    )
    require_district_approval: bool = Field(
        default=False,
        description="Issue a vaccination certificate only when every dose of the person is on "
        "a list their district health centre signed as it stands (HCMC DoH 2665/SYT-NVY); "
        "otherwise refused as district_approval_missing / district_approval_invalid.",
    )
    issuance_cap_per_day: int = Field(
        default=0,
        ge=0,
        description="Certificates one account may issue per day (UTC), all runs together; "
        "over it, issuance stops with a refusal in the audit log. 0: no cap.",
    )
    renewal_within_days: int = Field(
        default=30,
        ge=1,
        description="The renewal job renews certificates expiring within this many days.",
    )
    renewal_every_hours: float = Field(
        default=24.0,
        gt=0,
        description="Hours between runs of the renewal job inside the web app.",
    )
    renewal_in_app: bool = Field(
        default=True,
        description="The web app runs the renewal job itself in a background thread (off: the "
        "`vaxlink report scheduler` runs it, e.g. with several web workers).",
    )
    registry_url: str | None = Field(
        default=None,
        description="Base URL of the population registry service for online verification; "
        "unset, the citizens loaded into the store are asked.",
    )
    registry_write_back_token: SecretStr | None = Field(
        default=None,
        description="Bearer token `vaxlink registry write-back --url` presents to the registry's "
        "write-back endpoint (unset: no Authorization header).",
    )
    registry_write_back_keep_days: int = Field(
        default=90,
        ge=1,
        description="Days the rows of an acknowledged write-back batch are kept (to send it "
        "again, byte for byte) before `vaxlink registry write-back` removes them; the batch's "
        "header (id, count, digest, dates) is kept for good.",
    )
    linkage_model: Path | None = Field(
        default=None, description="Linkage model JSON; default: the packaged model."
    )
    locale_dir: Path | None = Field(
        default=None,
        description="Where `vaxlink i18n import-po --install` keeps this deployment's translations "
        "(<lang>.po), read at start over the built-in texts; default: data_dir/locale.",
    )
    # The issuer's signing key (DSC): a PEM file in the key store, or a key on a PKCS#11 token.
    dsc_passphrase: SecretStr | None = Field(
        default=None,
        description="Passphrase of the active DSC's PEM key in the key store, if it is encrypted.",
    )
    pkcs11_library: Path | None = Field(
        default=None,
        description="PKCS#11 module of the HSM holding the DSC; set, the DSC signs on the token.",
    )
    pkcs11_token_label: str | None = Field(default=None, description="Label of the HSM token.")
    pkcs11_key_label: str | None = Field(default=None, description="Label of the DSC on it.")
    pkcs11_pin: SecretStr | None = Field(default=None, description="User PIN of the token.")
    disabled_domains: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(),
        description="Optional domains this installation does not mount (web pages and CLI "
        "commands), comma-separated, e.g. `feedback,reports`; an unknown name is an error.",
    )
    # Citizen portal (feedback/): SMS gateway, one-time codes, citizen sessions, tickets.
    sms_gateway_url: str | None = Field(
        default=None, description="HTTP SMS gateway (POST JSON); unset, SMS go to the console."
    )
    sms_gateway_token: SecretStr | None = Field(default=None, description="Bearer token.")
    feedback_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for the citizen portal's rate-limit keys (set it in production).",
    )
    otp_ttl_seconds: int = Field(default=300, ge=30, description="One-time code lifetime.")
    otp_max_attempts: int = Field(default=5, ge=1, description="Code guesses per lookup.")
    citizen_session_minutes: int = Field(default=15, ge=1, description="Citizen login lifetime.")
    ticket_due_days: int = Field(default=7, ge=1, description="Days a station has per report.")
    attachment_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)

    # Staff sessions and login (vaxlink.auth); see docs/security.md.
    session_idle_minutes: int = Field(default=30, ge=1, description="Idle staff-session expiry.")
    session_max_hours: int = Field(default=12, ge=1, description="Absolute staff-session expiry.")
    secure_cookies: bool = Field(
        default=False, description="Always mark cookies Secure (set behind a TLS proxy)."
    )
    login_max_failures_per_user: int = Field(default=5, ge=1)
    login_max_failures_per_client: int = Field(default=30, ge=1)
    login_window_minutes: int = Field(default=15, ge=1, description="Login lockout window.")
    # Account protection (issue #13): lockouts per (identity, address) pair with progressive
    # delays and a daily per-identity ceiling, request-body caps, TOTP key (vaxlink.auth).
    login_backoff_seconds: int = Field(
        default=30, ge=1, description="First delay of a (name, address) pair past its failures."
    )
    login_max_failures_per_user_day: int = Field(
        default=200, ge=2, description="Failed logins per user name a day, from all addresses."
    )
    lookup_backoff_seconds: int = Field(
        default=60, ge=1, description="First delay of an (ID, address) pair past its lookups."
    )
    lookup_max_per_id_day: int = Field(
        default=200, ge=1, description="Citizen lookups per ID number a day, from all addresses."
    )
    max_form_body_bytes: int = Field(
        default=1024 * 1024, ge=16 * 1024, description="Largest body of a form or API request."
    )
    max_upload_body_bytes: int = Field(
        default=32 * 1024 * 1024, ge=1024 * 1024, description="Largest body of a file upload."
    )
    totp_key: SecretStr | None = Field(
        default=None,
        description="Key encrypting second-factor secrets at rest: base64url of 32 bytes, e.g. "
        "`openssl rand -base64 32 | tr '+/' '-_'`. Unset (development), a key file is generated "
        "in data_dir.",
    )
    # Per client address, per worker process (vaxlink.ratelimit.web); 0 turns one off.
    verify_rate_per_minute: int = Field(default=60, ge=0, description="Certificate checks.")
    verify_rate_burst: int = Field(default=30, ge=1)
    identity_rate_per_minute: int = Field(default=30, ge=0, description="Identity checks.")
    identity_rate_burst: int = Field(default=10, ge=1)

    # Deployment and personal-data exposure (docs/security.md, "Development defaults" and
    # "Bulk look-ups"). Production refuses to start on a development default (`check_deployment`).
    env: Literal["development", "production"] = Field(
        default="development",
        description="`production` refuses to start with the console SMS adapter or any "
        "development default secret; `development` warns once at start.",
    )
    entry_lookups_per_hour: int = Field(
        default=300, ge=1, description="Dose-entry identity look-ups per staff account an hour."
    )
    entry_outside_lookups_per_hour: int = Field(
        default=30,
        ge=1,
        description="Of those, look-ups of people living outside the account's unit (answered "
        "with the minimum needed to record a dose).",
    )
    partner_requests_per_minute: int = Field(
        default=60, ge=1, description="Citizen-app API requests per client token a minute."
    )
    partner_push_in_app: bool = Field(
        default=True,
        description="The web app pushes the change feed to partners with a push address itself, "
        "in a background thread (off: run `vaxlink certificates push` from a scheduler).",
    )
    partner_push_every_seconds: float = Field(
        default=15.0, gt=0, description="Seconds between looks for changes to push to partners."
    )
    partner_push_batch: int = Field(
        default=100, ge=1, le=1000, description="Feed changes per push request."
    )
    partner_push_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a partner's push receiver may take to answer."
    )
    partner_push_max_backoff_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="The longest wait between two tries of a failing push (it doubles from "
        "`partner_push_every_seconds` up to this).",
    )

    def development_defaults(self) -> list[str]:
        """The settings still at a development default: 'VAXLINK_X: why', one per setting."""
        out = []
        if not self.sms_gateway_url:
            out.append(
                "VAXLINK_SMS_GATEWAY_URL is unset: one-time codes go to the console SMS adapter "
                "(stderr), not to citizens' phones"
            )
        secret = self.feedback_secret.get_secret_value() if self.feedback_secret else ""
        development = "vaxlink-development-feedback-secret"
        if not secret or secret == development or len(secret) < 16:
            out.append(
                "VAXLINK_FEEDBACK_SECRET is unset or weak: rate-limit keys (ID numbers, phones, "
                "user names) are hashed with the public development key; set 32+ random bytes"
            )
        uvci = self.uvci_secret.get_secret_value() if self.uvci_secret else ""
        if len(uvci) < 16:
            out.append(
                "VAXLINK_UVCI_SECRET is unset or weak: certificate identifiers are plain hashes "
                "anyone can derive from a citizen ID; set 32+ random bytes"
            )
        if self.pkcs11_library is None:
            out.append(
                "VAXLINK_PKCS11_LIBRARY is unset: the DSC signs from a PEM file in the key "
                "directory, readable by the process; keep it on a PKCS#11 token (set "
                "VAXLINK_PKCS11_LIBRARY, VAXLINK_PKCS11_TOKEN_LABEL, VAXLINK_PKCS11_KEY_LABEL and "
                "VAXLINK_PKCS11_PIN; docs/key-management.md)"
            )
        else:
            missing = [name for name, value in (
                ("VAXLINK_PKCS11_TOKEN_LABEL", self.pkcs11_token_label),
                ("VAXLINK_PKCS11_KEY_LABEL", self.pkcs11_key_label),
                ("VAXLINK_PKCS11_PIN", self.pkcs11_pin.get_secret_value() if self.pkcs11_pin
                 else None),
            ) if not value]  # fmt: skip
            if missing:
                out.append(
                    f"{', '.join(missing)} unset: the DSC on the PKCS#11 token cannot be used"
                )
        if self.totp_key is None:
            out.append(
                "VAXLINK_TOTP_KEY is unset: second-factor secrets are sealed with a key file "
                "generated beside the store (data_dir/totp.key), not one kept apart from it; "
                "set 32 random bytes, URL-safe base64 (`openssl rand -base64 32 | tr +/ -_`)"
            )
        return out

    @field_validator("disabled_domains", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        unknown = sorted(set(value) - OPTIONAL_DOMAINS)
        if unknown:
            raise ValueError(
                f"no optional domain {', '.join(unknown)}; "
                f"known: {', '.join(sorted(OPTIONAL_DOMAINS))}"
            )
        return frozenset(value)

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vaxlink.db').resolve()}"

    def resolved_locale_dir(self) -> Path:
        """The folder of the installed translations: `locale_dir`, else `data_dir/locale`."""
        return self.locale_dir if self.locale_dir is not None else self.data_dir / "locale"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings` instead)."""
    return Settings()


class InsecureSettings(VaxlinkError):
    """Production was asked to start with a development default (console SMS, default secrets)."""

    code = "insecure_settings"


def check_deployment(settings: Settings) -> list[str]:
    """At process start: in production refuse (`InsecureSettings`) when a development default is
    in use; in development return them, for one loud warning."""
    problems = settings.development_defaults()
    if problems and settings.env == "production":
        raise InsecureSettings(
            "VAXLINK_ENV=production refuses to start with development defaults:\n  - "
            + "\n  - ".join(problems)
        )
    return problems
