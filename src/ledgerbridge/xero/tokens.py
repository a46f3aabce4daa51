"""Access tokens on demand, with refresh-token rotation that can never fork.

Xero's refresh tokens are single use: two processes refreshing the same grant at once
would leave one of them holding a dead token. So a refresh is single-flight at two levels:
an ``asyncio.Lock`` per grant inside a process, and a write lock on the grant's row across
processes (the first statement of the refresh transaction is an UPDATE of that row, which
takes a row lock on PostgreSQL and the database write lock on SQLite). After the lock is
taken the credentials are read again: if another process refreshed meanwhile, its token is
used. A stored token still fresh is read without the lock (``_stored_token``).
A new pair is committed before it is used, so a crash after the refresh leaves the
new pair stored (or, if the commit itself was lost, the old token is still inside Xero's
30-minute grace period and the next attempt recovers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledgerbridge.clock import Clock, SystemClock
from ledgerbridge.db import Database
from ledgerbridge.errors import XeroAuthError
from ledgerbridge.logging import get_logger
from ledgerbridge.xero import oauth
from ledgerbridge.xero.apps import ResolvedApp
from ledgerbridge.xero.models import ConnectionStatus, GrantStatus, XeroConnection, XeroGrant
from ledgerbridge.xero.vault import Vault

REFRESH_AHEAD = timedelta(minutes=5)
IDLE_REFRESH_AFTER = timedelta(days=14)
"""Refresh tokens die after 60 days unused; refreshing idle grants every two weeks keeps
them alive with plenty of margin."""

log = get_logger(__name__)

AppResolver = Callable[[Session, str], ResolvedApp]
"""(session, workspace_id) -> the app and hosts that grant's workspace uses."""


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: datetime


