"""Sampler and Estimator primitives that run large PUB lists as one managed set.

:class:`ManagedSampler` and :class:`ManagedEstimator` are drop-in
``BaseSamplerV2`` / ``BaseEstimatorV2`` wrappers: ``run(pubs)`` splits the
PUBs into jobs of the wrapped primitive (see
:meth:`JobManager.run_pubs <managedjob.JobManager.run_pubs>`) and returns at
once a :class:`ManagedPrimitiveJob`, whose ``result()`` is one
``PrimitiveResult`` of every PUB, in input order::

    sampler = ManagedSampler(SamplerV2(mode=batch), max_pubs_per_job=50)
    job = sampler.run(pubs, shots=1000)
    result = job.result()
    job.job_set.report()
"""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

from qiskit.primitives import (
    BaseEstimatorV2,
    BasePrimitiveJob,
    BaseSamplerV2,
    PrimitiveResult,
)
from qiskit.providers import JobStatus

from managedjob._job_set import ManagedJobSet
from managedjob._manager import JobManager
from managedjob.exceptions import InvalidInputError

__all__ = ["ManagedEstimator", "ManagedPrimitiveJob", "ManagedSampler"]

_FINAL = (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)


class ManagedPrimitiveJob(BasePrimitiveJob[PrimitiveResult[Any], JobStatus]):
    """The job a managed primitive's ``run()`` returns: a whole managed set, as one job.

    Its id is the set's id (for :meth:`JobManager.retrieve_job_set
    <managedjob.JobManager.retrieve_job_set>`); :attr:`job_set` is the set.

    Args:
        job_set: The set of PUBs the job stands for.
    """

    def __init__(self, job_set: ManagedJobSet) -> None:
        super().__init__(job_set.job_set_id())
        self._job_set = job_set

    def __repr__(self) -> str:
        return f"<ManagedPrimitiveJob job_id={self.job_id()!r}>"

    @property
    def job_set(self) -> ManagedJobSet:
        """The managed set behind the job."""
        return self._job_set

    def result(self, timeout: float | None = None) -> PrimitiveResult[Any]:
        """Return one ``PrimitiveResult`` of every PUB, in input order, waiting for it.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Raises:
            IBMQManagedResultDataNotAvailable: Naming the PUBs of failed jobs.
            IBMQJobManagerTimeoutError: If the jobs do not finish within ``timeout``.
        """
        return self._job_set.primitive_result(timeout=timeout)

    def status(self) -> JobStatus:
        """Return the set's status as one.

        ``ERROR`` if a job failed (or cannot tell its status), ``CANCELLED``
        if one was cancelled, ``DONE`` when all are, else the least advanced
        of the others.
        """
        statuses = self._job_set.statuses()
        if any(status is None or status is JobStatus.ERROR for status in statuses):
            return JobStatus.ERROR
        if any(status is JobStatus.CANCELLED for status in statuses):
            return JobStatus.CANCELLED
        if all(status is JobStatus.DONE for status in statuses):
            return JobStatus.DONE
        for status in (JobStatus.INITIALIZING, JobStatus.VALIDATING, JobStatus.QUEUED):
            if status in statuses:
                return status
        return JobStatus.RUNNING

    def done(self) -> bool:
        """Whether every job of the set is done."""
        return self.status() is JobStatus.DONE

    def running(self) -> bool:
        """Whether a job of the set is running (and none failed)."""
        return self.status() is JobStatus.RUNNING

    def cancelled(self) -> bool:
        """Whether a job of the set was cancelled (and none failed)."""
        return self.status() is JobStatus.CANCELLED

    def in_final_state(self) -> bool:
        """Whether every job of the set is done, failed or cancelled."""
        return all(status is None or status in _FINAL for status in self._job_set.statuses())

    def cancel(self) -> None:
        """Cancel every job of the set that has not finished."""
        self._job_set.cancel()


class _Managed:
    """What both wrappers share: the manager, the limits, closing."""

    def __init__(
        self,
        primitive: Any,
        max_pubs_per_job: int | None,
        max_executions_per_job: int | None,
        manager: JobManager | None,
    ) -> None:
        if manager is not None and not isinstance(manager, JobManager):
            raise InvalidInputError(f"manager must be a JobManager, not {manager!r}")
        self._primitive = primitive
        self._max_pubs_per_job = max_pubs_per_job
        self._max_executions_per_job = max_executions_per_job
        self._owns_manager = manager is None
        self._manager = manager if manager is not None else JobManager()

    @property
    def manager(self) -> JobManager:
        """The job manager the PUB sets run on."""
        return self._manager

    def close(self) -> None:
        """Close the job manager the wrapper made (not one it was given)."""
        if self._owns_manager:
            self._manager.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, pubs: Iterable[Any], **values: Any) -> ManagedPrimitiveJob:
        job_set = self._manager.run_pubs(
            list(pubs) if not isinstance(pubs, (list, tuple)) else pubs,
            self._primitive,
            max_pubs_per_job=self._max_pubs_per_job,
            max_executions_per_job=self._max_executions_per_job,
            **values,
        )
        return ManagedPrimitiveJob(job_set)


