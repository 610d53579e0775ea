"""The FastAPI application factory: one app, routers mounted from the domains that have one."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vaxlink.db import engine_from_settings
from vaxlink.settings import Settings, get_settings
from vaxlink.web import problems, security

STATIC = Path(__file__).parent / "static"
#: Routers by module: each module exposes `router` (an APIRouter). Order is the mount order.
ROUTERS: tuple[str, ...] = (
    "vaxlink.web.health",
    "vaxlink.certificates.web.api",
    "vaxlink.linkage.api",
    "vaxlink.auth.pages",
    "vaxlink.cleaning.pages",
    "vaxlink.cleaning.entry_pages",
    "vaxlink.feedback.pages",
    "vaxlink.reports.pages",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the store's engine is created at startup and disposed at shutdown."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Each lifespan disposes the engine it made (test clients may overlap on one app).
        engine = app.state.engine = engine_from_settings(settings)
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(
        title="vaxlink",
        summary="Verified, signed vaccine passports from dirty dose records.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    problems.install(app)
    security.install(app)
    for module in ROUTERS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if not exc.name or not module.startswith(exc.name):
                raise
            continue
        app.include_router(mod.router)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
