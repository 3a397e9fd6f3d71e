"""The scripted backend: a BackendV2 whose latencies, failures and limits a test sets."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal

from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.providers.exceptions import JobError
from qiskit.transpiler import Target

from managedjob._wait import Clock
from managedjob.exceptions import (
    JobLimitError,
    TooManyRequestsError,
    UnsupportedRunOptionError,
)
from managedjob.testing._clock import FakeClock
from managedjob.testing._jobs import BareJob, ScriptedJob, is_final, name_of, tags_of

__all__ = ["DEFAULT_BASIS_GATES", "ScriptedBackend", "SubmitFailure"]


DEFAULT_BASIS_GATES: tuple[str, ...] = ("cx", "id", "rz", "sx", "x", "measure", "reset", "delay")

SubmitFailure = BaseException | type[BaseException]


class ScriptedBackend(BackendV2):
    """A :class:`~qiskit.providers.BackendV2` whose behaviour a test scripts.

    Its :meth:`run` returns a :class:`ScriptedJob` (or a :class:`BareJob`
    with ``legacy_api=False``) at once; the job's status then follows the
    backend's clock. Results hold real counts from
    :class:`~qiskit.providers.basic_provider.BasicSimulator`, run with the
    same ``shots``, ``memory`` and ``seed_simulator``.

    Two counters name what the scripts refer to:

    * the *call index*: every call to :meth:`run` counts, from 0, including
      calls that fail;
    * the *job index*: every job :meth:`run` returns counts, from 0, in the
      order they are accepted.

    Args:
        clock: Where time comes from; a new :class:`FakeClock` by default.
            Available afterwards as :attr:`clock`.
        num_qubits: Qubits of the backend's target.
        basis_gates: Gates of the backend's target, which has all-to-all
            connectivity. Circuits are not checked against them: anything
            ``BasicSimulator`` can run, runs.
        max_circuits: Most circuits one job may hold; ``None`` for no limit.
        name: The backend's name.
        submit_latency: Seconds each :meth:`run` call spends (through the clock)
            before it fails or returns a job.
        run_time: Seconds from a job's submission until it is final: queued for
            the first half, running for the second. A callable is called
            with the job index to get that job's run time.
        result_latency: Seconds each ``result()`` call spends once the job is final.
        status_latency: Seconds each ``status()`` call spends.
        submit_failures: Exceptions (or exception types) for :meth:`run` to
            raise, by call index: a mapping, or a sequence whose ``None``
            items mean "succeed". The latency is spent first.
        failing_jobs: Jobs that end in ``ERROR``, given by job index (``int``)
            or by job name (``str``).
        failure_message: Why scripted jobs and experiments fail; the jobs'
            ``error_message()`` and the results' ``status`` say it.
        failed_result: What ``result()`` of a failed job does: ``"return"`` a
            :class:`~qiskit.result.Result` with ``success=False``, or
            ``"raise"`` a :class:`~qiskit.providers.exceptions.JobError`.
        failing_experiments: Names of circuits whose experiment fails wherever
            they run. A job with such a circuit ends in ``ERROR``, and its
            result has the other experiments' counts (a partial result).
        status_errors: How many times ``status()`` of a job raises
            :class:`~qiskit.providers.exceptions.JobError` before it answers:
            one number for every job, or a mapping from job index or job name
            to a number, ``None`` meaning "always".
        max_pending_jobs: :meth:`run` raises
            :class:`~managedjob.exceptions.JobLimitError` when this many of
            the backend's jobs are not final at the clock's current time.
        max_submits_per_second: A rate limit, as a remote service has:
            :meth:`run` calls that arrive less than ``1 / rate`` seconds
            after the last accepted one are refused with
            :class:`~managedjob.exceptions.TooManyRequestsError` (HTTP 429)
            once ``submit_latency`` is spent, its ``retry_after`` saying
            when the next call would be accepted. ``None``: no limit.
        cancellable: Whether jobs can be cancelled; if not, ``cancel()`` raises
            :class:`~qiskit.providers.exceptions.JobError`.
        legacy_api: Whether jobs are :class:`ScriptedJob` (with ``name()``,
            ``tags()``, ``error_message()``, ...) or :class:`BareJob`.
        simulate: Whether to simulate circuits. With ``False``, every
            successful experiment gets a fixed result of the right shape, for
            bookkeeping benchmarks: all shots read the all-zeros outcome
            (``"0x0"``), whatever the circuit does.
        on_run: Called inside every :meth:`run` call with its call index,
            after the call is counted as running and before its latency. A
            test can hold submissions inside :meth:`run` with, for example,
            ``on_run=lambda call: barrier.wait(timeout=5)``.

    Attributes:
        clock: The backend's clock.
        submitted: The jobs :meth:`run` returned, in order.
        run_calls: How many times :meth:`run` was called.
        max_concurrent_runs: The most :meth:`run` calls seen in progress at once.
        throttled_calls: How many :meth:`run` calls the rate limit refused.

    Raises:
        ValueError: If a latency or run time is negative, ``num_qubits`` or
            ``max_circuits`` or ``max_pending_jobs`` is below 1,
            ``max_submits_per_second`` is not positive, or
            ``failed_result`` is neither ``"return"`` nor ``"raise"``.

    Threading:
        :meth:`run`, :meth:`jobs`, :meth:`retrieve_job` and every job method
        may be called from several threads at once. The backend's lock is
        held only for bookkeeping, never while a latency is spent, so
        :attr:`max_concurrent_runs` shows how many submissions the code
        under test really lets through at once.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        num_qubits: int = 5,
        basis_gates: Sequence[str] = DEFAULT_BASIS_GATES,
        max_circuits: int | None = None,
        name: str = "scripted_backend",
        submit_latency: float = 0.0,
        run_time: float | Callable[[int], float] = 0.0,
        result_latency: float = 0.0,
        status_latency: float = 0.0,
        submit_failures: Mapping[int, SubmitFailure] | Sequence[SubmitFailure | None] = (),
        failing_jobs: Collection[int | str] = (),
        failure_message: str = "scripted failure",
        failed_result: Literal["return", "raise"] = "return",
        failing_experiments: Collection[str] = (),
        status_errors: int | Mapping[int | str, int | None] = 0,
        max_pending_jobs: int | None = None,
        max_submits_per_second: float | None = None,
        cancellable: bool = True,
        legacy_api: bool = True,
        simulate: bool = True,
        on_run: Callable[[int], object] | None = None,
    ) -> None:
        super().__init__(name=name, backend_version="1.0.0")
        for label, value in (
            ("submit_latency", submit_latency),
            ("result_latency", result_latency),
            ("status_latency", status_latency),
        ):
            if value < 0:
                raise ValueError(f"{label} must not be negative, not {value!r}")
        if not callable(run_time) and run_time < 0:
            raise ValueError(f"run_time must not be negative, not {run_time!r}")
        for label, limit in (
            ("num_qubits", num_qubits),
            ("max_circuits", max_circuits),
            ("max_pending_jobs", max_pending_jobs),
        ):
            if limit is not None and limit < 1:
                raise ValueError(f"{label} must be at least 1, not {limit!r}")
        if max_submits_per_second is not None and not max_submits_per_second > 0:
            raise ValueError(
                f"max_submits_per_second must be positive, not {max_submits_per_second!r}"
            )
        if failed_result not in ("return", "raise"):
            raise ValueError(f"failed_result must be 'return' or 'raise', not {failed_result!r}")

        self.clock: Clock = FakeClock() if clock is None else clock
        self._target = Target.from_configuration(
            basis_gates=list(basis_gates), num_qubits=num_qubits
        )
        self._max_circuits = max_circuits
        self.submit_latency = submit_latency
        self.result_latency = result_latency
        self.status_latency = status_latency
        self._run_time = run_time
        if isinstance(submit_failures, Mapping):
            self._submit_failures: dict[int, SubmitFailure] = dict(submit_failures)
        else:
            self._submit_failures = {
                i: failure for i, failure in enumerate(submit_failures) if failure is not None
            }
        self._failing_jobs = frozenset(failing_jobs)
        self.failure_message = failure_message
        self.failed_result = failed_result
        self._failing_experiments = frozenset(failing_experiments)
        self._status_errors = status_errors
        self.max_pending_jobs = max_pending_jobs
        self._submit_interval = (
            None if max_submits_per_second is None else 1.0 / max_submits_per_second
        )
        self._next_submission: float | None = None
        self.throttled_calls = 0
        self.cancellable = cancellable
        self.legacy_api = legacy_api
        self.simulate = simulate
        self._on_run = on_run

        self._lock = threading.Lock()
        self.submitted: list[BareJob] = []
        self._by_id: dict[str, BareJob] = {}
        self._pending: list[BareJob] = []
        self.run_calls = 0
        self._active_runs = 0
        self.max_concurrent_runs = 0

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, memory=False, seed_simulator=None)

    @property
    def target(self) -> Target:
        """The backend's target: its qubits and basis gates."""
        return self._target

    @property
    def max_circuits(self) -> int | None:
        """Most circuits one job may hold, or ``None`` for no limit."""
        return self._max_circuits

    def run(
        self,
        run_input: QuantumCircuit | Sequence[QuantumCircuit],
        job_name: str | None = None,
        job_tags: Sequence[str] | None = None,
        **options: Any,
    ) -> BareJob:
        """Submit circuits as one job and return it without waiting.

        Args:
            run_input: One circuit or a list of circuits.
            job_name: A name for the job (see :meth:`ScriptedJob.name`).
            job_tags: Tags for the job (see :meth:`ScriptedJob.tags`).
            **options: Run options overriding the backend's: ``shots``,
                ``memory``, ``seed_simulator``.

        Returns:
            The new job: a :class:`ScriptedJob`, or a :class:`BareJob` if the
            backend was built with ``legacy_api=False``.

        Raises:
            UnsupportedRunOptionError: For an option the backend does not have.
            ValueError: If there are no circuits, too many, a circuit has more
                qubits than the backend, or ``shots`` is not a positive integer.
            TypeError: If an item is not a :class:`~qiskit.circuit.QuantumCircuit`.
            JobLimitError: If ``max_pending_jobs`` jobs are pending.
            TooManyRequestsError: If the call came too soon after the last
                accepted one (``max_submits_per_second``).
            BaseException: Whatever ``submit_failures`` scripts for this call.
        """
        with self._lock:
            call = self.run_calls
            self.run_calls += 1
            self._active_runs += 1
            self.max_concurrent_runs = max(self.max_concurrent_runs, self._active_runs)
        try:
            if self._on_run is not None:
                self._on_run(call)
            circuits, merged = self._validate(run_input, options)
            refused = self._over_rate()
            if self.submit_latency:
                self.clock.sleep(self.submit_latency)
            if refused:
                self._refuse(call)
            failure = self._submit_failures.get(call)
            if failure is not None:
                if isinstance(failure, type):
                    raise failure(f"scripted failure of run() call {call} on {self.name!r}")
                raise failure
            return self._accept(circuits, merged, job_name, list(job_tags or ()))
        finally:
            with self._lock:
                self._active_runs -= 1

    def _over_rate(self) -> bool:
        """Whether the rate limit refuses a call arriving now; an accepted one takes its turn."""
        interval = self._submit_interval
        if interval is None:
            return False
        with self._lock:
            now = self.clock.monotonic()
            if self._next_submission is not None and now < self._next_submission:
                self.throttled_calls += 1
                return True
            self._next_submission = now + interval
            return False

    def _refuse(self, call: int) -> None:
        with self._lock:
            due = self._next_submission or 0.0
        wait = max(0.0, due - self.clock.monotonic())
        raise TooManyRequestsError(
            f"429 Too Many Requests: run() call {call} on {self.name!r} is over its limit of "
            f"{1 / (self._submit_interval or 1):g} per second; retry after {wait:.3f} s",
            retry_after=wait,
        )

    def _validate(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], options: Mapping[str, Any]
    ) -> tuple[list[QuantumCircuit], dict[str, Any]]:
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        if not circuits:
            raise ValueError(f"no circuits to run on backend {self.name!r}")
        if self._max_circuits is not None and len(circuits) > self._max_circuits:
            raise ValueError(
                f"{len(circuits)} circuits given, but backend {self.name!r} runs at most "
                f"{self._max_circuits} per job"
            )
        width = self._target.num_qubits
        for i, circuit in enumerate(circuits):
            if not isinstance(circuit, QuantumCircuit):
                raise TypeError(
                    f"item {i} of the circuits is a {type(circuit).__name__}, not a QuantumCircuit"
                )
            if circuit.num_qubits > width:
                raise ValueError(
                    f"circuit {i} ({circuit.name!r}) has {circuit.num_qubits} qubits, but "
                    f"backend {self.name!r} has {width}"
                )
        merged = dict(self.options.items())
        for key, value in options.items():
            if key not in merged:
                raise UnsupportedRunOptionError(
                    f"run option {key!r} is not supported by backend {self.name!r}; "
                    f"it accepts: {', '.join(sorted(merged))}",
                    option=key,
                )
            merged[key] = value
        shots = merged["shots"]
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise ValueError(f"shots must be a positive integer, not {shots!r}")
        return circuits, merged

    def _accept(
        self,
        circuits: list[QuantumCircuit],
        options: dict[str, Any],
        job_name: str | None,
        job_tags: list[str],
    ) -> BareJob:
        with self._lock:
            now = self.clock.monotonic()
            self._pending = [job for job in self._pending if not is_final(job)]
            if self.max_pending_jobs is not None and len(self._pending) >= self.max_pending_jobs:
                oldest = self._pending[0]
                raise JobLimitError(
                    f"backend {self.name!r} has {len(self._pending)} pending jobs, its limit "
                    f"is {self.max_pending_jobs}; the oldest is {oldest.job_id()}, due to "
                    f"finish at {oldest.finish_time}"
                )
            index = len(self.submitted)
            run_time = self._run_time(index) if callable(self._run_time) else self._run_time
            if run_time < 0:
                raise ValueError(f"run_time for job {index} must not be negative, not {run_time}")
            failing = [c.name for c in circuits if c.name in self._failing_experiments]
            failure: str | None = None
            job_failed = index in self._failing_jobs or (
                job_name is not None and job_name in self._failing_jobs
            )
            if job_failed:
                failure = self.failure_message
            elif failing:
                failure = (
                    f"{len(failing)} of {len(circuits)} experiments failed "
                    f"({', '.join(map(repr, failing))}): {self.failure_message}"
                )
            job_type = ScriptedJob if self.legacy_api else BareJob
            job = job_type(
                self,
                f"{self.name}-{index}-{uuid.uuid4().hex[:12]}",
                index=index,
                circuits=circuits,
                options=options,
                job_name=job_name,
                job_tags=job_tags,
                submitted_at=now,
                run_time=run_time,
                failure=failure,
                job_failed=job_failed,
                failing_experiments=failing,
                status_errors=self._status_error_budget(index, job_name),
            )
            self.submitted.append(job)
            self._by_id[job.job_id()] = job
            self._pending.append(job)
            return job

    def _status_error_budget(self, index: int, job_name: str | None) -> int | None:
        if not isinstance(self._status_errors, Mapping):
            return self._status_errors
        if index in self._status_errors:
            return self._status_errors[index]
        if job_name is not None and job_name in self._status_errors:
            return self._status_errors[job_name]
        return 0

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        *,
        pending: bool | None = None,
        job_name: str | None = None,
        job_tags: Sequence[str] | None = None,
        descending: bool = True,
    ) -> list[BareJob]:
        """List the backend's jobs, newest first unless ``descending=False``.

        Args:
            limit: Most jobs to return; ``None`` for all.
            skip: Jobs to leave out at the start of the order.
            pending: ``True`` for only jobs that are not final at the clock's
                current time, ``False`` for only final ones, ``None`` for all.
            job_name: Only jobs whose name contains this text.
            job_tags: Only jobs with at least one of these tags.
            descending: Newest first if ``True``, oldest first if ``False``.

        Returns:
            The jobs, in the order asked for.
        """
        with self._lock:
            jobs = list(self.submitted)
        if pending is not None:
            jobs = [job for job in jobs if is_final(job) != pending]
        if job_name is not None:
            jobs = [job for job in jobs if (name := name_of(job)) is not None and job_name in name]
        if job_tags is not None:
            wanted = set(job_tags)
            jobs = [job for job in jobs if wanted.intersection(tags_of(job))]
        if descending:
            jobs.reverse()
        jobs = jobs[skip:]
        return jobs if limit is None else jobs[:limit]

    def retrieve_job(self, job_id: str) -> BareJob:
        """Return the job with id ``job_id``.

        Raises:
            JobError: If the backend has no such job.
        """
        with self._lock:
            job = self._by_id.get(job_id)
        if job is None:
            raise JobError(f"backend {self.name!r} has no job with id {job_id!r}")
        return job

    def __repr__(self) -> str:
        return (
            f"<ScriptedBackend {self.name!r}: {len(self.submitted)} jobs, "
            f"{self.run_calls} run() calls>"
        )


# ----------------------------------------------------------------------------
