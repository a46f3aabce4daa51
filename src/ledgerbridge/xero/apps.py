"""Which Xero app a workspace uses, and where Xero is for it.

A workspace may bring its own app (Client ID and sealed Secret in ``XeroApp``); otherwise
the built-in app from the settings is used (in the demo, the sandbox's app). In sandbox
mode every host is the sandbox's one base URL.

Storing and removing the own app happens here only (``save_app``, ``remove_app``), and what
an admin is shown of it (``view``: the URLs to register, whether a webhook key is stored,
never a secret), so ``PUT``/``DELETE /xero/app`` and the "Your Xero app" page follow one
set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ledgerbridge.errors import FieldError, LedgerbridgeError, NotFound, ValidationFailed
from ledgerbridge.logging import get_logger
from ledgerbridge.settings import Settings
from ledgerbridge.work.auth import Actor
from ledgerbridge.xero.hosts import XeroHosts
from ledgerbridge.xero.models import ConnectionStatus, GrantStatus, XeroApp, XeroConnection, XeroGrant
from ledgerbridge.xero.oauth import AppCredentials
from ledgerbridge.xero.vault import Vault

CALLBACK_PATH = "/integrations/xero/callback"
BUILT_IN_WEBHOOK_PATH = "/webhooks/xero"
"""Where Xero delivers the built-in app's webhooks (the route is ``web.webhooks``)."""
OWN_APP_WEBHOOK_PATH = "/webhooks/xero/{workspace_id}"
"""Where Xero delivers a workspace's own app's webhooks, verified with that app's key."""
CLIENT_ID_MAX = 100
"""The column's width; a Xero Client ID is 32 characters."""
SECRET_MAX = 500
"""Generous for a Client Secret or webhook key, yet refuses a pasted page."""

log = get_logger(__name__)


class NoXeroApp(LedgerbridgeError):
    def __init__(self) -> None:
        super().__init__(
            "No Xero app is configured: enter your app's Client ID and Client Secret in Settings, "
            "or run with the built-in sandbox.",
            409,
            "xero_app_missing",
            "Xero app missing",
        )


@dataclass(frozen=True)
class ResolvedApp:
    credentials: AppCredentials
    hosts: XeroHosts
    granular_scopes: bool
    own: bool


def hosts(settings: Settings) -> XeroHosts:
    if settings.xero_sandbox_url:
        return XeroHosts.sandbox(settings.xero_sandbox_url)
    return XeroHosts.xero()


def redirect_uri(settings: Settings) -> str:
    """The exact Redirect URL to register with the Xero app."""
    return settings.base_url.rstrip("/") + CALLBACK_PATH


def resolve(session: Session, settings: Settings, vault: Vault, workspace_id: str) -> ResolvedApp:
    own = session.scalar(select(XeroApp).where(XeroApp.workspace_id == workspace_id))
    if own is not None:
        return ResolvedApp(
            AppCredentials(own.client_id, vault.open(own.client_secret_sealed)),
            hosts(settings),
            own.granular_scopes,
            own=True,
        )
    if settings.xero_client_id:
        secret = settings.xero_client_secret.get_secret_value() if settings.xero_client_secret else None
        return ResolvedApp(
            AppCredentials(settings.xero_client_id, secret),
            hosts(settings),
            settings.xero_granular_scopes,
            own=False,
        )
    raise NoXeroApp()


# -- the workspace's own app: what is shown, storing and removing it ---------------------------


@dataclass(frozen=True)
class AppView:
    """What an admin sees of the app Connect uses; never a secret."""

    client_id: str | None
    """None: no app at all (no own app and no built-in one)."""
    own_app: bool
    granular_scopes: bool
    redirect_url: str
    webhook_url: str
    """The delivery URL of the app in use: the built-in app's shared one, or the own app's."""
    own_webhook_url: str
    """What to register with the workspace's own app, even before it is saved."""
    has_webhook_key: bool
    saved_at: datetime | None
    """When the own app was last saved."""
    connected_through: int
    """Organisations connected through the own app: removing it means reconnecting them."""


@dataclass(frozen=True)
class RemovedApp:
    client_id: str
    connected_through: int
    """Organisations that were connected through the removed app and need reconnecting."""


def webhook_url(settings: Settings, workspace_id: str | None = None) -> str:
    """The webhook delivery URL: the built-in app's (no workspace), or a workspace's own app's."""
    path = (
        BUILT_IN_WEBHOOK_PATH
        if workspace_id is None
        else OWN_APP_WEBHOOK_PATH.format(workspace_id=workspace_id)
    )
    return settings.base_url.rstrip("/") + path


def own_app(session: Session, workspace_id: str) -> XeroApp | None:
    return session.scalar(select(XeroApp).where(XeroApp.workspace_id == workspace_id))


