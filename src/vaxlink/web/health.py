"""Liveness and readiness for load balancers and operators (public: no personal data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text
from sqlalchemy.orm import Session

from vaxlink.web.deps import session

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(db: Annotated[Session, Depends(session, scope="function")]) -> dict[str, str]:
    """The process is up and the store answers."""
    db.execute(text("SELECT 1"))
    return {"status": "ok"}
