"""A backend that splits transparently: job management behind ``BackendV2.run``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2, JobStatus, JobV1, Options
from qiskit.providers.exceptions import JobError
from qiskit.result import Result
from qiskit.transpiler import Target

from managedjob._job_set import ManagedJobSet
from managedjob._manager import JobManager
from managedjob.exceptions import InvalidInputError, ResultDataNotAvailableError

__all__ = ["ManagedBackend", "ManagedBackendJob"]


class ManagedBackendJob(JobV1):
    """One ``run()`` of a :class:`ManagedBackend`: a whole job set seen as one job.

    Its id is the job set's id, its status sums up the jobs' statuses, and
    :meth:`result` is the combined :class:`~qiskit.result.Result` of every
    experiment, in input order.

    Args:
        backend: The managed backend that ran it.
        job_set: The job set behind it.
    """

    def __init__(self, backend: ManagedBackend, job_set: ManagedJobSet) -> None:
        super().__init__(backend, job_set.job_set_id())
        self._job_set = job_set

    @property
    def job_set(self) -> ManagedJobSet:
        """The job set behind this job, for the detail of each job."""
        return self._job_set

    def submit(self) -> None:
        """Not supported: :meth:`ManagedBackend.run` submits its jobs.

        Raises:
            NotImplementedError: Always.
        """
        raise NotImplementedError("a ManagedBackendJob is submitted by ManagedBackend.run()")

    def status(self) -> JobStatus:
        """Return one status for the whole set.

        ``ERROR`` if any job failed (or could not be submitted or queried),
        else ``CANCELLED`` if any was cancelled, ``DONE`` when all are done,
        ``RUNNING`` while any runs, else ``QUEUED`` or ``INITIALIZING``.
        """
        statuses = self._job_set.statuses()
        if any(status is None or status is JobStatus.ERROR for status in statuses):
            return JobStatus.ERROR
        if JobStatus.CANCELLED in statuses:
            return JobStatus.CANCELLED
        if all(status is JobStatus.DONE for status in statuses):
            return JobStatus.DONE
        if JobStatus.RUNNING in statuses or JobStatus.DONE in statuses:
            return JobStatus.RUNNING
        if JobStatus.QUEUED in statuses or JobStatus.VALIDATING in statuses:
            return JobStatus.QUEUED
        return JobStatus.INITIALIZING

    def result(self, timeout: float | None = None) -> Result:
        """Wait for every job and return one combined result.

        Args:
            timeout: Seconds to wait for all jobs; ``None`` waits as long as it takes.

        Returns:
            Every experiment's result, in input order.

        Raises:
            JobError: If any job failed or was cancelled; the message says which
                experiments. (It is the job-set error's ``__cause__``.)
            IBMQJobManagerTimeoutError: If the jobs do not finish in time.
        """
        try:
            return self._job_set.results(timeout=timeout).combine_results()
        except ResultDataNotAvailableError as err:
            raise JobError(str(err)) from err

    def cancel(self) -> None:
        """Cancel every job of the set that is still running."""
        self._job_set.cancel()


class ManagedBackend(BackendV2):
    """A ``BackendV2`` that runs any number of circuits by splitting them into jobs.

    Backend-agnostic code (qiskit-experiments, your own libraries) calls
    ``backend.run(circuits)`` and ``job.result()`` as with any backend; behind
    them a :class:`~managedjob.JobManager` splits the circuits into jobs the
    wrapped backend accepts, runs them concurrently, and combines the results::

        backend = ManagedBackend(AerSimulator(), max_experiments_per_job=100)
        result = backend.run(circuits, shots=1000).result()  # one Result

    The wrapped backend's target, options and limits show through, so
    ``transpile(circuits, backend)`` works as for the wrapped backend.

    Args:
        backend: What runs the circuits: any backend, sampler or target the
            job manager accepts.
        max_experiments_per_job: Most circuits in one job; the wrapped
            backend's own limit applies when smaller.
        manager: The job manager to use; by default the backend makes one
            and closes it in :meth:`close`.
        name: The backend's name; ``"managed_<wrapped name>"`` by default.
        **manager_options: Settings for the job manager it makes, such as
            ``max_parallel_submits``.

    Raises:
        InvalidInputError: If both ``manager`` and ``manager_options`` are given.
    """

    def __init__(
        self,
        backend: Any,
        max_experiments_per_job: int | None = None,
        *,
        manager: JobManager | None = None,
        name: str | None = None,
        **manager_options: Any,
    ) -> None:
        if manager is not None and manager_options:
            raise InvalidInputError(
                "pass either a manager or settings for a new one, not both: "
                f"{', '.join(sorted(manager_options))}"
            )
        wrapped_name = getattr(backend, "name", type(backend).__name__)
        super().__init__(
            provider=None,
            name=name or f"managed_{wrapped_name}",
            description=f"{wrapped_name}, with circuits split into managed jobs",
            backend_version=getattr(backend, "backend_version", None),
        )
        self._wrapped = backend
        self._max_experiments_per_job = max_experiments_per_job
        self._owns_manager = manager is None
        self._manager = manager or JobManager(**manager_options)

    @property
    def wrapped(self) -> Any:
        """The backend the circuits run on."""
        return self._wrapped

    @property
    def manager(self) -> JobManager:
        """The job manager that runs the job sets."""
        return self._manager

    @property
    def target(self) -> Target:
        """The wrapped backend's target."""
        return self._wrapped.target

    @property
    def max_circuits(self) -> None:
        """No limit: circuits are split into as many jobs as needed."""
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options()

    @property
    def options(self) -> Options:
        """The wrapped backend's options: defaults for every run."""
        wrapped = getattr(self._wrapped, "options", None)
        return wrapped if isinstance(wrapped, Options) else self._options

    def run(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any
    ) -> ManagedBackendJob:
        """Run the circuits as one managed job set.

        Args:
            run_input: A circuit or a list of circuits.
            **options: Run options for every job, such as ``shots``.

        Returns:
            One job for the whole set.
        """
        job_set = self._manager.run(
            run_input,
            backend=self._wrapped,
            max_experiments_per_job=self._max_experiments_per_job,
            **options,
        )
        return ManagedBackendJob(self, job_set)

    def close(self) -> None:
        """Close the job manager, if this backend made it."""
        if self._owns_manager:
            self._manager.close()
