"""The Payroll AU 1.0 API family of the sandbox (``/payroll.xro/1.0``).

Employees, PayItems, PayrollCalendars and Timesheets, in the Accounting dialect (MS
dates, PascalCase, the ``Id``/``Status`` envelope), reusing ``accounting.wire`` and
``accounting.framework``. ``register(ext)`` adds the router and the AU seeder::

    from ledgerbridge.sandbox import create_sandbox_app, default_extensions
    from ledgerbridge.sandbox import payroll_au

    app = create_sandbox_app(extensions=payroll_au.register(default_extensions()))

Modules: ``periods`` (pay-period arithmetic), ``common`` (lists, envelope, field checks),
one module per resource, and ``seed``.
"""

from __future__ import annotations

from fastapi import APIRouter

from ledgerbridge.sandbox.extensions import PAYROLL_AU, SandboxExtensions
from ledgerbridge.sandbox.payroll_au import calendars, employees, pay_items, timesheets
from ledgerbridge.sandbox.payroll_au.seed import seed_payroll_au

__all__ = ["SEEDER_NAME", "build_router", "register", "seed_payroll_au"]

SEEDER_NAME = "payroll_au"


def build_router() -> APIRouter:
    """Every Payroll AU 1.0 resource; mount it under ``/payroll.xro/1.0``."""
    router = APIRouter()
    for module in (employees, pay_items, calendars, timesheets):
        router.include_router(module.router)
    return router


def register(extensions: SandboxExtensions) -> SandboxExtensions:
    """Add the Payroll AU router and seeder to a sandbox's extensions (idempotent)."""
    if not any(s.name == SEEDER_NAME for s in extensions.seeders):
        extensions.add_router(PAYROLL_AU, build_router())
        extensions.add_seeder(SEEDER_NAME, seed_payroll_au)
    return extensions
