"""Fault injection per organisation, so a test can script a failure exactly.

Faults are configured on ``Organisation.faults`` (a ``FaultConfig``) through the control
API. The API guard asks ``FaultInjector.decide()`` once per admitted call, after the rate
limiter, so faulted calls count against the limits as they would at Xero.

Exact scripting: ``fail_next=[503, 500]`` fails the next two calls with those statuses;
``timeout_next`` and ``drop_after_commit_next`` are counters too. Rates
(``error_rate_500``/``error_rate_503``) use a ``random.Random`` seeded from the config, so
a run with the same seed fails the same calls.

The ambiguous outcome (``drop_after_commit``): the handler runs and its writes stay
committed, then the client gets no usable response. Over a socket the sandbox starts a 200
response and aborts the connection, which clients see as an incomplete response
(httpx: ``RemoteProtocolError``; urllib3: ``ProtocolError``). In-process, the ASGI app
raises ``DroppedConnection``, a subclass of ``httpx.RemoteProtocolError``, which both
``httpx.ASGITransport`` and Starlette's ``TestClient`` pass on to the caller.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from ledgerbridge.sandbox.models import FaultConfig

__all__ = ["DroppedConnection", "FaultDecision", "FaultInjector", "SimulatedTimeout"]

TEXT_500 = (
    "An unhandled error with the Xero API occurred. "
    "Contact the Xero API team if problems persist."
)
TEXT_503 = "The Xero API is temporarily unavailable"
TEXT_OFFLINE = "The organisation is offline"
TEXT_504 = "The request timed out"


class DroppedConnection(httpx.RemoteProtocolError):
    """Raised in-process when the connection 'drops' after the write committed."""

    def __init__(self) -> None:
        super().__init__("Server disconnected without sending a response.")


class SimulatedTimeout(httpx.ReadTimeout):
    """Raised in-process by the ``timeout`` fault in ``raise`` mode (handler not run)."""

    def __init__(self) -> None:
        super().__init__("The read operation timed out")


@dataclass(frozen=True)
class FaultDecision:
    """What to do to one call."""

    latency_seconds: float = 0.0
    status: int | None = None
    text: str = ""
    hang: bool = False
    raise_timeout: bool = False
    drop_after_commit: bool = False


NO_FAULT = FaultDecision()


class FaultInjector:
    """Decides each call's fault from its organisation's ``FaultConfig``.

    Consumes the ``*_next`` counters, so callers must hold the state lock and persist the
    organisation afterwards.
    """

    def __init__(self) -> None:
        self._rngs: dict[str, tuple[int, random.Random]] = {}

    def reset(self, tenant_id: str | None = None) -> None:
        """Restart the rate generators (of one organisation), so the next call draws the
        first number of its seed again. The control API does this on every change."""
        if tenant_id is None:
            self._rngs.clear()
        else:
            self._rngs.pop(tenant_id, None)

    def decide(self, tenant_id: str, faults: FaultConfig) -> FaultDecision:
        latency = max(0, faults.latency_ms) / 1000
        if faults.offline:
            return FaultDecision(latency, 503, TEXT_OFFLINE)
        if faults.timeout_next > 0:
            faults.timeout_next -= 1
            if faults.timeout_mode == "raise":
                return FaultDecision(latency, raise_timeout=True)
            return FaultDecision(latency, 504, TEXT_504, hang=True)
        if faults.fail_next:
            scripted = faults.fail_next.pop(0)
            return FaultDecision(latency, scripted, TEXT_503 if scripted == 503 else TEXT_500)
        by_rate = self._by_rate(tenant_id, faults)
        if by_rate is not None:
            return FaultDecision(latency, by_rate, TEXT_503 if by_rate == 503 else TEXT_500)
        if faults.drop_after_commit_next > 0:
            faults.drop_after_commit_next -= 1
            return FaultDecision(latency, drop_after_commit=True)
        return FaultDecision(latency) if latency else NO_FAULT

    def _by_rate(self, tenant_id: str, faults: FaultConfig) -> int | None:
        if faults.error_rate_500 <= 0 and faults.error_rate_503 <= 0:
            return None
        current = self._rngs.get(tenant_id)
        if current is None or current[0] != faults.seed:
            current = (faults.seed, random.Random(faults.seed))
            self._rngs[tenant_id] = current
        rng = current[1]
        roll = rng.random()
        if roll < faults.error_rate_500:
            return 500
        if roll < faults.error_rate_500 + faults.error_rate_503:
            return 503
        return None