class TokenManager:
    def __init__(
        self,
        database: Database,
        vault: Vault,
        http: httpx.AsyncClient,
        resolve_app: AppResolver,
        clock: Clock | None = None,
    ) -> None:
        self.database = database
        self.vault = vault
        self.http = http
        self.resolve_app = resolve_app
        self.clock = clock or SystemClock()
        self._locks: dict[str, asyncio.Lock] = {}
        self._cache: dict[str, _Cached] = {}

    def _fresh(self, expires_at: datetime) -> bool:
        return expires_at - REFRESH_AHEAD > self.clock.utcnow()

    async def access_token(self, grant_id: str, stale: str | None = None) -> str:
        """A usable access token; ``stale`` is one Xero just refused, so never return it."""
        cached = self._cache.get(grant_id)
        if cached and cached.token != stale and self._fresh(cached.expires_at):
            return cached.token
        lock = self._locks.setdefault(grant_id, asyncio.Lock())
        async with lock:
            cached = self._cache.get(grant_id)
            if cached and cached.token != stale and self._fresh(cached.expires_at):
                return cached.token
            return await self._refresh_if_needed(grant_id, stale)

    async def _refresh_if_needed(self, grant_id: str, stale: str | None) -> str:
        stored = await asyncio.to_thread(self._stored_token, grant_id, stale)
        if stored is not None:
            self._cache[grant_id] = stored
            return stored.token
        session = self.database.sessions()
        try:
            grant = await asyncio.to_thread(self._lock_grant, session, grant_id)
            current = self.vault.open(grant.access_token_sealed)
            if current != stale and self._fresh(grant.access_expires_at):
                await asyncio.to_thread(session.commit)
                self._cache[grant_id] = _Cached(current, grant.access_expires_at)
                return current
            token = await self._refresh(session, grant)
            self._cache[grant_id] = _Cached(token.access_token, token.expires_at)
            return token.access_token
        finally:
            await asyncio.to_thread(session.close)

    def _stored_token(self, grant_id: str, stale: str | None) -> _Cached | None:
        """The stored access token if it is usable as it is, read without the lock.

        Only a refresh needs the grant's row lock. Taking it merely to read a fresh token
        (every process start, every new grant) held a write transaction open across an
        await: on SQLite that is the database's one write lock, so another job on the same
        event loop writing meanwhile (a second organisation's sync starting its import)
        blocked the loop on it, the holder could never commit, and the writer failed with
        "database is locked" after the busy timeout. A token read here is at worst one
        another process is replacing; it stays valid until it expires (``REFRESH_AHEAD``).
        """
        with self.database.session() as session:
            grant = session.get(XeroGrant, grant_id)
            if grant is None or grant.status is not GrantStatus.ACTIVE:
                return None  # the locked path says why
            current = self.vault.open(grant.access_token_sealed)
            if current == stale or not self._fresh(grant.access_expires_at):
                return None
            return _Cached(current, grant.access_expires_at)

    def _lock_grant(self, session: Session, grant_id: str) -> XeroGrant:
        """Take the cross-process lock (a write to the row) and read the row afresh."""
        session.execute(
            update(XeroGrant)
            .where(XeroGrant.id == grant_id)
            .values(lock_version=XeroGrant.lock_version + 1)
            .execution_options(synchronize_session=False)
        )
        grant = session.scalar(
            select(XeroGrant).where(XeroGrant.id == grant_id).execution_options(populate_existing=True)
        )
        if grant is None:
            raise XeroAuthError("This Xero connection has been removed; connect again.", "grant_missing")
        if grant.status is not GrantStatus.ACTIVE:
            raise XeroAuthError(grant.status_reason or "This Xero connection needs reconnecting.")
        return grant

    async def _refresh(self, session: Session, grant: XeroGrant) -> oauth.TokenSet:
        app = await asyncio.to_thread(self.resolve_app, session, grant.workspace_id)
        refresh_token = self.vault.open(grant.refresh_token_sealed)
        try:
            tokens = await oauth.refresh(
                self.http, app.hosts, app.credentials, refresh_token, self.clock.utcnow()
            )
        except XeroAuthError as exc:
            await asyncio.to_thread(self._mark_needs_reconnect, session, grant, exc.detail)
            raise
        await asyncio.to_thread(self._store, session, grant, tokens)
        log.info("xero.token.refreshed", grant_id=grant.id, refresh_count=grant.refresh_count)
        return tokens

    def _store(self, session: Session, grant: XeroGrant, tokens: oauth.TokenSet) -> None:
        grant.access_token_sealed = self.vault.seal(tokens.access_token)
        if tokens.refresh_token:
            grant.refresh_token_sealed = self.vault.seal(tokens.refresh_token)
        grant.access_expires_at = tokens.expires_at
        grant.refreshed_at = self.clock.utcnow()
        grant.refresh_count += 1
        if tokens.scopes:
            grant.scopes = " ".join(tokens.scopes)
        session.commit()

    def _mark_needs_reconnect(self, session: Session, grant: XeroGrant, reason: str) -> None:
        """Stop using a grant Xero no longer honours, and show why on each organisation."""
        grant.status = GrantStatus.NEEDS_RECONNECT
        grant.status_reason = reason
        session.execute(
            update(XeroConnection)
            .where(XeroConnection.grant_id == grant.id)
            .values(status=ConnectionStatus.NEEDS_RECONNECT, status_reason=reason)
        )
        session.commit()
        self._cache.pop(grant.id, None)
        log.warning("xero.token.needs_reconnect", grant_id=grant.id, reason=reason)

    def forget(self, grant_id: str) -> None:
        self._cache.pop(grant_id, None)

    async def refresh_idle(self) -> int:
        """Refresh every active grant not refreshed for two weeks; returns how many were."""
        cutoff = self.clock.utcnow() - IDLE_REFRESH_AFTER
        with self.database.session() as session:
            idle = list(
                session.scalars(
                    select(XeroGrant.id).where(
                        XeroGrant.status == GrantStatus.ACTIVE, XeroGrant.refreshed_at < cutoff
                    )
                )
            )
        refreshed = 0
        for grant_id in idle:
            refreshed += await self._refresh_if_idle(grant_id, cutoff)
        return refreshed

    async def _refresh_if_idle(self, grant_id: str, cutoff: datetime) -> int:
        lock = self._locks.setdefault(grant_id, asyncio.Lock())
        async with lock:
            session = self.database.sessions()
            try:
                grant = await asyncio.to_thread(self._lock_grant, session, grant_id)
                if grant.refreshed_at >= cutoff:  # another process got there first
                    await asyncio.to_thread(session.commit)
                    return 0
                token = await self._refresh(session, grant)
                self._cache[grant_id] = _Cached(token.access_token, token.expires_at)
                return 1
            finally:
                await asyncio.to_thread(session.close)
