"""Spend Xero's call budget before calling, never after being refused.

Xero allows per organisation 5 calls in flight, 60 a minute and 5,000 a day (1,000 on the
Starter tier), and per app 10,000 a minute. ``Budget.acquire`` waits until a call fits
every limit; the remaining-quota headers of each response correct our count, because
other processes (or another app) may be spending the same budget. A spent *day* budget is
never waited out in a worker: ``acquire`` raises ``XeroRateLimited`` at once, so the sync
engine can park that organisation until the reset and say so.

This is the in-process implementation; a Redis-backed one with the same interface serves
several processes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from ledgerbridge.clock import Clock, SystemClock
from ledgerbridge.errors import XeroRateLimited

MINUTE = 60.0
DAY = 86_400.0
WINDOW_MARGIN = 1.0
"""Added to waits computed from our own count (never to a Retry-After): Xero counts a call
when it arrives, a little after we counted it, so waking exactly on our window's edge can
still be a moment early for Xero's."""


@dataclass(frozen=True)
class Limits:
    concurrent: int = 5
    per_minute: int = 60
    per_day: int = 5_000
    app_per_minute: int = 10_000


@dataclass
class _Window:
    """Calls made in the last ``span`` seconds, and a floor set by the server's headers."""

    span: float
    limit: int
    calls: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0

    def prune(self, now: float) -> None:
        while self.calls and self.calls[0] <= now - self.span:
            self.calls.popleft()

    def wait_needed(self, now: float) -> float:
        """Seconds until one more call fits (0 when it fits now)."""
        self.prune(now)
        wait = max(self.blocked_until - now, 0.0)
        if len(self.calls) >= self.limit:
            wait = max(wait, self.calls[0] + self.span + WINDOW_MARGIN - now)
        return wait

    def record(self, now: float) -> None:
        self.calls.append(now)

    def correct(self, remaining: int, now: float) -> None:
        """The server counts more calls than we do: pad our window to agree with it."""
        self.prune(now)
        used_by_server = self.limit - remaining
        while len(self.calls) < used_by_server:
            self.calls.append(now)


@dataclass
class _Tenant:
    minute: _Window
    day: _Window
    in_flight: asyncio.Semaphore
    calls: int = 0


class Budget:
    """Per-organisation and app-wide budgets, shared by every client in this process."""

    def __init__(self, limits: Limits | None = None, clock: Clock | None = None) -> None:
        self.limits = limits or Limits()
        self.clock = clock or SystemClock()
        self._tenants: dict[str, _Tenant] = {}
        self._day_limits: dict[str, int] = {}
        self._app = _Window(MINUTE, self.limits.app_per_minute)
        self._lock = asyncio.Lock()

    def set_day_limit(self, tenant_id: str, per_day: int) -> None:
        """For organisations on a tier with a smaller allowance (e.g. Starter: 1,000)."""
        self._day_limits[tenant_id] = per_day
        if tenant_id in self._tenants:
            self._tenants[tenant_id].day.limit = per_day

    def _tenant(self, tenant_id: str) -> _Tenant:
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            tenant = _Tenant(
                minute=_Window(MINUTE, self.limits.per_minute),
                day=_Window(DAY, self._day_limits.get(tenant_id, self.limits.per_day)),
                in_flight=asyncio.Semaphore(self.limits.concurrent),
            )
            self._tenants[tenant_id] = tenant
        return tenant

    async def acquire(self, tenant_id: str) -> None:
        """Wait for a slot; raise at once if the day's budget is gone."""
        tenant = self._tenant(tenant_id)
        await tenant.in_flight.acquire()
        try:
            await self._take_window_slot(tenant_id, tenant)
        except BaseException:
            tenant.in_flight.release()
            raise

    async def _take_window_slot(self, tenant_id: str, tenant: _Tenant) -> None:
        while True:
            async with self._lock:
                now = self.clock.monotonic()
                day_wait = tenant.day.wait_needed(now)
                if day_wait > 0:
                    raise XeroRateLimited("day", day_wait, tenant_id)
                wait = max(tenant.minute.wait_needed(now), self._app.wait_needed(now))
                if wait <= 0:
                    for window in (tenant.minute, tenant.day, self._app):
                        window.record(now)
                    tenant.calls += 1
                    return
            await self.clock.sleep(wait)

    def release(self, tenant_id: str) -> None:
        self._tenant(tenant_id).in_flight.release()

    def observe(self, tenant_id: str, headers: Mapping[str, str]) -> None:
        """Bring our counts in line with the remaining-quota headers Xero sent."""
        tenant = self._tenant(tenant_id)
        now = self.clock.monotonic()
        for header, window in (
            ("x-minlimit-remaining", tenant.minute),
            ("x-daylimit-remaining", tenant.day),
            ("x-appminlimit-remaining", self._app),
        ):
            value = headers.get(header)
            if value is not None and value.strip().lstrip("-").isdigit():
                window.correct(int(value), now)

    def refused(self, tenant_id: str, limit: str, retry_after: float) -> None:
        """A 429: nothing more for this window until Xero's ``Retry-After`` has passed."""
        tenant = self._tenant(tenant_id)
        window = {"day": tenant.day, "appminute": self._app}.get(limit, tenant.minute)
        window.blocked_until = max(window.blocked_until, self.clock.monotonic() + retry_after)

    def day_limit(self, tenant_id: str) -> int:
        """This organisation's daily allowance (5,000, or its tier's, e.g. Starter's 1,000)."""
        return self._day_limits.get(tenant_id, self.limits.per_day)

    def remaining_today(self, tenant_id: str) -> int:
        tenant = self._tenant(tenant_id)
        tenant.day.prune(self.clock.monotonic())
        return max(tenant.day.limit - len(tenant.day.calls), 0)

    def calls_made(self, tenant_id: str) -> int:
        return self._tenant(tenant_id).calls
