"""Fetching the results of a set's jobs: together, in a bounded pool, by one deadline.

With a fixed ``max_parallel_fetches``, that many threads each wait for a
job and fetch its result. With the adaptive limit (the default), every job
is waited for in its own thread (waiting costs a status call now and then),
and only the downloads of finished jobs take a place of the limit, which
grows while they keep their speed and shrinks when they slow down or fail.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from qiskit.result import Result

from managedjob._job_set._state import SetState
from managedjob._job_set._submission import Submitter
from managedjob._limits import AdaptiveLimit
from managedjob._managed_job import ManagedJob
from managedjob._results import ManagedResults
from managedjob._wait import Deadline
from managedjob.exceptions import (
    JobManagerInvalidStateError,
    JobManagerTimeoutError,
    JobTimeoutError,
)

__all__ = ["Fetcher"]

logger = logging.getLogger("managedjob._job_set")

#: Makes the set's results from whether all succeeded and each job's result.
ResultsFactory = Callable[[bool, list[Result | None]], ManagedResults]


class Fetcher:
    """Fetches a set's results (see ``ManagedJobSet.results``).

    Args:
        state: The set's state.
        submitter: Tells when the submissions are over.
        make_results: Makes the set's :class:`ManagedResults`.
    """

    def __init__(
        self, state: SetState, submitter: Submitter, make_results: ResultsFactory
    ) -> None:
        self._state = state
        self._submitter = submitter
        self._make_results = make_results
        # One pool for every caller of results() at a time: concurrent callers
        # share its max_parallel_fetches threads instead of each making a pool
        # of its own; the last caller out shuts it down, so that no idle
        # threads stay with the set.
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._pool_users = 0

    def _release_pool(self) -> None:
        with self._pool_lock:
            self._pool_users -= 1
            pool = None
            if self._pool_users == 0:
                pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)  # fetches still running end at their deadline

    def _shared_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            self._pool_users += 1
            if self._pool is None:
                # Adaptive fetches wait for their job without a place and
                # hold one only to download: as many threads as places at most.
                limit = self._state.fetch_limit
                workers = limit.maximum if limit is not None else self._state.max_parallel_fetches
                pool = ThreadPoolExecutor(
                    max_workers=max(1, workers or 1), thread_name_prefix="managedjob-fetch"
                )
                self._pool = pool
            return self._pool

    def close(self) -> None:
        """Shut the fetch pool down now; fetches under way finish, a later one makes a new pool."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def results(self, timeout: float | None, partial: bool, refresh: bool) -> ManagedResults:
        """Wait for every job and return their results as one.

        Raises:
            IBMQJobManagerTimeoutError: If the jobs are not all finished within ``timeout``.
            IBMQJobManagerInvalidStateError: If the set does not run circuits.
        """
        state = self._state
        if state.workload.kind != "circuits":
            raise JobManagerInvalidStateError(
                f"Job set {state.id} runs {state.workload.kind}, not circuits: "
                "use primitive_result() for its results."
            )
        self._submitter.require_jobs()
        with state.lock:
            cached = state.managed_results
            if cached is not None and not refresh and cached._partial == partial:
                return cached
        results = self.job_results(timeout, partial, refresh)
        succeeded = state.workload.succeeded
        success = all(result is not None and succeeded(result) for result in results)
        managed = self._make_results(success, results)
        managed._partial = partial
        with state.lock:
            state.managed_results = managed
        recorder = state.recorder
        if recorder is not None:
            # With journal_required, a result that could not be journaled is
            # an error (once: the results stay cached for the next call).
            recorder.raise_write_failure()
        return managed

    def job_results(
        self, timeout: float | None, partial: bool, refresh: bool = False
    ) -> list[Result | None]:
        """Return each job's result, following failed jobs into their resubmissions.

        ``None`` stands for a job without a result.

        Raises:
            IBMQJobManagerTimeoutError: If the jobs are not all finished within ``timeout``.
        """
        state = self._state
        self._submitter.require_jobs()
        deadline = Deadline(state.clock, timeout)
        jobs = state.jobs()
        results = self.fetch(jobs, deadline, partial, refresh)
        while True:  # a failed job may have been resubmitted: wait for its replacement
            current = state.jobs()
            changed = [n for n, (a, b) in enumerate(zip(jobs, current, strict=True)) if a is not b]
            if not changed:
                return results
            fresh = self.fetch([current[n] for n in changed], deadline, partial)
            for number, result in zip(changed, fresh, strict=True):
                results[number] = result
            jobs = current

    def fetch(
        self,
        jobs: list[ManagedJob],
        deadline: Deadline,
        partial: bool,
        refresh: bool = False,
    ) -> list[Result | None]:
        """Fetch the jobs' results at once, all within ``deadline``.

        Each job gets what is left of the deadline when its fetch starts; at
        most ``max_parallel_fetches`` run at once, in the set's one fetch
        pool, whoever asks.
        """
        limit = self._state.fetch_limit

        def fetch(mjob: ManagedJob) -> Result | None:
            try:
                if limit is None:
                    return mjob.result(timeout=deadline.left(), partial=partial, refresh=refresh)
                return _download(mjob, limit, deadline, partial, refresh)
            except JobTimeoutError:
                raise
            except Exception as err:  # a failing job never spoils the others
                logger.warning(
                    "Unable to get the result for experiments %d-%d: %s",
                    mjob.start_index,
                    mjob.end_index,
                    err,
                )
                return None

        pool = self._shared_pool()
        futures: list[Future[Result | None]] = []
        try:
            futures = [pool.submit(fetch, mjob) for mjob in jobs]
            # Every fetch gives up at the deadline by itself; waiting for all of
            # them (not just the first to time out) keeps a job that finished
            # in time from being reported late because its thread started late.
            _, pending = wait_futures(futures, timeout=deadline.timeout)
            late = [
                mjob
                for mjob, future in zip(jobs, futures, strict=True)
                if future in pending or (future.done() and future.exception() is not None)
            ]
            if late:
                cause = next(
                    (f.exception() for f in futures if f.done() and f.exception() is not None),
                    None,
                )
                raise JobManagerTimeoutError(
                    f"Timeout while waiting for the results of job set {self._state.id}: the "
                    f"jobs for experiments "
                    f"{', '.join(f'{m.start_index}-{m.end_index}' for m in late)} "
                    f"did not finish within {deadline.timeout} s."
                ) from cause
            return [future.result() for future in futures]
        finally:
            for future in futures:  # what has not started yet is not needed any more
                future.cancel()
            self._release_pool()


def _download(
    mjob: ManagedJob, limit: AdaptiveLimit, deadline: Deadline, partial: bool, refresh: bool
) -> Result | None:
    """Wait for ``mjob``'s job without a place, then fetch its result holding one."""
    if mjob._has_result() and not refresh:  # fetched already (by the watcher): no download
        return mjob.result(timeout=deadline.left(), partial=partial)
    mjob._await_final(deadline.left())
    limit.acquire()
    started = mjob.clock.monotonic()
    try:
        result = mjob.result(timeout=deadline.left(), partial=partial, refresh=refresh)
    except JobTimeoutError:
        raise
    except Exception:
        limit.record(mjob.clock.monotonic() - started, "error")
        raise
    finally:
        limit.release()
    failed = result is None and mjob.job is not None and mjob._has_fetch_error()
    limit.record(mjob.clock.monotonic() - started, "error" if failed else "ok")
    return result
