"""Resubmitting the failed jobs of a set: by policy when they fail, or when asked."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobStatus

from managedjob._job_set._state import SetState
from managedjob._job_set._submission import ObserverFactory, Submitter
from managedjob._job_set._workload import CIRCUITS
from managedjob._journal import SliceObserver
from managedjob._managed_job import CheckedRun, ManagedJob
from managedjob._restore import reattach, settle_unrecorded
from managedjob.exceptions import (
    InvalidInputError,
    JobManagerInvalidStateError,
    JournalError,
    UsageBudgetError,
)

__all__ = ["PartialRetryError", "Resubmitter", "needs_retry"]

logger = logging.getLogger("managedjob._job_set")


class _CircuitsUnknown(JobManagerInvalidStateError):
    """The circuits of a job to resubmit are neither in memory nor in the journal."""


class PartialRetryError(JobManagerInvalidStateError):
    """``retry_failed()`` resubmitted what it could; some jobs' circuits are not known.

    Attributes:
        resubmitted: The new managed jobs, as ``retry_failed()`` would return them.
        not_resubmitted: The ``(start, end)`` experiment ranges left as they were.
    """

    def __init__(
        self,
        message: str,
        resubmitted: list[ManagedJob],
        not_resubmitted: list[tuple[int, int]],
    ) -> None:
        super().__init__(message)
        self.resubmitted = resubmitted
        self.not_resubmitted = not_resubmitted


def needs_retry(mjob: ManagedJob) -> bool:
    """Whether ``retry_failed()`` resubmits ``mjob``."""
    if mjob.submit_error is not None or mjob._lost_reason is not None:
        return True
    if mjob._cancelled_before_submit:
        return True
    job = mjob.job
    if job is None:
        return mjob.future is None
    try:
        status = job.status()
    except Exception as err:
        logger.warning(
            "Not retrying experiments %d-%d: their job's status is unknown (%s).",
            mjob.start_index,
            mjob.end_index,
            err,
        )
        return False
    if status is JobStatus.DONE:  # ran, but a result that failed is a failure too
        raw = mjob._raw_result
        return raw is not None and not raw.success
    return status in (JobStatus.ERROR, JobStatus.CANCELLED)


class Resubmitter:
    """Replaces a set's failed jobs by new submissions of the same experiments.

    :meth:`job_failed` is the one place the set's
    :class:`~managedjob._job_set._policy.ResubmitPolicy` is applied, whoever
    saw the failure. :meth:`retry_failed` resubmits every failed job when
    the user asks. A thread pool made for resubmissions of a set that has
    no executor is this object's to shut down (:meth:`close`).

    Args:
        state: The set's state.
        submitter: Submits the new jobs.
        observer: Makes the observer of each new job.
    """

    def __init__(self, state: SetState, submitter: Submitter, observer: ObserverFactory) -> None:
        self._state = state
        self._submitter = submitter
        self._observer = observer
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Shut down the pool made for resubmissions, if any; started ones finish."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def job_failed(self, mjob: ManagedJob) -> bool:
        """Resubmit a job that failed, if the set's policy allows it.

        Called by whoever sees the failure first; later calls for the same
        job do nothing.

        Returns:
            Whether ``mjob`` was replaced by a resubmission.
        """
        state = self._state
        if isinstance(mjob.submit_error, UsageBudgetError):
            return False  # held back by the budget: only retry_failed() submits it
        if not state.resubmit.allows(mjob._attempt, state.cancel_requested):
            return False
        with state.lock:
            number = next(
                (n for n, current in enumerate(state.managed_jobs) if current is mjob), None
            )
            backend, executor = state.backend, state.executor
            if number is None or backend is None or executor is None:
                return False
            try:
                circuits, config = self.submission_of(mjob, {})
                checked = CheckedRun.check(backend, config, self._target_for(backend))
                self._resubmit(number, mjob, circuits, checked, config, executor)
            except Exception as err:
                logger.warning(
                    "Unable to resubmit experiments %d-%d of job set %s: %s",
                    mjob.start_index,
                    mjob.end_index,
                    state.id,
                    err,
                )
                return False
        logger.info(
            "Experiments %d-%d of job set %s failed; resubmitted them (%d of at most %d).",
            mjob.start_index,
            mjob.end_index,
            state.id,
            mjob._attempt + 1,
            state.resubmit.max_resubmits,
        )
        return True

    def retry_failed(
        self,
        backend: Any,
        run_config: dict[str, Any],
        circuits: Sequence[QuantumCircuit] | None = None,
    ) -> list[ManagedJob]:
        """Resubmit every failed job (see ``ManagedJobSet.retry_failed``)."""
        state = self._state
        self._submitter.require_jobs()
        if state.usage_budget is not None:
            state.usage_budget.lift()  # asked for: what the budget held back runs now
        given = self._given_circuits(circuits)
        chosen = backend if backend is not None else state.backend
        if chosen is not None:
            for mjob in state.jobs():
                self._reattach_detached(mjob, chosen)
            self._look_up_unrecorded(chosen)
        jobs = state.jobs()
        failed = [(number, mjob) for number, mjob in enumerate(jobs) if needs_retry(mjob)]
        if not failed:
            return []
        if chosen is None:
            raise JobManagerInvalidStateError(
                f"Job set {state.id} has no backend to retry its failed jobs on: "
                "pass retry_failed(backend=...)."
            )
        target = state.workload.target_for(chosen)
        plans: list[tuple[int, ManagedJob, list[QuantumCircuit], CheckedRun, dict[str, Any]]] = []
        unknown: list[tuple[ManagedJob, Exception]] = []
        for number, mjob in failed:
            own = None if given is None else given[mjob.start_index : mjob.end_index + 1]
            try:
                slice_circuits, config = self.submission_of(mjob, run_config, own)
            except _CircuitsUnknown as err:
                unknown.append((mjob, err))
                continue
            checked = CheckedRun.check(chosen, config, target)
            plans.append((number, mjob, slice_circuits, checked, config))
        executor = self._executor_for(chosen, target)
        resubmitted = [
            self._resubmit(number, mjob, slice_circuits, checked, config, executor)
            for number, mjob, slice_circuits, checked, config in plans
        ]
        logger.info("Resubmitted %d job(s) of job set %s.", len(resubmitted), state.id)
        if unknown:
            spans = ", ".join(f"{m.start_index}-{m.end_index}" for m, _ in unknown)
            raise PartialRetryError(
                f"Experiments {spans} of job set {state.id} were not resubmitted: their "
                f"circuits are not known ({unknown[0][1]}). Pass the set's circuits again, "
                "as given to run(), with retry_failed(circuits=...) to run them. "
                f"{len(resubmitted)} other job(s) were resubmitted.",
                resubmitted,
                [(m.start_index, m.end_index) for m, _ in unknown],
            )
        return resubmitted

    def _given_circuits(
        self, circuits: Sequence[QuantumCircuit] | None
    ) -> list[QuantumCircuit] | None:
        """Check the circuits passed to ``retry_failed()``: the whole set's, in order.

        Raises:
            InvalidInputError: If they are not a list as long as the set, of circuits.
        """
        if circuits is None:
            return None
        jobs = self._state.jobs()
        expected = jobs[-1].end_index + 1 if jobs else 0
        if isinstance(circuits, QuantumCircuit) or not isinstance(circuits, (list, tuple)):
            raise InvalidInputError(
                f"circuits must be a list of the set's {expected} circuits, not "
                f"{type(circuits).__name__}"
            )
        if len(circuits) != expected:
            raise InvalidInputError(
                f"circuits must be the set's {expected} circuits, as given to run(); "
                f"got {len(circuits)}"
            )
        if self._state.workload is CIRCUITS:
            for index, circuit in enumerate(circuits):
                if not isinstance(circuit, QuantumCircuit):
                    raise InvalidInputError(
                        f"circuits[{index}] must be a QuantumCircuit, not {type(circuit).__name__}"
                    )
        return list(circuits)

    def _executor_for(self, chosen: Any, target: Any) -> Executor:
        """Make ``chosen`` the set's backend; return the executor to resubmit on."""
        state = self._state
        with state.lock:
            state.backend, state.target = chosen, target
            if state.executor is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=4, thread_name_prefix="managedjob-retry"
                )
                # A set dropped without close() still lets the pool's threads go.
                weakref.finalize(self, self._pool.shutdown, wait=False)
                state.executor = self._pool
            return state.executor

    def _target_for(self, backend: Any) -> Any:
        target = self._state.target
        if target is not None and (target is backend or target.wrapped is backend):
            return target
        return self._state.workload.target_for(backend)

    def _reattach_detached(self, mjob: ManagedJob, backend: Any) -> None:
        """Look a job that a rebuilt set did not attach up on ``backend``."""
        observer = mjob._observer
        if not isinstance(observer, SliceObserver) or observer.detached_job_id is None:
            return
        job_id, observer.detached_job_id = observer.detached_job_id, None
        job, why = reattach(backend, job_id)
        if job is None:
            mjob._lost_reason = (
                f"Job {job_id} for experiments {mjob.start_index}-{mjob.end_index} {why}."
            )
            return
        mjob.job = job
        mjob._lost_reason = None
        observer.watch(mjob)

    def _look_up_unrecorded(self, backend: Any) -> None:
        """Ask ``backend`` for the jobs of slices whose job id was never journaled.

        A slice found there is attached to its job and not resubmitted; one
        that ``backend`` cannot be asked about stays lost, and is
        resubmitted (it may then run twice).
        """
        unrecorded: list[tuple[ManagedJob, int, str, bool]] = []
        journal = None
        for mjob in self._state.jobs():
            observer = mjob._observer
            if (
                isinstance(observer, SliceObserver)
                and observer.unrecorded
                and observer.recorder is not None
                and mjob.job is None
            ):
                journal = observer.recorder.owner.journal
                span = f"{mjob.start_index}-{mjob.end_index}"
                unrecorded.append((mjob, observer.index, span, True))
        if journal is None:
            return
        for found in settle_unrecorded(journal, self._state.id, backend, unrecorded):
            observer = found._observer
            if isinstance(observer, SliceObserver):
                observer.watch(found)
        for mjob, *_ in unrecorded:
            observer = mjob._observer
            if isinstance(observer, SliceObserver) and observer.unrecorded:
                logger.warning("%s", mjob._lost_reason)

    def submission_of(
        self,
        mjob: ManagedJob,
        overrides: dict[str, Any],
        given: list[QuantumCircuit] | None = None,
    ) -> tuple[list[QuantumCircuit], dict[str, Any]]:
        """Return a job's circuits and run options (Qobj options included) for resubmission.

        ``given`` are the job's circuits passed again by the user: used when
        neither memory nor the journal has them.

        Raises:
            IBMQJobManagerInvalidStateError: If they are not known (the
                circuits: a :class:`_CircuitsUnknown`).
        """
        state = self._state
        span = f"{mjob.start_index}-{mjob.end_index}"
        unsaved: list[str] = []
        if mjob._circuits is not None:
            circuits = mjob._circuits
            config = {**mjob._run_config, **mjob._qobj_options}
        else:
            observer = mjob._observer
            recorder = observer.recorder if isinstance(observer, SliceObserver) else None
            if recorder is None or not isinstance(observer, SliceObserver):
                if given is None:
                    raise _CircuitsUnknown(
                        f"The circuits of experiments {span} of job set {state.id} are not "
                        "known: it was not run or journaled by managedjob."
                    )
                return list(given), dict(overrides)
            try:
                circuits, stored, qobj_options = recorder.owner.load_submission(observer.index)
            except JournalError as err:
                if given is None:
                    raise _CircuitsUnknown(str(err)) from err
                circuits, stored, qobj_options = recorder.owner.load_submission(
                    observer.index, given
                )
                recorder.owner.store_circuits(
                    observer.index, mjob.start_index, mjob.end_index, given
                )
            config = {**stored, **qobj_options}
            unsaved = recorder.owner.unsaved_options
        missing = [key for key in unsaved if key not in overrides]
        if missing:
            raise JobManagerInvalidStateError(
                f"Run option(s) {', '.join(map(repr, missing))} of job set {state.id} were not "
                "journaled (they have no JSON form, or look like credentials): pass them to "
                "retry_failed()."
            )
        config.update(overrides)
        return list(circuits), config

    def _resubmit(
        self,
        number: int,
        old: ManagedJob,
        circuits: list[QuantumCircuit],
        checked: CheckedRun,
        config: dict[str, Any],
        executor: Executor,
    ) -> ManagedJob:
        """Replace job ``number`` by a new submission of the same experiments."""
        state = self._state
        new = state.new_managed_job(old.start_index, old.experiments_count, None)
        new._attempt = old._attempt + 1
        new._target = checked.target
        recorder = state.recorder
        attempt = (
            None
            if recorder is None
            else recorder.new_attempt(number, new._attempt, state.job_name(number))
        )
        new._observer = self._observer(number, attempt)
        with state.lock:
            state.managed_jobs[number] = new
            state.jobs_version += 1
            old._superseded = True
            state.managed_results = None
        try:
            self._submitter.submit(new, number, circuits, checked, executor, config)
        except BaseException:
            with state.lock:
                state.managed_jobs[number] = old
                state.jobs_version += 1
                old._superseded = False
            raise
        return new
