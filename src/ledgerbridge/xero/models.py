"""Tables for Xero connections: the workspace's own app, authorisations and organisations.

Xero issues one token pair per *authorisation* (a user consenting for an app), and that
pair serves every organisation chosen in the consent. So tokens live on ``XeroGrant``,
and each organisation is a ``XeroConnection`` pointing at its grant. A connection survives
a disconnect (with no grant) so that the links to Xero records it owns are kept, and a
reconnect of the same organisation picks them up again.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledgerbridge.db import Base, IdMixin, TimestampMixin, UTCDateTime
from ledgerbridge.work.models._base import WorkspaceScoped, enum_column


class XeroApp(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """A workspace's own Xero app (bring your own app). Without one, the sandbox app is used."""

    __tablename__ = "xero_apps"
    __table_args__ = (UniqueConstraint("workspace_id"),)

    client_id: Mapped[str] = mapped_column(String(100))
    client_secret_sealed: Mapped[str] = mapped_column(Text)
    granular_scopes: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_key_sealed: Mapped[str | None] = mapped_column(Text)


class GrantStatus(enum.StrEnum):
    ACTIVE = "active"
    NEEDS_RECONNECT = "needs_reconnect"
    REVOKED = "revoked"


class XeroGrant(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One authorisation: its sealed token pair, scopes and refresh history."""

    __tablename__ = "xero_grants"

    client_id: Mapped[str] = mapped_column(String(100))
    auth_event_id: Mapped[str | None] = mapped_column(String(64))
    xero_user_id: Mapped[str | None] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text, default="")
    access_token_sealed: Mapped[str] = mapped_column(Text)
    refresh_token_sealed: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    refresh_count: Mapped[int] = mapped_column(Integer, default=0)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[GrantStatus] = enum_column(GrantStatus, default=GrantStatus.ACTIVE)
    status_reason: Mapped[str | None] = mapped_column(Text)


class ConnectionStatus(enum.StrEnum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class XeroConnection(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """One Xero organisation connected to a workspace."""

    __tablename__ = "xero_connections"
    __table_args__ = (UniqueConstraint("workspace_id", "tenant_id"),)

    tenant_id: Mapped[str] = mapped_column(String(64))
    tenant_name: Mapped[str] = mapped_column(String(255))
    tenant_type: Mapped[str] = mapped_column(String(32), default="ORGANISATION")
    xero_connection_id: Mapped[str | None] = mapped_column(String(64))
    grant_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("xero_grants.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[ConnectionStatus] = enum_column(ConnectionStatus, default=ConnectionStatus.CONNECTED)
    status_reason: Mapped[str | None] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    day_limit: Mapped[int] = mapped_column(Integer, default=5_000)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OAuthState(IdMixin, TimestampMixin, WorkspaceScoped, Base):
    """An authorisation in progress: single use, bound to the user who started it, expiring."""

    __tablename__ = "xero_oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("users.id", ondelete="CASCADE"))
    code_verifier_sealed: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookEvent(IdMixin, TimestampMixin, Base):
    """An event Xero delivered, stored once (the inbox) before anything acts on it.

    Xero retries deliveries, so the same event can arrive more than once: ``dedupe_key``
    (a hash of its identifying fields) makes the second copy a no-op. Events carry ids, not
    data; handling one means fetching that record.
    """

    __tablename__ = "xero_webhook_events"

    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    event_category: Mapped[str] = mapped_column(String(30))
    event_type: Mapped[str] = mapped_column(String(30))
    resource_id: Mapped[str] = mapped_column(String(64))
    event_date: Mapped[datetime] = mapped_column(UTCDateTime())
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
