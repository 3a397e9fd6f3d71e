"""Waiting for every job of a set to be final: futures where jobs have one, polls else."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_futures
from typing import Any

from qiskit.providers import JobStatus

from managedjob._job_set._resubmission import Resubmitter
from managedjob._job_set._state import SetState
from managedjob._job_set._submission import Submitter
from managedjob._managed_job import ManagedJob
from managedjob._wait import FINAL_STATES, Deadline, PollSchedule, is_real_time, job_future
from managedjob.exceptions import JobManagerTimeoutError

__all__ = ["Waiter"]


def _unfinished_future(mjob: ManagedJob, real_time: bool) -> Future[Any] | None:
    """Return the future ``mjob`` is waiting on, if it is not done yet.

    That is its submission while one is under way (it ends in real time,
    whatever the clock), then, with the real clock, the future its job runs
    in, if it has one.
    """
    job = mjob.job
    if job is None:
        submission = mjob._submission_future()
        return submission if submission is not None and not submission.done() else None
    if not real_time:
        return None
    future = job_future(job)
    return future if future is not None and not future.done() else None


def _progress_bar(total: int, name: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="job", desc=name, leave=True)


class Waiter:
    """Waits for a set's jobs (see ``ManagedJobSet.wait``).

    Args:
        state: The set's state.
        submitter: Tells when the submissions are over.
        resubmitter: Told of each job seen to fail.
    """

    def __init__(self, state: SetState, submitter: Submitter, resubmitter: Resubmitter) -> None:
        self._state = state
        self._submitter = submitter
        self._resubmitter = resubmitter

    def wait(
        self,
        timeout: float | None,
        progress: bool,
        callback: Callable[[ManagedJob], object] | None,
    ) -> list[JobStatus | None]:
        """Wait until every job is final; return the final statuses.

        Raises:
            IBMQJobManagerTimeoutError: If jobs are still running after ``timeout``.
        """
        state = self._state
        clock = state.clock
        deadline = Deadline(clock, timeout)
        # Submissions end in real time (their futures); a fake clock must not run
        # ahead while they do.
        if not self._submitter.wait_for_submissions(timeout):
            raise JobManagerTimeoutError(
                f"Timeout while waiting for job set {state.id}: its jobs were not all "
                f"submitted within {timeout} s."
            )
        bar = _progress_bar(len(state.managed_jobs), state.name) if progress else None
        settled: dict[int, JobStatus | None] = {}
        # Jobs without a future (or with a fake clock) are polled, each when due.
        schedule: PollSchedule[ManagedJob] = PollSchedule(clock, state.poll_policy)
        # With the real clock, a job that runs in a future (Aer, local
        # primitives) is waited for on it: no status calls until it is done,
        # and no poll interval between its end and the wait noticing it.
        real_time = is_real_time(clock)
        try:
            while True:
                jobs = state.jobs()
                due = set(schedule.due())
                running: list[Future[Any]] = []
                replaced = False
                for number, mjob in enumerate(jobs):
                    if number in settled or (mjob in schedule and mjob not in due):
                        continue
                    future = _unfinished_future(mjob, real_time)
                    if future is not None:
                        running.append(future)
                        continue
                    status = mjob.status()
                    # Without a job (failed or cancelled submission, a lost job)
                    # nothing will change any more.
                    if mjob.job is not None and status not in FINAL_STATES:
                        schedule.polled(mjob)
                        continue
                    schedule.discard(mjob)
                    if status is JobStatus.ERROR and self._resubmitter.job_failed(mjob):
                        # Fetch the failed job's result too, so that its outcome is
                        # journaled as that of its attempt.
                        mjob._prefetch()
                        replaced = True
                        continue
                    with state.lock:
                        if state.managed_jobs[number] is not mjob:  # resubmitted meanwhile
                            replaced = True
                            continue
                    settled[number] = status
                    if bar is not None:
                        bar.update(1)
                    if callback is not None:
                        callback(mjob)
                if len(settled) == len(jobs):
                    return [settled[number] for number in range(len(jobs))]
                if deadline.expired():
                    late = [
                        f"{mjob.start_index}-{mjob.end_index}"
                        for number, mjob in enumerate(jobs)
                        if number not in settled
                    ]
                    raise JobManagerTimeoutError(
                        f"Timeout while waiting for job set {state.id}: the jobs for "
                        f"experiments {', '.join(late)} did not finish within {timeout} s."
                    )
                if replaced:
                    continue  # look at the new jobs at once
                pause = schedule.pause(deadline)
                if running:
                    # Wakes when a future is done, else when the next poll is due.
                    # Never without a limit: a pending future that is cancelled
                    # tells no waiter until its executor drops it.
                    wait_futures(running, timeout=pause, return_when=FIRST_COMPLETED)
                else:
                    clock.sleep(pause)
        finally:
            if bar is not None:
                bar.close()
