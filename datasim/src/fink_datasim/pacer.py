"""Pacing of a replay: message `i` is due at `start + i / rate` on an absolute schedule (`Pacer`), or by visits
(`VisitPacer`: one visit of alerts at once, then the next one `interval` seconds after the previous started).

An absolute schedule does not drift: sleeping too long once, or a slow send, is made up by sending the next
messages without waiting until the schedule is met again, so the average rate over the run is the one asked.
The clock and the sleep function are injected, so the scheduler is tested with a fake clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fink_datasim.errors import DatasimError

__all__ = ["Pacer", "VisitPacer"]


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


class VisitPacer:
    """Pacing by visits, as Rubin sends them: the alerts of one visit (`visit_size` sends) go out as fast as they
    can, then the next visit waits for its slot, `interval` seconds after the previous visit started.

    A visit that took longer than the interval is followed at once by the next one (the telescope does not take
    two exposures at once to catch up); the schedule restarts from that visit. Sleep overshoot does not drift:
    a visit's start is its slot, not the time the sleep returned.
    """

    def __init__(
        self,
        visit_size: int,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if visit_size < 1:
            raise DatasimError(f"visit size must be >= 1 alert, got {visit_size}")
        if interval < 0:
            raise DatasimError(f"visit interval must be >= 0 s, got {interval}")
        self.visit_size = int(visit_size)
        self.interval = float(interval)
        self.clock = clock
        self.sleep = sleep
        self.visit_start: float | None = None  # when the current visit started (its slot)
        self.count = 0  # sends released so far
        self.visits = 0  # visits started so far

    def wait(self) -> None:
        """Block until the next send may go: at once inside a visit, at the next slot for a visit's first alert."""
        index = self.count
        self.count += 1
        if index % self.visit_size:
            return
        now = self.clock()
        self.visits += 1
        if self.visit_start is None:
            self.visit_start = now
            return
        slot = self.visit_start + self.interval
        if slot > now:
            self.sleep(slot - now)
            self.visit_start = slot
        else:
            self.visit_start = now
