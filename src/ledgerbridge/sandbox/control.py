"""The control plane under ``/_sandbox/``: reset, seed, apps, users, clock, limits,
faults and webhooks (Moto's ``/moto-api`` idea). Documented with curl examples in
docs/sandbox.md.

Open by default for local use; when ``SandboxConfig.admin_token`` is set, every call needs
``Authorization: Bearer <admin_token>``.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from ledgerbridge.sandbox import oauth
from ledgerbridge.sandbox.extensions import SandboxExtensions
from ledgerbridge.sandbox.guard import get_state
from ledgerbridge.sandbox.models import App, Organisation, User
from ledgerbridge.sandbox.seeding import OrganisationSpec, seed, seed_demo
from ledgerbridge.sandbox.state import SandboxState

__all__ = ["router"]


def require_admin(request: Request) -> None:
    token = get_state(request).config.admin_token
    if not token:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), token):
        raise HTTPException(401, "admin token required", headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/_sandbox", tags=["sandbox control"],
                   dependencies=[Depends(require_admin)])
StateDep = Annotated[SandboxState, Depends(get_state)]


def _extensions(request: Request) -> SandboxExtensions:
    ext = request.app.state.extensions
    assert isinstance(ext, SandboxExtensions)
    return ext


def _org(state: SandboxState, tenant_id: str) -> Organisation:
    org = state.orgs.get(tenant_id.lower())
    if org is None:
        raise HTTPException(404, f"no organisation {tenant_id}")
    return org


def _app(state: SandboxState, client_id: str) -> App:
    app = state.apps.get(client_id)
    if app is None:
        raise HTTPException(404, f"no app {client_id}")
    return app


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- reset and seed --------------------------------------------------------------------------


class ResetIn(_Body):
    demo: bool = True
    """Re-create the demo organisations, user and app after wiping everything."""
    sizes: dict[str, int] = Field(default_factory=dict)


@router.post("/reset")
def reset(request: Request, state: StateDep, body: ResetIn | None = None) -> dict[str, Any]:
    body = body or ResetIn()
    state.reset()
    if body.demo:
        seed_demo(state, _extensions(request), body.sizes)
    return {"organisations": [o.summary() for o in state.orgs.values()]}


class OrganisationIn(_Body):
    name: str = Field(min_length=1)
    country_code: str = Field(default="AU", min_length=2, max_length=2)
    base_currency: str = Field(default="AUD", min_length=3, max_length=3)
    organisation_type: str = "COMPANY"
    timezone: str = "AUSEASTERNSTANDARDTIME"
    short_code: str | None = None
    tenant_id: uuid.UUID | None = None
    per_day: int | None = Field(default=None, ge=1)


class SeedIn(_Body):
    organisations: list[OrganisationIn] = Field(default_factory=list)
    sizes: dict[str, int] = Field(default_factory=dict)
    """Passed to every registered seeder, e.g. ``{"contacts": 100000}``."""
    demo: bool = False
    """Also (re)create the demo organisations, user and app if missing."""


@router.post("/seed")
def seed_organisations(request: Request, state: StateDep, body: SeedIn) -> dict[str, Any]:
    ext = _extensions(request)
    if body.demo:
        seed_demo(state, ext, body.sizes)
    specs = [
        OrganisationSpec(
            name=o.name, country_code=o.country_code, base_currency=o.base_currency,
            organisation_type=o.organisation_type, timezone=o.timezone,
            short_code=o.short_code, tenant_id=str(o.tenant_id) if o.tenant_id else None,
            per_day=o.per_day,
        )
        for o in body.organisations
    ]
    try:
        created = seed(state, ext, specs, body.sizes)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc
    return {"organisations": [o.summary() for o in created]}


@router.get("/organisations")
def organisations(state: StateDep) -> list[dict[str, Any]]:
    return [o.summary() for o in state.orgs.values()]


@router.get("/organisations/{tenant_id}")
def organisation(state: StateDep, tenant_id: str) -> dict[str, Any]:
    return _org(state, tenant_id).summary()


# -- limits and faults -----------------------------------------------------------------------


class LimitsIn(_Body):
    enabled: bool | None = None
    concurrent: int | None = Field(default=None, ge=1)
    per_minute: int | None = Field(default=None, ge=1)
    per_day: int | None = Field(default=None, ge=1)


@router.get("/organisations/{tenant_id}/limits")
def get_limits(state: StateDep, tenant_id: str) -> dict[str, Any]:
    return _org(state, tenant_id).limits.as_dict()


@router.put("/organisations/{tenant_id}/limits")
def set_limits(state: StateDep, tenant_id: str, body: LimitsIn) -> dict[str, Any]:
    org = _org(state, tenant_id)
    with state.transaction():
        for name, value in body.model_dump(exclude_none=True).items():
            setattr(org.limits, name, value)
        state.touch(org)
    return org.limits.as_dict()


class FaultsIn(_Body):
    fail_next: list[Literal[500, 503]] | None = None
    error_rate_500: float | None = Field(default=None, ge=0, le=1)
    error_rate_503: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = None
    latency_ms: int | None = Field(default=None, ge=0, le=120_000)
    timeout_next: int | None = Field(default=None, ge=0)
    timeout_mode: Literal["hang", "raise"] | None = None
    drop_after_commit_next: int | None = Field(default=None, ge=0)
    offline: bool | None = None


@router.get("/organisations/{tenant_id}/faults")
def get_faults(state: StateDep, tenant_id: str) -> dict[str, Any]:
    return _org(state, tenant_id).faults.as_dict()


@router.put("/organisations/{tenant_id}/faults")
def set_faults(state: StateDep, tenant_id: str, body: FaultsIn) -> dict[str, Any]:
    """Change only the fields given; the rest keep their values."""
    org = _org(state, tenant_id)
    with state.transaction():
        for name, value in body.model_dump(exclude_none=True).items():
            setattr(org.faults, name, list(value) if name == "fail_next" else value)
        state.faults.reset(org.tenant_id)
        state.touch(org)
    return org.faults.as_dict()


@router.delete("/organisations/{tenant_id}/faults")
def clear_faults(state: StateDep, tenant_id: str) -> dict[str, Any]:
    org = _org(state, tenant_id)
    with state.transaction():
        org.faults = type(org.faults)()
        state.faults.reset(org.tenant_id)
        state.touch(org)
    return org.faults.as_dict()


# -- apps and users ----------------------------------------------------------------------------


class AppIn(_Body):
    name: str = Field(min_length=1)
    redirect_uris: list[str] = Field(default_factory=list, max_length=50)
    pkce: bool = False
    """An "Auth Code with PKCE" app: no client secret."""
    custom_connection_tenant_id: str | None = None
    custom_connection_scopes: list[str] = Field(default_factory=list)
    webhook_url: str | None = None
    granular_only: bool = False


@router.post("/apps", status_code=201)
def create_app(state: StateDep, body: AppIn) -> dict[str, Any]:
    """Register an app; the answer is the only place the secret and webhook key appear
    besides ``GET /_sandbox/apps/{client_id}``."""
    for uri in body.redirect_uris:
        if "*" in uri or "://" not in uri:
            raise HTTPException(422, f"redirect URIs must be absolute, without wildcards: {uri}")
    try:
        app = oauth.create_app(
            state, name=body.name, redirect_uris=body.redirect_uris, pkce=body.pkce,
            custom_connection_tenant_id=(body.custom_connection_tenant_id or "").lower() or None,
            custom_connection_scopes=body.custom_connection_scopes,
            webhook_url=body.webhook_url, granular_only=body.granular_only,
        )
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return app.summary(secrets=True)


@router.get("/apps")
def apps(state: StateDep) -> list[dict[str, Any]]:
    return [a.summary() for a in state.apps.values()]


@router.get("/apps/{client_id}")
def app_detail(state: StateDep, client_id: str) -> dict[str, Any]:
    return _app(state, client_id).summary(secrets=True)


class WebhookIn(_Body):
    url: str | None = None
    categories: list[Literal["CONTACT", "INVOICE", "CREDITNOTE"]] | None = None
    rotate_key: bool = False


@router.put("/apps/{client_id}/webhook")
def set_webhook(state: StateDep, client_id: str, body: WebhookIn) -> dict[str, Any]:
    """Change the URL or categories. A new URL (or a new key) needs intent-to-receive
    again before events flow, as at Xero."""
    app = _app(state, client_id)
    with state.transaction():
        hook = app.webhook
        if body.url is not None and body.url != hook.url:
            hook.url, hook.status = body.url, "PENDING"
        if body.categories is not None:
            hook.categories = list(body.categories)
        if body.rotate_key:
            hook.key, hook.status = secrets.token_urlsafe(48), "PENDING"
        state.touch(app)
    return app.summary(secrets=True)


@router.post("/apps/{client_id}/webhook/intent-to-receive")
async def intent_to_receive(state: StateDep, client_id: str) -> dict[str, Any]:
    _app(state, client_id)
    try:
        return await state.webhooks.intent_to_receive(client_id)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from exc


class UserIn(_Body):
    email: str = Field(min_length=3)
    password: str = Field(min_length=1)
    first_name: str = "Sandbox"
    last_name: str = "User"
    tenant_ids: list[str] = Field(default_factory=list)
    all_organisations: bool = False


@router.post("/users", status_code=201)
def create_user(state: StateDep, body: UserIn) -> dict[str, Any]:
    if state.user_by_email(body.email):
        raise HTTPException(409, f"a user {body.email} exists")
    unknown = [t for t in body.tenant_ids if t.lower() not in state.orgs]
    if unknown:
        raise HTTPException(422, f"no organisation {', '.join(unknown)}")
    user = state.add_user(User(
        user_id=str(uuid.uuid4()), email=body.email, password=body.password,
        first_name=body.first_name, last_name=body.last_name,
        tenant_ids=[t.lower() for t in body.tenant_ids],
        all_organisations=body.all_organisations,
    ))
    return _user(user)


def _user(user: User) -> dict[str, Any]:
    return {"user_id": user.user_id, "email": user.email, "first_name": user.first_name,
            "last_name": user.last_name, "tenant_ids": list(user.tenant_ids)}


@router.get("/users")
def users(state: StateDep) -> list[dict[str, Any]]:
    return [_user(u) for u in state.users.values()]


# -- clock and settings ----------------------------------------------------------------------


class ClockIn(_Body):
    advance_seconds: float | None = Field(default=None, ge=0)
    speed: float | None = Field(default=None, ge=0)


def _clock(state: SandboxState) -> dict[str, Any]:
    return {"now": state.clock.now().isoformat(), "timestamp": state.clock.time(),
            "speed": state.clock.speed}


@router.get("/clock")
def get_clock(state: StateDep) -> dict[str, Any]:
    return _clock(state)


@router.post("/clock")
def set_clock(state: StateDep, body: ClockIn) -> dict[str, Any]:
    if body.speed is not None:
        state.clock.set_speed(body.speed)
    if body.advance_seconds:
        state.clock.advance(body.advance_seconds)
    state.save_clock()
    return _clock(state)


class ConfigIn(_Body):
    refresh_grace_seconds: int | None = Field(default=None, ge=0)
    grace_replay: Literal["same", "new"] | None = None
    missing_scope_status: Literal[401, 403] | None = None
    app_per_minute: int | None = Field(default=None, ge=1)
    access_token_seconds: int | None = Field(default=None, ge=1)


def _config(state: SandboxState) -> dict[str, Any]:
    c = state.config
    return {"refresh_grace_seconds": c.refresh_grace_seconds, "grace_replay": c.grace_replay,
            "missing_scope_status": c.missing_scope_status, "app_per_minute": c.app_per_minute,
            "access_token_seconds": c.access_token_seconds, "base_url": c.base_url}


@router.get("/config")
def get_config(state: StateDep) -> dict[str, Any]:
    return _config(state)


@router.patch("/config")
def set_config(state: StateDep, body: ConfigIn) -> dict[str, Any]:
    """Runtime behaviour switches (not persisted: they come from the command line)."""
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(state.config, name, value)
    return _config(state)


# -- webhooks ------------------------------------------------------------------------------------


class EmitIn(_Body):
    tenant_id: str
    category: Literal["CONTACT", "INVOICE", "CREDITNOTE"]
    event_type: Literal["CREATE", "UPDATE"]
    resource_id: uuid.UUID
    data: dict[str, Any] | None = None


@router.post("/webhooks/emit")
def emit(state: StateDep, body: EmitIn) -> dict[str, Any]:
    """Queue an event by hand, e.g. to test a receiver without touching records."""
    org = _org(state, body.tenant_id)
    queued = state.webhooks.emit(org.tenant_id, body.category, body.event_type,
                                 str(body.resource_id), body.data)
    return {"queued_for_apps": queued}


class DeliverIn(_Body):
    ignore_schedule: bool = False


@router.post("/webhooks/deliver")
async def deliver(state: StateDep, body: DeliverIn | None = None) -> dict[str, Any]:
    entries = await state.webhooks.deliver_pending(
        ignore_schedule=body.ignore_schedule if body else False
    )
    return {"deliveries": entries}


@router.get("/webhooks/deliveries")
def deliveries(state: StateDep, client_id: str | None = None) -> list[dict[str, Any]]:
    return [e for e in state.webhooks.log if client_id is None or e["client_id"] == client_id]


@router.get("/webhooks/subscriptions")
def subscriptions(state: StateDep) -> list[dict[str, Any]]:
    return [
        {"client_id": a.client_id, "url": a.webhook.url, "status": a.webhook.status,
         "categories": a.webhook.categories, "pending_events": len(a.webhook.pending),
         "next_attempt_at": a.webhook.next_attempt_at, "attempts": a.webhook.attempts}
        for a in state.apps.values()
    ]
