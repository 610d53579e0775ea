"""Registry errors."""

from __future__ import annotations

from vaxlink.errors import NotFound, VaxlinkError


class RegistryUnavailable(VaxlinkError):
    """The population registry could not be asked; try again later."""

    http_status = 503
    exit_code = 6
    code = "registry_unavailable"


class CitizenNotFound(NotFound):
    """No citizen has that ID number."""

    code = "citizen_not_found"
