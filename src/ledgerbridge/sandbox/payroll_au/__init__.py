"""The Payroll AU API family of the sandbox: 1.0 (``/payroll.xro/1.0``) and the 2.0
timesheets (``/payroll.xro/2.0``, ``timesheets_v2``, sharing the 1.0 records).

Employees, PayItems, PayrollCalendars and Timesheets, in the Accounting dialect (MS
dates, PascalCase, the ``Id``/``Status`` envelope), reusing ``accounting.wire`` and
``accounting.framework``. ``register(ext)`` adds the router and the AU seeder::

    from ledgerbridge.sandbox import create_sandbox_app, default_extensions
    from ledgerbridge.sandbox import payroll_au

    app = create_sandbox_app(extensions=payroll_au.register(default_extensions()))

Modules: ``periods`` (pay-period arithmetic), ``common`` (lists, envelope, field checks),
one module per resource, ``timesheets_v2`` (Payroll AU 2.0), and ``seed``.
"""

from __future__ import annotations

from fastapi import APIRouter

from ledgerbridge.sandbox.extensions import PAYROLL_AU, PAYROLL_AU_V2, SandboxExtensions
from ledgerbridge.sandbox.payroll_au import (
    calendars,
    employees,
    pay_items,
    timesheets,
    timesheets_v2,
)
from ledgerbridge.sandbox.payroll_au.seed import seed_payroll_au

__all__ = ["SEEDER_NAME", "build_router", "build_v2_router", "register", "seed_payroll_au"]

SEEDER_NAME = "payroll_au"


def build_router() -> APIRouter:
    """Every Payroll AU 1.0 resource; mount it under ``/payroll.xro/1.0``."""
    router = APIRouter()
    for module in (employees, pay_items, calendars, timesheets):
        router.include_router(module.router)
    return router


def build_v2_router() -> APIRouter:
    """The Payroll AU 2.0 timesheets; mount it under ``/payroll.xro/2.0``."""
    router = APIRouter()
    router.include_router(timesheets_v2.router)
    return router


def register(extensions: SandboxExtensions) -> SandboxExtensions:
    """Add the Payroll AU routers (1.0 and 2.0) and seeder to a sandbox's extensions
    (idempotent)."""
    if not any(s.name == SEEDER_NAME for s in extensions.seeders):
        extensions.add_router(PAYROLL_AU, build_router())
        extensions.add_router(PAYROLL_AU_V2, build_v2_router())
        extensions.add_seeder(SEEDER_NAME, seed_payroll_au)
    return extensions
