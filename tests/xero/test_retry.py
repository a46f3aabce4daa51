"""The retry table: every outcome maps to one action."""

from __future__ import annotations

import httpx
import pytest

from ledgerbridge.errors import XeroAuthError, XeroForbidden, XeroRateLimited, XeroUnavailable
from ledgerbridge.xero.retry import MAX_ATTEMPTS, Action, backoff, classify_exception, classify_response


@pytest.mark.parametrize("status", [200, 201, 204, 400])
def test_success_and_validation_are_returned_to_the_caller(status: int) -> None:
    assert classify_response(status, {}, 1, refreshed=False).action is Action.RETURN


def test_401_refreshes_once_then_needs_reconnect() -> None:
    assert classify_response(401, {}, 1, refreshed=False).action is Action.REFRESH_AND_RETRY
    second = classify_response(401, {}, 2, refreshed=True)
    assert second.action is Action.FAIL
    assert isinstance(second.error, XeroAuthError)


def test_403_is_not_retried() -> None:
    decision = classify_response(403, {}, 1, refreshed=False)
    assert decision.action is Action.FAIL
    assert isinstance(decision.error, XeroForbidden)


def test_minute_429_waits_exactly_retry_after() -> None:
    decision = classify_response(429, {"retry-after": "23", "x-rate-limit-problem": "minute"}, 1, False)
    assert decision.action is Action.RETRY
    assert decision.wait == 23


def test_day_429_stops_with_the_wait() -> None:
    decision = classify_response(429, {"retry-after": "66975", "x-rate-limit-problem": "day"}, 1, False)
    assert decision.action is Action.FAIL
    assert isinstance(decision.error, XeroRateLimited)
    assert decision.error.retry_after == 66975


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_retry_then_fail(status: int) -> None:
    assert classify_response(status, {}, 1, False).action is Action.RETRY
    final = classify_response(status, {}, MAX_ATTEMPTS, False)
    assert final.action is Action.FAIL
    assert isinstance(final.error, XeroUnavailable)


def test_dropped_connections_and_timeouts_retry() -> None:
    for exc in (httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), httpx.ConnectError("no")):
        assert classify_exception(exc, 1).action is Action.RETRY
        assert classify_exception(exc, MAX_ATTEMPTS).action is Action.FAIL


def test_backoff_is_capped_and_jittered() -> None:
    waits = [backoff(attempt) for attempt in range(1, 12)]
    assert all(0 < w <= 30 for w in waits)
    assert waits[0] <= 1
