"""The result watcher: fetches each watched job's result as soon as the job is final.

Fetching a result is what journals it and fires a managed job's done
callbacks, so a job that nobody asks about is still settled on time. Jobs
with a :class:`~concurrent.futures.Future` (Aer, local primitives) are
watched through a done-callback; the others are polled by one shared daemon
thread with adaptive intervals (the job's :class:`~managedjob.PollPolicy`),
in real time, and only with the system clock: with another clock (such as
:class:`~managedjob.testing.FakeClock`) nothing polls in the background.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qiskit.providers import JobV1

from managedjob._wait import FINAL_STATES, SystemClock, job_future

if TYPE_CHECKING:
    from managedjob._managed_job import ManagedJob

__all__ = ["watch_job"]

logger = logging.getLogger(__name__)

_WATCHER_IDLE_SECONDS = 2.0


@dataclass
class _Polled:
    mjob: ManagedJob
    job: JobV1
    due: float
    interval: float
    errors: int = 0


class _Watcher:
    """Fetches the result of each watched job as soon as it is final.

    Jobs with a future are watched through a done-callback; the others are
    polled in real time by this one daemon thread, each on its own
    adaptive interval. The thread stops when it has nothing to watch.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._ready: deque[ManagedJob] = deque()
        self._polled: list[_Polled] = []
        self._thread: threading.Thread | None = None

    def watch(self, mjob: ManagedJob) -> None:
        job = mjob.job
        if job is None:
            return
        future = job_future(job)
        if future is not None:
            future.add_done_callback(lambda _: self._push(mjob))
            return
        if not isinstance(mjob.clock, SystemClock):
            return  # a fake clock: no background polling (see the module docs)
        poll = mjob.poll_policy
        with self._cond:
            self._polled.append(_Polled(mjob, job, time.monotonic() + poll.initial, poll.initial))
            self._wake()

    def _push(self, mjob: ManagedJob) -> None:
        with self._cond:
            self._ready.append(mjob)
            self._wake()

    def _wake(self) -> None:
        # Callers hold self._cond.
        if self._thread is None:
            thread = threading.Thread(target=self._run, name="managedjob-watcher", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down
                return
            self._thread = thread
        self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._ready and not self._polled_due():
                    wait = self._next_due()
                    if wait is None:
                        if not self._cond.wait(_WATCHER_IDLE_SECONDS) and not (
                            self._ready or self._polled
                        ):
                            self._thread = None
                            return
                    else:
                        self._cond.wait(wait)
                ready = list(self._ready)
                self._ready.clear()
                now = time.monotonic()
                due = [entry for entry in self._polled if entry.due <= now]
                self._polled = [entry for entry in self._polled if entry.due > now]
            for mjob in ready:
                self._fetch(mjob)
            for entry in due:
                self._poll(entry)

    def _polled_due(self) -> bool:
        now = time.monotonic()
        return any(entry.due <= now for entry in self._polled)

    def _next_due(self) -> float | None:
        if not self._polled:
            return None
        return max(0.0, min(entry.due for entry in self._polled) - time.monotonic())

    def _poll(self, entry: _Polled) -> None:
        try:
            status = entry.job.status()
        except Exception as err:
            entry.errors += 1
            if entry.errors >= entry.mjob.poll_policy.max_status_errors:
                logger.debug("Stopped watching job %s: %s", entry.job.job_id(), err)
                return
        else:
            entry.errors = 0
            if status in FINAL_STATES:
                self._fetch(entry.mjob)
                return
        poll = entry.mjob.poll_policy
        entry.interval = poll.next_interval(entry.interval)
        entry.due = time.monotonic() + entry.interval
        with self._cond:
            self._polled.append(entry)

    @staticmethod
    def _fetch(mjob: ManagedJob) -> None:
        try:
            mjob._prefetch()
        except Exception:
            logger.debug(
                "Background fetch of experiments %d-%d failed.",
                mjob.start_index,
                mjob.end_index,
                exc_info=True,
            )


_WATCHER = _Watcher()


def watch_job(mjob: ManagedJob) -> None:
    """Fetch (and so journal) the result of ``mjob`` in the background once it is final."""
    _WATCHER.watch(mjob)
