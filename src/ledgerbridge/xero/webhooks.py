"""Receiving Xero's webhooks: verify, store once, let the engine fetch (XERO_API_NOTES §7).

A delivery says *what* changed (category, resource id, organisation), never the data, and
Xero gives us five seconds to answer. So receiving is only: check the signature over the
raw body, store each event once in the inbox (``WebhookEvent``), and ask for one coalesced
fetch per organisation. Fetching the records by id happens later, outside the request: the
engine reads ``pending_by_tenant`` and calls ``mark_handled`` once the records are in.

Xero retries a delivery until it gets a 200 and may repeat or reorder events, so the inbox
deduplicates on the event's identifying fields and a re-delivery changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ledgerbridge.db import new_id, utcnow
from ledgerbridge.jobs.queue import enqueue
from ledgerbridge.logging import get_logger
from ledgerbridge.settings import Settings
from ledgerbridge.xero.models import ConnectionStatus, WebhookEvent, XeroApp, XeroConnection
from ledgerbridge.xero.vault import Vault

__all__ = [
    "FETCH_JOB",
    "FETCH_PATHS",
    "SIGNATURE_HEADER",
    "DeliveryOutcome",
    "PendingEvents",
    "XeroEvent",
    "XeroWebhookPayload",
    "accept",
    "built_in_key",
    "dedupe_key",
    "mark_handled",
    "own_app_key",
    "parse_payload",
    "pending_by_tenant",
    "schedule_fetches",
    "sign",
    "store_events",
    "tenants_with_pending",
    "verify_signature",
]

log = get_logger(__name__)

SIGNATURE_HEADER = "x-xero-signature"

FETCH_PATHS = {"CONTACT": "Contacts", "INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}
"""The categories we act on, and the Accounting collection to fetch each one's ids from.
``SUBSCRIPTION`` events concern App Store billing, not an organisation's records."""

FETCH_JOB = "xero.webhook_events"
"""The job that turns an organisation's pending events into fetches by id (the engine's);
its only argument is ``tenant_id``."""


# -- the signature -----------------------------------------------------------------------


def sign(body: bytes, key: str) -> str:
    """Xero's signature: base64 of HMAC-SHA256 over the raw body, the key as UTF-8 text
    (the portal's "Webhooks key" is used as is, not base64-decoded)."""
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify_signature(body: bytes, signature: str | None, key: str | None) -> bool:
    """True only if ``signature`` is Xero's for these exact bytes under ``key``.

    Computed over the bytes as received, because re-serialised JSON would not match.
    Compared in constant time (as bytes, so a non-ASCII header cannot raise), so the
    answer's timing says nothing about how much of a forged signature was right. No key
    configured means nothing can be verified, so everything is refused.
    """
    if not key or not signature:
        return False
    expected = sign(body, key).encode("ascii")
    return hmac.compare_digest(expected, signature.strip().encode("utf-8"))


def built_in_key(settings: Settings) -> str | None:
    """The built-in app's webhooks key, from the settings."""
    return settings.xero_webhook_key.get_secret_value() if settings.xero_webhook_key else None


def own_app_key(session: Session, vault: Vault, workspace_id: str) -> str | None:
    """The webhooks key of a workspace's own app, unsealed; ``None`` if it has none."""
    sealed = session.scalar(select(XeroApp.webhook_key_sealed).where(XeroApp.workspace_id == workspace_id))
    return vault.open(sealed) if sealed else None


# -- the payload -------------------------------------------------------------------------


class _XeroModel(BaseModel):
    # Unknown fields are ignored: Xero adds fields (e.g. credit notes' ``data``) and a
    # delivery must never fail because of one.
    model_config = ConfigDict(extra="ignore", frozen=True)


