"""Waiting for jobs: futures where a job has one, adaptive polling otherwise.

Time is a parameter: every wait takes a :class:`Clock`, so tests drive time
with :class:`managedjob.testing.FakeClock` and never sleep for real.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from qiskit.providers import JobStatus, JobV1

__all__ = ["Clock", "PollPolicy", "SystemClock", "job_future", "wait_for_final_state"]

FINAL_STATES = frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED})


@runtime_checkable
class Clock(Protocol):
    """A source of time that can also wait."""

    def monotonic(self) -> float:
        """Return seconds from an arbitrary, fixed origin."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait for ``seconds``."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic` and :func:`time.sleep`."""

    def monotonic(self) -> float:
        """Return :func:`time.monotonic`."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` of real time."""
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


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
) -> bool:
    """Wait until ``job`` is done, failed or cancelled.

    Args:
        job: The job to wait for.
        timeout: Seconds to wait at most; ``None`` waits for as long as it takes.
        clock: Where time comes from.
        poll: Polling intervals, for jobs without a future.

    Returns:
        ``True`` if the job reached a final state, ``False`` if time ran out.

    Raises:
        Exception: The status query's own error, once it failed
            ``poll.max_status_errors`` times in a row.
    """
    future = job_future(job)
    if future is not None and isinstance(clock, SystemClock):
        # A local job is final once its future is done: no status call needed.
        # (A pending future that is cancelled is done, but tells no waiter
        # until its executor drops it: look before waiting.)
        if not future.done():
            wait_futures([future], timeout=timeout)
        return future.done()
    deadline = None if timeout is None else clock.monotonic() + timeout
    interval = poll.initial
    errors = 0
    while True:
        try:
            status = job.status()
        except Exception:
            errors += 1
            if errors >= poll.max_status_errors:
                raise
        else:
            errors = 0
            if status in FINAL_STATES:
                return True
        if deadline is not None:
            left = deadline - clock.monotonic()
            if left <= 0:
                # Time may have moved on (another thread, a shared clock) since
                # the status was read: ask once more before giving up.
                try:
                    return job.status() in FINAL_STATES
                except Exception:
                    return False
            clock.sleep(min(interval, left))
        else:
            clock.sleep(interval)
        interval = poll.next_interval(interval)
