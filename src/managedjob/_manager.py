"""The job manager: splits experiments into jobs and keeps the job sets."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from types import TracebackType
from typing import Any

from qiskit.circuit import QuantumCircuit

from managedjob._job_set import (
    DEFAULT_MAX_PARALLEL_FETCHES,
    DEFAULT_MAX_PARALLEL_SUBMITS,
    ManagedJobSet,
    validate_tags,
)
from managedjob._report import format_job_details, format_status_counts
from managedjob._retry import RetryPolicy
from managedjob._split import effective_max_experiments, plan_slices
from managedjob._wait import Clock, PollPolicy
from managedjob.exceptions import InvalidInputError, JobManagerInvalidStateError
from managedjob.targets import resolve_target

__all__ = ["IBMQJobManager", "JobManager"]

logger = logging.getLogger(__name__)


def _check_experiments(experiments: object) -> list[QuantumCircuit]:
    if isinstance(experiments, QuantumCircuit):
        return [experiments]
    if isinstance(experiments, (str, bytes)) or not isinstance(experiments, Sequence):
        raise InvalidInputError(
            f"experiments must be a QuantumCircuit or a list of them, not "
            f"{type(experiments).__name__}"
        )
    circuits = list(experiments)
    if not circuits:
        raise InvalidInputError("experiments is empty: there is nothing to run")
    for index, circuit in enumerate(circuits):
        if not isinstance(circuit, QuantumCircuit):
            raise InvalidInputError(
                f"experiments[{index}] is a {type(circuit).__name__}, not a QuantumCircuit: "
                f"{circuit!r:.80}"
            )
    return circuits


class JobManager:
    """Runs many experiments as a set of jobs and hands the results back as one.

    It splits the experiments into jobs that the target accepts, submits
    them in the background, and returns a :class:`ManagedJobSet` to follow and
    collect them::

        from managedjob import JobManager

        with JobManager() as manager:
            job_set = manager.run(circuits, backend=backend, name="sweep")
            counts = job_set.results().get_counts(5)

    ``IBMQJobManager`` is the same class, under its legacy name.

    Args:
        executor: Runs the submissions. By default the manager makes a thread
            pool of its own and shuts it down in :meth:`close`.
        max_parallel_submits: How many jobs of a set may be submitted at once;
            1 submits one after another as the legacy manager did.
        max_parallel_fetches: How many results of a set are fetched at once.
        retry_policy: How failed submissions are retried.
        poll_policy: How often jobs without a future are polled.
        clock: Where time comes from; tests pass
            :class:`managedjob.testing.FakeClock`.

    Raises:
        InvalidInputError: If a setting is not valid.
    """

    #: The class of the job sets the manager makes; a subclass may plug in its own.
    job_set_class: type[ManagedJobSet] = ManagedJobSet

    def __init__(
        self,
        executor: Executor | None = None,
        *,
        max_parallel_submits: int = DEFAULT_MAX_PARALLEL_SUBMITS,
        max_parallel_fetches: int = DEFAULT_MAX_PARALLEL_FETCHES,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        if executor is not None and not callable(getattr(executor, "submit", None)):
            raise InvalidInputError(
                f"executor must be a concurrent.futures.Executor, not {executor!r}"
            )
        for setting, value in (
            ("max_parallel_submits", max_parallel_submits),
            ("max_parallel_fetches", max_parallel_fetches),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{setting} must be a positive integer, not {value!r}")
        self._owns_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=max(max_parallel_submits, 4), thread_name_prefix="managedjob-submit"
        )
        self._settings: dict[str, Any] = {
            "max_parallel_submits": max_parallel_submits,
            "max_parallel_fetches": max_parallel_fetches,
            "retry_policy": retry_policy,
            "poll_policy": poll_policy,
            "clock": clock,
        }
        self._job_sets: list[ManagedJobSet] = []
        self._lock = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Shut down the executor the manager made (not one it was given).

        Submissions already started finish first.
        """
        self._closed = True
        if self._owns_executor:
            self._executor.shutdown(wait=True)

    def __enter__(self) -> JobManager:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ run

    def _new_job_set(self, name: str | None = None, short_id: str | None = None) -> ManagedJobSet:
        return self.job_set_class(name=name, short_id=short_id, **self._settings)

    def run(
        self,
        experiments: QuantumCircuit | Sequence[QuantumCircuit],
        backend: Any,
        name: str | None = None,
        max_experiments_per_job: int | None = None,
        job_share_level: str | None = None,
        job_tags: list[str] | None = None,
        **run_config: Any,
    ) -> ManagedJobSet:
        """Run experiments on a target as a set of jobs.

        Every value is checked before anything is submitted.

        Args:
            experiments: A circuit or a list of circuits.
            backend: What to run on: a ``BackendV2`` (or anything with
                ``run()``), a Sampler primitive, or a
                :class:`~managedjob.targets.Target`.
            name: Name of the set; each job is named ``"{name}_{index}_"``.
                The current date and time if not given.
            max_experiments_per_job: Most experiments in one job. The
                target's own limit applies when it is smaller.
            job_share_level: Ignored, with a :class:`DeprecationWarning`.
            job_tags: Tags for the set and each of its jobs.
            **run_config: Run options for every job, such as ``shots``,
                ``memory`` or ``seed_simulator``. An option the target cannot
                honour is an error.

        Returns:
            The job set; its jobs are being submitted in the background.

        Raises:
            InvalidInputError: If a value is not valid, naming it.
            IBMQJobManagerInvalidStateError: If the manager is closed.
        """
        if self._closed:
            raise JobManagerInvalidStateError("this JobManager is closed")
        if job_share_level is not None:
            warnings.warn(
                "job_share_level is no longer supported and is ignored",
                DeprecationWarning,
                stacklevel=2,
            )
        circuits = _check_experiments(experiments)
        if name is not None and not isinstance(name, str):
            raise InvalidInputError(f"name must be a str, not {name!r}")
        if job_tags is not None:
            validate_tags(job_tags)
        if max_experiments_per_job is not None and (
            isinstance(max_experiments_per_job, bool)
            or not isinstance(max_experiments_per_job, int)
            or max_experiments_per_job < 1
        ):
            raise InvalidInputError(
                "max_experiments_per_job must be a positive integer, not "
                f"{max_experiments_per_job!r}"
            )
        experiment_list = self._split_experiments(circuits, backend, max_experiments_per_job)
        job_set = self._new_job_set(name=name)
        job_set.run(
            experiment_list,
            backend=backend,
            executor=self._executor,
            job_tags=job_tags,
            **run_config,
        )
        with self._lock:
            self._job_sets.append(job_set)
        return job_set

    def _split_experiments(
        self,
        experiments: list[QuantumCircuit],
        backend: Any,
        max_experiments_per_job: int | None = None,
    ) -> list[list[QuantumCircuit]]:
        """Cut the experiments into the circuits of each job."""
        limits = resolve_target(backend).limits()
        size = effective_max_experiments(max_experiments_per_job, limits.max_experiments)
        return [
            experiments[part.start : part.stop] for part in plan_slices(len(experiments), size)
        ]

    # ------------------------------------------------------------------ sets

    def report(self, detailed: bool = True) -> str:
        """Return a report on the jobs of every set this manager ran or retrieved.

        Args:
            detailed: Add one block per job to the summary.

        Returns:
            The report.
        """
        with self._lock:
            job_sets = list(self._job_sets)
        statuses = [job_set.statuses() for job_set in job_sets]
        lines = ["Summary report:", *format_status_counts([s for sub in statuses for s in sub])]
        if detailed:
            lines.append("\nDetail report:")
            for job_set, set_statuses in zip(job_sets, statuses, strict=True):
                lines.append(f"  Job set name: {job_set.name()}, ID: {job_set.job_set_id()}")
                lines.extend(format_job_details(set_statuses, job_set.managed_jobs()))
        return "\n".join(lines)

    def job_sets(self, name: str | None = None) -> list[ManagedJobSet]:
        """Return the job sets this manager ran or retrieved.

        Args:
            name: Only the sets of this name.

        Returns:
            The job sets, oldest first.
        """
        with self._lock:
            job_sets = list(self._job_sets)
        if name is not None:
            return [job_set for job_set in job_sets if job_set.name() == name]
        return job_sets

    def retrieve_job_set(
        self, job_set_id: str, provider: Any, refresh: bool = False
    ) -> ManagedJobSet:
        """Return a job set run earlier, by its id.

        A set this manager knows is returned as it is, unless ``refresh`` is
        true; otherwise its jobs are looked up on ``provider`` by the set's
        id tag (see :meth:`ManagedJobSet.retrieve_jobs`).

        Args:
            job_set_id: The id, from :meth:`ManagedJobSet.job_set_id`.
            provider: Where the set's jobs were submitted.
            refresh: Look the jobs up again even if the set is known.

        Returns:
            The job set.

        Raises:
            IBMQJobManagerUnknownJobSet: If the set cannot be found.
            IBMQJobManagerInvalidStateError: If jobs are found but do not make
                a whole set.
        """
        if not isinstance(job_set_id, str) or not job_set_id:
            raise InvalidInputError(f"job_set_id must be a non-empty str, not {job_set_id!r}")
        with self._lock:
            for index, known in enumerate(self._job_sets):
                if known.job_set_id() == job_set_id:
                    if not refresh:
                        return known
                    del self._job_sets[index]
                    break
        job_set = self._new_job_set(short_id=job_set_id)
        job_set.retrieve_jobs(provider=provider, refresh=refresh)
        with self._lock:
            self._job_sets.append(job_set)
        return job_set


IBMQJobManager = JobManager
