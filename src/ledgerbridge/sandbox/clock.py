"""The sandbox clock: real time, shifted and optionally sped up, under test control.

Every time-dependent rule in the sandbox (token lifetimes, refresh-token grace and idle
expiry, rate-limit windows, webhook retry schedules) reads the time from one
``SandboxClock`` so that a test or a benchmark can jump a day ahead with ``advance()`` or
make minutes pass in seconds with ``speed`` instead of sleeping through them.

Virtual time is computed as ``anchor_virtual + (real_now - anchor_real) * speed``. Changing
the speed re-anchors first, so time never jumps when the speed changes. A speed of ``0``
freezes the clock, which makes tests fully deterministic: time then moves only through
``advance()``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["ClientClock", "SandboxClock"]


class SandboxClock:
    """A controllable UTC clock. Thread-safe; cheap to read."""

    def __init__(
        self,
        *,
        speed: float = 1.0,
        start: datetime | None = None,
        real_time: Callable[[], float] = time.time,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be >= 0")
        self._real_time = real_time
        self._lock = threading.Lock()
        self._speed = float(speed)
        self._anchor_real = real_time()
        self._anchor_virtual = start.timestamp() if start is not None else self._anchor_real

    @property
    def speed(self) -> float:
        """How many virtual seconds pass per real second (0 = frozen)."""
        return self._speed

    def time(self) -> float:
        """Virtual seconds since the epoch, like ``time.time()``."""
        with self._lock:
            return self._virtual_locked()

    def now(self) -> datetime:
        """The virtual time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    def advance(self, seconds: float) -> datetime:
        """Jump forward (never backward: tokens and windows assume time only grows)."""
        if seconds < 0:
            raise ValueError("the sandbox clock cannot go backwards")
        with self._lock:
            self._anchor_virtual = self._virtual_locked() + seconds
            self._anchor_real = self._real_time()
        return self.now()

    def set_speed(self, speed: float) -> None:
        """Run time ``speed`` times faster than real time from now on."""
        if speed < 0:
            raise ValueError("speed must be >= 0")
        with self._lock:
            self._anchor_virtual = self._virtual_locked()
            self._anchor_real = self._real_time()
            self._speed = float(speed)

    def snapshot(self) -> dict[str, float]:
        """What persistence needs to resume the clock where it was."""
        return {"virtual": self.time(), "speed": self._speed}

    def restore(self, virtual: float, speed: float) -> None:
        """Resume a persisted clock: never earlier than it was when saved."""
        with self._lock:
            # A frozen clock resumes exactly; a running one never goes back in time.
            self._anchor_virtual = virtual if speed == 0 else max(virtual, self._virtual_locked())
            self._anchor_real = self._real_time()
            self._speed = speed

    def _virtual_locked(self) -> float:
        return self._anchor_virtual + (self._real_time() - self._anchor_real) * self._speed


class ClientClock:
    """The sandbox's time, as ledgerbridge's client sees time (``ledgerbridge.clock.Clock``).

    Give this to ``XeroServices`` in tests and benchmarks: a wait advances the sandbox's
    clock at once, so a 60-second rate-limit window passes in no real time and both sides
    agree that it passed. ``slept`` adds up every wait, to report or assert on.
    """

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.clock.time()

    def utcnow(self) -> datetime:
        return self.clock.now()

    async def sleep(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.slept += seconds
        self.clock.advance(seconds)
