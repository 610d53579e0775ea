"""Registry errors."""

from __future__ import annotations

from vaxlink.errors import NotFound, Unavailable


class RegistryUnavailable(Unavailable):
    """The population registry could not be asked; try again later."""

    code = "registry_unavailable"


class CitizenNotFound(NotFound):
    """No citizen has that ID number."""

    code = "citizen_not_found"
