"""ManagedJob: one slice of a job set's experiments and the target job that runs it."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus, JobV1
from qiskit.result import Result

from managedjob._checks import check_timeout, drop_unset_options, warn_job_share_level
from managedjob._limits import AdaptiveLimit
from managedjob._managed_job._completed import CompletedJob
from managedjob._managed_job._core import SliceBookkeeping
from managedjob._managed_job._errors import (
    ExecutorShutDownError,
    check_count,
    describe_failure,
    job_id,
    warn,
)
from managedjob._managed_job._hooks import (
    QOBJ_ONLY_OPTIONS,
    CheckedRun,
    JobObserver,
    SubmitLock,
)
from managedjob._managed_job._submission import SliceSubmission, SubmissionCalledOff
from managedjob._retry import RetryPolicy
from managedjob._wait import (
    DEFAULT_POLL,
    FINAL_STATES,
    SYSTEM_CLOCK,
    Clock,
    PollPolicy,
)
from managedjob.exceptions import (
    InvalidInputError,
    error_text,
)
from managedjob.targets import Target

if TYPE_CHECKING:
    from managedjob._qobj import QasmQobj

__all__ = ["ManagedJob"]

logger = logging.getLogger("managedjob._managed_job")


class ManagedJob(SliceBookkeeping):
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
        self.start_index = check_count("start_index", start_index, 0)
        count = check_count("experiments_count", experiments_count, 1)
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
        # The run options its set has checked already (see CheckedRun).
        self._checked: CheckedRun | None = None
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

    @property
    def experiments_count(self) -> int:
        """Number of experiments in this slice."""
        return self.end_index - self.start_index + 1

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} experiments {self.start_index}-{self.end_index} "
            f"job_id={job_id(self.job)!r}>"
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
            JobManagerInvalidStateError: If the executor has been shut down
                (also a :class:`RuntimeError`, as the executor's own error).
        """
        warn_job_share_level(job_share_level)
        run_config = drop_unset_options(run_config)
        circuit_list = [circuits] if isinstance(circuits, QuantumCircuit) else list(circuits)
        if len(circuit_list) != self.experiments_count:
            raise InvalidInputError(
                f"experiments {self.start_index}-{self.end_index} need "
                f"{self.experiments_count} circuits, got {len(circuit_list)}"
            )
        self._qobj_options = {k: run_config.pop(k) for k in QOBJ_ONLY_OPTIONS & run_config.keys()}
        target = self._target_for(backend)
        checked = self._checked
        if checked is None or not checked.covers(target, run_config):
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
            raise ExecutorShutDownError(
                f"cannot submit experiments {self.start_index}-{self.end_index}: "
                f"the executor does not take new work ({err})"
            ) from err
        self.future = future
        self._collected = Future()
        future.add_done_callback(self._collect_submission)

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
            self.job = SliceSubmission(
                target,
                circuits,
                job_name,
                job_tags or [],
                run_config,
                self.start_index,
                self.end_index,
                self.retry_policy,
                self.poll_policy,
                self.clock,
                called_off=lambda: self._cancel_requested,
                limit=submit_lock if isinstance(submit_lock, AdaptiveLimit) else None,
            ).run()
        except SubmissionCalledOff:
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

    # ------------------------------------------------------------------ query

    def status(self) -> JobStatus | None:
        """Return the job's status.

        A final status (done, failed, cancelled) is remembered: once the job
        has reported one, it is not asked again.

        Returns:
            ``JobStatus.INITIALIZING`` while the job is being submitted,
            ``JobStatus.CANCELLED`` if it was cancelled before submission, the
            job's status once it exists (``JobStatus.ERROR`` for a job that
            reports ``DONE`` but whose result failed: an in-process job's
            result is read for this, a remote job's once it is fetched), or ``None``
            (with a warning) if the submission failed or the status query
            raised.
        """
        if self.submit_error is not None or self._lost_reason is not None:
            return None
        if self._cancelled_before_submit:
            return JobStatus.CANCELLED
        job = self.job
        if job is None:
            return JobStatus.INITIALIZING
        known = self._known_final(job)
        if known is None:
            try:
                known = job.status()
            except Exception as err:
                warn(
                    f"Unable to retrieve job status for experiments "
                    f"{self.start_index}-{self.end_index}, job ID={job_id(job)}: {err}"
                )
                return None
            if known in FINAL_STATES:
                self._final = (job, known)
        if known is JobStatus.DONE:
            self._read_local_result(job)
        raw = self._raw_result
        if known is JobStatus.DONE and raw is not None and not raw.success:
            return JobStatus.ERROR  # the job ran, but its result says it failed
        return known

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
                warn(
                    f"Job {job_id(self.job)} for experiments "
                    f"{self.start_index}-{self.end_index} failed: {raw.status}. "
                    "Use partial=True for the experiments that succeeded."
                )
            return None
        return raw

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
            return str(message) if message is not None else self._local_failure(job)
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
        return describe_failure(raw)

    def cancel(self) -> None:
        """Try to cancel the job; never raises, logs a warning when it cannot.

        A submission that has not started yet is called off. One that is
        under way, or that ended while this was called, is waited for (a
        wait for the target's job limit stops at once), and the job it made
        is cancelled: a cancel never leaves a just-submitted job running.
        """
        job = self.job
        if job is None:
            future = self.future
            if future is not None:
                self._cancel_requested = True
                if future.cancel():
                    self._cancelled_before_submit = True
                    return
                # The submission is running, or ended while cancel() was on its
                # way: wait for it, and cancel the job it made (if any).
                if not future.done():
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
                job_id(job),
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
            job_id(job),
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
                warn(
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
            warn(
                f"Unable to load the circuits of experiments "
                f"{self.start_index}-{self.end_index} from the journal: {err}"
            )
            return False
        if found is None:
            return False
        self._circuits, self._run_config, self._qobj_options = found
        return True
