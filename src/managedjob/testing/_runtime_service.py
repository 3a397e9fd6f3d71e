"""The fake IBM Quantum Runtime service: backends, job listing, lookups and refusals."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NoReturn

from qiskit.exceptions import QiskitError
from qiskit.primitives.containers.sampler_pub import SamplerPub

from managedjob._wait import Clock
from managedjob.testing._backend import DEFAULT_BASIS_GATES
from managedjob.testing._clock import FakeClock
from managedjob.testing._runtime import (
    RUNTIME_FINAL,
    FakeRuntimeBackend,
    FakeRuntimeSession,
    runtime_exception,
)
from managedjob.testing._runtime_job import FakeRuntimeJob, status_at

__all__ = ["FakeRuntimeService", "submit"]


_FAKE_JOBS_URL = "https://quantum.example/api/v1/jobs"


class FakeRuntimeService:
    """A scripted stand-in for ``qiskit_ibm_runtime.QiskitRuntimeService``.

    It has the parts of the service a job manager uses: backends
    (:meth:`backend`), job listing with the real filters and paging
    (:meth:`jobs`), job lookup (:meth:`job`), and the refusals a real
    instance answers with. Jobs are submitted through a
    :class:`FakeRuntimeSampler` on one of its backends, or a
    :class:`FakeRuntimeSession` / :class:`FakeRuntimeBatch` on one.

    Refusals carry the text the real client produces, error code included:

    * with ``max_pending_jobs``, a submission while that many jobs are not
      final fails with "You have reached the limit of N pending jobs ...,
      Error code: 3458.";
    * with ``monthly_quota_jobs``, every submission after that many jobs were
      accepted fails with "... monthly quota ..., Error code: 4317.".

    Both are raised as ``qiskit_ibm_runtime``'s ``IBMRuntimeError`` when that
    package is installed, else as a :class:`~qiskit.exceptions.QiskitError`.

    Args:
        clock: Where time comes from; a new :class:`FakeClock` by default.
        backends: Names of the service's backends.
        num_qubits: Qubits of each backend.
        basis_gates: Basis gates of each backend.
        run_time: Seconds from a job's submission until it is final; or a
            callable taking the job index.
        max_pending_jobs: Most jobs that may be pending (not final) at once.
        monthly_quota_jobs: How many jobs the instance's quota allows.
        failing_jobs: Jobs that end in ``"ERROR"``: by job index (``int``), or
            by a tag they carry (``str``).
        failure_message: Why scripted jobs fail.
        token: The account's token (any string; nothing is checked).
        instance: The instance's name.

    Attributes:
        clock: The service's clock.
        token: The token given.
        submitted: The jobs accepted, in order.
        submit_calls: How many submissions were tried, refused ones included.
        refusals: Each refusal's error code (3458 or 4317), in order.
        jobs_calls: The arguments of every :meth:`jobs` call, in order.

    Raises:
        ValueError: If ``run_time`` is negative, a limit is below 1 (or the
            quota below 0), or there are no backends.

    Threading:
        Every method may be called from several threads at once.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        backends: Sequence[str] = ("fake_runtime_backend",),
        num_qubits: int = 5,
        basis_gates: Sequence[str] = DEFAULT_BASIS_GATES,
        run_time: float | Callable[[int], float] = 0.0,
        max_pending_jobs: int | None = None,
        monthly_quota_jobs: int | None = None,
        failing_jobs: Collection[int | str] = (),
        failure_message: str = "scripted failure",
        token: str = "fake-token",
        instance: str = "fake-instance",
    ) -> None:
        if not callable(run_time) and run_time < 0:
            raise ValueError(f"run_time must not be negative, not {run_time!r}")
        if max_pending_jobs is not None and max_pending_jobs < 1:
            raise ValueError(f"max_pending_jobs must be at least 1, not {max_pending_jobs!r}")
        if monthly_quota_jobs is not None and monthly_quota_jobs < 0:
            raise ValueError(
                f"monthly_quota_jobs must not be negative, not {monthly_quota_jobs!r}"
            )
        if num_qubits < 1:
            raise ValueError(f"num_qubits must be at least 1, not {num_qubits!r}")
        if not backends:
            raise ValueError("a fake runtime service needs at least one backend")
        self.clock: Clock = FakeClock() if clock is None else clock
        self.token = token
        self.instance = instance
        self.channel = "fake"
        self._backends = {
            name: FakeRuntimeBackend(
                self, name=name, num_qubits=num_qubits, basis_gates=basis_gates
            )
            for name in backends
        }
        self._run_time = run_time
        self.max_pending_jobs = max_pending_jobs
        self.monthly_quota_jobs = monthly_quota_jobs
        self._failing_jobs = frozenset(failing_jobs)
        self.failure_message = failure_message
        self._lock = threading.Lock()
        self.submitted: list[FakeRuntimeJob] = []
        self._by_id: dict[str, FakeRuntimeJob] = {}
        self.submit_calls = 0
        self.refusals: list[int] = []
        self.jobs_calls: list[dict[str, Any]] = []

    def backend(self, name: str | None = None) -> FakeRuntimeBackend:
        """Return the backend called ``name``, or the first one.

        Raises:
            QiskitError: If there is no such backend.
        """
        if name is None:
            return next(iter(self._backends.values()))
        try:
            return self._backends[name]
        except KeyError:
            raise QiskitError(f"No backend matches the criteria: {name!r}") from None

    def backends(self) -> list[FakeRuntimeBackend]:
        """Return the service's backends."""
        return list(self._backends.values())

    def _refuse(self, code: int, status: str, text: str) -> NoReturn:
        self.refusals.append(code)
        error = runtime_exception("IBMRuntimeError", QiskitError)
        raise error(
            f"Failed to run program: '{status} Client Error: for url: {_FAKE_JOBS_URL}. "
            f"{text}, Error code: {code}.'"
        )

    def _submit(
        self,
        *,
        backend: FakeRuntimeBackend,
        pubs: Sequence[SamplerPub],
        tags: Sequence[str],
        seed: int | None,
        other_options: Mapping[str, Any],
        session: FakeRuntimeSession | None,
    ) -> FakeRuntimeJob:
        with self._lock:
            self.submit_calls += 1
            now = self.clock.monotonic()
            quota = self.monthly_quota_jobs
            if quota is not None and len(self.submitted) >= quota:
                self._refuse(
                    4317,
                    "403",
                    f"You have exceeded the monthly quota of instance {self.instance!r}",
                )
            pending = [job for job in self.submitted if status_at(job, now) not in RUNTIME_FINAL]
            limit = self.max_pending_jobs
            if limit is not None and len(pending) >= limit:
                self._refuse(
                    3458,
                    "400",
                    f"You have reached the limit of {limit} pending jobs. Please wait for a "
                    "job to complete or cancel one before submitting anything new.",
                )
            index = len(self.submitted)
            run_time = self._run_time(index) if callable(self._run_time) else self._run_time
            if run_time < 0:
                raise ValueError(f"run_time for job {index} must not be negative, not {run_time}")
            failing = index in self._failing_jobs or bool(self._failing_jobs.intersection(tags))
            job = FakeRuntimeJob(
                self,
                uuid.uuid4().hex[:20],
                index=index,
                backend=backend,
                pubs=pubs,
                tags=list(dict.fromkeys(tags)),
                seed=seed,
                other_options=other_options,
                session_id=None if session is None else session.session_id,
                submitted_at=now,
                run_time=run_time,
                failure=self.failure_message if failing else None,
            )
            self.submitted.append(job)
            self._by_id[job.job_id()] = job
            return job

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        backend_name: str | None = None,
        pending: bool | None = None,
        program_id: str | None = None,
        instance: str | None = None,
        job_tags: Sequence[str] | None = None,
        session_id: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        descending: bool = True,
    ) -> list[FakeRuntimeJob]:
        """List jobs, newest first unless ``descending=False``, as the real service does.

        Args:
            limit: Most jobs to return; ``None`` for all.
            skip: Jobs to leave out at the start of the order.
            backend_name: Only jobs on this backend.
            pending: ``True`` for only ``"QUEUED"`` and ``"RUNNING"`` jobs,
                ``False`` for only final ones, ``None`` for all.
            program_id: Only jobs of this program (all jobs are ``"sampler"``).
            instance: Only jobs of this instance (all jobs are the service's).
            job_tags: Only jobs carrying all of these tags.
            session_id: Only jobs of this session or batch.
            created_after: Only jobs created at or after this time.
            created_before: Only jobs created at or before this time.
            descending: Newest first if ``True``, oldest first if ``False``.

        Returns:
            The jobs, in the order asked for.

        Raises:
            ValueError: If ``job_tags`` is not a list of str, or ``limit`` or
                ``skip`` is negative.
        """
        if job_tags is not None and (
            isinstance(job_tags, str) or not all(isinstance(tag, str) for tag in job_tags)
        ):
            raise ValueError("job_tags needs to be a list of strings.")
        if (limit is not None and limit < 0) or skip < 0:
            raise ValueError(f"limit and skip must not be negative, not {limit!r}, {skip!r}")
        with self._lock:
            self.jobs_calls.append(
                {
                    "limit": limit,
                    "skip": skip,
                    "backend_name": backend_name,
                    "pending": pending,
                    "job_tags": None if job_tags is None else list(job_tags),
                    "session_id": session_id,
                    "descending": descending,
                }
            )
            jobs = list(self.submitted)
        now = self.clock.monotonic()
        if backend_name is not None:
            jobs = [job for job in jobs if job.backend().name == backend_name]
        if pending is not None:
            jobs = [job for job in jobs if (status_at(job, now) not in RUNTIME_FINAL) == pending]
        if program_id is not None:
            jobs = [job for job in jobs if job.primitive_id == program_id]
        if instance is not None and instance != self.instance:
            jobs = []
        if job_tags:
            wanted = set(job_tags)
            jobs = [job for job in jobs if wanted.issubset(job.tags)]
        if session_id is not None:
            jobs = [job for job in jobs if job.session_id == session_id]
        if created_after is not None:
            jobs = [job for job in jobs if job.creation_date >= created_after]
        if created_before is not None:
            jobs = [job for job in jobs if job.creation_date <= created_before]
        if descending:
            jobs.reverse()
        jobs = jobs[skip:]
        return jobs if limit is None else jobs[:limit]

    def job(self, job_id: str) -> FakeRuntimeJob:
        """Return the job with id ``job_id``.

        Raises:
            QiskitError: If there is no such job (``RuntimeJobNotFound`` when
                qiskit-ibm-runtime is installed).
        """
        with self._lock:
            found = self._by_id.get(job_id)
        if found is None:
            raise runtime_exception("RuntimeJobNotFound", QiskitError)(f"Job not found: {job_id}")
        return found

    def __repr__(self) -> str:
        return (
            f"<FakeRuntimeService {self.instance!r}: {len(self.submitted)} jobs, "
            f"{self.submit_calls} submissions>"
        )


def submit(
    service: FakeRuntimeService,
    *,
    backend: FakeRuntimeBackend,
    pubs: Sequence[SamplerPub],
    tags: Sequence[str],
    seed: int | None,
    other_options: Mapping[str, Any],
    session: FakeRuntimeSession | None,
) -> FakeRuntimeJob:
    """Submit a Sampler's job to the service, which may refuse it as a real instance does."""
    return service._submit(
        backend=backend,
        pubs=pubs,
        tags=tags,
        seed=seed,
        other_options=other_options,
        session=session,
    )