class ManagedSampler(_Managed, BaseSamplerV2):
    """A Sampler that runs a large PUB list as one managed set of jobs of ``sampler``.

    Args:
        sampler: The Sampler to run the jobs on: any ``BaseSamplerV2``.
        max_pubs_per_job: Most PUBs in one job; ``None`` for no limit.
        max_executions_per_job: Most executions (broadcast size times shots)
            in one job; ``None`` for the sampler's own limit, if any.
        manager: The :class:`~managedjob.JobManager` to run on; by default one
            of its own (with the default journal), closed by :meth:`close`.

    Raises:
        InvalidInputError: If ``sampler`` is not a Sampler, or ``manager`` not
            a ``JobManager``.
    """

    def __init__(
        self,
        sampler: BaseSamplerV2,
        max_pubs_per_job: int | None = None,
        max_executions_per_job: int | None = None,
        manager: JobManager | None = None,
    ) -> None:
        if not isinstance(sampler, BaseSamplerV2):
            raise InvalidInputError(
                f"sampler must be a BaseSamplerV2, not {type(sampler).__name__}"
            )
        super().__init__(sampler, max_pubs_per_job, max_executions_per_job, manager)

    def __enter__(self) -> ManagedSampler:
        return self

    @property
    def sampler(self) -> BaseSamplerV2:
        """The wrapped Sampler."""
        sampler: BaseSamplerV2 = self._primitive
        return sampler

    def run(
        self, pubs: Iterable[Any], *, shots: int | None = None, **options: Any
    ) -> ManagedPrimitiveJob:
        """Run the PUBs as one managed set; return at once.

        Args:
            pubs: Sampler PUBs, in a list.
            shots: Shots of the PUBs that set none.
            **options: Other keyword arguments of the wrapped sampler's ``run()``.

        Raises:
            InvalidInputError: Naming the bad value (a PUB by its index);
                nothing is submitted then.
        """
        return self._run(pubs, shots=shots, **options)


class ManagedEstimator(_Managed, BaseEstimatorV2):
    """An Estimator that runs a large PUB list as one managed set of jobs of ``estimator``.

    Args:
        estimator: The Estimator to run the jobs on: any ``BaseEstimatorV2``.
        max_pubs_per_job: Most PUBs in one job; ``None`` for no limit.
        max_executions_per_job: Most executions (broadcast size) in one job;
            ``None`` for no limit.
        manager: The :class:`~managedjob.JobManager` to run on; by default one
            of its own (with the default journal), closed by :meth:`close`.

    Raises:
        InvalidInputError: If ``estimator`` is not an Estimator, or ``manager``
            not a ``JobManager``.
    """

    def __init__(
        self,
        estimator: BaseEstimatorV2,
        max_pubs_per_job: int | None = None,
        max_executions_per_job: int | None = None,
        manager: JobManager | None = None,
    ) -> None:
        if not isinstance(estimator, BaseEstimatorV2):
            raise InvalidInputError(
                f"estimator must be a BaseEstimatorV2, not {type(estimator).__name__}"
            )
        super().__init__(estimator, max_pubs_per_job, max_executions_per_job, manager)

    def __enter__(self) -> ManagedEstimator:
        return self

    @property
    def estimator(self) -> BaseEstimatorV2:
        """The wrapped Estimator."""
        estimator: BaseEstimatorV2 = self._primitive
        return estimator

    def run(
        self, pubs: Iterable[Any], *, precision: float | None = None, **options: Any
    ) -> ManagedPrimitiveJob:
        """Run the PUBs as one managed set; return at once.

        Args:
            pubs: Estimator PUBs, in a list.
            precision: Precision of the PUBs that set none.
            **options: Other keyword arguments of the wrapped estimator's ``run()``.

        Raises:
            InvalidInputError: Naming the bad value (a PUB by its index);
                nothing is submitted then.
        """
        return self._run(pubs, precision=precision, **options)
