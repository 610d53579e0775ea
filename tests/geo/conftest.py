"""Fixtures of the geo tests: the shared store session with the geo tables present."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from vaxlink.db import Base
from vaxlink.geo import models  # noqa: F401  (registers the geo tables on Base.metadata)
from vaxlink.geo.service import load_successions, load_units

GEO_TABLES = ("admin_unit", "admin_unit_succession")


@pytest.fixture
def geo_session(session: Session) -> Session:
    """The rolled-back store session; creates the geo tables unless a migration already did."""
    tables = [Base.metadata.tables[name] for name in GEO_TABLES]
    Base.metadata.create_all(session.connection(), tables=tables, checkfirst=True)
    return session


@pytest.fixture
def legacy_session(geo_session: Session) -> Session:
    """A store holding the 2008-2025 list only (the cheapest load that exercises the hierarchy)."""
    load_units(geo_session, "2008-2025")
    return geo_session


@pytest.fixture
def loaded_session(geo_session: Session) -> Session:
    """A store holding both lists and the successions between them."""
    load_units(geo_session)
    load_successions(geo_session)
    return geo_session
