"""Every route of the certificates domain: the API and pages (`api`), the health-card
representations and the SHC key set (`health_cards`)."""

from __future__ import annotations

from fastapi import APIRouter

from vaxlink.certificates.web import api, health_cards

router = APIRouter()
router.include_router(api.router)
router.include_router(health_cards.router)
