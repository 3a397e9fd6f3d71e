"""What the parts of a job set share: its jobs, names, target and settings."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime, timezone
from typing import Any

from qiskit.providers import JobV1

from managedjob._job_set._budget import UsageBudget
from managedjob._job_set._policy import ResubmitPolicy
from managedjob._job_set._workload import CIRCUITS, Workload
from managedjob._journal import Journal, SetRecorder
from managedjob._limits import AdaptiveLimit, adaptive_limit
from managedjob._managed_job import ManagedJob
from managedjob._naming import JOB_SET_ID_PREFIX, job_name
from managedjob._results import ExperimentIndex, ManagedResults
from managedjob._retry import RetryPolicy
from managedjob._wait import DEFAULT_POLL, Clock, PollPolicy
from managedjob.exceptions import InvalidInputError, JobManagerInvalidStateError
from managedjob.targets import Target, TargetLimits

__all__ = ["SetState", "SubmitSemaphore", "validate_tags"]


def validate_tags(tags: object, what: str = "job_tags") -> list[str]:
    """Return ``tags`` as a list of str.

    Raises:
        InvalidInputError: If ``tags`` is not a list of str, naming the bad item.
    """
    if isinstance(tags, str) or not isinstance(tags, (list, tuple)):
        raise InvalidInputError(f"{what} must be a list of str, not {tags!r}")
    for index, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise InvalidInputError(f"{what}[{index}] must be a str, not {tag!r}")
    return list(tags)


class SubmitSemaphore:
    """The submit lock of a set: at most ``value`` submissions at once.

    It can travel to another process (for process executors and Dask): the
    copy is a new semaphore of that process, since a lock cannot be shared
    across processes; there, the executor's own size bounds concurrency.

    Args:
        value: How many holders at once.
    """

    def __init__(self, value: int) -> None:
        self._value = value
        self._semaphore = threading.BoundedSemaphore(value)

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        """Take a place, waiting for one if ``blocking``."""
        return self._semaphore.acquire(blocking, timeout)

    def release(self) -> None:
        """Give a place back."""
        self._semaphore.release()

    def __reduce__(self) -> tuple[type[SubmitSemaphore], tuple[int]]:
        return (SubmitSemaphore, (self._value,))


class SetState:
    """The state of one job set, shared by its parts under :attr:`lock`.

    The list of jobs only ever changes as a whole slot at a time (a
    resubmission replaces one job); :attr:`jobs_version` counts those
    changes, so that a part can tell that what it looked at is still current.

    Args:
        name: Name of the set; the current date and time if not given.
        short_id: Id of the set; a new unique one if not given.
        clock: Where time comes from.
        retry_policy: How submissions are retried (``None``: the jobs' own).
        poll_policy: How jobs without a future are polled.
        max_parallel_submits: How many jobs may be submitted at once;
            ``None`` for an adaptive limit.
        max_parallel_fetches: How many results may be fetched at once;
            ``None`` for an adaptive limit.
        journal: Where the set is recorded, if anywhere.
        journal_required: Whether a journal that cannot be written is an error.
        new_managed_job: Makes one managed job (the set's class of jobs).
    """

    def __init__(
        self,
        name: str | None,
        short_id: str | None,
        *,
        clock: Clock,
        retry_policy: RetryPolicy | None,
        poll_policy: PollPolicy,
        max_parallel_submits: int | None,
        max_parallel_fetches: int | None,
        journal: Journal | None,
        journal_required: bool,
        new_managed_job: Callable[[int, int, JobV1 | None], ManagedJob],
    ) -> None:
        self.lock = threading.RLock()
        self.managed_jobs: list[ManagedJob] = []
        self.jobs_version = 0
        self.created_at = datetime.now(timezone.utc)
        self.name = name or self.created_at.replace(tzinfo=None).isoformat()
        self.id = short_id or uuid.uuid4().hex + "-" + str(time.time()).replace(".", "")
        self.id_long = JOB_SET_ID_PREFIX + self.id + "_"
        self.tags: list[str] = []
        self.backend: Any = None
        self.target: Target | None = None
        # What the slices hold, and every item of the set in order.
        self.workload: Workload = CIRCUITS
        self.experiments: list[Any] | None = None
        # What a set rebuilt without its circuits knows instead.
        self.names_hint: list[str | None] | None = None
        self.backend_name_hint: str | None = None
        self.index: ExperimentIndex | None = None
        self.managed_results: ManagedResults | None = None
        self.clock = clock
        self.retry_policy = retry_policy
        self.poll_policy = poll_policy
        self.max_parallel_submits = max_parallel_submits
        self.max_parallel_fetches = max_parallel_fetches
        # Fixed bounds when given; else adaptive limits, remade for the
        # target's declared limit when the set is run (see limit_to()).
        self.submit_lock: SubmitSemaphore | AdaptiveLimit = (
            adaptive_limit(None)
            if max_parallel_submits is None
            else SubmitSemaphore(max_parallel_submits)
        )
        self.fetch_limit: AdaptiveLimit | None = (
            adaptive_limit(None) if max_parallel_fetches is None else None
        )
        self.journal = journal
        self.journal_required = journal_required
        self.recorder: SetRecorder | None = None
        # Where submissions and resubmissions go.
        self.executor: Executor | None = None
        self.resubmit = ResubmitPolicy()
        #: ``max_usage_seconds`` of the run, with each slice's estimate.
        self.usage_budget: UsageBudget | None = None
        self.cancel_requested = False
        self.new_managed_job = new_managed_job

    def limit_to(self, target: Target) -> None:
        """Bound the set's adaptive limits by what ``target`` documents.

        Fixed limits (``max_parallel_submits`` / ``max_parallel_fetches``
        given) are left as they are. The default polling grows to the
        target's ``poll_interval``, if it asks for one.
        """
        try:
            limits = target.limits()
        except Exception:  # a target that cannot say sets no limit
            limits = TargetLimits()
        declared = limits.max_concurrent_requests
        if limits.poll_interval is not None and self.poll_policy is DEFAULT_POLL:
            self.poll_policy = dataclasses.replace(DEFAULT_POLL, maximum=limits.poll_interval)
        if self.max_parallel_submits is None:
            self.submit_lock = adaptive_limit(declared)
        if self.max_parallel_fetches is None:
            self.fetch_limit = adaptive_limit(declared)

    def jobs(self) -> list[ManagedJob]:
        """Return a copy of the current list of jobs."""
        with self.lock:
            return list(self.managed_jobs)

    def job_name(self, number: int) -> str:
        """Return the name of job ``number`` of the set."""
        return job_name(self.name, number)

    def job_tags(self) -> list[str]:
        """Return the tags each job is submitted with: the set's, then its id tag."""
        return [*self.tags, self.id_long]

    def adopt(self, jobs: list[ManagedJob]) -> None:
        """Make ``jobs`` the set's jobs; what was derived from the old ones is dropped."""
        with self.lock:
            self.managed_jobs = jobs
            self.jobs_version += 1
            self.index = None
            self.managed_results = None

    def require_jobs(self) -> None:
        """Raise unless the set has jobs.

        Raises:
            IBMQJobManagerInvalidStateError: If it has none.
        """
        if not self.managed_jobs:
            raise JobManagerInvalidStateError(
                f"Job set {self.id!r} has no jobs: run() it or retrieve its jobs first."
            )


class SetStateView:
    """What the rest of the package reads of a job set's state, by name.

    The journal's restoration and recorders, and the manager, read these of a
    :class:`~managedjob.ManagedJobSet`; they live here so the set's front class
    holds only its public methods.
    """

    _state: SetState

    def _admit(self, index: int) -> None:
        """Let slice ``index`` be submitted if the set's usage budget allows it.

        Raises:
            UsageBudgetError: If it does not (see ``UsageBudget.admit``).
        """
        budget = self._state.usage_budget
        if budget is not None:
            budget.admit(index, self._state.managed_jobs)

    @property
    def _created_at(self) -> datetime:
        return self._state.created_at

    @property
    def _journal_required(self) -> bool:
        return self._state.journal_required

    @property
    def _workload_kind(self) -> str:
        return self._state.workload.kind

    @property
    def _max_resubmits(self) -> int:
        return self._state.resubmit.max_resubmits

    @property
    def _executor(self) -> Executor | None:
        return self._state.executor

    @_executor.setter
    def _executor(self, executor: Executor | None) -> None:
        self._state.executor = executor

    @property
    def _recorder(self) -> SetRecorder | None:
        return self._state.recorder

    @property
    def _target(self) -> Target | None:
        return self._state.target
