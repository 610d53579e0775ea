"""Errors of the geo domain: a code that is malformed, ambiguous or absent from a list."""

from __future__ import annotations

from vaxlink.errors import InvalidInput, Unavailable, VaxlinkError


class GeoError(InvalidInput):
    """An administrative-unit code or list version that cannot be used as given."""

    code = "geo_invalid"


class UnknownUnitError(GeoError):
    """A well-formed code that names no unit of the list it was looked up in."""

    code = "geo_unknown_unit"


class UnitsNotLoadedError(VaxlinkError):
    """The store holds none of a list's units: an operator must run `vaxlink geo load` first.

    Not a `GeoError`: the caller's input is fine, the deployment is incomplete.
    """

    http_status = Unavailable.http_status
    exit_code = Unavailable.exit_code
    code = "geo_units_not_loaded"
