"""The registry front door: the population-registry port, its builder, and the snapshot import.

Other domains import the registry only through this module: they ask a `RegistryPort` (the
store's own `citizen` table, or the registry service over HTTP) and read `Citizen` rows. The
write-back (`write_back`, `resend`) sends verified vaccination statuses to the registry through a
`StatusSink`: the file drop (`FileDrop`) or HTTP (`HttpStatusSink`).
"""

from __future__ import annotations

from vaxlink.registry.dropfile import FileDrop
from vaxlink.registry.errors import CitizenNotFound, RegistryUnavailable, WriteBackError
from vaxlink.registry.http import HttpRegistry, HttpStatusSink
from vaxlink.registry.importer import load_registry
from vaxlink.registry.models import Citizen
from vaxlink.registry.port import LocalRegistry, RegistryPort, normalise_phone
from vaxlink.registry.schemas import CandidateAnswer, PersonQuery, RegistryPerson
from vaxlink.registry.writeback import (
    Mode,
    Pruned,
    StatusSink,
    WriteBackReport,
    pending_batches,
    prune,
    resend,
    write_back,
)

__all__ = [
    "CandidateAnswer",
    "Citizen",
    "CitizenNotFound",
    "FileDrop",
    "HttpRegistry",
    "HttpStatusSink",
    "LocalRegistry",
    "Mode",
    "PersonQuery",
    "Pruned",
    "RegistryPerson",
    "RegistryPort",
    "RegistryUnavailable",
    "StatusSink",
    "WriteBackError",
    "WriteBackReport",
    "load_registry",
    "normalise_phone",
    "pending_batches",
    "prune",
    "resend",
    "write_back",
]
