"""One slice of a job set's experiments and the target job that runs it."""

from __future__ import annotations

import inspect
import logging
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any, Protocol

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.providers.exceptions import JobError
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError
from qiskit.result import Result

from managedjob._checks import check_timeout, warn_job_share_level
from managedjob._retry import RetryPolicy
from managedjob._wait import (
    DEFAULT_POLL,
    FINAL_STATES,
    SYSTEM_CLOCK,
    Clock,
    PollPolicy,
    wait_for_final_state,
)
from managedjob.exceptions import (
    InvalidInputError,
    JobLimitError,
    JobManagerInvalidStateError,
    JobTimeoutError,
    error_text,
)
from managedjob.targets import Target, resolve_target

if TYPE_CHECKING:
    from managedjob._qobj import QasmQobj

__all__ = ["CompletedJob", "ManagedJob"]

logger = logging.getLogger(__name__)

#: Run options that shape only the legacy Qobj view and never reach the target.
QOBJ_ONLY_OPTIONS = frozenset({"qobj_id", "qobj_header"})


class JobObserver(Protocol):
    """What a job set learns from one of its jobs (the journal and resubmission hooks).

    A :class:`ManagedJob` without an observer behaves as the legacy one did.
    An observer's methods must not raise; an error is logged and ignored.
    """

    def before_submit(self, mjob: ManagedJob) -> None:
        """Called in the executor before the job is submitted; may wait.

        Raising stops the submission: the error becomes ``submit_error``.
        """
        ...

    def submitted(self, mjob: ManagedJob) -> None:
        """Called once the submission ended: a job, a submit error, or cancelled."""
        ...

    def finished(
        self, mjob: ManagedJob, result: Result | None, error: BaseException | None
    ) -> None:
        """Called when the finished job's result was fetched, or fetching it failed."""
        ...

    def submission(
        self, mjob: ManagedJob
    ) -> tuple[list[QuantumCircuit], dict[str, Any], dict[str, Any]] | None:
        """Return the circuits, run options and Qobj options the job was submitted with."""
        ...


class SubmitLock(Protocol):
    """Anything with ``acquire`` and ``release``: a lock or a semaphore."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool:
        """Take the lock, waiting if needed."""
        ...

    def release(self) -> None:
        """Give the lock back."""
        ...


def _warn(message: str) -> None:
    """Warn as the legacy manager did, even from a worker thread.

    A warnings filter that turns warnings into errors must not make a
    submission future raise, so such an error is logged instead.
    """
    try:
        warnings.warn(message, UserWarning, stacklevel=3)
    except Warning:
        logger.warning(message)


class _SubmissionCalledOff(Exception):
    """The job was cancelled while its submission waited for the target's job limit."""


def _takes_start_index(target: Target) -> bool:
    """Whether ``target.submit`` takes the slice's first experiment index (optional)."""
    try:
        return "start_index" in inspect.signature(target.submit).parameters
    except (TypeError, ValueError):
        return False


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def _job_id(job: JobV1 | None) -> str | None:
    if job is None:
        return None
    try:
        return str(job.job_id())
    except Exception:
        return None


