"""The `--rate` and visit schedulers, driven by a fake clock: exact spacing, no drift, catch-up after a stall."""

from __future__ import annotations

import pytest

from fink_datasim.errors import DatasimError
from fink_datasim.pacer import Pacer, VisitPacer


class FakeClock:
    """A clock that only moves when someone sleeps or work is simulated."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


def _send_times(pacer: Pacer, clock: FakeClock, n: int, work_s: float = 0.0) -> list[float]:
    times = []
    for _ in range(n):
        pacer.wait()
        times.append(clock.now)
        clock.now += work_s  # time spent sending
    return times


def test_sends_are_spaced_one_over_rate() -> None:
    clock = FakeClock()
    times = _send_times(Pacer(50.0, clock, clock.sleep), clock, 101)
    assert times[0] == 100.0
    assert times[-1] == pytest.approx(102.0)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps == pytest.approx([0.02] * 100)


def test_sending_time_is_absorbed_without_drift() -> None:
    clock = FakeClock()
    times = _send_times(Pacer(200.0, clock, clock.sleep), clock, 1001, work_s=0.003)
    assert times[-1] - times[0] == pytest.approx(1000 / 200.0)
    assert all(s == pytest.approx(0.002) for s in clock.sleeps)


def test_a_stall_is_caught_up_then_the_rate_resumes() -> None:
    clock = FakeClock()
    pacer = Pacer(10.0, clock, clock.sleep)
    times = _send_times(pacer, clock, 5)
    clock.now += 1.0  # the broker stalls for 1 s (now 101.4): sends 5..14, due 100.5..101.4, are overdue
    times += _send_times(pacer, clock, 20)
    assert times[5:15] == pytest.approx([101.4] * 10)  # sent back to back until on schedule again
    assert times[15:] == pytest.approx([100.0 + i / 10.0 for i in range(15, 25)])
    assert times[-1] == pytest.approx(100.0 + 24 / 10.0)  # the whole run still averages 10/s
    late = [t - (100.0 + i / 10.0) for i, t in enumerate(times)]
    assert max(late) == pytest.approx(0.9) and late[-1] == pytest.approx(0.0)


def test_a_sender_slower_than_the_rate_never_sleeps() -> None:
    clock = FakeClock()
    times = _send_times(Pacer(1000.0, clock, clock.sleep), clock, 50, work_s=0.01)
    assert clock.sleeps == []
    assert times[-1] - times[0] == pytest.approx(49 * 0.01)


def test_rate_zero_means_as_fast_as_possible() -> None:
    clock = FakeClock()
    _send_times(Pacer(0.0, clock, clock.sleep), clock, 1000)
    assert clock.sleeps == [] and clock.now == 100.0


def test_negative_rate_is_refused() -> None:
    with pytest.raises(DatasimError, match="rate"):
        Pacer(-1.0)


def _visit_send_times(pacer: VisitPacer, clock: FakeClock, n: int, work_s: float = 0.0) -> list[float]:
    times = []
    for _ in range(n):
        pacer.wait()
        times.append(clock.now)
        clock.now += work_s
    return times


def test_visits_go_out_at_once_one_interval_apart() -> None:
    clock = FakeClock()
    pacer = VisitPacer(4, 39.0, clock, clock.sleep)
    times = _visit_send_times(pacer, clock, 10)  # visits of 4, 4 and 2 alerts
    assert times == pytest.approx([100.0] * 4 + [139.0] * 4 + [178.0] * 2)
    assert clock.sleeps == pytest.approx([39.0, 39.0]) and pacer.visits == 3


def test_sending_time_inside_a_visit_is_part_of_the_interval() -> None:
    clock = FakeClock()
    pacer = VisitPacer(10, 39.0, clock, clock.sleep)
    times = _visit_send_times(pacer, clock, 30, work_s=0.5)  # a visit takes 5 s to send
    assert [times[0], times[10], times[20]] == pytest.approx([100.0, 139.0, 178.0])
    assert clock.sleeps == pytest.approx([34.0, 34.0])


def test_a_visit_longer_than_the_interval_is_followed_at_once_then_the_cadence_resumes() -> None:
    clock = FakeClock()
    pacer = VisitPacer(2, 10.0, clock, clock.sleep)
    times = _visit_send_times(pacer, clock, 2)
    clock.now += 25.0  # the broker stalls for 25 s during the first visit
    times += _visit_send_times(pacer, clock, 4)
    assert times == pytest.approx([100.0, 100.0, 125.0, 125.0, 135.0, 135.0])  # no burst of catch-up visits


def test_sleep_overshoot_does_not_drift() -> None:
    clock = FakeClock()

    def late_sleep(seconds: float) -> None:
        clock.sleep(seconds + 0.2)  # the OS wakes us 200 ms late every time

    pacer = VisitPacer(1, 39.0, clock, late_sleep)
    times = _visit_send_times(pacer, clock, 11)
    assert times[-1] == pytest.approx(100.0 + 10 * 39.0 + 0.2)  # late by one overshoot, not ten


def test_bad_visit_settings_are_refused() -> None:
    with pytest.raises(DatasimError, match="visit size"):
        VisitPacer(0, 39.0)
    with pytest.raises(DatasimError, match="interval"):
        VisitPacer(10, -1.0)
