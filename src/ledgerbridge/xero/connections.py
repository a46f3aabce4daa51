"""Connecting and disconnecting Xero organisations, as a workspace admin sees it.

``start`` sends the admin to Xero's consent page with a single-use, expiring ``state``
bound to their user and a PKCE verifier kept sealed until the callback. ``complete``
checks that state, exchanges the code, and records exactly the organisations granted by
*this* consent (its authentication event). ``disconnect`` removes one organisation in Xero,
revokes the authorisation only when no other organisation here rides on it, and forgets the
tokens, while the connection row (and every link to Xero records through it) stays for a
reconnect.

Xero's authorisation is per user and app, not per consent: a second consent by the same
person adds organisations to the same authorisation, and revoking *any* of that person's
refresh tokens removes *all* their connections to the app. So each grant records the Xero
user it was given by, and Disconnect revokes only when it is that user's last organisation
in the workspace; otherwise it deletes just the one connection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from ledgerbridge.db import utcnow
from ledgerbridge.errors import LedgerbridgeError, NotFound, XeroError
from ledgerbridge.logging import get_logger
from ledgerbridge.work.auth import Actor, hash_token
from ledgerbridge.xero import apps, oauth, scopes
from ledgerbridge.xero.models import (
    ConnectionStatus,
    GrantStatus,
    OAuthState,
    XeroConnection,
    XeroGrant,
)
from ledgerbridge.xero.services import XeroServices

STATE_LIFETIME = timedelta(minutes=15)
log = get_logger(__name__)


class ConnectFailed(LedgerbridgeError):
    """The connect flow could not finish; ``detail`` is what the admin is shown."""

    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail, 400, code, "Xero connection failed")


@dataclass(frozen=True)
class Connected:
    connections: list[XeroConnection]
    reconnected: int


def start(services: XeroServices, session: Session, actor: Actor) -> str:
    """The URL of Xero's consent page for this admin."""
    actor.require_manager()
    app = services.app_for(session, actor.workspace_id)
    wanted = scopes.requested(granular=app.granular_scopes)
    request = oauth.authorize_request(
        app.hosts, app.credentials, apps.redirect_uri(services.settings), wanted
    )
    session.add(
        OAuthState(
            workspace_id=actor.workspace_id,
            user_id=actor.user_id,
            state_hash=hash_token(request.state),
            code_verifier_sealed=services.vault.seal(request.code_verifier),
            client_id=app.credentials.client_id,
            scopes=" ".join(wanted),
            expires_at=utcnow() + STATE_LIFETIME,
        )
    )
    session.flush()
    return request.url


def _take_state(session: Session, actor: Actor, state: str | None) -> OAuthState:
    """The pending authorisation for this state: unknown, reused, expired or someone
    else's are all refused the same way, so a forged state learns nothing."""
    pending = (
        session.scalar(select(OAuthState).where(OAuthState.state_hash == hash_token(state)))
        if state
        else None
    )
    valid = (
        pending is not None
        and pending.used_at is None
        and pending.expires_at > utcnow()
        and pending.user_id == actor.user_id
        and pending.workspace_id == actor.workspace_id
    )
    if not valid or pending is None:
        raise ConnectFailed(
            "This Xero sign-in could not be verified (it expired, was already used, or did not start "
            "here). Click Connect to start again.",
            "xero_state_invalid",
        )
    pending.used_at = utcnow()
    return pending


async def complete(
    services: XeroServices,
    session: Session,
    actor: Actor,
    state: str | None,
    code: str | None,
    error: str | None,
) -> Connected:
    actor.require_manager()
    pending = _take_state(session, actor, state)
    # Spend the state now, whatever happens next: a state must never be usable twice, even
    # when the rest of this request fails and its unit of work rolls back.
    session.commit()
    if error:
        message = (
            "Access to Xero was not allowed, so nothing was connected."
            if error == "access_denied"
            else f"Xero did not complete the sign-in ({error})."
        )
        raise ConnectFailed(message, f"xero_{error}")
    if not code:
        raise ConnectFailed(
            "Xero returned no authorisation code. Click Connect to try again.", "xero_no_code"
        )
    app = services.app_for(session, actor.workspace_id)
    try:
        tokens = await oauth.exchange_code(
            services.http,
            app.hosts,
            app.credentials,
            code,
            apps.redirect_uri(services.settings),
            services.vault.open(pending.code_verifier_sealed),
            services.clock.utcnow(),
        )
        claims = _claims(tokens.access_token)
        event = claims.get("authentication_event_id")
        tenants = await oauth.list_tenants(services.http, app.hosts, tokens.access_token, event)
    except XeroError as exc:
        raise ConnectFailed(f"Xero refused the sign-in: {exc.detail}", "xero_exchange_failed") from exc
    if tokens.refresh_token is None:
        raise ConnectFailed("Xero issued no refresh token (offline_access missing).", "xero_no_refresh")
    grant = _store_grant(services, session, actor, app.credentials.client_id, tokens, claims)
    return _record_tenants(session, actor, grant, tenants)


def _claims(access_token: str) -> dict[str, str | None]:
    """The consent's event id (so only organisations granted *now* are recorded) and the
    Xero user who gave it (so Disconnect knows which organisations share an authorisation).
    Unsigned reading is enough: the token came straight from Xero's token endpoint."""
    try:
        claims = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        claims = {}
    return {
        key: str(claims[key]) if claims.get(key) else None
        for key in ("authentication_event_id", "xero_userid")
    }


