"""Xero connections in the API: the workspace's app, connect, organisations, disconnect,
and Migrate (assign records synced before a second organisation to one of them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from sqlalchemy.orm import Session

from ledgerbridge.sync import migrate
from ledgerbridge.web.api.crud import Input, Output
from ledgerbridge.web.deps import ActorDep, ManagerDep, SessionDep
from ledgerbridge.xero import apps, connections
from ledgerbridge.xero.doctor import as_dict, diagnose
from ledgerbridge.xero.models import ConnectionStatus
from ledgerbridge.xero.services import XeroServices

router = APIRouter(prefix="/xero", tags=["Xero"])


def get_xero(request: Request) -> XeroServices:
    services: XeroServices = request.app.state.xero
    return services


XeroDep = Annotated[XeroServices, Depends(get_xero)]


class AppIn(Input):
    client_id: str = Field(min_length=1, max_length=apps.CLIENT_ID_MAX)
    client_secret: str | None = Field(
        None,
        max_length=apps.SECRET_MAX,
        description="Sealed at rest, never shown. Required the first time and whenever client_id "
        "changes; left out (or empty) otherwise, the stored secret is kept.",
    )
    granular_scopes: bool = False
    webhook_key: str | None = Field(
        None,
        max_length=apps.SECRET_MAX,
        description="From the app's Webhooks page. Left out: the stored key is kept. "
        "null or empty: the stored key is removed.",
    )


class AppOut(Output):
    client_id: str | None = Field(description="None: the built-in app is used.")
    own_app: bool
    granular_scopes: bool
    redirect_url: str = Field(description="Register exactly this Redirect URL with your Xero app.")
    webhook_url: str = Field(
        description="Register this as the app's webhook delivery URL (CONTACT, INVOICE, CREDITNOTE events)."
    )
    has_webhook_key: bool = Field(description="Whether a webhook key is stored (it is never shown).")
    connected_through: int = Field(
        description="Organisations connected through your own app (they need reconnecting if it is removed)."
    )


class ConnectOut(Output):
    authorize_url: str


class ConnectionOut(Output):
    id: str
    tenant_id: str
    tenant_name: str
    tenant_type: str
    status: ConnectionStatus
    status_reason: str | None
    is_default: bool
    connected_at: datetime | None
    disconnected_at: datetime | None


class DisconnectOut(Output):
    message: str
    connection: ConnectionOut


class AppRemovedOut(Output):
    message: str
    organisations_to_reconnect: int = Field(
        description="Organisations that were connected through the removed app: reconnect each."
    )
    app: AppOut = Field(description="The app Connect uses now (the built-in one, if configured).")


def _app_out(session: Session, xero: XeroServices, workspace_id: str) -> AppOut:
    """What an admin copies into Xero's developer portal (``apps.view``, as the page shows it)."""
    view = apps.view(session, xero.settings, workspace_id)
    return AppOut(
        client_id=view.client_id,
        own_app=view.own_app,
        granular_scopes=view.granular_scopes,
        redirect_url=view.redirect_url,
        webhook_url=view.webhook_url,
        has_webhook_key=view.has_webhook_key,
        connected_through=view.connected_through,
    )


@router.get("/app", response_model=AppOut)
def get_app(session: SessionDep, actor: ActorDep, xero: XeroDep) -> AppOut:
    return _app_out(session, xero, actor.workspace_id)


@router.put("/app", response_model=AppOut)
def put_app(body: AppIn, session: SessionDep, actor: ManagerDep, xero: XeroDep) -> AppOut:
    """Bring your own Xero app. The secret is sealed at rest and never shown again.

    Leaving out ``client_secret`` keeps the stored one for the same ``client_id`` (a new
    Client ID needs its own secret). Leaving out ``webhook_key`` keeps the stored key;
    sending it as null or empty removes it."""
    given = body.model_fields_set
    apps.save_app(
        session,
        xero.vault,
        actor,
        client_id=body.client_id,
        client_secret=body.client_secret,
        granular_scopes=body.granular_scopes,
        webhook_key=body.webhook_key,
        remove_webhook_key="webhook_key" in given and not body.webhook_key,
    )
    return _app_out(session, xero, actor.workspace_id)