def _needs_reconnect(session: Session, workspace_id: str, client_id: str, reason: str) -> None:
    """Stop using the workspace's grants given to the app with this Client ID, and show why
    on each organisation that was connected through them (disconnected ones stay so)."""
    grant_ids = list(
        session.scalars(
            select(XeroGrant.id).where(
                XeroGrant.workspace_id == workspace_id, XeroGrant.client_id == client_id
            )
        )
    )
    if not grant_ids:
        return
    session.execute(
        update(XeroGrant)
        .where(XeroGrant.id.in_(grant_ids), XeroGrant.status == GrantStatus.ACTIVE)
        .values(status=GrantStatus.NEEDS_RECONNECT, status_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    session.execute(
        update(XeroConnection)
        .where(
            XeroConnection.grant_id.in_(grant_ids),
            XeroConnection.status == ConnectionStatus.CONNECTED,
        )
        .values(status=ConnectionStatus.NEEDS_RECONNECT, status_reason=reason)
        .execution_options(synchronize_session="fetch")
    )


def connected_through(session: Session, workspace_id: str, client_id: str) -> int:
    """Organisations (not disconnected) whose sign-in was given to the app with this Client ID."""
    count = session.scalar(
        select(func.count())
        .select_from(XeroConnection)
        .join(XeroGrant, XeroGrant.id == XeroConnection.grant_id)
        .where(
            XeroConnection.workspace_id == workspace_id,
            XeroConnection.status != ConnectionStatus.DISCONNECTED,
            XeroGrant.client_id == client_id,
        )
    )
    return int(count or 0)


def view(session: Session, settings: Settings, workspace_id: str) -> AppView:
    """The app in use and what to register with it, for ``GET /xero/app`` and the page alike."""
    own = own_app(session, workspace_id)
    own_url = webhook_url(settings, workspace_id)
    if own is not None:
        return AppView(
            client_id=own.client_id,
            own_app=True,
            granular_scopes=own.granular_scopes,
            redirect_url=redirect_uri(settings),
            webhook_url=own_url,
            own_webhook_url=own_url,
            has_webhook_key=own.webhook_key_sealed is not None,
            saved_at=own.updated_at,
            connected_through=connected_through(session, workspace_id, own.client_id),
        )
    return AppView(
        client_id=settings.xero_client_id,
        own_app=False,
        granular_scopes=settings.xero_granular_scopes,
        redirect_url=redirect_uri(settings),
        webhook_url=webhook_url(settings),
        own_webhook_url=own_url,
        has_webhook_key=settings.xero_webhook_key is not None,
        saved_at=None,
        connected_through=0,
    )


def _app_errors(
    client_id: str, client_secret: str, webhook_key: str, own: XeroApp | None
) -> list[FieldError]:
    """Every problem at once, each naming its field and the fix (never echoing a secret)."""
    errors = []
    if not client_id:
        errors.append(FieldError("client_id", "paste the Client ID from your app's page in Xero's portal."))
    elif len(client_id) > CLIENT_ID_MAX:
        errors.append(
            FieldError(
                "client_id",
                f"this is longer than {CLIENT_ID_MAX} characters; check that you copied only it.",
            )
        )
    if not client_secret and own is None:
        errors.append(
            FieldError(
                "client_secret",
                "paste a secret from your app's page in Xero (Generate a secret, then copy it).",
            )
        )
    elif not client_secret and own is not None and client_id and client_id != own.client_id:
        errors.append(
            FieldError(
                "client_secret", "a different Client ID is a different app; paste that app's secret too."
            )
        )
    for name, value in (("client_secret", client_secret), ("webhook_key", webhook_key)):
        if len(value) > SECRET_MAX:
            errors.append(
                FieldError(
                    name, f"this is longer than {SECRET_MAX} characters; check that you copied only it."
                )
            )
    return errors


def save_app(
    session: Session,
    vault: Vault,
    actor: Actor,
    *,
    client_id: str,
    client_secret: str | None = None,
    granular_scopes: bool = False,
    webhook_key: str | None = None,
    remove_webhook_key: bool = False,
) -> XeroApp:
    """Store the workspace's own app, its secrets sealed.

    A secret left empty keeps the stored one, unless the Client ID changes: another Client
    ID is another app, whose secret the stored one is not. A webhook key left empty keeps
    the stored one; ``remove_webhook_key`` clears it (deliveries to the own app's webhook URL
    are then refused until a key is stored again).
    """
    actor.require_manager()
    own = own_app(session, actor.workspace_id)
    client_id = client_id.strip()
    secret = (client_secret or "").strip()
    key = "" if remove_webhook_key else (webhook_key or "").strip()
    errors = _app_errors(client_id, secret, key, own)
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors)
    if own is None:
        own = XeroApp(workspace_id=actor.workspace_id)
        session.add(own)
    own.client_id = client_id
    if secret:
        own.client_secret_sealed = vault.seal(secret)
    own.granular_scopes = granular_scopes
    if remove_webhook_key:
        own.webhook_key_sealed = None
    elif key:
        own.webhook_key_sealed = vault.seal(key)
    session.flush()
    log.info(
        "xero.app.saved",
        workspace_id=actor.workspace_id,
        client_id=client_id,
        secret_replaced=bool(secret),
        has_webhook_key=own.webhook_key_sealed is not None,
    )
    return own


def removed_app_reason(client_id: str) -> str:
    """Why an organisation connected through a removed own app needs reconnecting, and what
    to do: shown on the Integrations page, as a failed token refresh's reason is."""
    return (
        f"Your own Xero app (Client ID {client_id}) was removed, and this organisation was "
        "connected through it, so its sign-in can no longer be renewed. Click Reconnect to "
        "connect it again through the app now in use; its records and links are kept."
    )


def remove_app(session: Session, actor: Actor) -> RemovedApp:
    """Forget the workspace's own app and its sealed secrets: Connect uses the built-in app
    from now on. The organisations connected through it keep their links, but their tokens
    belong to the removed app and would fail at the next refresh, so they are marked as
    needing reconnecting now, the way a refused refresh marks them (``TokenManager``): the
    grant stops being used and each organisation shows the reason; how many is reported."""
    actor.require_manager()
    own = own_app(session, actor.workspace_id)
    if own is None:
        raise NotFound("No own Xero app is stored for this workspace; the built-in app is in use.")
    removed = RemovedApp(own.client_id, connected_through(session, actor.workspace_id, own.client_id))
    _needs_reconnect(session, actor.workspace_id, own.client_id, removed_app_reason(own.client_id))
    session.delete(own)
    session.flush()
    log.info(
        "xero.app.removed",
        workspace_id=actor.workspace_id,
        client_id=removed.client_id,
        connected_through=removed.connected_through,
    )
    return removed
