"""The poll engine: deadlines and poll schedules on an injected clock."""

from __future__ import annotations

import pytest

from helpers import basis_circuit
from managedjob import Clock, PollPolicy, SystemClock
from managedjob._wait import Deadline, PollSchedule, is_real_time, wait_for_final_state
from managedjob.testing import FakeClock, ScriptedBackend


def test_clocks_say_whether_they_are_real_time() -> None:
    assert SystemClock().real_time is True and is_real_time(SystemClock())
    assert FakeClock().real_time is False and not is_real_time(FakeClock())
    assert isinstance(FakeClock(), Clock) and isinstance(SystemClock(), Clock)

    class OldClock:  # written before Clock declared real_time
        def monotonic(self) -> float:
            return 0.0

        def sleep(self, seconds: float) -> None:
            pass

    assert not is_real_time(OldClock())


def test_deadline_counts_down_on_its_clock() -> None:
    clock = FakeClock()
    deadline = Deadline(clock, 10.0)
    assert deadline.left() == 10.0 and not deadline.expired()
    clock.advance(4.0)
    assert deadline.left() == pytest.approx(6.0)
    assert deadline.cap(1.0) == 1.0 and deadline.cap(100.0) == pytest.approx(6.0)
    clock.advance(7.0)
    assert deadline.left() == 0.0 and deadline.expired()
    endless = Deadline(clock, None)
    assert endless.left() is None and not endless.expired() and endless.cap(3.0) == 3.0


def test_schedule_polls_each_key_on_its_own_growing_interval() -> None:
    clock = FakeClock()
    schedule: PollSchedule[str] = PollSchedule(
        clock, PollPolicy(initial=1.0, factor=2.0, maximum=3.0)
    )
    schedule.add("a")
    assert schedule.due() == [] and schedule.next_due() == 1.0
    clock.advance(1.0)
    assert schedule.due() == ["a"]
    schedule.polled("a")  # next after 1 s, then 2 s, then at most 3 s
    schedule.add("b")
    assert schedule.pause() == pytest.approx(1.0)
    clock.advance(1.0)
    assert schedule.due() == ["a", "b"]
    schedule.polled("a")
    schedule.polled("b")
    assert schedule.pause() == pytest.approx(1.0)  # b is due first
    clock.advance(1.0)
    assert schedule.due() == ["b"]
    schedule.discard("b")
    assert len(schedule) == 1 and "b" not in schedule
    clock.advance(1.0)
    assert schedule.due() == ["a"]
    schedule.polled("a")
    assert schedule.pause() == pytest.approx(3.0)
    assert schedule.pause(Deadline(clock, 0.5)) == pytest.approx(0.5)


def test_schedule_drops_a_key_after_too_many_status_errors() -> None:
    clock = FakeClock()
    schedule: PollSchedule[int] = PollSchedule(clock, PollPolicy(max_status_errors=2))
    assert schedule.polled(7, RuntimeError("down"))
    schedule.polled(7)  # a success resets the count
    assert schedule.polled(7, RuntimeError("down"))
    assert not schedule.polled(7, RuntimeError("down"))
    assert 7 not in schedule and schedule.next_due() is None
    assert schedule.pause(idle=0.25) == 0.25


def test_wait_for_final_state_sleeps_the_policy_intervals() -> None:
    clock = FakeClock()
    job = ScriptedBackend(clock=clock, run_time=10.0).run(basis_circuit(1))
    poll = PollPolicy(initial=1.0, factor=2.0, maximum=3.0)
    assert wait_for_final_state(job, clock=clock, poll=poll)
    assert clock.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]
    assert not wait_for_final_state(
        ScriptedBackend(clock=clock, run_time=10.0).run(basis_circuit(1)), 2.5, clock=clock
    )


def test_schedule_keys_may_have_their_own_policy() -> None:
    clock = FakeClock()
    schedule: PollSchedule[str] = PollSchedule(clock)
    schedule.add("slow", policy=PollPolicy(initial=5.0, maximum=5.0, max_status_errors=1))
    schedule.add("fast")
    assert schedule.next_due() == PollPolicy().initial
    clock.advance(5.0)
    assert schedule.due() == ["fast", "slow"]
    assert not schedule.polled("slow", RuntimeError("down"))
    assert list(schedule) == ["fast"]


def test_a_read_refused_with_too_many_requests_is_no_failure_and_waits_as_asked() -> None:
    from managedjob import TooManyRequestsError

    clock = FakeClock()
    schedule: PollSchedule[int] = PollSchedule(clock, PollPolicy(max_status_errors=2))
    for _ in range(10):  # far more than two failed reads in a row
        assert schedule.polled(0, TooManyRequestsError("slow down", retry_after=7.0))
    assert schedule.next_due() == pytest.approx(clock.monotonic() + 7.0)
    schedule.polled(0, TooManyRequestsError("slow down"))  # no Retry-After: the longest pause
    assert schedule.next_due() == pytest.approx(clock.monotonic() + 1.0)  # the policy's maximum
    assert schedule.polled(0, ConnectionError("reset"))
    assert not schedule.polled(0, ConnectionError("reset"))  # real failures still count
