"""Facility approval (ký số): sites sign the verified dose records they vouch for."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the types `__getattr__` resolves, for mypy
    from vaxlink.certificates.approval.signing import MANIFEST_VERSION as MANIFEST_VERSION
    from vaxlink.certificates.approval.signing import RECORD_COLUMNS as RECORD_COLUMNS
    from vaxlink.certificates.approval.signing import approved_digests as approved_digests
    from vaxlink.certificates.approval.signing import facility_signer as facility_signer
    from vaxlink.certificates.approval.signing import manifest_bytes as manifest_bytes
    from vaxlink.certificates.approval.signing import record_digest as record_digest
    from vaxlink.certificates.models import APPROVABLE as APPROVABLE

#: Old import paths that `feedback/loop.py` still uses until it moves to `vaxlink.flows` and calls
#: the front door, `vaxlink.certificates.service`; delete this with it. Resolved on first use.
_MOVED: dict[str, str] = {
    "APPROVABLE": "vaxlink.certificates.models",
    "MANIFEST_VERSION": "vaxlink.certificates.approval.signing",
    "RECORD_COLUMNS": "vaxlink.certificates.approval.signing",
    "approved_digests": "vaxlink.certificates.approval.signing",
    "facility_signer": "vaxlink.certificates.approval.signing",
    "manifest_bytes": "vaxlink.certificates.approval.signing",
    "record_digest": "vaxlink.certificates.approval.signing",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
