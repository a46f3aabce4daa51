"""The sandbox's data: organisations, developer apps, users, grants and tokens.

Plain dataclasses, no behaviour beyond small helpers: the rules live in ``identity``,
``limits``, ``faults`` and ``webhooks``, and the container with its lock and persistence in
``state``. Record collections hold dicts in Xero's own JSON shape (PascalCase keys), so an
API family serialises them with little more than an envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledgerbridge.sandbox.config import LimitConfig

__all__ = [
    "App",
    "AuthCode",
    "AuthRequest",
    "Connection",
    "FaultConfig",
    "Grant",
    "Organisation",
    "Record",
    "RefreshToken",
    "User",
    "WebhookSubscription",
]

Record = dict[str, Any]
"""One Xero record, e.g. a Contact: ``{"ContactID": "...", "Name": "...", ...}``."""

ChangeListener = Callable[[str, str, str], None]
"""Called as ``listener(tenant_id, collection, record_id)`` after a record changes."""


@dataclass
class FaultConfig:
    """Failures to inject into one organisation's API calls (see ``faults``)."""

    fail_next: list[int] = field(default_factory=list)
    """Statuses (500 or 503) returned by the next requests, one per request, in order."""
    error_rate_500: float = 0.0
    error_rate_503: float = 0.0
    seed: int = 0
    """Seed of the RNG behind the error rates, so a rate-based run is reproducible."""
    latency_ms: int = 0
    timeout_next: int = 0
    """The next N requests hang for ``hang_seconds`` and then answer 504."""
    timeout_mode: str = "hang"
    """``hang`` (a real wait, for clients over a socket) or ``raise`` (in-process: the
    request raises ``httpx.ReadTimeout`` at once, without running the handler)."""
    drop_after_commit_next: int = 0
    """The next N requests run and commit, then the client gets no response."""
    offline: bool = False
    """Organisation offline: every call answers 503 until cleared."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "fail_next": list(self.fail_next),
            "error_rate_500": self.error_rate_500,
            "error_rate_503": self.error_rate_503,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "timeout_next": self.timeout_next,
            "timeout_mode": self.timeout_mode,
            "drop_after_commit_next": self.drop_after_commit_next,
            "offline": self.offline,
        }


@dataclass
class Organisation:
    """One Xero organisation (tenant) and its record collections."""

    tenant_id: str
    name: str
    country_code: str
    base_currency: str
    short_code: str
    created_at: datetime
    organisation_type: str = "COMPANY"
    legal_name: str = ""
    timezone: str = "AUSEASTERNSTANDARDTIME"
    is_demo_company: bool = False
    limits: LimitConfig = field(default_factory=LimitConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    counters: dict[str, int] = field(default_factory=dict)
    collections: dict[str, dict[str, Record]] = field(default_factory=dict, repr=False)
    _listener: ChangeListener | None = field(default=None, repr=False, compare=False)

    # -- records -------------------------------------------------------------------------

    def records(self, collection: str) -> Mapping[str, Record]:
        """All records of a collection by id. Read-only: change them with ``put_record``."""
        return self.collections.get(collection, {})

    def iter_records(self, collection: str) -> Iterator[Record]:
        return iter(list(self.collections.get(collection, {}).values()))

    def get_record(self, collection: str, record_id: str) -> Record | None:
        return self.collections.get(collection, {}).get(record_id)

    def put_record(self, collection: str, record_id: str, record: Record) -> None:
        """Insert or replace a record. Always call this after changing a record, even in
        place: it is what persists the change."""
        self.collections.setdefault(collection, {})[record_id] = record
        self._changed(collection, record_id)

    def delete_record(self, collection: str, record_id: str) -> bool:
        removed = self.collections.get(collection, {}).pop(record_id, None) is not None
        if removed:
            self._changed(collection, record_id)
        return removed

    def collection_sizes(self) -> dict[str, int]:
        return {name: len(items) for name, items in sorted(self.collections.items())}

    def next_number(self, sequence: str) -> int:
        """The next value of a named counter (e.g. ``"INV"`` for ``INV-0001``), from 1."""
        value = self.counters.get(sequence, 0) + 1
        self.counters[sequence] = value
        self._changed("", "")
        return value

    def _changed(self, collection: str, record_id: str) -> None:
        if self._listener is not None:
            self._listener(self.tenant_id, collection, record_id)

    def summary(self) -> dict[str, Any]:
        """The control API's view of the organisation."""
        return {
            "tenant_id": self.tenant_id,
            "name": self.name,
            "country_code": self.country_code,
            "base_currency": self.base_currency,
            "short_code": self.short_code,
            "organisation_type": self.organisation_type,
            "legal_name": self.legal_name or self.name,
            "timezone": self.timezone,
            "is_demo_company": self.is_demo_company,
            "created_at": self.created_at.isoformat(),
            "limits": self.limits.as_dict(),
            "faults": self.faults.as_dict(),
            "collections": self.collection_sizes(),
        }


