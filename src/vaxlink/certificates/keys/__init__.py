"""The issuer's keys: the certificate hierarchy, the key directory, PEM and PKCS#11 signers, the trust list."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the types `__getattr__` resolves, for mypy
    from vaxlink.certificates.keys.store import KeyStore as KeyStore
    from vaxlink.certificates.keys.store import Role as Role

#: Old import paths that `feedback/loop.py` still uses until it moves to `vaxlink.flows` and calls
#: the front door, `vaxlink.certificates.service`; delete this with it. Resolved on first use.
_MOVED: dict[str, str] = {
    "KeyStore": "vaxlink.certificates.keys.store",
    "Role": "vaxlink.certificates.keys.store",
}


def __getattr__(name: str) -> Any:
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
