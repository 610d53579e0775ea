"""Registry errors."""

from __future__ import annotations

from vaxlink.errors import Conflict, NotFound, Unavailable


class RegistryUnavailable(Unavailable):
    """The population registry could not be asked; try again later."""

    code = "registry_unavailable"


class CitizenNotFound(NotFound):
    """No citizen has that ID number."""

    code = "citizen_not_found"


class WriteBackError(Conflict):
    """A write-back batch cannot be delivered as it stands (the receiver refused it, a file of
    that name holds other content, the batch no longer matches its digest); retrying will not
    help until someone looks."""

    code = "registry_write_back_refused"
