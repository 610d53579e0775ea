"""Errors of the linkage domain."""

from __future__ import annotations

from vaxlink.errors import InvalidInput, VaxlinkError


class LinkageError(VaxlinkError):
    """A linkage run could not be completed."""

    code = "linkage_error"


class LinkageInputError(InvalidInput):
    """An input file or table cannot be linked as given (missing columns, wrong shape)."""

    code = "linkage_input"


class ModelError(LinkageError):
    """The linkage model artefact is missing, malformed or does not fit this code's comparisons."""

    code = "linkage_model"
