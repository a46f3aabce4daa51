"""Xero's API limits on the sandbox clock (XERO_API_NOTES section 2).

Per app and organisation pair: 5 calls in flight, 60 a minute, 5,000 a day (each
configurable per organisation, e.g. 1,000 for a Starter-tier app). Per app: 10,000 a
minute across all organisations. Windows are fixed, starting at the first call after the
previous window ended, which is what Xero's current documentation describes ("resets at a
different time for each tenant"), and gives an exact ``Retry-After``.

A rejected call is not counted: it never reached the organisation.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from ledgerbridge.sandbox.clock import SandboxClock
from ledgerbridge.sandbox.config import DAY, MINUTE, LimitConfig

__all__ = ["Admission", "RateLimiter"]

DAY_HEADER = "X-DayLimit-Remaining"
MINUTE_HEADER = "X-MinLimit-Remaining"
APP_MINUTE_HEADER = "X-AppMinLimit-Remaining"
PROBLEM_HEADER = "X-Rate-Limit-Problem"


@dataclass
class _Window:
    """A fixed window: ``count`` calls since ``start``, lasting ``length`` seconds."""

    length: float
    start: float = -math.inf
    count: int = 0

    def roll(self, now: float) -> None:
        if now >= self.start + self.length:
            self.start, self.count = now, 0

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.start + self.length - now))


@dataclass
class _TenantUsage:
    minute: _Window = field(default_factory=lambda: _Window(MINUTE))
    day: _Window = field(default_factory=lambda: _Window(DAY))
    in_flight: int = 0


@dataclass(frozen=True)
class Admission:
    """The limiter's verdict on one call, and the headers every response carries."""

    allowed: bool
    headers: dict[str, str]
    problem: str | None = None
    retry_after: int | None = None


class RateLimiter:
    """Counts calls per (app, organisation) and per app. Thread-safe."""

    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tenants: dict[tuple[str, str], _TenantUsage] = {}
        self._apps: dict[str, _Window] = {}

    def reset(self) -> None:
        with self._lock:
            self._tenants.clear()
            self._apps.clear()

    def acquire(
        self, client_id: str, tenant_id: str, limits: LimitConfig, app_per_minute: int
    ) -> Admission:
        """Count one call, or refuse it with the limit that was hit.

        An allowed call holds one of the organisation's concurrent slots until
        ``release()`` is called with the same pair.
        """
        now = self._clock.time()
        with self._lock:
            usage = self._tenants.setdefault((client_id, tenant_id), _TenantUsage())
            app = self._apps.setdefault(client_id, _Window(MINUTE))
            for window in (usage.minute, usage.day, app):
                window.roll(now)
            refusal = self._refusal(usage, app, limits, app_per_minute, now) if limits.enabled else None
            if refusal is None:
                usage.minute.count += 1
                usage.day.count += 1
                app.count += 1
                usage.in_flight += 1
            headers = {
                DAY_HEADER: str(max(0, limits.per_day - usage.day.count)),
                MINUTE_HEADER: str(max(0, limits.per_minute - usage.minute.count)),
                APP_MINUTE_HEADER: str(max(0, app_per_minute - app.count)),
            }
        if refusal is None:
            return Admission(True, headers)
        problem, retry_after = refusal
        headers[PROBLEM_HEADER] = problem
        headers["Retry-After"] = str(retry_after)
        return Admission(False, headers, problem, retry_after)

    def release(self, client_id: str, tenant_id: str) -> None:
        """Free the concurrent slot taken by an allowed call."""
        with self._lock:
            usage = self._tenants.get((client_id, tenant_id))
            if usage is not None and usage.in_flight > 0:
                usage.in_flight -= 1

    @staticmethod
    def _refusal(
        usage: _TenantUsage, app: _Window, limits: LimitConfig, app_per_minute: int, now: float
    ) -> tuple[str, int] | None:
        if usage.day.count >= limits.per_day:
            return "day", usage.day.retry_after(now)
        if app.count >= app_per_minute:
            return "appminute", app.retry_after(now)
        if usage.minute.count >= limits.per_minute:
            return "minute", usage.minute.retry_after(now)
        if usage.in_flight >= limits.concurrent:
            return "concurrent", 1
        return None
