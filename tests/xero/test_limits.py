"""The budget keeps under Xero's limits and agrees with the headers Xero sends."""

from __future__ import annotations

import asyncio

import pytest

from ledgerbridge.clock import ManualClock
from ledgerbridge.errors import XeroRateLimited
from ledgerbridge.xero.limits import WINDOW_MARGIN, Budget, Limits

TENANT = "b1f2c3d4-0000-4000-8000-000000000001"


async def _spend(budget: Budget, tenant: str, calls: int) -> None:
    for _ in range(calls):
        await budget.acquire(tenant)
        budget.release(tenant)


def test_sixty_first_call_waits_for_the_minute_window() -> None:
    clock = ManualClock()
    budget = Budget(Limits(), clock)
    asyncio.run(_spend(budget, TENANT, 60))
    assert clock.slept == 0
    asyncio.run(_spend(budget, TENANT, 1))
    assert clock.slept == pytest.approx(60.0 + WINDOW_MARGIN)


def test_tenants_have_their_own_minute_but_share_the_app_minute() -> None:
    clock = ManualClock()
    budget = Budget(Limits(per_minute=60, app_per_minute=100), clock)
    asyncio.run(_spend(budget, "org-a", 60))
    asyncio.run(_spend(budget, "org-b", 40))
    assert clock.slept == 0
    asyncio.run(_spend(budget, "org-c", 1))
    assert clock.slept == pytest.approx(60.0 + WINDOW_MARGIN)


def test_day_limit_raises_at_once_instead_of_waiting_hours() -> None:
    clock = ManualClock()
    budget = Budget(Limits(per_minute=10_000, per_day=1_000), clock)
    asyncio.run(_spend(budget, TENANT, 1_000))
    with pytest.raises(XeroRateLimited) as refused:
        asyncio.run(_spend(budget, TENANT, 1))
    assert refused.value.limit == "day"
    assert refused.value.retry_after > 80_000
    assert clock.slept == 0


def test_starter_tier_day_limit_per_tenant() -> None:
    budget = Budget(Limits(), ManualClock())
    budget.set_day_limit(TENANT, 1_000)
    assert budget.remaining_today(TENANT) == 1_000
    assert budget.remaining_today("other") == 5_000


def test_headers_correct_our_count() -> None:
    clock = ManualClock()
    budget = Budget(Limits(), clock)
    asyncio.run(_spend(budget, TENANT, 1))
    budget.observe(TENANT, {"x-minlimit-remaining": "0", "x-daylimit-remaining": "4900"})
    assert budget.remaining_today(TENANT) == 4_900
    asyncio.run(_spend(budget, TENANT, 1))
    assert clock.slept == pytest.approx(60.0 + WINDOW_MARGIN)


def test_a_429_blocks_for_exactly_retry_after() -> None:
    clock = ManualClock()
    budget = Budget(Limits(), clock)
    budget.refused(TENANT, "minute", 17)
    asyncio.run(_spend(budget, TENANT, 1))
    assert clock.slept == pytest.approx(17.0)


def test_never_more_than_five_in_flight() -> None:
    clock = ManualClock()
    budget = Budget(Limits(), clock)
    in_flight = 0
    peak = 0

    async def call() -> None:
        nonlocal in_flight, peak
        await budget.acquire(TENANT)
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        budget.release(TENANT)

    async def many() -> None:
        await asyncio.gather(*(call() for _ in range(20)))

    asyncio.run(many())
    assert peak == 5
