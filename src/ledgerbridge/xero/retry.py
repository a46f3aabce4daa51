"""What to do with each outcome of a Xero call, decided in one table.

Every failure the client sees is classified here once: retry after a wait, refresh the
token and resend, or fail with a typed error. Writes are retried only because every write
carries an ``Idempotency-Key``, so a resend of a write that did land replays Xero's first
answer instead of writing twice.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from ledgerbridge.errors import (
    XeroAuthError,
    XeroError,
    XeroForbidden,
    XeroNotFound,
    XeroRateLimited,
    XeroUnavailable,
)

MAX_ATTEMPTS = 5
BACKOFF_BASE = 1.0
BACKOFF_CAP = 30.0
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


class Action(enum.Enum):
    RETURN = "return"
    RETRY = "retry"
    REFRESH_AND_RETRY = "refresh_and_retry"
    FAIL = "fail"


@dataclass(frozen=True)
class Decision:
    action: Action
    wait: float = 0.0
    error: XeroError | None = None


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with full jitter (attempt counts from 1)."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def retry_after(headers: Mapping[str, str], default: float) -> float:
    value = headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else default
    except ValueError:
        return default


def classify_response(
    status: int, headers: Mapping[str, str], attempt: int, refreshed: bool, body_text: str = ""
) -> Decision:
    """The action for an HTTP answer. 400s are returned to the caller, which parses them."""
    if status < 400 or status == 400:
        return Decision(Action.RETURN)
    if status == 401:
        if refreshed:
            return Decision(
                Action.FAIL,
                error=XeroAuthError(
                    "Xero refused a freshly refreshed token; reconnect this organisation.", "token_rejected"
                ),
            )
        return Decision(Action.REFRESH_AND_RETRY)
    if status == 403:
        return Decision(
            Action.FAIL,
            error=XeroForbidden(
                "Xero refused access (403): the organisation was disconnected in Xero, or a scope this "
                "call needs was not granted. Reconnect it from the Integrations page."
            ),
        )
    if status == 404:
        return Decision(Action.FAIL, error=XeroNotFound("Xero has no such record (404)."))
    if status == 429:
        limit = headers.get("x-rate-limit-problem", "minute").lower()
        wait = retry_after(headers, 60.0)
        if limit == "day" or attempt >= MAX_ATTEMPTS:
            return Decision(Action.FAIL, wait, XeroRateLimited(limit, wait))
        return Decision(Action.RETRY, wait)
    if status in RETRYABLE_STATUSES and attempt < MAX_ATTEMPTS:
        return Decision(Action.RETRY, retry_after(headers, backoff(attempt)))
    detail = body_text.strip()[:300] or f"HTTP {status}"
    return Decision(Action.FAIL, error=XeroUnavailable(f"Xero did not answer successfully: {detail}"))


def classify_exception(exc: httpx.HTTPError, attempt: int) -> Decision:
    """Timeouts and dropped connections: the request may or may not have landed."""
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        if attempt < MAX_ATTEMPTS:
            return Decision(Action.RETRY, backoff(attempt))
        return Decision(
            Action.FAIL,
            error=XeroUnavailable(
                f"Xero could not be reached after {attempt} attempts ({type(exc).__name__})."
            ),
        )
    return Decision(Action.FAIL, error=XeroUnavailable(f"The request to Xero failed: {type(exc).__name__}"))