class XeroEvent(_XeroModel):
    """One event as Xero sends it. Ids are lower-cased so they match what the API returns."""

    resource_url: str = Field(alias="resourceUrl")
    resource_id: str = Field(alias="resourceId", min_length=1, max_length=64)
    event_date_utc: datetime = Field(alias="eventDateUtc")
    event_type: str = Field(alias="eventType", min_length=1, max_length=30)
    event_category: str = Field(alias="eventCategory", min_length=1, max_length=30)
    tenant_id: str = Field(alias="tenantId", min_length=1, max_length=64)
    tenant_type: str = Field(alias="tenantType")
    data: dict[str, Any] | None = None

    @field_validator("resource_id", "tenant_id")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("event_type", "event_category", "tenant_type")
    @classmethod
    def _upper(cls, value: str) -> str:
        # Some of Xero's pages show "Update": treat the names case-insensitively.
        return value.strip().upper()

    @field_validator("event_date_utc")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        # Xero writes UTC without a zone ("2024-06-21T01:15:39.902").
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class XeroWebhookPayload(_XeroModel):
    """A delivery: a batch of events. Intent-to-receive probes have no events and
    sequence numbers of 0."""

    events: list[XeroEvent]
    first_event_sequence: int = Field(alias="firstEventSequence", ge=0)
    last_event_sequence: int = Field(alias="lastEventSequence", ge=0)
    entropy: str


def parse_payload(body: bytes) -> XeroWebhookPayload:
    """The delivery's JSON as models; raises ``pydantic.ValidationError`` if malformed."""
    return XeroWebhookPayload.model_validate_json(body)


# -- the inbox ---------------------------------------------------------------------------


def dedupe_key(event: XeroEvent) -> str:
    """A stable hash of what identifies an event, so a re-delivered copy collides."""
    parts = (
        event.tenant_id,
        event.event_category,
        event.event_type,
        event.resource_id,
        event.event_date_utc.isoformat(),
    )
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery did, for the log and for tests."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    ignored: int = 0
    tenants: tuple[str, ...] = ()
    """Organisations with newly stored events: each needs one fetch."""


def _known_tenants(session: Session, tenant_ids: set[str], workspace_id: str | None) -> set[str]:
    """Which of these organisations are connected (or waiting for a reconnect) here.

    A workspace's own app only speaks for that workspace's organisations; the built-in app
    for any workspace's. Events of a waiting organisation are kept, so the fetch can run
    once it is reconnected; disconnected and unknown ones are not ours to track.
    """
    if not tenant_ids:
        return set()
    query = select(XeroConnection.tenant_id).where(
        XeroConnection.tenant_id.in_(sorted(tenant_ids)),
        XeroConnection.status != ConnectionStatus.DISCONNECTED,
    )
    if workspace_id is not None:
        query = query.where(XeroConnection.workspace_id == workspace_id)
    return {tenant.lower() for tenant in session.scalars(query)}


