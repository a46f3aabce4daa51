"""Outgoing webhooks, as Xero sends them (XERO_API_NOTES section 7).

Model: each app has one subscription (``App.webhook``): a URL, a signing key and the
categories it receives. It starts ``PENDING``; ``intent_to_receive()`` runs Xero's
handshake and makes it ``ACTIVE``. Record endpoints call ``emit()`` for every create and
update; events for an organisation go to every app with an active subscription connected
to it, each event numbered from the app's own sequence. ``deliver_pending()`` posts them
in batches, signed with ``x-xero-signature`` = base64(HMAC-SHA256(key, raw body)). A
failed batch (anything but 200) is retried on the sandbox clock following
``SandboxConfig.webhook_retry_schedule``; after 24 hours of failures the subscription is
``DISABLED`` and its events dropped, as at Xero.

Nothing is sent in the background unless the app was created with ``auto_deliver``
(``ledgerbridge sandbox serve`` does); tests call ``deliver_pending()`` (or
``POST /_sandbox/webhooks/deliver``) to deliver at a moment of their choosing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets
import string
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from ledgerbridge.sandbox.models import App

if TYPE_CHECKING:
    from ledgerbridge.sandbox.state import SandboxState

__all__ = ["RESOURCE_PATHS", "WebhookDispatcher", "event_date", "sign"]

RESOURCE_PATHS = {"CONTACT": "Contacts", "INVOICE": "Invoices", "CREDITNOTE": "CreditNotes"}
"""Which Accounting collection each event category points into (``resourceUrl``)."""

EVENT_TYPES = frozenset({"CREATE", "UPDATE"})
MAX_SEQUENCE = 2_147_483_647


def sign(body: bytes, key: str) -> str:
    """Xero's signature: base64 of HMAC-SHA256 over the raw body, key as UTF-8 text."""
    digest = hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def event_date(moment: datetime) -> str:
    """``eventDateUtc``: ISO, UTC implied (no zone), milliseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


@dataclass
class _Batch:
    client_id: str
    url: str
    key: str
    sequences: list[int]
    body: bytes


class WebhookDispatcher:
    """Queues, signs and delivers one sandbox's webhook events."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self.transport: httpx.AsyncBaseTransport | None = None
        """Injected by tests (``httpx.MockTransport``/``ASGITransport``); ``None`` = network."""
        self.log: deque[dict[str, Any]] = deque(maxlen=1000)

    # -- emitting -------------------------------------------------------------------------

    def emit(
        self,
        tenant_id: str,
        category: str,
        event_type: str,
        resource_id: str,
        data: dict[str, Any] | None = None,
    ) -> int:
        """Queue one event for every subscribed app connected to the organisation.

        ``category`` is ``CONTACT``, ``INVOICE`` or ``CREDITNOTE``; ``event_type`` is
        ``CREATE`` or ``UPDATE`` (archiving and voiding are updates). ``data`` is the
        credit-note extra (``{"Type": ..., "Status": ...}``). Returns how many apps will
        receive it. Safe to call inside ``state.transaction()``.
        """
        category, event_type = category.upper(), event_type.upper()
        if category not in RESOURCE_PATHS or event_type not in EVENT_TYPES:
            raise ValueError(f"no Xero webhook for {category} {event_type}")
        state = self._state
        event: dict[str, Any] = {
            "resourceUrl": (
                f"{state.config.base_url.rstrip('/')}/api.xro/2.0/"
                f"{RESOURCE_PATHS[category]}/{resource_id}"
            ),
            "resourceId": resource_id,
            "eventDateUtc": event_date(state.clock.now()),
            "eventType": event_type,
            "eventCategory": category,
            "tenantId": tenant_id,
            "tenantType": "ORGANISATION",
        }
        if data is not None:
            event["data"] = data
        queued = 0
        with state.transaction():
            for app in state.apps_connected_to(tenant_id):
                hook = app.webhook
                if hook.status != "ACTIVE" or not hook.url or category not in hook.categories:
                    continue
                hook.sequence = hook.sequence % MAX_SEQUENCE + 1
                hook.pending.append({"sequence": hook.sequence, "event": dict(event)})
                state.touch(app)
                queued += 1
        return queued

    # -- delivering -----------------------------------------------------------------------

    async def deliver_pending(self, *, ignore_schedule: bool = False) -> list[dict[str, Any]]:
        """Post every due batch once; return the log entries of this round.

        A batch is due when its app has no retry scheduled, or the retry time has come on
        the sandbox clock (``ignore_schedule`` delivers retries at once).
        """
        entries = []
        for batch in self._due_batches(ignore_schedule):
            status, error = await self._post(batch.url, batch.body, sign(batch.body, batch.key))
            entries.append(self._settle(batch, status, error))
        return entries

    def _due_batches(self, ignore_schedule: bool) -> list[_Batch]:
        state = self._state
        now = state.clock.time()
        batches = []
        with state.lock:
            for app in state.apps.values():
                hook = app.webhook
                if hook.status != "ACTIVE" or not hook.url or not hook.pending:
                    continue
                waiting = hook.next_attempt_at is not None and now < hook.next_attempt_at
                if waiting and not ignore_schedule:
                    continue
                chunk = hook.pending[: state.config.webhook_batch_size]
                payload = {
                    "events": [item["event"] for item in chunk],
                    "firstEventSequence": chunk[0]["sequence"],
                    "lastEventSequence": chunk[-1]["sequence"],
                    "entropy": _entropy(),
                }
                body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
                sequences = [item["sequence"] for item in chunk]
                batches.append(_Batch(app.client_id, hook.url, hook.key, sequences, body))
        return batches

    def _settle(self, batch: _Batch, status: int | None, error: str | None) -> dict[str, Any]:
        state = self._state
        now = state.clock.time()
        with state.transaction():
            app = state.apps.get(batch.client_id)
            entry = self._log_entry("events", batch, status, error)
            if app is None:
                return entry
            hook = app.webhook
            if status == 200:
                done = set(batch.sequences)
                hook.pending = [p for p in hook.pending if p["sequence"] not in done]
                hook.attempts, hook.failing_since, hook.next_attempt_at = 0, None, None
            else:
                self._schedule_retry(app, now)
                entry["next_attempt_at"] = hook.next_attempt_at
                entry["subscription_status"] = hook.status
            state.touch(app)
        return entry

    def _schedule_retry(self, app: App, now: float) -> None:
        config, hook = self._state.config, app.webhook
        hook.attempts += 1
        hook.failing_since = hook.failing_since if hook.failing_since is not None else now
        if now - hook.failing_since >= config.webhook_give_up_seconds:
            hook.status, hook.pending, hook.next_attempt_at = "DISABLED", [], None
            return
        schedule = config.webhook_retry_schedule
        hook.next_attempt_at = now + schedule[min(hook.attempts, len(schedule)) - 1]

    async def _post(self, url: str, body: bytes, signature: str) -> tuple[int | None, str | None]:
        headers = {"Content-Type": "application/json", "x-xero-signature": signature}
        timeout = self._state.config.webhook_timeout_seconds
        try:
            async with httpx.AsyncClient(transport=self.transport, timeout=timeout) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, response.text or None

    def _log_entry(
        self, kind: str, batch: _Batch, status: int | None, error: str | None
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "kind": kind,
            "client_id": batch.client_id,
            "url": batch.url,
            "at": self._state.clock.now().isoformat(),
            "status_code": status,
            "ok": status == 200,
            "error": error if status != 200 else None,
            "first_sequence": batch.sequences[0] if batch.sequences else 0,
            "last_sequence": batch.sequences[-1] if batch.sequences else 0,
            "event_count": len(batch.sequences),
            "body": batch.body.decode("utf-8"),
        }
        self.log.append(entry)
        return entry

    # -- intent to receive ----------------------------------------------------------------

    async def intent_to_receive(self, client_id: str, *, probes: int = 4) -> dict[str, Any]:
        """Run Xero's handshake against the app's URL; activate the subscription on success.

        Sends ``probes`` empty-event payloads in a random order, half signed with the
        app's key and half with a wrong one. The receiver passes if it answers every good
        one with 200 and an empty body, and every bad one with 401.
        """
        state = self._state
        with state.lock:
            app = state.apps.get(client_id)
            if app is None or not app.webhook.url:
                raise ValueError("the app has no webhook URL")
            url, key = app.webhook.url, app.webhook.key
        kinds = [True] * max(1, probes // 2) + [False] * max(1, probes - probes // 2)
        random.shuffle(kinds)
        failures = []
        for correctly_signed in kinds:
            payload = {
                "events": [],
                "firstEventSequence": 0,
                "lastEventSequence": 0,
                "entropy": _entropy(),
            }
            body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
            signature = sign(body, key if correctly_signed else secrets.token_urlsafe(48))
            status, text = await self._post(url, body, signature)
            expected = 200 if correctly_signed else 401
            batch = _Batch(client_id, url, key, [], body)
            entry = self._log_entry("intent_to_receive", batch, status, text)
            entry["correctly_signed"] = correctly_signed
            if status != expected:
                failures.append(f"expected {expected} for a {'good' if correctly_signed else 'bad'}"
                                f" signature, got {status if status is not None else text}")
            elif correctly_signed and text:
                failures.append("a correctly signed payload was answered with a body")
        with state.transaction():
            app = state.apps.get(client_id)
            if app is not None:
                app.webhook.status = "PENDING" if failures else "ACTIVE"
                app.webhook.pending, app.webhook.attempts = [], 0
                app.webhook.failing_since = app.webhook.next_attempt_at = None
                state.touch(app)
        return {"client_id": client_id, "passed": not failures, "failures": failures,
                "status": "PENDING" if failures else "ACTIVE"}