def _store_grant(
    services: XeroServices,
    session: Session,
    actor: Actor,
    client_id: str,
    tokens: oauth.TokenSet,
    claims: dict[str, str | None],
) -> XeroGrant:
    assert tokens.refresh_token is not None
    grant = XeroGrant(
        workspace_id=actor.workspace_id,
        client_id=client_id,
        auth_event_id=claims["authentication_event_id"],
        xero_user_id=claims["xero_userid"],
        scopes=" ".join(tokens.scopes),
        access_token_sealed=services.vault.seal(tokens.access_token),
        refresh_token_sealed=services.vault.seal(tokens.refresh_token),
        access_expires_at=tokens.expires_at,
        refreshed_at=services.clock.utcnow(),
    )
    session.add(grant)
    session.flush()
    return grant


def _record_tenants(
    session: Session, actor: Actor, grant: XeroGrant, tenants: list[oauth.Tenant]
) -> Connected:
    existing = {
        c.tenant_id: c
        for c in session.scalars(
            select(XeroConnection).where(XeroConnection.workspace_id == actor.workspace_id)
        )
    }
    has_default = any(c.is_default and c.status is ConnectionStatus.CONNECTED for c in existing.values())
    recorded, reconnected = [], 0
    for tenant in tenants:
        connection = existing.get(tenant.tenant_id)
        if connection is None:
            connection = XeroConnection(workspace_id=actor.workspace_id, tenant_id=tenant.tenant_id)
            session.add(connection)
        else:
            reconnected += 1
        connection.tenant_name = tenant.tenant_name
        connection.tenant_type = tenant.tenant_type
        connection.xero_connection_id = tenant.connection_id
        connection.grant_id = grant.id
        connection.status = ConnectionStatus.CONNECTED
        connection.status_reason = None
        connection.connected_at = utcnow()
        connection.disconnected_at = None
        if not has_default:
            connection.is_default, has_default = True, True
        recorded.append(connection)
    session.flush()
    log.info(
        "xero.connected", workspace_id=actor.workspace_id, tenants=len(recorded), reconnected=reconnected
    )
    return Connected(recorded, reconnected)


def list_connections(session: Session, workspace_id: str) -> list[XeroConnection]:
    return list(
        session.scalars(
            select(XeroConnection)
            .where(XeroConnection.workspace_id == workspace_id)
            .order_by(XeroConnection.tenant_name)
        )
    )


def get_connection(session: Session, workspace_id: str, connection_id: str) -> XeroConnection:
    connection = session.scalar(
        select(XeroConnection).where(
            XeroConnection.workspace_id == workspace_id, XeroConnection.id == connection_id
        )
    )
    if connection is None:
        raise NotFound(f"No Xero organisation with id '{connection_id}' is connected to this workspace.")
    return connection


def set_default(session: Session, actor: Actor, connection_id: str) -> XeroConnection:
    actor.require_manager()
    chosen = get_connection(session, actor.workspace_id, connection_id)
    for connection in list_connections(session, actor.workspace_id):
        connection.is_default = connection.id == chosen.id
    session.flush()
    return chosen


async def disconnect(
    services: XeroServices, session: Session, actor: Actor, connection_id: str
) -> XeroConnection:
    """Disconnect one organisation; links to its records are kept for a later reconnect."""
    actor.require_manager()
    connection = get_connection(session, actor.workspace_id, connection_id)
    grant = session.get(XeroGrant, connection.grant_id) if connection.grant_id else None
    if grant is not None and grant.status is GrantStatus.ACTIVE:
        await _disconnect_in_xero(services, session, grant, connection)
    connection.status = ConnectionStatus.DISCONNECTED
    connection.status_reason = None
    connection.grant_id = None
    connection.is_default = False
    connection.disconnected_at = utcnow()
    session.flush()
    if grant is not None and not _grant_in_use(session, grant.id):
        session.delete(grant)
        services.tokens.forget(grant.id)
    log.info("xero.disconnected", workspace_id=actor.workspace_id, tenant_id=connection.tenant_id)
    return connection


async def _disconnect_in_xero(
    services: XeroServices, session: Session, grant: XeroGrant, connection: XeroConnection
) -> None:
    app = services.app_for(session, grant.workspace_id)
    try:
        if _shares_authorisation(session, grant, connection):
            token = await services.tokens.access_token(grant.id)
            if connection.xero_connection_id:
                await oauth.delete_connection(services.http, app.hosts, token, connection.xero_connection_id)
        else:
            refresh_token = services.vault.open(grant.refresh_token_sealed)
            await oauth.revoke(services.http, app.hosts, app.credentials, refresh_token)
    except XeroError as exc:
        # Already gone on Xero's side (revoked there, expired): forgetting it here is still right.
        log.warning("xero.disconnect.remote_failed", tenant_id=connection.tenant_id, error=exc.code)


def _shares_authorisation(session: Session, grant: XeroGrant, connection: XeroConnection) -> bool:
    """Whether another organisation here rides on the same Xero authorisation: the same
    grant, or another grant of the same app given by the same Xero user. A grant whose user
    is unknown (stored before users were recorded) is taken to share, since deleting one
    connection is always safe and revoking a shared authorisation disconnects the rest."""
    rows = session.execute(
        select(XeroConnection.id, XeroGrant.id, XeroGrant.xero_user_id)
        .join(XeroGrant, XeroGrant.id == XeroConnection.grant_id)
        .where(
            XeroConnection.workspace_id == grant.workspace_id,
            XeroConnection.id != connection.id,
            XeroConnection.status != ConnectionStatus.DISCONNECTED,
            XeroGrant.client_id == grant.client_id,
        )
    )
    return any(
        grant_id == grant.id or user_id is None or grant.xero_user_id is None or user_id == grant.xero_user_id
        for _, grant_id, user_id in rows
    )


def _grant_in_use(session: Session, grant_id: str) -> bool:
    return (
        session.scalar(select(XeroConnection.id).where(XeroConnection.grant_id == grant_id).limit(1))
        is not None
    )

