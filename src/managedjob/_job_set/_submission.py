"""Making a job set's managed jobs and submitting them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any

from managedjob._job_set._state import SetState
from managedjob._journal import AttemptRecorder, JournalError, JournalPolicy, SetRecorder
from managedjob._managed_job import CheckedRun, JobObserver, ManagedJob
from managedjob.exceptions import JobManagerInvalidStateError

if TYPE_CHECKING:
    from managedjob._job_set._plan import RunPlan

__all__ = ["Submitter"]

logger = logging.getLogger("managedjob._job_set")

#: Makes the observer of job ``number`` of a set, given its journal attempt.
ObserverFactory = Callable[[int, "AttemptRecorder | None"], JobObserver]


class Submitter:
    """Makes the managed jobs of a run and submits each slice.

    Args:
        state: The set's state.
        observer: Makes the observer of each job (journal records, resubmission).
    """

    def __init__(self, state: SetState, observer: ObserverFactory) -> None:
        self._state = state
        self._observer = observer
        # The version of the job list whose submissions are all known to be
        # over; see wait_for_submissions().
        self._settled_version = -1

    def start(self, plan: RunPlan, executor: Executor) -> None:
        """Make one managed job per slice of ``plan`` and submit them all.

        With a journal, the set and each job's circuits are journaled before
        that job is submitted.

        Raises:
            IBMQJobManagerInvalidStateError: If the set's jobs were submitted already.
            JournalError: If the journal is required and cannot be written.
        """
        state = self._state
        checked = plan.checked
        with state.lock:
            if state.managed_jobs:
                raise JobManagerInvalidStateError(
                    f"The jobs of job set {state.id!r} have already been submitted."
                )
            start = 0
            jobs: list[ManagedJob] = []
            for size in plan.sizes:
                mjob = state.new_managed_job(start, size, None)
                mjob._target = checked.target
                jobs.append(mjob)
                start += size
            job_names = [state.job_name(number) for number in range(len(jobs))]
            recorder = self._start_journal(plan, jobs, job_names)
            state.limit_to(checked.target)
            for mjob in jobs:
                mjob.poll_policy = state.poll_policy
            state.backend = checked.backend
            state.target = checked.target
            state.tags = list(plan.job_tags)
            state.workload = plan.workload
            state.experiments = [item for items in plan.slices for item in items]
            state.executor = executor
            state.resubmit = plan.resubmit
            state.recorder = recorder
            for number, mjob in enumerate(jobs):
                attempt = recorder.first_attempt(number) if recorder is not None else None
                mjob._observer = self._observer(number, attempt)
            state.adopt(jobs)
            run_config = plan.run_config
            for number, (mjob, circuits) in enumerate(zip(jobs, plan.slices, strict=True)):
                logger.debug(
                    "Submitting job %d/%d of job set %s.", number + 1, len(jobs), state.name
                )
                self.submit(mjob, number, circuits, checked, executor, run_config)

    def submit(
        self,
        mjob: ManagedJob,
        number: int,
        circuits: Sequence[Any],
        checked: CheckedRun,
        executor: Executor,
        run_config: dict[str, Any],
    ) -> None:
        """Submit ``mjob`` as job ``number`` of the set, with options already checked."""
        state = self._state
        mjob._checked = checked
        mjob.submit(
            list(circuits),
            job_name=state.job_name(number),
            backend=checked.backend,
            executor=executor,
            submit_lock=state.submit_lock,
            job_tags=state.job_tags(),
            **run_config,
        )

    def _start_journal(
        self, plan: RunPlan, jobs: list[ManagedJob], job_names: list[str]
    ) -> SetRecorder | None:
        """Journal the set before its submission; ``None`` if it has no journal."""
        state = self._state
        journal = state.journal
        if journal is None:
            return None
        policy = JournalPolicy(state.journal_required)
        try:
            return journal.recording().record_job_set(
                job_set_id=state.id,
                name=state.name,
                tags=list(plan.job_tags),
                created_at=state.created_at,
                target=plan.checked.target,
                run_config=plan.run_config,
                slices=[
                    (mjob.start_index, mjob.end_index, list(circuits), job_name)
                    for mjob, circuits, job_name in zip(jobs, plan.slices, job_names, strict=True)
                ],
                max_resubmits=plan.resubmit.max_resubmits,
                policy=policy,
                workload=plan.workload.kind,
            )
        except JournalError as err:
            policy.failed(err, f"Job set {state.id} runs without a journal")
            return None

    def wait_for_submissions(self, timeout: float | None = None) -> bool:
        """Wait until every job's submission is over; return whether it is."""
        # Submissions only ever finish, so once every job of this version of the
        # list has been seen submitted, later calls return at once (lookups stay
        # O(1)); a resubmission makes a new version.
        state = self._state
        while True:
            with state.lock:
                version = state.jobs_version
                if self._settled_version == version:
                    return True
                jobs = list(state.managed_jobs)
            futures = [f for mjob in jobs if (f := mjob._submission_future()) is not None]
            _, pending = wait_futures(futures, timeout=timeout)
            if pending:
                return False
            with state.lock:  # a failed submission may have been resubmitted
                if state.jobs_version == version:
                    self._settled_version = version
                    return True

    def require_jobs(self) -> None:
        """Raise unless the set has jobs, then wait for their submissions.

        Raises:
            IBMQJobManagerInvalidStateError: If the set has no jobs.
        """
        self._state.require_jobs()
        self.wait_for_submissions()
