"""The FastAPI application factory: one app, one composition root, the domains' routers, strings
and menu entries mounted from one table.

Importing a domain's page module registers nothing: its strings and menu entries are plain
tables (`STRINGS`, `NAV`) that `create_app` reads for the domains it mounts. Which optional
domains are mounted is the settings' decision (`VAXLINK_DISABLED_DOMAINS`); a module listed here
that cannot be imported is an error, never a page that silently vanishes.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vaxlink import compose
from vaxlink.clock import Clock
from vaxlink.settings import Settings, get_settings
from vaxlink.web import i18n, nav, po, problems, security

STATIC = Path(__file__).parent / "static"
#: Who the web app's background step settles waiting reports as (audit `detail.by`).
SETTLE_JOB = "job:web.settle-certificates"


@dataclass(frozen=True)
class WebDomain:
    """What a domain adds to the app: a router, its strings and its menu entries.

    `strings` and `nav` name module attributes as `"module:NAME"`: a `{lang: {key: text}}` table
    (or a function returning one) and a tuple of `NavItem`s. `optional` domains may be left out
    with `VAXLINK_DISABLED_DOMAINS`."""

    name: str
    router: str
    strings: tuple[str, ...] = ()
    nav: tuple[str, ...] = ()
    optional: bool = True


#: Mount order is table order (no two domains share a path). The shell (health) and auth
#: (login, errors, CSRF) always mount.
DOMAINS: tuple[WebDomain, ...] = (
    # The shell also carries the import reports' reasons (CLI and files, no page of its own).
    WebDomain("health", "vaxlink.web.health", strings=("vaxlink.ingest.reason_strings:STRINGS",),
              optional=False),
    # Second: routes are matched in mount order, and the citizen lookup is the busiest write.
    WebDomain("feedback", "vaxlink.feedback.pages",
              strings=("vaxlink.feedback.strings:STRINGS", "vaxlink.feedback.recovery_view:STRINGS",
                       "vaxlink.feedback.sms_strings:STRINGS"),
              nav=("vaxlink.feedback.staff_pages:NAV",)),
    WebDomain("certificates", "vaxlink.certificates.web.routes",
              strings=("vaxlink.certificates.web.console_strings:STRINGS",
                       "vaxlink.certificates.web.verifier_strings:STRINGS",
                       "vaxlink.certificates.web.verify_strings:STRINGS",
                       "vaxlink.certificates.web.district_strings:STRINGS",
                       "vaxlink.certificates.web.partner_pages:STRINGS",
                       "vaxlink.certificates.client_strings:STRINGS",
                       "vaxlink.certificates.pdf_strings:STRINGS"),
              nav=("vaxlink.certificates.web.approval_pages:NAV",
                   "vaxlink.certificates.web.district_pages:NAV",
                   "vaxlink.certificates.web.console_pages:NAV",
                   "vaxlink.certificates.web.recovery_pages:NAV",
                   "vaxlink.certificates.web.partner_pages:NAV")),
    WebDomain("linkage", "vaxlink.linkage.api"),
    WebDomain("auth", "vaxlink.auth.pages",
              strings=("vaxlink.auth.strings:catalog", "vaxlink.auth.audit_pages:STRINGS",
                       "vaxlink.auth.audit_strings:STRINGS", "vaxlink.web.error_strings:STRINGS",
                       "vaxlink.auth.account_pages:STRINGS"),
              nav=("vaxlink.auth.pages:NAV", "vaxlink.auth.audit_pages:NAV",
                   "vaxlink.auth.account_pages:NAV"), optional=False),
    WebDomain("cleaning", "vaxlink.cleaning.pages",
              strings=("vaxlink.cleaning.strings:STRINGS", "vaxlink.cleaning.reason_strings:STRINGS"),
              nav=("vaxlink.cleaning.pages:NAV",)),
    WebDomain("entry", "vaxlink.cleaning.entry_pages",
              strings=("vaxlink.cleaning.entry_strings:STRINGS",),
              nav=("vaxlink.cleaning.entry_pages:NAV",)),
    WebDomain("reports", "vaxlink.reports.pages", strings=("vaxlink.reports.labels:i18n_strings",),
              nav=("vaxlink.reports.pages:NAV",)),
    WebDomain("directory", "vaxlink.facilities.directory_pages",
              strings=("vaxlink.facilities.directory_pages:STRINGS",),
              nav=("vaxlink.facilities.directory_pages:NAV",)),
    WebDomain("campaign", "vaxlink.reports.campaign_pages",
              strings=("vaxlink.reports.campaign_pages:STRINGS",),
              nav=("vaxlink.reports.campaign_pages:NAV",)),
)  # fmt: skip


def mounted(settings: Settings, domains: tuple[WebDomain, ...] | None = None) -> list[WebDomain]:
    """The domains `settings` asks for (of `DOMAINS`): all but the disabled optional ones."""
    domains = DOMAINS if domains is None else domains
    disabled = settings.disabled_domains
    required = sorted(d.name for d in domains if not d.optional and d.name in disabled)
    if required:
        raise ValueError(f"VAXLINK_DISABLED_DOMAINS: {', '.join(required)} cannot be disabled")
    return [d for d in domains if d.name not in disabled]


def _attribute(ref: str) -> Any:
    """The attribute `NAME` of `module` for `"module:NAME"` (import errors propagate)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _strings(ref: str) -> Mapping[str, Mapping[str, str]]:
    table = _attribute(ref)
    found: Mapping[str, Mapping[str, str]] = table() if callable(table) else table
    return found


