"""The registry front door: the population-registry port, its builder, and the snapshot import.

Other domains import the registry only through this module: they ask a `RegistryPort` (the
store's own `citizen` table, or the registry service over HTTP) and read `Citizen` rows.
"""

from __future__ import annotations

from vaxlink.registry.errors import CitizenNotFound, RegistryUnavailable
from vaxlink.registry.http import HttpRegistry
from vaxlink.registry.importer import load_registry
from vaxlink.registry.models import Citizen
from vaxlink.registry.port import LocalRegistry, RegistryPort, normalise_phone
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson

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
]
