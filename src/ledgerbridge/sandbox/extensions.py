"""Where API families plug into the sandbox: routers and seeders.

An API family (Accounting, Payroll AU, Projects) is a FastAPI ``APIRouter`` mounted under
its Xero prefix, plus optional seeders that fill a new organisation's collections::

    ext = default_extensions()
    ext.add_router(ACCOUNTING, accounting_router)
    ext.add_seeder("accounting", seed_accounting)   # seed_accounting(state, org, sizes)
    app = create_sandbox_app(extensions=ext)

``default_extensions()`` is the list ``create_sandbox_app()`` uses when given none; the
families add themselves there. Nothing here is global state: it is static wiring, and each
call returns a fresh object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import APIRouter

if TYPE_CHECKING:
    from ledgerbridge.sandbox.models import Organisation
    from ledgerbridge.sandbox.state import SandboxState

__all__ = [
    "ACCOUNTING",
    "API_PREFIXES",
    "PAYROLL_AU",
    "PAYROLL_AU_V2",
    "PROJECTS",
    "SandboxExtensions",
    "SeedFunction",
    "Seeder",
    "default_extensions",
]

ACCOUNTING = "/api.xro/2.0"
PAYROLL_AU = "/payroll.xro/1.0"
PAYROLL_AU_V2 = "/payroll.xro/2.0"
PROJECTS = "/projects.xro/2.0"
API_PREFIXES = (ACCOUNTING, PAYROLL_AU, PAYROLL_AU_V2, PROJECTS)

SeedFunction = Callable[["SandboxState", "Organisation", dict[str, int]], None]
"""``seed(state, org, sizes)``: fill ``org``'s collections. Runs inside
``state.transaction()``; ``sizes`` is what the caller asked for, e.g. ``{"contacts": 300}``,
and a seeder picks its own defaults for missing keys."""


@dataclass(frozen=True)
class Seeder:
    name: str
    seed: SeedFunction


@dataclass(frozen=True)
class MountedRouter:
    prefix: str
    router: APIRouter


@dataclass
class SandboxExtensions:
    """The routers and seeders one sandbox app is built with."""

    routers: list[MountedRouter] = field(default_factory=list)
    seeders: list[Seeder] = field(default_factory=list)

    def add_router(self, prefix: str, router: APIRouter) -> None:
        """Mount ``router`` under ``prefix`` (one of ``API_PREFIXES``). Paths match
        case-insensitively, as at Xero. Unmatched paths under the prefix answer Xero's 404."""
        if prefix not in API_PREFIXES:
            raise ValueError(f"unknown API prefix {prefix!r}; expected one of {API_PREFIXES}")
        self.routers.append(MountedRouter(prefix, router))

    def add_seeder(self, name: str, seed: SeedFunction) -> None:
        """Run ``seed`` for every organisation created by seeding, in registration order."""
        if any(s.name == name for s in self.seeders):
            raise ValueError(f"a seeder named {name!r} is registered already")
        self.seeders.append(Seeder(name, seed))


def default_extensions() -> SandboxExtensions:
    """The families the sandbox ships with. API families register themselves here.

    Imported here, not at the top, because each family imports this module."""
    from ledgerbridge.sandbox import accounting, payroll_au, projects

    extensions = SandboxExtensions()
    accounting.register(extensions)
    payroll_au.register(extensions)
    projects.register(extensions)
    return extensions
