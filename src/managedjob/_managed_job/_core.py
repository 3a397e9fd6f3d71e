"""The bookkeeping under a managed job: hand-back, fetching, done-callbacks.

:class:`~managedjob.ManagedJob` keeps the legacy, public methods; this base
class holds the private machinery they share, so that each stays short.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any, cast

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError
from qiskit.result import Result

from managedjob._managed_job._errors import describe_failure, job_id, warn
from managedjob._managed_job._hooks import CheckedRun, JobObserver, Watcher
from managedjob._retry import RetryPolicy
from managedjob._wait import (
    DEFAULT_POLL,
    SYSTEM_CLOCK,
    Clock,
    Deadline,
    PollPolicy,
    wait_for_final_state,
)
from managedjob.exceptions import JobTimeoutError, error_text
from managedjob.targets import Target, resolve_target
from managedjob.targets.primitives import runs_in_process

if TYPE_CHECKING:
    from managedjob._managed_job._job import ManagedJob
    from managedjob._qobj import QasmQobj

__all__ = ["SliceBookkeeping", "install_watcher", "result_is_local"]

logger = logging.getLogger("managedjob._managed_job")

# Who watches a job in the background for add_done_callback(); the layer
# that owns the background watcher installs it (see install_watcher).
_watcher: list[Watcher] = []


def install_watcher(watcher: Watcher) -> None:
    """Make ``watcher`` the one that follows jobs for ``ManagedJob.add_done_callback``.

    The background watcher lives above this package (with the journal, which
    records each result as soon as it exists); it plugs itself in here.
    """
    _watcher[:] = [watcher]


def result_is_local(job: JobV1) -> bool:
    """Whether ``job``'s result is already in this process once it is final.

    True for jobs of in-process simulators (Aer, ``BasicSimulator``, fake
    devices), for jobs carried back from another process, and for jobs run
    in worker processes whose results come back here.
    """
    return bool(getattr(job, "result_is_local", False)) or runs_in_process(job)


class SliceBookkeeping:
    """What a managed job keeps and does behind its public methods.

    The attributes are set by :class:`~managedjob.ManagedJob`'s constructor.
    """

    clock: Clock = SYSTEM_CLOCK
    retry_policy: RetryPolicy = RetryPolicy()
    poll_policy: PollPolicy = DEFAULT_POLL
    start_index: int
    end_index: int
    future: Future[Any] | None
    _collected: Future[None] | None
    job: JobV1 | None
    submit_error: Exception | None
    job_name: str | None
    _circuits: list[QuantumCircuit] | None
    _run_config: dict[str, Any]
    _qobj_options: dict[str, Any]
    _target: Target | None
    _checked: CheckedRun | None
    _cancelled_before_submit: bool
    _cancel_requested: bool
    _lock: threading.RLock
    _raw_result: Result | None
    _result_error: BaseException | None
    _final: tuple[JobV1, JobStatus] | None
    _qobj: QasmQobj | None
    _observer: JobObserver | None
    _attempt: int
    _superseded: bool
    _lost_reason: str | None
    _done_callbacks: list[Callable[[ManagedJob], object]]
    _done_fired: bool
    _origin_pid: int

    def __getstate__(self) -> dict[str, Any]:
        # What a process executor needs to run _async_submit on a copy; locks,
        # futures, observers and callbacks stay with the original.
        state = self.__dict__.copy()
        for key in (
            "_lock",
            "future",
            "_collected",
            "_target",
            "_checked",
            "_observer",
            "_done_callbacks",
            "_qobj",
            "_final",
        ):
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self.future = None
        self._collected = None
        self._target = None
        self._checked = None
        self._observer = None
        self._done_callbacks = []
        self._qobj = None
        self._final = None

    def _target_for(self, backend: Any) -> Target:
        target = self._target
        if target is None or (target is not backend and target.wrapped is not backend):
            target = resolve_target(backend)
            self._target = target
        return target

    def _collect_submission(self, future: Future[Any]) -> None:
        """Bring the outcome of a submission into this object.

        With a thread pool, :meth:`_async_submit` has already set ``job`` or
        ``submit_error`` here; with an executor that ran it on a copy, the
        future's value is all that comes back.
        """
        try:
            self._absorb_submission(future)
        finally:
            try:
                observer = self._observer
                if observer is not None:
                    try:
                        observer.submitted(cast("ManagedJob", self))
                    except Exception:
                        logger.exception("Observer of experiments %d-%d failed.", *self._span())
                if self.job is None:
                    self._fire_done()  # no job will ever run: the slice is settled
                elif self._done_callbacks:
                    self._watch()
            finally:
                collected = self._collected
                if collected is not None and not collected.done():
                    collected.set_result(None)

    def _submission_future(self) -> Future[Any] | None:
        """Return what to wait on for the submission to be over, hand-back included."""
        return self._collected if self._collected is not None else self.future

    def _span(self) -> tuple[int, int]:
        return self.start_index, self.end_index

    def _absorb_submission(self, future: Future[Any]) -> None:
        if future.cancelled():
            self._cancelled_before_submit = True
            return
        error = future.exception()
        if error is not None:
            if self.job is None and self.submit_error is None:
                self.submit_error = error if isinstance(error, Exception) else None
            return
        value = future.result()
        if isinstance(value, JobV1) and self.job is None:
            self.job = value
        elif isinstance(value, Exception) and self.job is None and self.submit_error is None:
            # The submission ran on a copy (another process): warn here too.
            self._submission_failed(self.job_name, value)

    def _submission_failed(self, job_name: str | None, error: Exception) -> Exception:
        """Keep ``error`` as the submit error and warn, as the legacy manager did."""
        self.submit_error = error
        warn(
            f"Unable to submit job {job_name} for experiments "
            f"{self.start_index}-{self.end_index}: {error_text(error)}"
        )
        return error

    def _known_final(self, job: JobV1) -> JobStatus | None:
        """Return the final status ``job`` has reported already, if any."""
        final = self._final
        return final[1] if final is not None and final[0] is job else None

    def _has_result(self) -> bool:
        """Whether a result is cached (for the set's fetcher)."""
        return self._raw_result is not None

    def _has_fetch_error(self) -> bool:
        """Whether the last fetch of the result raised (for the set's fetcher)."""
        return self._result_error is not None

    def _await_final(self, timeout: float | None) -> None:
        """Wait until the job is final, remembering the final status read.

        The set's fetcher waits this way before it takes a place to download
        the result; nothing is waited for if a result is cached or the final
        status is known. Errors are left for :meth:`result` to report.
        """
        job = self.job
        if job is None or self._raw_result is not None or self._known_final(job) is not None:
            return

        def remember(status: JobStatus) -> None:
            self._final = (job, status)

        try:
            wait_for_final_state(
                job, timeout, clock=self.clock, poll=self.poll_policy, on_final=remember
            )
        except Exception as err:
            logger.debug("Waiting for experiments %d-%d: %s", *self._span(), err)

    def _read_local_result(self, job: JobV1) -> None:
        """Read the result of a finished job whose result is in this process.

        A local simulator (Aer, ``BasicSimulator``) reports ``DONE`` for a
        job whose result failed; reading its result costs nothing, so
        :meth:`status` does, and says ``ERROR`` for such a job even before
        anyone asked for results. A remote job's result is not downloaded
        for a status.
        """
        if self._raw_result is None and self._result_error is None and result_is_local(job):
            with self._lock:
                if self._raw_result is None and self._result_error is None:
                    self._fetch(0, quiet=True)

    def _local_failure(self, job: JobV1) -> str | None:
        """What the failed result of a finished local job says; ``None`` if it did not fail."""
        local = result_is_local(job)  # a remote job is not asked again here
        if self._raw_result is None and local and job.status() is JobStatus.DONE:
            self._read_local_result(job)
        raw = self._raw_result
        return describe_failure(raw) if raw is not None and not raw.success else None

    def _prefetch(self) -> None:
        """Fetch and cache the result of a finished job, without warnings.

        Background watchers call this once a job is final, so that its result
        is journaled (and cached for :meth:`result`) as soon as it exists.
        """
        with self._lock:
            if self._raw_result is None:
                self._fetch(None, quiet=True)

    def _fetch(self, timeout: float | None, *, quiet: bool = False) -> bool:
        """Fetch the result into the cache; return whether there is one."""
        say = logger.debug if quiet else warn
        deadline = Deadline(self.clock, timeout)
        future = self.future
        if self.job is None and future is not None and not future.done():
            wait_futures([future], timeout=timeout)
            if not future.done():
                self._raise_timeout(timeout)
        job = self.job
        if job is None:
            return False
        try:
            finished = self._known_final(job) is not None or wait_for_final_state(
                job, deadline.left(), clock=self.clock, poll=self.poll_policy
            )
        except Exception as err:
            self._fetch_failed(job, err, say, notify=False)
            return False
        if not finished:
            self._raise_timeout(timeout)
        try:
            raw = job.result()
        except QiskitJobTimeoutError as err:
            self._raise_timeout(timeout, err)
        except Exception as err:
            self._fetch_failed(job, err, say)
            return False
        if not isinstance(raw, Result):
            self._fetch_failed(
                job, TypeError(f"job returned {type(raw).__name__}, not a Result"), say
            )
            return False
        self._raw_result = raw
        self._result_error = None
        self._notify_finished(raw, None)
        return True

    def _fetch_failed(
        self,
        job: JobV1,
        error: Exception,
        say: Callable[[str], object],
        *,
        notify: bool = True,
    ) -> None:
        """Keep ``error`` as why there is no result, say so, and tell the observer."""
        self._result_error = error
        say(
            f"Unable to retrieve job result for experiments "
            f"{self.start_index}-{self.end_index}, job ID={job_id(job)}: {error_text(error)}"
        )
        if notify:
            self._notify_finished(None, error)

    def _notify_finished(self, result: Result | None, error: BaseException | None) -> None:
        observer = self._observer
        if observer is not None:
            try:
                observer.finished(cast("ManagedJob", self), result, error)
            except Exception:
                logger.exception("Observer of experiments %d-%d failed.", *self._span())
        self._fire_done()

    def _watch(self) -> None:
        for watcher in _watcher:
            watcher(cast("ManagedJob", self))

    def _fire_done(self) -> None:
        with self._lock:
            if self._done_fired:
                return
            self._done_fired = True
            callbacks, self._done_callbacks = self._done_callbacks, []
        for fn in callbacks:
            self._call_back(fn)

    def _call_back(self, fn: Callable[[ManagedJob], object]) -> None:
        try:
            fn(cast("ManagedJob", self))
        except Exception:
            logger.exception("Done callback of experiments %d-%d failed.", *self._span())

    def _raise_timeout(self, timeout: float | None, cause: BaseException | None = None) -> None:
        raise JobTimeoutError(
            f"Timeout while waiting for job {job_id(self.job)} "
            f"(experiments {self.start_index}-{self.end_index}) after {timeout} s"
        ) from cause
