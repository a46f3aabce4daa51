"""The state of one sandbox: all its data, its clock, its lock and its persistence.

There are no module globals: every ``create_sandbox_app()`` gets its own ``SandboxState``,
so two sandboxes can live in one test process. All mutations happen inside
``state.transaction()``, which holds the state's re-entrant lock (uvicorn may run sync
handlers on a thread pool) and, on exit, flushes what changed to the SQLite file when the
state has one.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ledgerbridge.sandbox.clock import SandboxClock
from ledgerbridge.sandbox.config import LimitConfig, SandboxConfig
from ledgerbridge.sandbox.faults import FaultInjector
from ledgerbridge.sandbox.limits import RateLimiter
from ledgerbridge.sandbox.models import (
    App,
    AuthCode,
    AuthRequest,
    Connection,
    FaultConfig,
    Grant,
    Organisation,
    RefreshToken,
    User,
    WebhookSubscription,
)
from ledgerbridge.sandbox.store import SqliteStore
from ledgerbridge.sandbox.webhooks import WebhookDispatcher

__all__ = ["SandboxState"]

_ORG_SKIP = {"collections", "_listener"}


def _org_doc(org: Organisation) -> dict[str, Any]:
    doc = {f.name: getattr(org, f.name) for f in dataclasses.fields(org) if f.name not in _ORG_SKIP}
    doc["limits"] = dataclasses.asdict(org.limits)
    doc["faults"] = dataclasses.asdict(org.faults)
    doc["counters"] = dict(org.counters)
    return doc


def _org_from_doc(doc: dict[str, Any]) -> Organisation:
    doc = dict(doc)
    doc["limits"] = LimitConfig(**doc.get("limits", {}))
    doc["faults"] = FaultConfig(**doc.get("faults", {}))
    return Organisation(**doc)


def _app_from_doc(doc: dict[str, Any]) -> App:
    doc = dict(doc)
    doc["webhook"] = WebhookSubscription(**doc.get("webhook", {}))
    return App(**doc)


class SandboxState:
    """Every organisation, app, user, grant and token of one sandbox."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        clock: SandboxClock | None = None,
        path: Path | str | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock or SandboxClock()
        self.lock = threading.RLock()
        self.store = SqliteStore(path) if path is not None else None
        self.orgs: dict[str, Organisation] = {}
        self.apps: dict[str, App] = {}
        self.users: dict[str, User] = {}
        self.grants: dict[str, Grant] = {}
        self.connections: dict[str, Connection] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        # Short-lived and deliberately not persisted: a restart signs everyone out.
        self.auth_requests: dict[str, AuthRequest] = {}
        self.auth_codes: dict[str, AuthCode] = {}
        self.sessions: dict[str, str] = {}
        # Runtime helpers that share this state's clock and data.
        self.limiter = RateLimiter(self.clock)
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(self)
        self._dirty_docs: set[tuple[str, str]] = set()
        self._dirty_records: set[tuple[str, str, str]] = set()
        self.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signing_key_id = uuid.uuid4().hex
        if self.store is not None:
            self._load()
        self._mark("meta", "signing_key")

    # -- transactions and persistence -----------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[SandboxState]:
        """Hold the lock while changing state, then persist what changed."""
        with self.lock:
            try:
                yield self
            finally:
                self.flush()

    def flush(self) -> None:
        """Write every changed document and record to the SQLite file (if any)."""
        with self.lock:
            if self.store is None:
                self._dirty_docs.clear()
                self._dirty_records.clear()
                return
            docs = [(kind, key, self._doc(kind, key)) for kind, key in self._dirty_docs]
            records = [
                (tenant_id, collection, record_id, self._record(tenant_id, collection, record_id))
                for tenant_id, collection, record_id in self._dirty_records
            ]
            self._dirty_docs.clear()
            self._dirty_records.clear()
            self.store.write(docs, records)

    def close(self) -> None:
        self.flush()
        if self.store is not None:
            self.store.close()

    def _mark(self, kind: str, key: str) -> None:
        self._dirty_docs.add((kind, key))

    def touch(self, obj: Organisation | App | User | Grant | Connection | RefreshToken) -> None:
        """Record that an object was changed in place, so the next flush saves it."""
        match obj:
            case Organisation():
                self._mark("org", obj.tenant_id)
            case App():
                self._mark("app", obj.client_id)
            case User():
                self._mark("user", obj.user_id)
            case Grant():
                self._mark("grant", obj.grant_id)
            case Connection():
                self._mark("connection", obj.connection_id)
            case RefreshToken():
                self._mark("refresh", obj.token_hash)

    def _record_changed(self, tenant_id: str, collection: str, record_id: str) -> None:
        if collection:
            self._dirty_records.add((tenant_id, collection, record_id))
        else:
            self._mark("org", tenant_id)

    def _doc(self, kind: str, key: str) -> Any | None:
        if kind == "meta":
            return self._meta(key)
        if kind == "org":
            org = self.orgs.get(key)
            return _org_doc(org) if org else None
        tables: dict[str, dict[str, Any]] = {
            "app": self.apps,
            "user": self.users,
            "grant": self.grants,
            "connection": self.connections,
            "refresh": self.refresh_tokens,
        }
        obj = tables[kind].get(key)
        return dataclasses.asdict(obj) if obj is not None else None

    def _record(self, tenant_id: str, collection: str, record_id: str) -> Any | None:
        org = self.orgs.get(tenant_id)
        return org.get_record(collection, record_id) if org else None

    def _meta(self, key: str) -> Any:
        if key == "clock":
            return self.clock.snapshot()
        if key == "signing_key":
            pem = self.signing_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            return {"kid": self.signing_key_id, "pem": pem.decode("ascii")}
        return None

    def _load(self) -> None:
        assert self.store is not None
        loaders: dict[str, Any] = {
            "app": (self.apps, _app_from_doc),
            "user": (self.users, lambda d: User(**d)),
            "grant": (self.grants, lambda d: Grant(**d)),
            "connection": (self.connections, lambda d: Connection(**d)),
            "refresh": (self.refresh_tokens, lambda d: RefreshToken(**d)),
        }
        for kind, key, doc in self.store.documents():
            if kind == "org":
                self._attach(_org_from_doc(doc))
            elif kind == "meta" and key == "clock":
                self.clock.restore(doc["virtual"], doc["speed"])
            elif kind == "meta" and key == "signing_key":
                loaded = serialization.load_pem_private_key(doc["pem"].encode(), password=None)
                if isinstance(loaded, rsa.RSAPrivateKey):
                    self.signing_key, self.signing_key_id = loaded, doc["kid"]
            elif kind in loaders:
                table, build = loaders[kind]
                table[key] = build(doc)
        for tenant_id, collection, record_id, record in self.store.records():
            org = self.orgs.get(tenant_id)
            if org is not None:
                org.collections.setdefault(collection, {})[record_id] = record

    # -- organisations ----------------------------------------------------------------------

    def _attach(self, org: Organisation) -> None:
        org._listener = self._record_changed
        self.orgs[org.tenant_id] = org

    def add_organisation(self, org: Organisation) -> Organisation:
        """Register an organisation; demo users get access to it at once."""
        with self.transaction():
            self._attach(org)
            self._mark("org", org.tenant_id)
            for user in self.users.values():
                if user.all_organisations and org.tenant_id not in user.tenant_ids:
                    user.tenant_ids.append(org.tenant_id)
                    self.touch(user)
            for collection, items in org.collections.items():
                for record_id in items:
                    self._dirty_records.add((org.tenant_id, collection, record_id))
        return org

    def organisation(self, tenant_id: str) -> Organisation | None:
        return self.orgs.get(tenant_id)

    # -- apps and users ---------------------------------------------------------------------

    def add_app(self, app: App) -> App:
        with self.transaction():
            if not app.webhook.key:
                app.webhook.key = secrets.token_urlsafe(48)
            self.apps[app.client_id] = app
            self._mark("app", app.client_id)
        return app

    def add_user(self, user: User) -> User:
        with self.transaction():
            if user.all_organisations:
                user.tenant_ids = sorted(set(user.tenant_ids) | set(self.orgs))
            self.users[user.user_id] = user
            self._mark("user", user.user_id)
        return user

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    # -- grants and connections -------------------------------------------------------------

    def connections_of(self, grant_id: str) -> list[Connection]:
        return sorted(
            (c for c in self.connections.values() if c.grant_id == grant_id),
            key=lambda c: c.created_at,  # stable: ties keep insertion order
        )

    def tenant_ids_of(self, grant_id: str) -> set[str]:
        return {c.tenant_id for c in self.connections.values() if c.grant_id == grant_id}

    def apps_connected_to(self, tenant_id: str) -> list[App]:
        """Apps with at least one live connection to the organisation."""
        client_ids = {
            self.grants[c.grant_id].client_id
            for c in self.connections.values()
            if c.tenant_id == tenant_id and c.grant_id in self.grants
        }
        return [self.apps[cid] for cid in sorted(client_ids) if cid in self.apps]

    def remove_connection(self, connection_id: str) -> None:
        with self.transaction():
            if self.connections.pop(connection_id, None) is not None:
                self._mark("connection", connection_id)

    def remove_grant(self, grant_id: str) -> None:
        """Revoke an authorisation: its connections and refresh tokens go with it."""
        with self.transaction():
            for connection in self.connections_of(grant_id):
                self.remove_connection(connection.connection_id)
            for token in self.refresh_tokens.values():
                if token.grant_id == grant_id and not token.revoked:
                    token.revoked = True
                    self.touch(token)
            if self.grants.pop(grant_id, None) is not None:
                self._mark("grant", grant_id)

    # -- whole state --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything except the clock and the signing key."""
        with self.transaction():
            for table in (self.orgs, self.apps, self.users, self.grants, self.connections,
                          self.refresh_tokens, self.auth_requests, self.auth_codes,
                          self.sessions):
                table.clear()
            self._dirty_docs.clear()
            self._dirty_records.clear()
            self.limiter.reset()
            self.faults.reset()
            self.webhooks.log.clear()
            if self.store is not None:
                self.store.clear()
            self._mark("meta", "signing_key")
            self._mark("meta", "clock")

    def save_clock(self) -> None:
        with self.transaction():
            self._mark("meta", "clock")
