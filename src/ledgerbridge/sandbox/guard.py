"""The gate every emulated API call passes: token, tenant, scope, limits, faults.

Routers declare what they need with a dependency and get an ``ApiContext``::

    from ledgerbridge.sandbox.guard import ApiContext, require_resource

    @router.get("/Contacts")
    def list_contacts(ctx: ApiContext = Depends(require_resource("Contacts"))) -> ...:
        org = ctx.org                    # the organisation named by xero-tenant-id
        ...

``require_resource("Contacts")`` looks the scopes up in ``scopes.SCOPES_FOR``;
``require_scopes("accounting.contacts")`` names them directly. GET and HEAD also accept
the ``.read`` variant of each scope.

Order of checks, as at Xero: 401 without a valid, unexpired bearer token; 403 when the
``xero-tenant-id`` header is missing or names an organisation this grant has not
connected (custom-connection tokens may omit it); 403 (configurable 401) without the
scope; 429 over a limit; then any injected fault. ``SandboxCallMiddleware`` adds the
limit headers and ``Xero-Correlation-Id`` to the response and frees the concurrency slot
when the response is done.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledgerbridge.sandbox.errors import XeroProblem, XeroTextError, forbidden, unauthorized
from ledgerbridge.sandbox.faults import DroppedConnection, SimulatedTimeout
from ledgerbridge.sandbox.models import App, Grant, Organisation
from ledgerbridge.sandbox.oauth import AccessClaims, grant_for, verify_access_token
from ledgerbridge.sandbox.scopes import SCOPES_FOR, satisfies
from ledgerbridge.sandbox.state import SandboxState

__all__ = [
    "ApiContext",
    "SandboxCallMiddleware",
    "bearer_grant",
    "get_state",
    "require_resource",
    "require_scopes",
]

CALL_KEY = "ledgerbridge.sandbox.call"
TENANT_HEADER = "xero-tenant-id"
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass
class CallInfo:
    """Per-request notes shared between the guard (dependency) and the middleware."""

    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    limit_headers: dict[str, str] = field(default_factory=dict)
    slot: tuple[str, str] | None = None
    drop: bool = False


@dataclass(frozen=True)
class ApiContext:
    """Everything an API handler needs about the call it serves."""

    state: SandboxState
    app: App
    grant: Grant
    claims: AccessClaims
    org: Organisation
    correlation_id: str

    @property
    def tenant_id(self) -> str:
        return self.org.tenant_id

    def emit(
        self,
        category: str,
        event_type: str,
        resource_id: str,
        data: dict[str, Any] | None = None,
    ) -> int:
        """Queue a webhook event about a record of this organisation (see ``webhooks``)."""
        return self.state.webhooks.emit(self.tenant_id, category, event_type, resource_id, data)


def get_state(request: Request) -> SandboxState:
    """The sandbox state of the app serving this request (a FastAPI dependency)."""
    state = request.app.state.sandbox
    assert isinstance(state, SandboxState)
    return state


def _call(request: Request) -> CallInfo:
    call = request.scope.get(CALL_KEY)
    if not isinstance(call, CallInfo):
        call = CallInfo()
        request.scope[CALL_KEY] = call
    return call


def bearer_grant(request: Request) -> tuple[AccessClaims, Grant | None]:
    """Verify the bearer token; return its claims and grant (``None`` once revoked)."""
    state = get_state(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized()
    claims = verify_access_token(state, token.strip())
    return claims, grant_for(state, claims.client_id, claims.user_id)


def _tenant(request: Request, state: SandboxState, app: App, grant: Grant | None) -> Organisation:
    tenant_id = request.headers.get(TENANT_HEADER, "").strip()
    if grant is None:
        raise forbidden()
    if not tenant_id and grant.user_id is None and app.custom_connection_tenant_id:
        tenant_id = app.custom_connection_tenant_id
    if not tenant_id or tenant_id.lower() not in state.tenant_ids_of(grant.grant_id):
        raise forbidden()
    org = state.orgs.get(tenant_id.lower())
    if org is None:
        raise forbidden()
    return org


async def _apply_faults(state: SandboxState, org: Organisation, call: CallInfo) -> None:
    with state.transaction():
        decision = state.faults.decide(org.tenant_id, org.faults)
        state.touch(org)
    if decision.latency_seconds:
        await asyncio.sleep(decision.latency_seconds)
    if decision.raise_timeout:
        raise SimulatedTimeout()
    if decision.hang:
        await asyncio.sleep(state.config.hang_seconds)
    if decision.status is not None:
        raise XeroTextError(decision.status, decision.text)
    call.drop = decision.drop_after_commit


async def authorize_call(
    request: Request, accepted: Sequence[str], read: bool | None = None
) -> ApiContext:
    """Run every check for one API call; see the module docstring for the order."""
    state = get_state(request)
    call = _call(request)
    claims, grant = bearer_grant(request)
    app = state.apps.get(claims.client_id)
    if app is None:
        raise unauthorized()
    org = _tenant(request, state, app, grant)
    assert grant is not None
    is_read = request.method.upper() in READ_METHODS if read is None else read
    if not satisfies(claims.scopes, accepted, read=is_read):
        status = state.config.missing_scope_status
        title = "Forbidden" if status == 403 else "Unauthorized"
        raise XeroProblem(status, title, "AuthorizationUnsuccessful")
    admission = state.limiter.acquire(
        app.client_id, org.tenant_id, org.limits, state.config.app_per_minute
    )
    call.limit_headers = admission.headers
    if not admission.allowed:
        raise XeroProblem(
            429, "Too Many Requests", f"Rate limit exceeded: {admission.problem}"
        )
    call.slot = (app.client_id, org.tenant_id)
    await _apply_faults(state, org, call)
    return ApiContext(state, app, grant, claims, org, call.correlation_id)


def require_scopes(
    *accepted: str, read: bool | None = None
) -> Callable[[Request], Awaitable[ApiContext]]:
    """A dependency admitting calls whose token has any of ``accepted`` (base names).

    ``read`` forces read semantics (``.read`` scopes suffice) or write semantics; by
    default GET and HEAD are reads.
    """

    async def dependency(request: Request) -> ApiContext:
        return await authorize_call(request, accepted, read)

    return dependency


def require_resource(resource: str, *, read: bool | None = None) -> Callable[..., Any]:
    """``require_scopes`` with the scopes Xero requires for ``resource`` (``SCOPES_FOR``)."""
    return require_scopes(*SCOPES_FOR[resource], read=read)


class SandboxCallMiddleware:
    """Adds limit headers and the correlation id to responses, frees concurrency slots,
    persists state after each request, and performs the dropped-connection fault."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        call = CallInfo()
        scope[CALL_KEY] = call

        async def send_with_headers(message: Message) -> None:
            if call.drop:
                return  # the handler ran and committed; the client will hear nothing
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Xero-Correlation-Id", call.correlation_id)
                for name, value in call.limit_headers.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if call.slot is not None:
                self.state.limiter.release(*call.slot)
            self.state.flush()
        if call.drop:
            # Over a socket, a started response that never completes makes the server
            # close the connection mid-response. In-process, the exception is the drop.
            await send({
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", b"4096")],
            })
            raise DroppedConnection()