def _insert_if_absent(session: Session, rows: list[dict[str, Any]]) -> Insert:
    """``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`` in the dialect at hand; both
    SQLite and PostgreSQL have it, and it is race-free, unlike select-then-insert."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return (
            postgresql.insert(WebhookEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[WebhookEvent.dedupe_key])
        )
    if dialect == "sqlite":
        return (
            sqlite.insert(WebhookEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[WebhookEvent.dedupe_key])
        )
    raise NotImplementedError(f"no insert-if-absent for {dialect}")


def _row(event: XeroEvent, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id(),
        "created_at": now,
        "updated_at": now,
        "dedupe_key": dedupe_key(event),
        "tenant_id": event.tenant_id,
        "event_category": event.event_category,
        "event_type": event.event_type,
        "resource_id": event.resource_id,
        "event_date": event.event_date_utc,
        "payload": event.model_dump(mode="json", by_alias=True),
    }


def store_events(
    session: Session, events: Sequence[XeroEvent], *, workspace_id: str | None = None
) -> DeliveryOutcome:
    """Store each event we can act on exactly once; return what happened.

    Kept: events of a category in ``FETCH_PATHS`` for an organisation connected here
    (``workspace_id``: only that workspace's). A copy already in the inbox is skipped by
    the database, so concurrent re-deliveries cannot both insert.
    """
    connected = _known_tenants(session, {e.tenant_id for e in events}, workspace_id)
    kept = [e for e in events if e.tenant_id in connected and e.event_category in FETCH_PATHS]
    if not kept:
        return DeliveryOutcome(received=len(events), ignored=len(events))
    wanted = {dedupe_key(e): e for e in kept}  # one batch may repeat an event, too
    now = utcnow()
    statement = _insert_if_absent(session, [_row(e, now) for e in wanted.values()])
    inserted = session.execute(statement.returning(WebhookEvent.dedupe_key)).scalars().all()
    return DeliveryOutcome(
        received=len(events),
        stored=len(inserted),
        duplicates=len(kept) - len(inserted),
        ignored=len(events) - len(kept),
        tenants=tuple(sorted({wanted[key].tenant_id for key in inserted})),
    )


def schedule_fetches(session: Session, tenant_ids: Iterable[str], *, workspace_id: str | None = None) -> None:
    """Queue one fetch per organisation, in the caller's transaction.

    The dedupe key coalesces: while an organisation's fetch is still queued, more events
    join it instead of adding jobs, so a burst of deliveries costs one round of calls.
    """
    for tenant_id in tenant_ids:
        enqueue(
            session,
            FETCH_JOB,
            {"tenant_id": tenant_id},
            workspace_id=workspace_id,
            dedupe_key=f"webhooks:{tenant_id}",
        )


def accept(
    session: Session, payload: XeroWebhookPayload, *, workspace_id: str | None = None
) -> DeliveryOutcome:
    """Handle a verified delivery inside the caller's transaction: store its events, then
    queue one fetch per organisation that got new ones (a re-delivery queues nothing).

    Events and jobs commit together, so a stored event always has its fetch coming; and
    ``tenants_with_pending`` lets a runner find any left behind by a failed fetch.
    """
    outcome = store_events(session, payload.events, workspace_id=workspace_id)
    schedule_fetches(session, outcome.tenants, workspace_id=workspace_id)
    log.info(
        "xero.webhook.received",
        workspace_id=workspace_id,
        events=outcome.received,
        stored=outcome.stored,
        duplicates=outcome.duplicates,
        ignored=outcome.ignored,
        organisations=len(outcome.tenants),
    )
    return outcome


# -- for the engine ----------------------------------------------------------------------


class PendingEvents(dict[str, list[str]]):
    """Category -> distinct resource ids still to fetch, oldest event first.

    ``event_ids`` are the inbox rows behind them: pass exactly those to ``mark_handled``
    after the fetch, so an event that arrives while the fetch runs stays pending.
    """

    event_ids: list[str]

    def __init__(self) -> None:
        super().__init__()
        self.event_ids = []


def pending_by_tenant(session: Session, tenant_id: str) -> PendingEvents:
    """What to fetch for one organisation: each changed record once, whatever the number
    of events about it, grouped by category (``FETCH_PATHS`` says where to fetch it)."""
    rows = session.execute(
        select(WebhookEvent.id, WebhookEvent.event_category, WebhookEvent.resource_id)
        .where(WebhookEvent.tenant_id == tenant_id.lower(), WebhookEvent.handled_at.is_(None))
        .order_by(WebhookEvent.event_date, WebhookEvent.id)
    ).all()
    pending = PendingEvents()
    for event_id, category, resource_id in rows:
        ids = pending.setdefault(category, [])
        if resource_id not in ids:
            ids.append(resource_id)
        pending.event_ids.append(event_id)
    return pending


def mark_handled(session: Session, ids: Iterable[str]) -> int:
    """Mark inbox rows (``PendingEvents.event_ids``) handled; returns how many changed.
    Already-handled rows keep their first time, so running a fetch twice is harmless."""
    id_list = sorted(set(ids))
    if not id_list:
        return 0
    now = utcnow()
    changed = 0
    for start in range(0, len(id_list), 500):  # stay under every backend's parameter limit
        marked = session.scalars(
            update(WebhookEvent)
            .where(WebhookEvent.id.in_(id_list[start : start + 500]), WebhookEvent.handled_at.is_(None))
            .values(handled_at=now, updated_at=now)
            .returning(WebhookEvent.id)
            .execution_options(synchronize_session=False)
        ).all()
        changed += len(marked)
    return changed


def tenants_with_pending(session: Session) -> list[str]:
    """Organisations with unhandled events: how a runner finds work left by a crash or
    by deliveries that arrived while no job could be queued."""
    query = select(WebhookEvent.tenant_id).where(WebhookEvent.handled_at.is_(None)).distinct()
    return sorted(session.scalars(query))