@dataclass
class WebhookSubscription:
    """An app's webhook: one URL for every connected organisation (Xero's model)."""

    url: str | None = None
    key: str = ""
    status: str = "PENDING"
    """``PENDING`` until intent-to-receive passes, then ``ACTIVE``; ``DISABLED`` after
    24 hours of failed deliveries."""
    categories: list[str] = field(default_factory=lambda: ["CONTACT", "INVOICE", "CREDITNOTE"])
    sequence: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)
    failing_since: float | None = None
    next_attempt_at: float | None = None
    attempts: int = 0


@dataclass
class App:
    """A developer app as registered in Xero's developer portal."""

    client_id: str
    client_secret: str | None
    """``None`` for an "Auth Code with PKCE" app, which has no secret."""
    name: str
    redirect_uris: list[str]
    created_at: datetime
    custom_connection_tenant_id: str | None = None
    custom_connection_scopes: list[str] = field(default_factory=list)
    granular_only: bool = False
    """Apps created on or after 2 March 2026 may only request granular scopes."""
    webhook: WebhookSubscription = field(default_factory=WebhookSubscription)

    @property
    def is_pkce(self) -> bool:
        return self.client_secret is None

    def summary(self, *, secrets: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "client_id": self.client_id,
            "name": self.name,
            "redirect_uris": list(self.redirect_uris),
            "pkce": self.is_pkce,
            "granular_only": self.granular_only,
            "custom_connection_tenant_id": self.custom_connection_tenant_id,
            "custom_connection_scopes": list(self.custom_connection_scopes),
            "webhook_url": self.webhook.url,
            "webhook_status": self.webhook.status,
            "webhook_categories": list(self.webhook.categories),
            "created_at": self.created_at.isoformat(),
        }
        if secrets:
            data["client_secret"] = self.client_secret
            data["webhook_key"] = self.webhook.key
        return data


@dataclass
class User:
    """A person who can sign in on the authorize page."""

    user_id: str
    email: str
    password: str
    first_name: str
    last_name: str
    tenant_ids: list[str] = field(default_factory=list)
    all_organisations: bool = False
    """Demo users see every organisation, including ones seeded later."""


@dataclass
class Grant:
    """One user's (or, for a custom connection, one app's) authorisation of an app.

    Xero keeps one authorisation per app and user: later consents add scopes and tenants
    to it, and revoking its refresh token removes all of its connections.
    """

    grant_id: str
    client_id: str
    user_id: str | None
    scopes: list[str]
    created_at: datetime
    updated_at: datetime
    global_session_id: str = ""


@dataclass
class Connection:
    """One tenant connected to a grant, as ``GET /connections`` lists it."""

    connection_id: str
    grant_id: str
    tenant_id: str
    auth_event_id: str
    created_at: datetime
    updated_at: datetime


@dataclass
class RefreshToken:
    """A refresh token, stored by the SHA-256 of its value."""

    token_hash: str
    client_id: str
    grant_id: str
    auth_event_id: str
    scopes: list[str]
    issued_at: float
    rotated_at: float | None = None
    revoked: bool = False
    successor: dict[str, Any] | None = None
    """The token response that replaced this token, replayed inside the grace period."""


@dataclass
class AuthRequest:
    """An authorize request between the sign-in and consent pages (memory only)."""

    request_id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    nonce: str | None
    created_at: float


@dataclass
class AuthCode:
    """A single-use authorization code (memory only; lives 5 minutes)."""

    code: str
    client_id: str
    redirect_uri: str
    grant_id: str
    user_id: str
    scopes: list[str]
    auth_event_id: str
    code_challenge: str | None
    nonce: str | None
    expires_at: float
    used: bool = False
