"""Time as the rate limiter and the scheduler see it, injectable so tests never sleep.

``ScaledClock`` runs N times faster than the wall clock, matching the sandbox's fast clock,
so a test can wait out a 60-second rate-limit window in well under a second.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def utcnow(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def utcnow(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0))


class ScaledClock:
    """A clock whose seconds pass ``speed`` times faster than real ones."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._real_start = time.monotonic()
        self._wall_start = datetime.now(UTC)

    def _elapsed(self) -> float:
        return (time.monotonic() - self._real_start) * self.speed

    def monotonic(self) -> float:
        return self._elapsed()

    def utcnow(self) -> datetime:
        return self._wall_start + timedelta(seconds=self._elapsed())

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0) / self.speed)


class ManualClock:
    """A clock that moves only when told to; ``sleep`` advances it at once.

    For tests and benchmarks of waiting logic: a 60-second wait takes no real time, and the
    total time slept is there to assert on.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = 0.0
        self._wall_start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.slept = 0.0

    def monotonic(self) -> float:
        return self._now

    def utcnow(self) -> datetime:
        return self._wall_start + timedelta(seconds=self._now)

    def advance(self, seconds: float) -> None:
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.slept += seconds
        self._now += seconds
        await asyncio.sleep(0)