@router.delete("/app", response_model=AppRemovedOut)
def delete_app(session: SessionDep, actor: ManagerDep, xero: XeroDep) -> AppRemovedOut:
    """Remove your own Xero app and its sealed secrets; Connect uses the built-in app again.
    Organisations connected through the removed app need reconnecting (their count is
    returned). 404 when no own app is stored."""
    removed = apps.remove_app(session, actor)
    reconnect = removed.connected_through
    message = "Your Xero app is removed; Connect uses the built-in app." + (
        f" Reconnect the {reconnect} organisation{'s' if reconnect != 1 else ''} connected through it."
        if reconnect
        else ""
    )
    return AppRemovedOut(
        message=message,
        organisations_to_reconnect=reconnect,
        app=_app_out(session, xero, actor.workspace_id),
    )


@router.post("/connect", response_model=ConnectOut)
def connect(session: SessionDep, actor: ManagerDep, xero: XeroDep) -> ConnectOut:
    """Where to send the admin's browser: Xero's sign-in and consent page."""
    return ConnectOut(authorize_url=connections.start(xero, session, actor))


@router.get("/connections", response_model=list[ConnectionOut])
def list_connections(session: SessionDep, actor: ActorDep) -> list[ConnectionOut]:
    return [
        ConnectionOut.model_validate(c) for c in connections.list_connections(session, actor.workspace_id)
    ]


@router.post("/connections/{connection_id}/default", response_model=ConnectionOut)
def make_default(connection_id: str, session: SessionDep, actor: ManagerDep) -> ConnectionOut:
    return ConnectionOut.model_validate(connections.set_default(session, actor, connection_id))


@router.delete("/connections/{connection_id}", response_model=DisconnectOut)
async def disconnect(
    connection_id: str, session: SessionDep, actor: ManagerDep, xero: XeroDep
) -> DisconnectOut:
    connection = await connections.disconnect(xero, session, actor, connection_id)
    return DisconnectOut(
        message="Disconnected successfully", connection=ConnectionOut.model_validate(connection)
    )


class MigrateIn(Input):
    connection_id: str = Field(
        min_length=1, max_length=64, description="The organisation records that belong to none go to."
    )
    dry_run: bool = Field(False, description="Count what it would do; write nothing.")


class MigrateCountsOut(Output):
    assigned: int = Field(description="Now belong to the chosen organisation.")
    kept_linked: int = Field(description="Already linked in another organisation: belong to that one.")
    with_party: int = Field(description="Go with their client (or invoice) to another organisation.")
    already_assigned: int = Field(description="Belonged to an organisation before: untouched.")
    retargeted: int = Field(description="Waiting changes moved to the record's organisation.")


class MigrateOut(Output):
    connection_id: str
    tenant_name: str
    dry_run: bool
    changed: int = Field(description="Records assigned plus waiting changes moved; 0 when run again.")
    counts: dict[str, MigrateCountsOut] = Field(description="Per record type.")


@router.post("/migrate", response_model=MigrateOut)
def migrate_records(body: MigrateIn, session: SessionDep, actor: ManagerDep) -> MigrateOut:
    """Migrate: every record that belongs to no organisation (synced while the workspace had
    one) is assigned to the chosen one, or to the one it is already linked in; links are
    never changed. Running it again changes nothing."""
    report = migrate.migrate(session, actor.workspace_id, body.connection_id, dry_run=body.dry_run)
    return MigrateOut(
        connection_id=report.connection_id,
        tenant_name=report.tenant_name,
        dry_run=report.dry_run,
        changed=report.changed,
        counts={k: MigrateCountsOut.model_validate(v) for k, v in report.counts.items()},
    )


@router.get("/doctor")
async def doctor(actor: ActorDep, xero: XeroDep) -> list[dict[str, object]]:
    """What would stop a sync, per organisation, each problem with its fix."""
    return [as_dict(report) for report in await diagnose(xero, actor.workspace_id)]
