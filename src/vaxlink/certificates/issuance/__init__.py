"""Issuance over the store: what a certificate attests, batch and online issuance, the life cycle."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the types `__getattr__` resolves, for mypy
    from vaxlink.certificates.issuance.batch import active_of as active_of
    from vaxlink.certificates.issuance.batch import issue_for as issue_for
    from vaxlink.certificates.issuance.issuer import Issuer as Issuer
    from vaxlink.certificates.issuance.issuer import generations as generations
    from vaxlink.certificates.issuance.issuer import uvci_key_from_secret as uvci_key_from_secret
    from vaxlink.certificates.issuance.issuer import write_rows as write_rows

#: Old import paths that `feedback/loop.py` still uses until it moves to `vaxlink.flows` and calls
#: the front door, `vaxlink.certificates.service`; delete this with it. Resolved on first use.
_MOVED: dict[str, str] = {
    "Issuer": "vaxlink.certificates.issuance.issuer",
    "active_of": "vaxlink.certificates.issuance.batch",
    "generations": "vaxlink.certificates.issuance.issuer",
    "issue_for": "vaxlink.certificates.issuance.batch",
    "uvci_key_from_secret": "vaxlink.certificates.issuance.issuer",
    "write_rows": "vaxlink.certificates.issuance.issuer",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