def _nav(refs: Iterator[str]) -> tuple[nav.NavItem, ...]:
    return nav.menu(item for ref in refs for item in _attribute(ref))


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the app around one composition root (`app.state.container`); the store's engine
    is opened at startup and released when the last lifespan ends."""
    compose.private_process()  # also when uvicorn is started on the factory directly
    settings = settings or get_settings()
    container = compose.build(settings, clock=clock)
    domains = mounted(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Test clients may overlap on one app: the container closes when the last one leaves.
        with container.in_use():
            app.state.engine = container.engine  # migrated now, not on the first request
            refresher = None
            if "reports" in {d.name for d in domains}:  # figures refresh, never in a request
                from vaxlink.reports.service import start_background_refresh

                refresher = start_background_refresh(
                    container.engine, container.report_settings, container.clock.now
                )
            app.state.figures_refresh = refresher
            renewal = None
            if "certificates" in {d.name for d in domains}:  # renewals by themselves (#14)
                renewal = container.start_background_renewal()
            app.state.renewal = renewal
            pusher = None
            if "certificates" in {d.name for d in domains}:  # partners' change feed (#18)
                pusher = container.start_background_push()
            app.state.partner_push = pusher
            settler = None
            names = {d.name for d in domains}
            if {"feedback", "certificates"} <= names and container.report_settings.refresh_in_app:
                from vaxlink.periodic import Periodic

                # reports whose certificate waited for a site's signature, settled now and then
                settler = Periodic(
                    lambda: container.settle_certificates(by=SETTLE_JOB),
                    container.report_settings.refresh_minutes * 60.0,
                    name="vaxlink-settle-certificates",
                ).start()  # fmt: skip
            app.state.certificate_settle = settler
            try:
                yield
            finally:
                for thread in (refresher, renewal, settler, pusher):
                    if thread is not None:
                        thread.stop()

    app = FastAPI(
        title="vaxlink",
        summary="Verified, signed vaccine passports from dirty dose records.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from the vendored Swagger UI: works with the network off
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.container = container
    for domain in domains:
        for ref in domain.strings:
            i18n.register(_strings(ref))
    # the deployment's installed translations over the built-in texts (`i18n import-po --install`)
    po.use_installed(settings.resolved_locale_dir())
    problems.install(app)
    security.install(app)
    for domain in domains:
        app.include_router(importlib.import_module(domain.router).router)
    app.state.nav = _nav(ref for domain in domains for ref in domain.nav)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    _mount_docs(app)
    return app


def _mount_docs(app: FastAPI) -> None:
    """`/docs`: the API explorer from static/vendor/swagger-ui (no CDN: it works offline)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from starlette.responses import HTMLResponse

    @app.get("/docs", include_in_schema=False)
    def _docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="vaxlink API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )
