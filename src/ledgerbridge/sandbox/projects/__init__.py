"""The Projects API family of the sandbox (``/projects.xro/2.0``).

Projects, tasks, time entries and project users in the Projects dialect (camelCase, ISO
dates, ``Amount`` objects, ``{"pagination", "items"}`` lists). ``register(ext)`` adds the
router and the seeder::

    from ledgerbridge.sandbox import create_sandbox_app, default_extensions
    from ledgerbridge.sandbox import projects

    app = create_sandbox_app(extensions=projects.register(default_extensions()))

Modules: ``model`` (records, derived totals, wire shapes), ``api`` (routes and rules),
``seed``.
"""

from __future__ import annotations

from ledgerbridge.sandbox.extensions import PROJECTS, SandboxExtensions
from ledgerbridge.sandbox.projects.api import router
from ledgerbridge.sandbox.projects.seed import seed_projects

__all__ = ["SEEDER_NAME", "register", "router", "seed_projects"]

SEEDER_NAME = "projects"


def register(extensions: SandboxExtensions) -> SandboxExtensions:
    """Add the Projects router and seeder to a sandbox's extensions (idempotent)."""
    if not any(s.name == SEEDER_NAME for s in extensions.seeders):
        extensions.add_router(PROJECTS, router)
        extensions.add_seeder(SEEDER_NAME, seed_projects)
    return extensions