class ManagedJob:
    """One job of a job set: a slice of consecutive experiments.

    It keeps the legacy ``ManagedJob`` contract: the constructor, the
    attributes ``start_index``, ``end_index``, ``future``, ``job`` and
    ``submit_error``, and the methods ``submit``, ``_async_submit``,
    ``status``, ``result``, ``error_message``, ``cancel`` and ``qobj``, which
    subclasses may override.

    Threading:
        :meth:`submit` returns at once; the submission runs in the executor,
        holding ``submit_lock`` for as long as it talks to the target (retries
        and job-limit waits included). The outcome lands in ``job`` or
        ``submit_error``, and is also the value of ``future``, so that it
        reaches this object even from an executor that runs
        :meth:`_async_submit` on a copy of it. :meth:`result` may be called
        from several threads; the result is fetched once and cached.

    Args:
        start_index: Index of the slice's first experiment in the job set.
        experiments_count: Number of experiments in the slice.
        job: The job, when it is already known (as when a set is retrieved).

    Raises:
        ValueError: If ``start_index`` is negative or ``experiments_count`` is
            not positive.
    """

    #: Where time comes from; a job set sets its own on each of its jobs.
    clock: Clock = SYSTEM_CLOCK
    #: How submissions are retried.
    retry_policy: RetryPolicy = RetryPolicy()
    #: How status is polled for jobs that have no future.
    poll_policy: PollPolicy = DEFAULT_POLL

    def __init__(self, start_index: int, experiments_count: int, job: JobV1 | None = None):
        self.start_index = _check_count("start_index", start_index, 0)
        count = _check_count("experiments_count", experiments_count, 1)
        self.end_index = start_index + count - 1
        self.future: Future[Any] | None = None
        # Done once the submission's outcome is in this object and its
        # observer has seen it (which may have resubmitted the slice); a
        # submission future is done a moment earlier.
        self._collected: Future[None] | None = None
        self.job: JobV1 | None = job
        self.submit_error: Exception | None = None
        #: The name given to the job at submission (``"{set name}_{index}_"``).
        self.job_name: str | None = None
        self._circuits: list[QuantumCircuit] | None = None
        self._run_config: dict[str, Any] = {}
        self._qobj_options: dict[str, Any] = {}
        self._target: Target | None = None
        self._cancelled_before_submit = False
        self._cancel_requested = False
        self._lock = threading.RLock()
        self._raw_result: Result | None = None
        self._result_error: BaseException | None = None
        # The final status once seen, with the job it belongs to: it cannot
        # change, so asking the target again (a request, for remote jobs) is
        # not needed.
        self._final: tuple[JobV1, JobStatus] | None = None
        self._qobj: QasmQobj | None = None
        # Set by a job set: who hears about this job, which submission of the
        # slice it is, whether a later one replaced it, and (for a set rebuilt
        # from its journal) why its job cannot be followed.
        self._observer: JobObserver | None = None
        self._attempt = 0
        self._superseded = False
        self._lost_reason: str | None = None
        self._done_callbacks: list[Callable[[ManagedJob], object]] = []
        self._done_fired = False
        self._origin_pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        # What a process executor needs to run _async_submit on a copy; locks,
        # futures, observers and callbacks stay with the original.
        state = self.__dict__.copy()
        for key in (
            "_lock",
            "future",
            "_collected",
            "_target",
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
        self._observer = None
        self._done_callbacks = []
        self._qobj = None
        self._final = None

    @property
    def experiments_count(self) -> int:
        """Number of experiments in this slice."""
        return self.end_index - self.start_index + 1

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} experiments {self.start_index}-{self.end_index} "
            f"job_id={_job_id(self.job)!r}>"
        )

    # ------------------------------------------------------------------ submit

    def submit(
        self,
        circuits: QuantumCircuit | Sequence[QuantumCircuit],
        job_name: str,
        backend: Any,
        executor: Executor,
        submit_lock: SubmitLock,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        **run_config: Any,
    ) -> None:
        """Submit the slice's circuits as one job, in the background.

        Args:
            circuits: The slice's circuits (a single circuit is accepted).
            job_name: Name of the job.
            backend: What to run on: a backend, a sampler or a target.
            executor: Runs :meth:`_async_submit`; any
                :class:`concurrent.futures.Executor`.
            submit_lock: Held around the submission; a lock serialises
                submissions, a semaphore bounds how many run at once.
            job_share_level: Ignored, with a :class:`DeprecationWarning`.
            job_tags: Tags for the job, where the target keeps tags.
            **run_config: Run options, such as ``shots``; ``qobj_id`` and
                ``qobj_header`` shape only :meth:`qobj`.

        Raises:
            InvalidInputError: If the circuits do not match the slice, or the
                target rejects a run option.
            JobManagerInvalidStateError: If the executor has been shut down.
        """
        warn_job_share_level(job_share_level)
        circuit_list = [circuits] if isinstance(circuits, QuantumCircuit) else list(circuits)
        if len(circuit_list) != self.experiments_count:
            raise InvalidInputError(
                f"experiments {self.start_index}-{self.end_index} need "
                f"{self.experiments_count} circuits, got {len(circuit_list)}"
            )
        self._qobj_options = {k: run_config.pop(k) for k in QOBJ_ONLY_OPTIONS & run_config.keys()}
        target = self._target_for(backend)
        target.check_run_config(run_config)
        self._circuits = circuit_list
        self._origin_pid = os.getpid()
        if not isinstance(executor, ThreadPoolExecutor) and self._observer is not None:
            # An executor that may run the submission on a copy (processes, Dask)
            # takes no observer along: do the observer's pre-submission work
            # (the journal record) here, before handing the job over.
            self._observer.before_submit(self)
        self._run_config = dict(run_config)
        self.job_name = job_name
        try:
            future = executor.submit(
                self._async_submit,
                circuits=circuit_list,
                job_name=job_name,
                backend=backend,
                submit_lock=submit_lock,
                job_tags=job_tags,
                **run_config,
            )
        except RuntimeError as err:
            raise JobManagerInvalidStateError(
                f"cannot submit experiments {self.start_index}-{self.end_index}: "
                f"the executor does not take new work ({err})"
            ) from err
        self.future = future
        self._collected = Future()
        future.add_done_callback(self._collect_submission)

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
                        observer.submitted(self)
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

    def _async_submit(
        self,
        circuits: list[QuantumCircuit],
        job_name: str,
        backend: Any,
        submit_lock: SubmitLock,
        job_tags: list[str] | None = None,
        **run_config: Any,
    ) -> JobV1 | Exception | None:
        """Submit the job and record the outcome on this object.

        Transient errors are retried with back-off; a
        :class:`~managedjob.exceptions.JobLimitError` waits for a pending job
        to finish and tries again. A final failure is stored in
        ``submit_error`` with a warning; it never raises.

        Returns:
            The job, or the error that stopped its submission.
        """
        target = self._target_for(backend)
        observer = self._observer
        if observer is not None:
            try:
                observer.before_submit(self)
            except Exception as err:
                return self._submission_failed(job_name, err)
        logger.debug("Job %s waiting for the submit lock.", job_name)
        submit_lock.acquire()
        try:
            logger.debug("Job %s got the submit lock.", job_name)
            self.job = self._submit_with_retries(
                target, circuits, job_name, job_tags or [], run_config
            )
        except _SubmissionCalledOff:
            self._cancelled_before_submit = True
            return None
        except Exception as err:
            return self._submission_failed(job_name, err)
        finally:
            submit_lock.release()
            logger.debug("Job %s released the submit lock.", job_name)
        if os.getpid() != self._origin_pid and self.job is not None:
            # A process executor (or Dask) ran this on a copy: a live job rarely
            # survives the trip back, so finish it here and send its result.
            return CompletedJob.finish(self.job)
        return self.job

    def _submission_failed(self, job_name: str | None, error: Exception) -> Exception:
        """Keep ``error`` as the submit error and warn, as the legacy manager did."""
        self.submit_error = error
        _warn(
            f"Unable to submit job {job_name} for experiments "
            f"{self.start_index}-{self.end_index}: {error_text(error)}"
        )
        return error

    def _submit_with_retries(
        self,
        target: Target,
        circuits: list[QuantumCircuit],
        job_name: str,
        job_tags: list[str],
        run_config: dict[str, Any],
    ) -> JobV1:
        policy, clock = self.retry_policy, self.clock

        extra = {"start_index": self.start_index} if _takes_start_index(target) else {}

        def attempt() -> JobV1:
            return target.submit(
                circuits, job_name=job_name, job_tags=job_tags, run_config=run_config, **extra
            )

        def on_retry(error: BaseException, delay: float) -> None:
            logger.info(
                "Submitting job %s for experiments %d-%d failed (%s); trying again in %.3g s.",
                job_name,
                self.start_index,
                self.end_index,
                error,
                delay,
            )

        limit_since: float | None = None
        while True:
            try:
                return policy.call(attempt, clock, on_retry)
            except JobLimitError:
                if self._cancel_requested:  # cancel() is waiting: give up the wait
                    raise _SubmissionCalledOff() from None
                now = clock.monotonic()
                if limit_since is None:
                    limit_since = now
                    logger.warning(
                        "The target's job limit is reached; job %s for experiments %d-%d "
                        "waits for a pending job to finish.",
                        job_name,
                        self.start_index,
                        self.end_index,
                    )
                waited = now - limit_since
                if policy.job_limit_timeout is not None and waited >= policy.job_limit_timeout:
                    raise
                left = (
                    None if policy.job_limit_timeout is None else policy.job_limit_timeout - waited
                )
                self._wait_for_a_free_slot(target, left)

    def _wait_for_a_free_slot(self, target: Target, timeout: float | None) -> None:
        clock = self.clock
        started = clock.monotonic()
        try:
            oldest = target.oldest_pending_job()
        except Exception as err:
            logger.debug("Could not list pending jobs: %s", err)
            oldest = None
        if oldest is not None:
            try:
                wait_for_final_state(oldest, timeout, clock=clock, poll=self.poll_policy)
            except Exception as err:
                logger.debug("Could not wait for job %s: %s", _job_id(oldest), err)
        if clock.monotonic() == started:
            # Nothing to wait for, or it had already finished: back off instead
            # of asking the target again at once.
            backoff = self.retry_policy.job_limit_backoff
            clock.sleep(backoff if timeout is None else min(backoff, timeout))

    # ------------------------------------------------------------------ query

    def status(self) -> JobStatus | None:
        """Return the job's status.

        A final status (done, failed, cancelled) is remembered: once the job
        has reported one, it is not asked again.

        Returns:
            ``JobStatus.INITIALIZING`` while the job is being submitted,
            ``JobStatus.CANCELLED`` if it was cancelled before submission, the
            job's status once it exists, or ``None`` (with a warning) if the
            submission failed or the status query raised.
        """
        if self.submit_error is not None or self._lost_reason is not None:
            return None
        if self._cancelled_before_submit:
            return JobStatus.CANCELLED
        job = self.job
        if job is None:
            return JobStatus.INITIALIZING
        known = self._known_final(job)
        if known is not None:
            return known
        try:
            status = job.status()
        except Exception as err:
            _warn(
                f"Unable to retrieve job status for experiments "
                f"{self.start_index}-{self.end_index}, job ID={_job_id(job)}: {err}"
            )
            return None
        if status in FINAL_STATES:
            self._final = (job, status)
        return status

    def _known_final(self, job: JobV1) -> JobStatus | None:
        """Return the final status ``job`` has reported already, if any."""
        final = self._final
        return final[1] if final is not None and final[0] is job else None

    def result(
        self, timeout: float | None = None, partial: bool = False, refresh: bool = False
    ) -> Result | None:
        """Return the job's result, waiting for it if needed.

        The result is fetched once and cached; a later call returns the cached
        value unless ``refresh`` is true.

        Args:
            timeout: Seconds to wait for the job at most; ``None`` waits as long
                as it takes.
            partial: Return the result of a job that failed, so that the
                experiments that succeeded can be read. Without it, a failed
                job gives ``None``.
            refresh: Fetch the result again instead of using the cached one.

        Returns:
            The result, or ``None`` (with a warning) if it cannot be had: the
            submission failed, the job failed (and ``partial`` is false), or
            fetching the result raised.

        Raises:
            IBMQJobTimeoutError: If the job does not finish within ``timeout``.
            InvalidInputError: If ``timeout`` is negative.
        """
        check_timeout(timeout)
        with self._lock:
            if (self._raw_result is None or refresh) and not self._fetch(timeout):
                return None
            raw = self._raw_result
        if raw is not None and not raw.success and not partial:
            if not self._superseded:  # a resubmission replaced it: nothing to warn about
                _warn(
                    f"Job {_job_id(self.job)} for experiments "
                    f"{self.start_index}-{self.end_index} failed: {raw.status}. "
                    "Use partial=True for the experiments that succeeded."
                )
            return None
        return raw

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
        warn = logger.debug if quiet else _warn
        clock = self.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        future = self.future
        if self.job is None and future is not None and not future.done():
            wait_futures([future], timeout=timeout)
            if not future.done():
                self._raise_timeout(timeout)
        job = self.job
        if job is None:
            return False
        left = None if deadline is None else max(0.0, deadline - clock.monotonic())
        try:
            finished = self._known_final(job) is not None or wait_for_final_state(
                job, left, clock=clock, poll=self.poll_policy
            )
        except Exception as err:
            self._fetch_failed(job, err, warn, notify=False)
            return False
        if not finished:
            self._raise_timeout(timeout)
        try:
            raw = job.result()
        except QiskitJobTimeoutError as err:
            self._raise_timeout(timeout, err)
        except Exception as err:
            self._fetch_failed(job, err, warn)
            return False
        if not isinstance(raw, Result):
            self._fetch_failed(
                job, TypeError(f"job returned {type(raw).__name__}, not a Result"), warn
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
        warn: Callable[[str], object],
        *,
        notify: bool = True,
    ) -> None:
        """Keep ``error`` as why there is no result, say so, and tell the observer."""
        self._result_error = error
        warn(
            f"Unable to retrieve job result for experiments "
            f"{self.start_index}-{self.end_index}, job ID={_job_id(job)}: {error_text(error)}"
        )
        if notify:
            self._notify_finished(None, error)

    def _notify_finished(self, result: Result | None, error: BaseException | None) -> None:
        observer = self._observer
        if observer is not None:
            try:
                observer.finished(self, result, error)
            except Exception:
                logger.exception("Observer of experiments %d-%d failed.", *self._span())
        self._fire_done()

    def add_done_callback(self, fn: Callable[[ManagedJob], object]) -> None:
        """Call ``fn(self)`` once this job is settled.

        Settled means its result was fetched (the job finished, failed or was
        cancelled) or it will never run (its submission failed, or it was
        cancelled before submission). A job already settled calls ``fn`` at
        once. Jobs are watched in the background so that ``fn`` runs without
        anyone asking for results, when the job has a future or the job's
        clock is the real one; with a fake clock, ``fn`` runs when the result
        is fetched. An error raised by ``fn`` is logged and ignored.

        Args:
            fn: Called with this managed job, from whichever thread settles it.
        """
        with self._lock:
            settled = self._done_fired
            if not settled:
                self._done_callbacks.append(fn)
        if settled:
            self._call_back(fn)
        elif self.job is not None:
            self._watch()

    def _watch(self) -> None:
        from managedjob._journal import watch_job

        watch_job(self)

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
            fn(self)
        except Exception:
            logger.exception("Done callback of experiments %d-%d failed.", *self._span())

    def _raise_timeout(self, timeout: float | None, cause: BaseException | None = None) -> None:
        raise JobTimeoutError(
            f"Timeout while waiting for job {_job_id(self.job)} "
            f"(experiments {self.start_index}-{self.end_index}) after {timeout} s"
        ) from cause

    def error_message(self) -> str | None:
        """Explain why the job failed.

        Jobs that have an ``error_message()`` of their own are asked; for other
        jobs the message is derived from the failed result or from the error
        raised while fetching it. A failed submission is reported too.

        Returns:
            The explanation, or ``None`` if the job did not fail.
        """
        if self.submit_error is not None:
            return f"Job submit failed: {error_text(self.submit_error)}"
        if self._lost_reason is not None:
            return self._lost_reason
        job = self.job
        if job is None:
            return None
        own = getattr(job, "error_message", None)
        if callable(own):
            try:
                message = own()
            except Exception:
                return "Unknown error."
            return None if message is None else str(message)
        with self._lock:
            raw, error = self._raw_result, self._result_error
            if raw is None and error is None:
                try:
                    status = job.status()
                except Exception as err:
                    return f"Unable to retrieve the job status: {err}"
                if status is not JobStatus.ERROR:
                    return None
                self._fetch(None)
                raw, error = self._raw_result, self._result_error
        if error is not None:
            return f"{type(error).__name__}: {error}"
        if raw is None or raw.success:
            return None
        return _describe_failure(raw)

    def cancel(self) -> None:
        """Try to cancel the job; never raises, logs a warning when it cannot.

        A submission that has not started yet is called off. One that is
        under way is waited for (a wait for the target's job limit stops at
        once), and the job it made is cancelled.
        """
        job = self.job
        if job is None:
            future = self.future
            if future is not None and future.cancel():
                self._cancelled_before_submit = True
                return
            if future is not None and not future.done():
                self._cancel_requested = True
                wait_futures([future])
                self._absorb_submission(future)
                job = self.job
        if job is None:
            if self._cancelled_before_submit:
                return
            if self.submit_error:
                reason = "its submission failed"
            elif self._lost_reason:
                reason = "its job is lost"
            else:
                reason = "it is not submitted yet"
            logger.warning(
                "Unable to cancel the job for experiments %d-%d: %s.",
                self.start_index,
                self.end_index,
                reason,
            )
            return
        try:
            status = job.status()
        except Exception:
            status = None
        if status in FINAL_STATES:
            logger.warning(
                "Unable to cancel job %s for experiments %d-%d: it is already %s.",
                _job_id(job),
                self.start_index,
                self.end_index,
                status.name.lower() if status else "finished",
            )
            return
        try:
            cancelled = job.cancel()
        except Exception as err:
            reason = str(err) or type(err).__name__
        else:
            if cancelled is not False:
                return
            reason = "the target refused"
        logger.warning(
            "Unable to cancel job %s for experiments %d-%d: %s",
            _job_id(job),
            self.start_index,
            self.end_index,
            reason,
        )

    def qobj(self) -> QasmQobj | None:
        """Return a legacy-shaped, read-only Qobj view of the submitted job.

        Qiskit 2 has no Qobj; the view is built from the circuits and run
        options this job was submitted with, in the schema the legacy
        ``assemble()`` produced.

        Returns:
            The view, or ``None`` (with a warning) if it cannot be built, as
            for a job that this object did not submit itself.
        """
        with self._lock:
            if self._qobj is not None:
                return self._qobj
            if self._circuits is None and not self._load_submission():
                return None
            assert self._circuits is not None
            from managedjob._qobj import build_qobj

            try:
                self._qobj = build_qobj(
                    self._circuits,
                    self._run_config,
                    qobj_id=self._qobj_options.get("qobj_id"),
                    qobj_header=self._qobj_options.get("qobj_header"),
                )
            except Exception as err:
                _warn(
                    f"Unable to build the qobj for experiments "
                    f"{self.start_index}-{self.end_index}: {err}"
                )
                return None
            return self._qobj

    def _load_submission(self) -> bool:
        """Fill in the circuits and run options from the observer (the journal)."""
        observer = self._observer
        if observer is None:
            return False
        try:
            found = observer.submission(self)
        except Exception as err:
            _warn(
                f"Unable to load the circuits of experiments "
                f"{self.start_index}-{self.end_index} from the journal: {err}"
            )
            return False
        if found is None:
            return False
        self._circuits, self._run_config, self._qobj_options = found
        return True


