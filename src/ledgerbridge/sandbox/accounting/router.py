"""The Accounting API router (``/api.xro/2.0``) and its registration with the sandbox."""

from __future__ import annotations

from fastapi import APIRouter

from ledgerbridge.sandbox.accounting import (
    contacts,
    credit_notes,
    invoices,
    items,
    payments,
    purchase_orders,
    settings,
)
from ledgerbridge.sandbox.accounting.seed import seed_accounting
from ledgerbridge.sandbox.extensions import ACCOUNTING, SandboxExtensions

__all__ = ["build_router", "register"]

SEEDER_NAME = "accounting"


def build_router() -> APIRouter:
    """Every Accounting resource; mount it under ``/api.xro/2.0``."""
    router = APIRouter()
    for module in (settings, contacts, invoices, credit_notes, payments, purchase_orders, items):
        router.include_router(module.router)
    return router


def register(extensions: SandboxExtensions) -> SandboxExtensions:
    """Add the Accounting router and seeder to a sandbox's extensions (idempotent)."""
    if not any(s.name == SEEDER_NAME for s in extensions.seeders):
        extensions.add_router(ACCOUNTING, build_router())
        extensions.add_seeder(SEEDER_NAME, seed_accounting)
    return extensions
