"""The Xero machinery of one process, built once: one HTTP client, one budget, one token
manager and one Xero client. The web app keeps it on ``app.state``; jobs get the same."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from sqlalchemy import update
from sqlalchemy.orm import Session

from ledgerbridge.clock import Clock, SystemClock
from ledgerbridge.db import Database
from ledgerbridge.errors import XeroError
from ledgerbridge.settings import Settings
from ledgerbridge.xero import apps
from ledgerbridge.xero.client import CallCounter, Organisation, XeroClient
from ledgerbridge.xero.limits import Budget
from ledgerbridge.xero.models import ConnectionStatus, XeroConnection
from ledgerbridge.xero.tokens import TokenManager
from ledgerbridge.xero.vault import Vault


def _mark_needs_reconnect(database: Database, org: Organisation, reason: str) -> None:
    with database.session() as session:
        session.execute(
            update(XeroConnection)
            .where(XeroConnection.grant_id == org.grant_id, XeroConnection.tenant_id == org.tenant_id)
            .values(status=ConnectionStatus.NEEDS_RECONNECT, status_reason=reason)
        )


@dataclass
class XeroServices:
    settings: Settings
    database: Database
    vault: Vault
    http: httpx.AsyncClient
    budget: Budget
    tokens: TokenManager
    client: XeroClient
    clock: Clock

    @classmethod
    def build(
        cls,
        settings: Settings,
        database: Database,
        http: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
        vault: Vault | None = None,
    ) -> XeroServices:
        clock = clock or SystemClock()
        vault = vault or Vault.from_settings(settings)
        http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        budget = Budget(clock=clock)

        def resolve(session: Session, workspace_id: str) -> apps.ResolvedApp:
            return apps.resolve(session, settings, vault, workspace_id)

        tokens = TokenManager(database, vault, http, resolve, clock)

        async def access_lost(org: Organisation, error: XeroError) -> None:
            await asyncio.to_thread(_mark_needs_reconnect, database, org, error.detail)

        client = XeroClient(
            http, apps.hosts(settings).api_base, tokens, budget, clock, CallCounter(), access_lost
        )
        return cls(settings, database, vault, http, budget, tokens, client, clock)

    def app_for(self, session: Session, workspace_id: str) -> apps.ResolvedApp:
        return apps.resolve(session, self.settings, self.vault, workspace_id)

    async def aclose(self) -> None:
        await self.http.aclose()
