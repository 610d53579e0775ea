"""The registry front door: the population-registry port, its builder, and the snapshot import.

Other domains import the registry only through this module: they ask a `RegistryPort` (the
store's own `citizen` table, or the registry service over HTTP) and read `Citizen` rows.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from vaxlink.db import session_factory
from vaxlink.registry.errors import CitizenNotFound, RegistryUnavailable
from vaxlink.registry.http import HttpRegistry
from vaxlink.registry.importer import load_registry
from vaxlink.registry.models import Citizen
from vaxlink.registry.port import LocalRegistry, RegistryPort, normalise_phone
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson
from vaxlink.settings import Settings


def registry_port(settings: Settings, engine: Engine) -> RegistryPort:
    """The configured registry port: the registry service at `registry_url` when one is set,
    else the store's own citizen table, read on connections of its own."""
    if settings.registry_url:
        return HttpRegistry(settings.registry_url)
    return LocalRegistry(session_factory(engine))


__all__ = [
    "CandidateAnswer",
    "Citizen",
    "CitizenNotFound",
    "HttpRegistry",
    "LocalRegistry",
    "PersonQuery",
    "RegistryPerson",
    "RegistryPort",
    "RegistryUnavailable",
    "load_registry",
    "normalise_phone",
    "registry_port",
]
