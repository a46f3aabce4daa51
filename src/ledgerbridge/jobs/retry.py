"""When a failed job runs again, decided in one place (not by loops inside handlers).

Transient failures (Xero unavailable, a spent rate limit, a bug that may be a race) are
retried with capped exponential backoff; a rate limit waits at least as long as Xero
asked. Failures no retry can fix (the organisation needs reconnecting, Xero rejected the
content, a record is gone) fail the job at once, so the log shows them without delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ledgerbridge.errors import LedgerbridgeError, XeroRateLimited

_TOO_MANY_REQUESTS = 429
_SERVER_ERROR = 500


def is_permanent(error: BaseException) -> bool:
    """An expected error in the 4xx family (except 429) will fail the same way next time."""
    return (
        isinstance(error, LedgerbridgeError)
        and error.status < _SERVER_ERROR
        and error.status != _TOO_MANY_REQUESTS
    )


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempt: int) -> timedelta:
        """base, 2 x base, 4 x base ... after attempt 1, 2, 3 ..., never more than ``cap``."""
        exponent = max(attempt - 1, 0)
        if exponent > 30:  # far beyond any cap; avoids huge multiplications
            return self.cap
        wait: timedelta = self.base * (2**exponent)
        return min(wait, self.cap)

    def next_run(
        self, error: BaseException, attempt: int, max_attempts: int, now: datetime
    ) -> datetime | None:
        """When to run again after ``attempt`` failed with ``error``; ``None`` means give up."""
        if attempt >= max_attempts or is_permanent(error):
            return None
        wait = self.delay(attempt)
        if isinstance(error, XeroRateLimited):
            wait = max(wait, timedelta(seconds=error.retry_after))
        return now + wait
