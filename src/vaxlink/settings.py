"""One Settings object for the whole application, read from VAXLINK_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        default="512MB", description="DuckDB memory cap while importing a file (it spills beyond)."
    )
    duckdb_threads: int = Field(default=2, ge=1)
    certificate_issuer: str = Field(
        default="Ministry of Health of Viet Nam",
        max_length=80,
        description="Certificate issuer written into every DCC (`is`).",
    )
    uvci_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key for certificate identifiers, so outsiders cannot derive a UVCI "
        "from a citizen ID (set it in production; unset, UVCIs are plain hashes).",
    )
    registry_url: str | None = Field(
        default=None,
        description="Base URL of the population registry service for online verification; "
        "unset, the citizens loaded into the store are asked.",
    )
    linkage_model: Path | None = Field(
        default=None, description="Linkage model JSON; default: the packaged model."
    )

    def resolved_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vaxlink.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings` instead)."""
    return Settings()
