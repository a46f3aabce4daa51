"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse

from ledgerbridge import __version__
from ledgerbridge.db import Database
from ledgerbridge.jobs import registry
from ledgerbridge.jobs.runner import InProcessRunner
from ledgerbridge.logging import configure_logging
from ledgerbridge.settings import Settings, get_settings
from ledgerbridge.web import pages, problems, webhooks
from ledgerbridge.web.api import (
    accounts,
    imports,
    links,
    member_sync,
    payroll,
    sync_log,
    sync_settings,
    time_invoices,
)
from ledgerbridge.web.api import xero as xero_api
from ledgerbridge.web.api import xero_projects as xero_projects_api
from ledgerbridge.web.api.clients import clients
from ledgerbridge.web.api.credit_notes import allocations_router, credit_notes
from ledgerbridge.web.api.crud import Resource, router_for
from ledgerbridge.web.api.invoices import invoices
from ledgerbridge.web.api.items import items
from ledgerbridge.web.api.payments import payments
from ledgerbridge.web.api.people import members, work_types
from ledgerbridge.web.api.projects import projects, tasks
from ledgerbridge.web.api.purchase_orders import purchase_orders
from ledgerbridge.web.api.reference import tax_rates
from ledgerbridge.web.api.task_members import router as task_members_router
from ledgerbridge.web.api.time_entries import time_entries
from ledgerbridge.xero.services import XeroServices

RESOURCES: list[tuple[Resource, str]] = [
    (members, "Members"),
    (work_types, "Work types"),
    (clients, "Clients"),
    (projects, "Projects"),
    (tasks, "Tasks"),
    (time_entries, "Time entries"),
    (tax_rates, "Tax rates"),
    (items, "Items"),
    (invoices, "Invoices"),
    (payments, "Payments"),
    (credit_notes, "Credit notes"),
    (purchase_orders, "Purchase orders"),
]


def api_v1() -> FastAPI:
    """The versioned JSON API as its own sub-application, so its OpenAPI lives at /api/v1."""
    api = FastAPI(
        title="ledgerbridge API",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    problems.install(api)
    router = APIRouter()
    router.include_router(accounts.router)
    router.include_router(xero_api.router)
    router.include_router(imports.router)
    router.include_router(sync_log.router)
    router.include_router(links.router)
    router.include_router(sync_settings.router)
    router.include_router(payroll.router)
    router.include_router(member_sync.router)
    router.include_router(xero_projects_api.router)
    router.include_router(allocations_router)
    router.include_router(time_invoices.router)
    router.include_router(task_members_router)
    for resource, tag in RESOURCES:
        router.include_router(router_for(resource, tag))
    api.include_router(router)
    return api


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    xero: XeroServices | None = None,
) -> FastAPI:
    """The service. Tests pass ``xero`` built over the in-process sandbox."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    database = database or Database.from_url(settings.resolved_database_url)
    xero = xero or XeroServices.build(settings, database)
    # Requests queue work by kind (an invoice ready to send), and the scheduler plans only
    # kinds this process knows, even when a separate worker runs them.
    registry.load_handlers()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # --- jobs: the in-process runner, unless a separate worker runs them
        runner = InProcessRunner(database, xero, xero.clock) if settings.run_jobs_in_web else None
        app.state.runner = runner
        if runner is not None:
            await runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.stop()
            # --- end jobs
            await xero.aclose()

    app = FastAPI(
        title="ledgerbridge", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
        lifespan=lifespan,
    )
    problems.install(app)
    api = api_v1()
    for target in (app, api):
        target.state.settings = settings
        target.state.database = database
        target.state.xero = xero
    app.mount("/api/v1", api)
    pages.install(app)  # the HTML pages, their static files and error answers
    app.include_router(webhooks.router)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        """People land on Integrations (which asks them to sign in); machines read /api/v1/docs."""
        return RedirectResponse("/integrations")

    return app
