"""Pacing of a replay: message `i` is due at `start + i / rate` on an absolute schedule.

An absolute schedule does not drift: sleeping too long once, or a slow send, is made up by sending the next
messages without waiting until the schedule is met again, so the average rate over the run is the one asked.
The clock and the sleep function are injected, so the scheduler is tested with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fink_datasim.errors import DatasimError

__all__ = ["Pacer"]


class Pacer:
    """Call `wait()` before each send; it sleeps until that send is due. `rate` <= 0 means no pacing."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate < 0:
            raise DatasimError(f"rate must be >= 0 alerts/s (0 = as fast as possible), got {rate}")
        self.rate = float(rate)
        self.clock = clock
        self.sleep = sleep
        self.start: float | None = None
        self.count = 0  # sends released so far

    def due(self, index: int) -> float:
        """Time at which send number `index` (0-based) is due; only meaningful once started."""
        if self.start is None or self.rate <= 0:
            return self.start or 0.0
        return self.start + index / self.rate

    def wait(self) -> None:
        """Block until the next send is due (the first send is due at once and starts the schedule)."""
        index = self.count
        self.count += 1
        if self.rate <= 0:
            return
        now = self.clock()
        if self.start is None:
            self.start = now
            return
        delay = self.start + index / self.rate - now
        if delay > 0:
            self.sleep(delay)
