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
from collections import deque
from typing import TYPE_CHECKING

from qiskit.providers import JobV1

from managedjob._wait import FINAL_STATES, SYSTEM_CLOCK, PollSchedule, is_real_time, job_future

if TYPE_CHECKING:
    from managedjob._managed_job import ManagedJob

__all__ = ["watch_job"]

logger = logging.getLogger(__name__)

_WATCHER_IDLE_SECONDS = 2.0


class _Watcher:
    """Fetches the result of each watched job as soon as it is final.

    Jobs with a future are watched through a done-callback; the others are
    polled in real time by this one daemon thread, each on its own
    adaptive interval, through the shared :class:`~managedjob._wait.PollSchedule`.
    The thread stops when it has nothing to watch.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._ready: deque[ManagedJob] = deque()
        # Owned by the watcher thread's loop, read and changed under _cond.
        self._schedule: PollSchedule[ManagedJob] = PollSchedule(SYSTEM_CLOCK)
        self._jobs: dict[ManagedJob, JobV1] = {}
        self._thread: threading.Thread | None = None

    def watch(self, mjob: ManagedJob) -> None:
        job = mjob.job
        if job is None:
            return
        future = job_future(job)
        if future is not None:
            future.add_done_callback(lambda _: self._push(mjob))
            return
        if not is_real_time(mjob.clock):
            return  # a fake clock: no background polling (see the module docs)
        with self._cond:
            self._jobs[mjob] = job
            self._schedule.add(mjob, policy=mjob.poll_policy)
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
        schedule = self._schedule
        while True:
            with self._cond:
                while not self._ready and not schedule.due():
                    if len(schedule) == 0:
                        if not self._cond.wait(_WATCHER_IDLE_SECONDS) and not (
                            self._ready or len(schedule)
                        ):
                            self._thread = None
                            return
                    else:
                        self._cond.wait(schedule.pause())
                ready = list(self._ready)
                self._ready.clear()
                due = [(mjob, self._jobs[mjob]) for mjob in schedule.due()]
            for mjob in ready:
                self._fetch(mjob)
            for mjob, job in due:
                self._poll(mjob, job)

    def _poll(self, mjob: ManagedJob, job: JobV1) -> None:
        error: BaseException | None = None
        try:
            final = job.status() in FINAL_STATES
        except Exception as err:
            final, error = False, err
        with self._cond:
            if final:
                self._schedule.discard(mjob)
            elif not self._schedule.polled(mjob, error):
                logger.debug("Stopped watching job %s: %s", job.job_id(), error)
            if mjob not in self._schedule:
                self._jobs.pop(mjob, None)
        if final:
            self._fetch(mjob)

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
