"""``create_sandbox_app()``: one ASGI app serving every Xero host on one base URL.

Identity (``/identity/connect/authorize``, ``/connect/token``, ``/connect/revocation``),
``/connections``, the API families registered in ``extensions`` under ``/api.xro/2.0``,
``/payroll.xro/1.0``, ``/payroll.xro/2.0`` and ``/projects.xro/2.0``, and the control API
under ``/_sandbox/``. A client configured with this base URL for all three Xero hosts
needs nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import APIRouter, Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from ledgerbridge import __version__
from ledgerbridge.sandbox import control, identity
from ledgerbridge.sandbox.config import SandboxConfig
from ledgerbridge.sandbox.errors import install_error_handlers, not_found
from ledgerbridge.sandbox.extensions import API_PREFIXES, SandboxExtensions, default_extensions
from ledgerbridge.sandbox.guard import ApiContext, SandboxCallMiddleware, require_scopes
from ledgerbridge.sandbox.seeding import seed_demo
from ledgerbridge.sandbox.state import SandboxState

__all__ = ["create_sandbox_app"]

AUTO_DELIVER_INTERVAL = 1.0


def _unknown_route_router() -> APIRouter:
    """Xero's plain-text 404 for any unmatched path under an API prefix, after auth."""
    router = APIRouter(include_in_schema=False)
    methods = ["GET", "PUT", "POST", "PATCH", "DELETE", "HEAD"]

    async def unknown(_ctx: ApiContext = Depends(require_scopes())) -> None:
        raise not_found()

    for prefix in API_PREFIXES:
        router.add_api_route(f"{prefix}/{{path:path}}", unknown, methods=methods,
                             include_in_schema=False)
    return router


class CaseInsensitivePaths:
    """Xero matches paths in any case (the SDK calls ``/Connections``, the docs say
    ``/connections``, clients send ``/invoices``). This middleware rewrites each literal
    segment of an API path to the spelling the routes use, learnt from the app's OpenAPI
    paths on first use; path parameters (ids) pass through unchanged."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self._fastapi_app = fastapi_app
        self._spellings: dict[str, str] | None = None

    def _table(self) -> dict[str, str]:
        if self._spellings is None:
            paths = [*self._fastapi_app.openapi().get("paths", {}), "/connections"]
            self._spellings = {
                segment.lower(): segment
                for path in paths
                for segment in path.split("/")
                if segment and not segment.startswith("{")
            }
        return self._spellings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            lowered = path.lower()
            if lowered.startswith(_CASE_FREE_PREFIXES):
                table = self._table()
                scope["path"] = "/".join(table.get(part.lower(), part) for part in path.split("/"))
        await self.app(scope, receive, send)


_CASE_FREE_PREFIXES = tuple(p.lower() for p in (*API_PREFIXES, "/connections"))


def create_sandbox_app(
    state: SandboxState | None = None,
    *,
    config: SandboxConfig | None = None,
    state_path: Path | str | None = None,
    extensions: SandboxExtensions | None = None,
    seed: bool = True,
    auto_deliver: bool = False,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build a sandbox app.

    ``state``: share or inspect the state from a test (default: a new one, in memory or
    in ``state_path``). ``seed``: create the demo organisations, user and app when the
    state has no organisation. ``auto_deliver``: deliver webhooks in the background every
    second (``serve`` turns it on; tests call ``deliver_pending()`` instead).
    ``webhook_transport``: where webhook POSTs go (tests pass ``httpx.MockTransport``).
    """
    state = state or SandboxState(config, path=state_path)
    ext = extensions or default_extensions()
    if webhook_transport is not None:
        state.webhooks.transport = webhook_transport
    if seed and not state.orgs:
        seed_demo(state, ext)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_deliver_forever(state)) if auto_deliver else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            state.flush()

    app = FastAPI(
        title="ledgerbridge Xero sandbox",
        version=__version__,
        docs_url="/_sandbox/docs",
        openapi_url="/_sandbox/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.sandbox = state
    app.state.extensions = ext
    install_error_handlers(app)
    app.include_router(identity.router)
    app.include_router(control.router)
    for mounted in ext.routers:
        app.include_router(mounted.router, prefix=mounted.prefix)
    app.include_router(_unknown_route_router())
    app.add_middleware(SandboxCallMiddleware, state=state)
    app.add_middleware(CaseInsensitivePaths, fastapi_app=app)
    return app


async def _deliver_forever(state: SandboxState) -> None:
    while True:
        await asyncio.sleep(AUTO_DELIVER_INTERVAL)
        with contextlib.suppress(Exception):
            await state.webhooks.deliver_pending()