def experiment_name(experiment: object) -> str | None:
    """Return the name in an experiment result's header, if it has one."""
    header = getattr(experiment, "header", None)
    name = header.get("name") if isinstance(header, dict) else getattr(header, "name", None)
    return name if isinstance(name, str) else None


def _describe_failure(result: Result) -> str:
    lines = [f"Job failed: {result.status}" if result.status else "Job failed."]
    for index, experiment in enumerate(result.results):
        if not experiment.success:
            name = experiment_name(experiment)
            label = f"experiment {index}" + (f" ({name})" if name else "")
            lines.append(f"{label}: {getattr(experiment, 'status', None) or 'failed'}")
    return "\n".join(lines)


class CompletedJob(JobV1):
    """A finished job carried back from another process, with its result.

    When an executor runs a submission in another process (a
    ``ProcessPoolExecutor``, a Dask cluster), the job is waited for there and
    comes back as one of these: its status and result are those the job had,
    and it never contacts the target again.

    Args:
        job_id: The original job's id.
        status: Its final status.
        result: Its result, or ``None`` when fetching it failed.
        error: Why there is no result, if there is none.
        backend_name: Name of the backend it ran on.
    """

    def __init__(
        self,
        job_id: str,
        status: JobStatus,
        result: Result | None,
        error: str | None = None,
        backend_name: str | None = None,
    ) -> None:
        super().__init__(None, job_id)
        self._status = status
        self._result = result
        self._error = error
        self.backend_name = backend_name

    @classmethod
    def finish(cls, job: JobV1) -> CompletedJob:
        """Wait for ``job`` to finish and keep its final status and result."""
        try:
            wait_for_final_state(job)
            result = job.result()
            error = None
        except Exception as err:
            result, error = None, f"{type(err).__name__}: {err}"
        try:
            status = job.status()
        except Exception:
            status = JobStatus.ERROR if result is None else JobStatus.DONE
        backend = getattr(result, "backend_name", None)
        return CompletedJob(str(job.job_id()), status, result, error, backend)

    def submit(self) -> None:
        """Not supported: the job ran already.

        Raises:
            JobError: Always.
        """
        raise JobError(f"job {self.job_id()} has finished; it cannot be submitted again")

    def status(self) -> JobStatus:
        """Return the status the job ended in."""
        return self._status

    def result(self, timeout: float | None = None) -> Result:
        """Return the job's result.

        Args:
            timeout: Ignored: the job is finished.

        Raises:
            JobError: If the job has no result (it failed or was cancelled, or
                fetching its result failed).
        """
        if self._result is None:
            raise JobError(
                f"job {self.job_id()} has no result: {self._error or self._status.value}"
            )
        return self._result

    def cancel(self) -> bool:
        """Return ``False``: a finished job cannot be cancelled."""
        return False

    def error_message(self) -> str | None:
        """Return why the job failed, or ``None`` if it did not fail."""
        return None if self._status is JobStatus.DONE else self._error
