"""Imports every domain's models so Base.metadata is complete (for Alembic and tests)."""

from __future__ import annotations

import importlib
import pkgutil

import vaxlink
from vaxlink.db import Base


def load_all() -> type[Base]:
    """Import each `vaxlink.<domain>.models` module that exists and return the Base."""
    for mod in pkgutil.iter_modules(vaxlink.__path__):
        if mod.ispkg:
            try:
                importlib.import_module(f"vaxlink.{mod.name}.models")
            except ModuleNotFoundError as exc:
                if exc.name != f"vaxlink.{mod.name}.models":
                    raise
    return Base
