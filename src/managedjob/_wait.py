"""Waiting for jobs: futures where a job has one, adaptive polling otherwise.

Time is a parameter: every wait takes a :class:`Clock`, so tests drive time
with :class:`managedjob.testing.FakeClock` and never sleep for real.

This is the one poll engine of the package. :class:`Deadline` is what is
left of a timeout on a clock; :class:`PollSchedule` keeps, for any number of
jobs, when each is next due for a status query and how its interval grows,
so that one loop (a waiting thread, or one background thread watching many
jobs) asks only the jobs that are due and sleeps until the next one is.
:func:`wait_for_final_state` is that loop for a single job.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar, runtime_checkable

from qiskit.providers import JobStatus, JobV1

from managedjob._throttle import retry_after, too_many_requests

__all__ = [
    "Clock",
    "Deadline",
    "PollPolicy",
    "PollSchedule",
    "SystemClock",
    "is_real_time",
    "job_future",
    "wait_for_final_state",
]

FINAL_STATES = frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED})

K = TypeVar("K", bound=Hashable)


@runtime_checkable
class Clock(Protocol):
    """A source of time that can also wait.

    Attributes:
        real_time: Whether this clock is the real one. Only then are jobs
            that run in a future waited for on it, and watched in the
            background; a fake clock moves only when told to.
    """

    real_time: bool

    def monotonic(self) -> float:
        """Return seconds from an arbitrary, fixed origin."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait for ``seconds``."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic` and :func:`time.sleep`."""

    #: The real clock is real time.
    real_time = True

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of real time."""
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def is_real_time(clock: object) -> bool:
    """Whether ``clock`` says it is the real clock.

    A clock written before :attr:`Clock.real_time` existed does not say, and
    is taken for a fake one: nothing then waits on futures in real time.
    """
    return getattr(clock, "real_time", False) is True


@dataclass(frozen=True)
class PollPolicy:
    """How often to ask a job for its status when it has no future.

    The first poll comes after ``initial`` seconds and each next one waits
    ``factor`` times longer, up to ``maximum`` seconds.

    Attributes:
        initial: First interval, in seconds.
        factor: Growth of the interval from one poll to the next.
        maximum: Longest interval, in seconds.
        max_status_errors: Status queries that may fail in a row before the
            wait gives up and raises the last error.
    """

    initial: float = 0.002
    factor: float = 1.5
    maximum: float = 1.0
    max_status_errors: int = 5

    def next_interval(self, interval: float) -> float:
        """Return the interval that follows ``interval``."""
        return min(interval * self.factor, self.maximum)


DEFAULT_POLL = PollPolicy()


class Deadline:
    """What is left of a timeout, on a clock.

    Args:
        clock: Where time comes from.
        timeout: Seconds from now; ``None`` never expires.
    """

    def __init__(self, clock: Clock, timeout: float | None) -> None:
        self.clock = clock
        self.timeout = timeout
        self.at = None if timeout is None else clock.monotonic() + timeout

    def left(self) -> float | None:
        """Return the seconds left (never negative), or ``None`` without a limit."""
        return None if self.at is None else max(0.0, self.at - self.clock.monotonic())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.at is not None and self.clock.monotonic() >= self.at

    def cap(self, seconds: float) -> float:
        """Return ``seconds``, or what is left if that is less."""
        left = self.left()
        return seconds if left is None else min(seconds, left)


@dataclass
class _Entry:
    due: float
    interval: float
    policy: PollPolicy
    errors: int = 0


class PollSchedule(Generic[K]):
    """When each of many polled jobs is next due for a status query.

    Each job (any hashable key) starts due after ``policy.initial`` seconds;
    after each query, :meth:`polled` makes it due again after an interval
    that grows as the policy says. A loop asks the jobs :meth:`due` gives,
    then sleeps :meth:`pause` (or waits on something else for that long).
    One background thread can follow many jobs this way: :meth:`next_due`
    tells it when to wake up.

    It is not thread-safe: one loop owns it.

    Args:
        clock: Where time comes from.
        policy: The intervals and how many status errors in a row are
            allowed, for keys added without a policy of their own.
    """

    def __init__(self, clock: Clock, policy: PollPolicy = DEFAULT_POLL) -> None:
        self.clock = clock
        self.policy = policy
        self._entries: dict[K, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._entries))

    def add(self, key: K, *, now: bool = False, policy: PollPolicy | None = None) -> None:
        """Follow ``key``: due after the first interval, or at once if ``now``.

        A key already followed keeps its place.

        Args:
            key: The job, or anything that stands for it.
            now: Make it due at once.
            policy: Its own intervals, instead of the schedule's.
        """
        if key not in self._entries:
            policy = policy or self.policy
            start = self.clock.monotonic()
            due = start if now else start + policy.initial
            self._entries[key] = _Entry(due, policy.initial, policy)

    def discard(self, key: K) -> None:
        """Stop following ``key`` (a final job); unknown keys are ignored."""
        self._entries.pop(key, None)

    def due(self) -> list[K]:
        """Return the keys due for a query now, earliest first."""
        now = self.clock.monotonic()
        ready = [(entry.due, n, key) for n, (key, entry) in enumerate(self._entries.items())]
        return [key for due, _, key in sorted(ready, key=lambda item: item[:2]) if due <= now]

    def polled(self, key: K, error: BaseException | None = None) -> bool:
        """Record a query of ``key`` and make it due again after its next interval.

        A key not followed yet is followed from now on, its first interval
        the policy's ``initial``.

        Args:
            key: The job that was asked.
            error: What the status query raised, if it failed.

        Returns:
            ``False`` once its policy's ``max_status_errors`` queries failed
            in a row (the key is then no longer followed), else ``True``. A
            read refused with "too many requests" (HTTP 429) is not a failure:
            the key is due again after the wait the target asked for (else
            the policy's longest interval).
        """
        entry = self._entries.get(key)
        if entry is None:  # asked before it was followed: follow it from now on
            entry = self._entries[key] = _Entry(0.0, self.policy.initial, self.policy)
        pause = entry.interval
        if error is not None and too_many_requests(error):
            # Refused for now (HTTP 429): not a failed read; wait as asked.
            asked = retry_after(error)
            pause = max(pause, entry.policy.maximum if asked is None else asked)
        elif error is not None:
            entry.errors += 1
            if entry.errors >= entry.policy.max_status_errors:
                del self._entries[key]
                return False
        else:
            entry.errors = 0
        entry.due = self.clock.monotonic() + pause
        entry.interval = entry.policy.next_interval(entry.interval)
        return True

    def next_due(self) -> float | None:
        """Return the clock time the next key is due at; ``None`` if none is followed."""
        return min((entry.due for entry in self._entries.values()), default=None)

    def pause(self, deadline: Deadline | None = None, idle: float | None = None) -> float:
        """Return the seconds to wait before the next key is due.

        Args:
            deadline: Never wait past it.
            idle: How long to wait when no key is followed (the policy's
                longest interval by default).
        """
        due = self.next_due()
        if due is None:
            pause = self.policy.maximum if idle is None else idle
        else:
            pause = max(0.0, due - self.clock.monotonic())
        return pause if deadline is None else deadline.cap(pause)


def job_future(job: JobV1) -> Future[object] | None:
    """Return the :class:`~concurrent.futures.Future` behind ``job``, if it has one.

    Qiskit Aer's jobs and Qiskit's local primitive jobs run in a future; waiting
    on it costs no status calls.
    """
    future = getattr(job, "_future", None)
    return future if isinstance(future, Future) else None


def wait_for_final_state(
    job: JobV1,
    timeout: float | None = None,
    *,
    clock: Clock = SYSTEM_CLOCK,
    poll: PollPolicy = DEFAULT_POLL,
    on_final: Callable[[JobStatus], object] | None = None,
) -> bool:
    """Wait until ``job`` is done, failed or cancelled.

    Args:
        job: The job to wait for.
        timeout: Seconds to wait at most; ``None`` waits for as long as it takes.
        clock: Where time comes from.
        poll: Polling intervals, for jobs without a future.
        on_final: Told the final status a status call read, so that the
            caller need not ask again.

    Returns:
        ``True`` if the job reached a final state, ``False`` if time ran out.

    Raises:
        Exception: The status query's own error, once it failed
            ``poll.max_status_errors`` times in a row.
    """
    future = job_future(job)
    if future is not None and is_real_time(clock):
        # A local job is final once its future is done: no status call needed.
        # (A pending future that is cancelled is done, but tells no waiter
        # until its executor drops it: look before waiting.)
        if not future.done():
            wait_futures([future], timeout=timeout)
        return future.done()
    deadline = Deadline(clock, timeout)
    schedule: PollSchedule[int] = PollSchedule(clock, poll)
    while True:
        try:
            status = job.status()
        except Exception as err:
            if not schedule.polled(0, err):
                raise
        else:
            schedule.polled(0)
            if status in FINAL_STATES:
                if on_final is not None:
                    on_final(status)
                return True
        if deadline.expired():
            # Time may have moved on (another thread, a shared clock) since
            # the status was read: ask once more before giving up.
            try:
                status = job.status()
            except Exception:
                return False
            if status in FINAL_STATES and on_final is not None:
                on_final(status)
            return status in FINAL_STATES
        clock.sleep(schedule.pause(deadline))
