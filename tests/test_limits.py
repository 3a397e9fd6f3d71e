"""Adaptive concurrency (AIMD) and the rate limit, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from managedjob._limits import AdaptiveLimit, RateLimit
from managedjob.exceptions import InvalidInputError
from managedjob.testing import FakeClock


def test_slow_start_then_one_per_round() -> None:
    limit = AdaptiveLimit(2, maximum=100)
    for _ in range(6):
        limit.record(0.05)
    assert limit.limit == 8  # +1 per good call while below the threshold
    limit.record(0.05, "throttled")
    assert limit.limit == 4  # halved, and the threshold is now 4
    for _ in range(4):
        limit.record(0.05)
    assert limit.limit == 4  # +1/limit per call: about one per round of 4 calls
    for _ in range(5):
        limit.record(0.05)
    assert limit.limit == 5


def test_pushback_and_errors_halve_down_to_the_minimum() -> None:
    limit = AdaptiveLimit(16, minimum=2, maximum=16)
    limit.record(0.1, "throttled")
    assert limit.limit == 8
    limit.record(0.1, "error")
    assert limit.limit == 4
    for _ in range(5):
        limit.record(0.1, "throttled")
    assert limit.limit == 2


def test_a_slow_call_trims_the_limit() -> None:
    limit = AdaptiveLimit(10, maximum=10)
    limit.record(0.05)
    assert limit.limit == 10
    limit.record(0.5)  # ten times the fastest: a queue is building up
    assert limit.limit == 9
    limit.record(0.09)  # within twice the fastest: fine
    assert limit.limit == 9


def test_never_above_the_maximum() -> None:
    limit = AdaptiveLimit(1, maximum=3)
    for _ in range(50):
        limit.record(0.01)
    assert limit.limit == 3


def test_acquire_blocks_at_the_limit_and_wakes_on_release_or_growth() -> None:
    limit = AdaptiveLimit(2, maximum=4)
    assert limit.acquire() and limit.acquire()
    assert not limit.acquire(blocking=False)
    assert limit.in_flight == 2

    got = threading.Event()

    def waiter() -> None:
        if limit.acquire(timeout=10):
            got.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    limit.record(0.01)  # the limit grows to 3: the waiter gets in
    assert got.wait(10)
    thread.join(10)
    assert limit.in_flight == 3
    for _ in range(3):
        limit.release()
    with pytest.raises(ValueError, match="without acquire"):
        limit.release()


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"initial": 0}, "initial"),
        ({"initial": 5, "maximum": 4}, "between"),
        ({"decrease": 1.5}, "decrease"),
        ({"slowdown": 0}, "slowdown"),
        ({"tolerance": 0.5}, "tolerance"),
    ],
)
def test_bad_adaptive_settings_are_named(kwargs: dict[str, float], named: str) -> None:
    with pytest.raises(InvalidInputError, match=named):
        AdaptiveLimit(**kwargs)  # type: ignore[arg-type]


def test_bad_outcome_is_named() -> None:
    with pytest.raises(InvalidInputError, match="'late'"):
        AdaptiveLimit().record(0.1, "late")  # type: ignore[arg-type]


def test_rate_spaces_calls_evenly() -> None:
    clock = FakeClock()
    rate = RateLimit(5, per=1.0, clock=clock)
    for _ in range(6):
        rate.acquire()
    # The first goes at once, then one every 0.2 s.
    assert clock.sleeps == pytest.approx([0.2] * 5)
    assert clock.monotonic() == pytest.approx(1.0)


def test_rate_allows_a_burst_after_a_quiet_time() -> None:
    clock = FakeClock()
    rate = RateLimit(5, per=60.0, burst=5, clock=clock)
    for _ in range(5):
        rate.acquire()
    assert clock.sleeps == []  # five at once
    rate.acquire()
    assert clock.sleeps == pytest.approx([12.0])  # then one per 12 s


def test_hold_for_delays_every_caller() -> None:
    clock = FakeClock()
    rate = RateLimit(100, clock=clock)
    rate.acquire()
    rate.hold_for(3.0)  # a Retry-After of 3 s
    rate.acquire()
    assert clock.monotonic() == pytest.approx(3.0)
    rate.acquire()
    assert clock.monotonic() == pytest.approx(3.01)


class StillClock:
    """Time stands still; sleeps are only recorded (a FakeClock adds them up)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)


def test_many_threads_take_distinct_turns() -> None:
    clock = StillClock()
    rate = RateLimit(10, clock=clock)
    threads = [threading.Thread(target=rate.acquire) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    # Twenty callers at once: one goes now, the others 0.1 s apart after it.
    assert sorted(clock.sleeps) == pytest.approx([0.1 * turn for turn in range(1, 20)])


@pytest.mark.parametrize("rate", [0, -1, float("nan"), True])
def test_bad_rate_is_named(rate: float) -> None:
    with pytest.raises(InvalidInputError, match="rate"):
        RateLimit(rate)
