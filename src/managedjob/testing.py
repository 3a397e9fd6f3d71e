"""Scripted fakes for testing code that runs jobs: a fake clock, backend and jobs.

These are the fakes the project's own tests use. They run without a network
and without sleeping for real: time comes from a :class:`FakeClock`, whose
``sleep`` moves the fake time forward at once. Latency, queueing, failed
submissions, failed jobs, pending-job limits, status errors and cancellation
are all scripted through :class:`ScriptedBackend`'s constructor, and the
backend records what happened so a test can assert on it.

Counts are real: unless told otherwise, a job's circuits are simulated with
Qiskit's :class:`~qiskit.providers.basic_provider.BasicSimulator` when its
result is first asked for.

Example:
    A backend whose first submission fails and whose jobs take ten (fake)
    seconds::

        >>> from qiskit import QuantumCircuit
        >>> from qiskit.providers import JobStatus
        >>> from managedjob.testing import FakeClock, ScriptedBackend
        >>> clock = FakeClock()
        >>> backend = ScriptedBackend(
        ...     clock=clock, run_time=10.0, submit_failures={0: ConnectionError("reset")}
        ... )
        >>> bell = QuantumCircuit(2, 2, name="bell")
        >>> _ = bell.h(0)
        >>> _ = bell.cx(0, 1)
        >>> _ = bell.measure([0, 1], [0, 1])
        >>> backend.run([bell], shots=100)
        Traceback (most recent call last):
            ...
        ConnectionError: reset
        >>> job = backend.run([bell], shots=100, seed_simulator=7)
        >>> job.status()
        <JobStatus.QUEUED: 'job is queued'>
        >>> clock.advance(10.0)
        >>> job.status()
        <JobStatus.DONE: 'job has successfully run'>
        >>> sorted(job.result().get_counts())
        ['00', '11']
        >>> backend.run_calls, len(backend.submitted)
        (2, 1)

    ``job.result()`` on a job that is not finished waits for it through the
    clock: with a :class:`FakeClock` that moves the time forward instantly.

IBM Quantum Runtime:
    :class:`FakeRuntimeService` stands in for ``QiskitRuntimeService``: its
    :class:`FakeRuntimeBackend` objects take jobs through a
    :class:`FakeRuntimeSampler` (in job mode, or in a :class:`FakeRuntimeSession`
    or :class:`FakeRuntimeBatch`), and its :class:`FakeRuntimeJob` objects
    answer like ``RuntimeJobV2``: status words (``"QUEUED"``, ``"RUNNING"``,
    ``"DONE"``, ``"ERROR"``, ``"CANCELLED"``), tags, inputs, error messages,
    cancellation, and a real ``PrimitiveResult``. The service lists jobs with
    the real filters (``job_tags``, ``pending``, ``limit``, ``skip``,
    ``descending``, ...) and refuses jobs the way an instance does, with
    error code 3458 (too many pending jobs) or 4317 (monthly quota used up)::

        >>> from qiskit import QuantumCircuit
        >>> from managedjob.testing import FakeRuntimeSampler, FakeRuntimeService
        >>> service = FakeRuntimeService(run_time=10.0, max_pending_jobs=1)
        >>> flip = QuantumCircuit(1, 1, name="flip")
        >>> _ = flip.x(0)
        >>> _ = flip.measure(0, 0)
        >>> sampler = FakeRuntimeSampler(
        ...     mode=service.backend(), options={"environment": {"job_tags": ["demo"]}}
        ... )
        >>> job = sampler.run([flip], shots=50)
        >>> job.status(), job.tags
        ('QUEUED', ['demo'])
        >>> try:
        ...     _ = sampler.run([flip])
        ... except Exception as error:
        ...     refusal = error
        >>> "limit of 1 pending jobs" in str(refusal), service.refusals
        (True, [3458])
        >>> service.clock.advance(10.0)
        >>> job.status(), job.result()[0].data.c.get_counts()
        ('DONE', {'1': 50})
        >>> [found.job_id() for found in service.jobs(job_tags=["demo"])] == [job.job_id()]
        True

Time:
    Every wait goes through the ``clock`` given to the backend. Pass the same
    :class:`FakeClock` to the code under test so that both agree on the time.
    A :class:`FakeClock` is shared by all threads: each sleep moves the one
    fake time forward, so sleeps in different threads add up instead of
    overlapping. To benchmark against a latency-bound target, give the backend
    the real clock (``managedjob``'s ``SystemClock``) instead: then latencies
    and run times are spent in real time.
"""

from __future__ import annotations

import copy
import importlib
import io
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Literal, NoReturn

from qiskit import qpy
from qiskit.circuit import QuantumCircuit
from qiskit.exceptions import QiskitError
from qiskit.primitives import BackendSamplerV2, BaseSamplerV2, PrimitiveResult
from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import BackendV2, JobStatus, JobV1, Options
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobError
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData
from qiskit.transpiler import Target

from managedjob._wait import Clock
from managedjob.exceptions import (
    InvalidInputError,
    JobLimitError,
    JobTimeoutError,
    UnsupportedRunOptionError,
)

__all__ = [
    "BareJob",
    "FakeClock",
    "FakeRuntimeBackend",
    "FakeRuntimeBatch",
    "FakeRuntimeJob",
    "FakeRuntimeSampler",
    "FakeRuntimeService",
    "FakeRuntimeSession",
    "ScriptedBackend",
    "ScriptedJob",
]

_FINAL_STATES = frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED})

_DEFAULT_BASIS_GATES: tuple[str, ...] = ("cx", "id", "rz", "sx", "x", "measure", "reset", "delay")

_SubmitFailure = BaseException | type[BaseException]


class FakeClock:
    """A clock whose time moves only when told to; it never waits for real.

    It implements the ``managedjob`` clock protocol (``monotonic()`` and
    ``sleep(seconds)``). ``sleep`` moves the time forward by ``seconds`` at
    once and records the request in :attr:`sleeps`, so a test can assert the
    exact back-off sequence of the code under test. It is safe to use from
    several threads.

    Args:
        start: The time :meth:`monotonic` returns before anything moves it.

    Attributes:
        sleeps: Every ``sleep`` request, in order (not :meth:`advance` calls).
    """

    real_time = False  # time moves only when told to: never wait on futures for it

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """Return the current fake time, in seconds."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Move the time forward by ``seconds`` at once and record the request.

        Raises:
            ValueError: If ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError(f"sleep length must not be negative, not {seconds!r}")
        with self._lock:
            self._now += seconds
            self.sleeps.append(seconds)

    def advance(self, seconds: float) -> None:
        """Move the time forward by ``seconds``, as if time passed elsewhere.

        Unlike :meth:`sleep`, this is not recorded in :attr:`sleeps`.

        Raises:
            ValueError: If ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError(f"cannot move the clock back: advance({seconds!r})")
        with self._lock:
            self._now += seconds

    def __repr__(self) -> str:
        return f"FakeClock(now={self.monotonic()!r}, sleeps={len(self.sleeps)})"


def _experiment_header(circuit: QuantumCircuit) -> dict[str, Any]:
    """Return the result header Qiskit's simulators give ``circuit``."""
    # Register attributes are slow to read; read each once.
    qregs = [(qreg.name, qreg.size) for qreg in circuit.qregs]
    cregs = [(creg.name, creg.size) for creg in circuit.cregs]
    return {
        "name": circuit.name,
        "n_qubits": circuit.num_qubits,
        "qreg_sizes": [[name, size] for name, size in qregs],
        "creg_sizes": [[name, size] for name, size in cregs],
        "qubit_labels": [[name, j] for name, size in qregs for j in range(size)],
        "clbit_labels": [[name, j] for name, size in cregs for j in range(size)],
        "memory_slots": circuit.num_clbits,
        "global_phase": circuit.global_phase,
        "metadata": circuit.metadata if circuit.metadata is not None else {},
    }


def _failed_experiment(circuit: QuantumCircuit, shots: int, message: str) -> ExperimentResult:
    return ExperimentResult(
        shots=shots,
        success=False,
        data=ExperimentResultData(),
        status=message,
        header=_experiment_header(circuit),
    )


def _fixed_experiment(circuit: QuantumCircuit, shots: int, memory: bool) -> ExperimentResult:
    """Return a result of the right shape without simulating: every shot reads 0."""
    data = ExperimentResultData(counts={"0x0": shots}, memory=["0x0"] * shots if memory else None)
    return ExperimentResult(
        shots=shots,
        success=True,
        data=data,
        status="DONE",
        header=_experiment_header(circuit),
    )


class _TimedRun:
    """What the scripted jobs share: a place, a submission time, a clock-driven phase.

    A job is queued for the first half of its run time, running for the
    second half, then done (or failed, if scripted to fail); cancelled at
    once when cancelled.
    """

    _index: int
    _submitted_at: float
    _run_time: float
    _failure: str | None
    _cancelled: bool

    @property
    def index(self) -> int:
        """Place of this job among its backend's (or service's) jobs, counting from 0."""
        return self._index

    @property
    def submitted_at(self) -> float:
        """The clock's time when the job was accepted."""
        return self._submitted_at

    @property
    def finish_time(self) -> float:
        """The clock's time at which the job ends, unless it is cancelled first."""
        return self._submitted_at + self._run_time

    def _phase_at(self, now: float) -> str:
        # Callers hold the job's lock, or accept a status that is a moment old.
        if self._cancelled:
            return "CANCELLED"
        elapsed = now - self._submitted_at
        if elapsed >= self._run_time:
            return "ERROR" if self._failure is not None else "DONE"
        return "QUEUED" if elapsed < self._run_time / 2 else "RUNNING"


class BareJob(_TimedRun, JobV1):
    """A scripted job with only the plain :class:`~qiskit.providers.JobV1` API.

    :meth:`ScriptedBackend.run` makes these when the backend is built with
    ``legacy_api=False``. They have no ``error_message()``, ``name()``,
    ``tags()`` or ``circuits()``, like most jobs of Qiskit 2.x providers, so a
    test can check that code under test does without them.
    :class:`ScriptedJob` adds those methods.

    Do not build jobs yourself; the backend does. A job's status follows the
    backend's clock: it is ``QUEUED`` for the first half of its run time,
    ``RUNNING`` for the second half, then ``DONE``, or ``ERROR`` if the
    backend scripted it to fail. :meth:`cancel` makes it ``CANCELLED``.

    Threading:
        All methods may be called from several threads at once. The circuits
        are simulated once, by the first call to :meth:`result`; other
        callers wait for that simulation.
    """

    def __init__(
        self,
        backend: ScriptedBackend,
        job_id: str,
        *,
        index: int,
        circuits: Sequence[QuantumCircuit],
        options: Mapping[str, Any],
        job_name: str | None,
        job_tags: Sequence[str],
        submitted_at: float,
        run_time: float,
        failure: str | None,
        job_failed: bool,
        failing_experiments: Collection[str],
        status_errors: int | None,
    ) -> None:
        super().__init__(backend, job_id)
        self._scripted = backend
        self._clock = backend.clock
        self._index = index
        self._circuits = list(circuits)
        self._options = dict(options)
        self._job_name = job_name
        self._job_tags = list(job_tags)
        self._submitted_at = submitted_at
        self._run_time = run_time
        self._failure = failure
        self._job_failed = job_failed
        self._failing_experiments = frozenset(failing_experiments)
        self._status_errors = status_errors
        self._status_calls = 0
        self._cancelled = False
        self._result: Result | None = None
        self._lock = threading.Lock()
        self._result_lock = threading.Lock()

    @property
    def status_calls(self) -> int:
        """How many times :meth:`status` was called, scripted errors included.

        A test can hold code to a polling budget with it, for example that
        waiting for a job of 10 s asks for its status a few times a second
        at most.
        """
        with self._lock:
            return self._status_calls

    def _status_at(self, now: float) -> JobStatus:
        return JobStatus[self._phase_at(now)]

    def _current_status(self) -> JobStatus:
        with self._lock:
            return self._status_at(self._clock.monotonic())

    def _is_final(self) -> bool:
        return self._current_status() in _FINAL_STATES

    def submit(self) -> None:
        """Not supported: :meth:`ScriptedBackend.run` submits its jobs.

        Raises:
            NotImplementedError: Always.
        """
        raise NotImplementedError(
            f"job {self.job_id()} was submitted by {self._scripted.name}.run(); "
            "it cannot be submitted again"
        )

    def status(self) -> JobStatus:
        """Return the job's status at the clock's current time.

        It spends the backend's ``status_latency`` first.

        Raises:
            JobError: If the backend scripted status errors for this job and
                some are left.
        """
        latency = self._scripted.status_latency
        if latency:
            self._clock.sleep(latency)
        with self._lock:
            self._status_calls += 1
            calls = self._status_calls
            budget = self._status_errors
            if budget is None or calls <= budget:
                which = "(all of them)" if budget is None else f"{calls} of {budget}"
                raise JobError(
                    f"scripted status error {which} for job {self.job_id()} "
                    f"on backend {self._scripted.name!r}"
                )
            return self._status_at(self._clock.monotonic())

    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float = 5,
        callback: Callable[[str, JobStatus, JobV1], None] | None = None,
    ) -> None:
        """Poll :meth:`status` every ``wait`` seconds of the backend's clock until final.

        Unlike :meth:`JobV1.wait_for_final_state`, waiting goes through the
        backend's clock, so with a :class:`FakeClock` it takes no real time.

        Args:
            timeout: Seconds to wait at most; ``None`` waits for as long as it takes.
            wait: Seconds between two status queries.
            callback: Called as ``callback(job_id, status, job)`` after each
                query that leaves the job unfinished.

        Raises:
            JobTimeoutError: If the job is not final after ``timeout`` seconds.
            JobError: A scripted status error.
        """
        start = self._clock.monotonic()
        status = self.status()
        while status not in _FINAL_STATES:
            elapsed = self._clock.monotonic() - start
            if timeout is not None and elapsed >= timeout:
                raise JobTimeoutError(
                    f"job {self.job_id()} was still {status.name} after {timeout} s"
                )
            if callback is not None:
                callback(self.job_id(), status, self)
            self._clock.sleep(wait)
            status = self.status()

    def result(self, timeout: float | None = None) -> Result:
        """Wait until the job is final, then return its result.

        Waiting goes through the backend's clock. Getting the result then
        spends the backend's ``result_latency``. The first call simulates the
        circuits; later calls return the same :class:`~qiskit.result.Result`.

        A failed job's result has ``success=False``, and so has each failed
        experiment's; when only some experiments failed, the others have their
        counts (a partial result). If the backend was built with
        ``failed_result="raise"``, a failed job raises instead.

        Args:
            timeout: Seconds to wait for the job at most; ``None`` waits for
                as long as it takes.

        Returns:
            The result, with this job's id and the backend's name.

        Raises:
            JobTimeoutError: If the job is not final after ``timeout`` seconds.
            JobError: If the job was cancelled, if it failed and the backend
                raises for failed jobs, or if its circuits could not be simulated.
        """
        self._wait(timeout)
        latency = self._scripted.result_latency
        if latency:
            self._clock.sleep(latency)
        status = self._current_status()
        if status is JobStatus.CANCELLED:
            raise JobError(f"job {self.job_id()} was cancelled; it has no result")
        if status is JobStatus.ERROR and self._scripted.failed_result == "raise":
            raise JobError(f"job {self.job_id()} failed: {self._failure}")
        with self._result_lock:
            if self._result is None:
                self._result = self._build_result()
            return self._result

    def _wait(self, timeout: float | None) -> None:
        deadline = None if timeout is None else self._clock.monotonic() + timeout
        while True:
            with self._lock:
                now = self._clock.monotonic()
                if self._status_at(now) in _FINAL_STATES:
                    return
                left = self.finish_time - now
            if deadline is not None:
                time_left = deadline - now
                if time_left <= 0:
                    raise JobTimeoutError(
                        f"job {self.job_id()} on backend {self._scripted.name!r} did not "
                        f"finish within {timeout} s"
                    )
                left = min(left, time_left)
            self._clock.sleep(max(left, 0.0))

    def cancel(self) -> bool:
        """Cancel the job if it is not final yet.

        Returns:
            ``True`` if the job is now cancelled, ``False`` if it had already
            finished, failed or been cancelled.

        Raises:
            JobError: If the backend was built with ``cancellable=False``.
        """
        if not self._scripted.cancellable:
            raise JobError(
                f"job {self.job_id()} cannot be cancelled: backend "
                f"{self._scripted.name!r} does not support cancellation"
            )
        with self._lock:
            if self._status_at(self._clock.monotonic()) in _FINAL_STATES:
                return False
            self._cancelled = True
            return True

    def _build_result(self) -> Result:
        shots = int(self._options["shots"])
        if self._job_failed:
            message = self._scripted.failure_message
            experiments = [_failed_experiment(c, shots, message) for c in self._circuits]
        else:
            failed = self._failing_experiments
            message = self._scripted.failure_message
            produced = iter(
                self._run_experiments([c for c in self._circuits if c.name not in failed])
            )
            experiments = [
                _failed_experiment(c, shots, message) if c.name in failed else next(produced)
                for c in self._circuits
            ]
        success = all(experiment.success for experiment in experiments)
        return Result(
            backend_name=self._scripted.name,
            backend_version=self._scripted.backend_version,
            job_id=self.job_id(),
            success=success,
            results=experiments,
            status="COMPLETED" if success else self._failure,
        )

    def _run_experiments(self, circuits: list[QuantumCircuit]) -> list[ExperimentResult]:
        if not circuits:
            return []
        shots = int(self._options["shots"])
        memory = bool(self._options["memory"])
        if not self._scripted.simulate:
            return [_fixed_experiment(c, shots, memory) for c in circuits]
        run_options: dict[str, Any] = {"shots": shots, "memory": memory}
        seed = self._options["seed_simulator"]
        if seed is not None:
            run_options["seed_simulator"] = seed
        # A simulator per job: BasicSimulator keeps per-run state on itself.
        try:
            simulated = BasicSimulator().run(circuits, **run_options).result()
        except Exception as err:
            raise JobError(
                f"job {self.job_id()}: BasicSimulator could not run its circuits: {err}"
            ) from err
        return list(simulated.results)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.job_id()!r} #{self._index} on {self._scripted.name!r}>"
        )


class ScriptedJob(BareJob):
    """A scripted job with the legacy ``IBMQJob`` extras.

    Besides the plain :class:`~qiskit.providers.JobV1` API of
    :class:`BareJob`, it has ``error_message()``, ``name()``, ``tags()``,
    ``update_name()``, ``update_tags()`` and ``circuits()``, shaped like those
    of the legacy ``qiskit-ibmq-provider`` jobs. :meth:`ScriptedBackend.run`
    makes these unless the backend is built with ``legacy_api=False``.
    """

    def error_message(self) -> str | None:
        """Return why the job failed, or ``None`` if it has not failed."""
        if self._current_status() is not JobStatus.ERROR:
            return None
        return self._failure

    def name(self) -> str | None:
        """Return the ``job_name`` given to ``run()``, if any."""
        with self._lock:
            return self._job_name

    def update_name(self, name: str) -> str:
        """Rename the job.

        Returns:
            The new name.
        """
        with self._lock:
            self._job_name = name
            return name

    def tags(self) -> list[str]:
        """Return the job's tags."""
        with self._lock:
            return list(self._job_tags)

    def update_tags(
        self,
        replacement_tags: Sequence[str] | None = None,
        additional_tags: Sequence[str] | None = None,
        removal_tags: Sequence[str] | None = None,
    ) -> list[str]:
        """Change the job's tags, as the legacy ``IBMQJob.update_tags`` did.

        ``replacement_tags``, when given, replace all tags and the other two
        arguments are ignored. Otherwise ``additional_tags`` are added and
        then ``removal_tags`` removed.

        Returns:
            The tags after the update.

        Raises:
            InvalidInputError: If no argument is given.
        """
        if replacement_tags is None and additional_tags is None and removal_tags is None:
            raise InvalidInputError(
                f"nothing to update for the tags of job {self.job_id()}: give replacement_tags, "
                "additional_tags or removal_tags"
            )
        with self._lock:
            if replacement_tags is not None:
                tags = list(dict.fromkeys(replacement_tags))
            else:
                tags = list(dict.fromkeys([*self._job_tags, *(additional_tags or ())]))
                removed = set(removal_tags or ())
                tags = [tag for tag in tags if tag not in removed]
            self._job_tags = tags
            return list(tags)

    def circuits(self) -> list[QuantumCircuit]:
        """Return the circuits the job runs, as given to ``run()``."""
        return list(self._circuits)


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

    Raises:
        ValueError: If a latency or run time is negative, ``num_qubits`` or
            ``max_circuits`` or ``max_pending_jobs`` is below 1, or
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
        basis_gates: Sequence[str] = _DEFAULT_BASIS_GATES,
        max_circuits: int | None = None,
        name: str = "scripted_backend",
        submit_latency: float = 0.0,
        run_time: float | Callable[[int], float] = 0.0,
        result_latency: float = 0.0,
        status_latency: float = 0.0,
        submit_failures: Mapping[int, _SubmitFailure] | Sequence[_SubmitFailure | None] = (),
        failing_jobs: Collection[int | str] = (),
        failure_message: str = "scripted failure",
        failed_result: Literal["return", "raise"] = "return",
        failing_experiments: Collection[str] = (),
        status_errors: int | Mapping[int | str, int | None] = 0,
        max_pending_jobs: int | None = None,
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
            self._submit_failures: dict[int, _SubmitFailure] = dict(submit_failures)
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
            if self.submit_latency:
                self.clock.sleep(self.submit_latency)
            failure = self._submit_failures.get(call)
            if failure is not None:
                if isinstance(failure, type):
                    raise failure(f"scripted failure of run() call {call} on {self.name!r}")
                raise failure
            return self._accept(circuits, merged, job_name, list(job_tags or ()))
        finally:
            with self._lock:
                self._active_runs -= 1

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
            self._pending = [job for job in self._pending if not job._is_final()]
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
            jobs = [job for job in jobs if job._is_final() != pending]
        if job_name is not None:
            jobs = [job for job in jobs if job._job_name is not None and job_name in job._job_name]
        if job_tags is not None:
            wanted = set(job_tags)
            jobs = [job for job in jobs if wanted.intersection(job._job_tags)]
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
# A scripted IBM Quantum Runtime service
# ----------------------------------------------------------------------------

_RUNTIME_FINAL = frozenset({"DONE", "ERROR", "CANCELLED"})
_RUNTIME_DEFAULT_SHOTS = 4096
_FAKE_JOBS_URL = "https://quantum.example/api/v1/jobs"
# Creation dates are this moment plus the clock's time at submission.
_FAKE_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)


def _runtime_exception(name: str, default: type[Exception]) -> type[Exception]:
    """Return ``qiskit_ibm_runtime.exceptions.<name>`` if that package is installed."""
    try:
        module = importlib.import_module("qiskit_ibm_runtime.exceptions")
    except ImportError:
        return default
    found = getattr(module, name, None)
    return found if isinstance(found, type) and issubclass(found, Exception) else default


@dataclass
class _FakeEnvironmentOptions:
    job_tags: list[str] = field(default_factory=list)


@dataclass
class _FakeSimulatorOptions:
    seed_simulator: int | None = None


@dataclass
class _FakeSamplerOptions:
    """The options a :class:`FakeRuntimeSampler` reads; others are kept in ``other``."""

    default_shots: int | None = None
    environment: _FakeEnvironmentOptions = field(default_factory=_FakeEnvironmentOptions)
    simulator: _FakeSimulatorOptions = field(default_factory=_FakeSimulatorOptions)
    other: dict[str, Any] = field(default_factory=dict)


def _sampler_options(
    options: Mapping[str, Any] | _FakeSamplerOptions | None,
) -> _FakeSamplerOptions:
    if options is None:
        return _FakeSamplerOptions()
    if isinstance(options, _FakeSamplerOptions):
        return copy.deepcopy(options)
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a mapping, not {type(options).__name__}")
    given = dict(options)
    environment = dict(given.pop("environment", None) or {})
    simulator = dict(given.pop("simulator", None) or {})
    tags = environment.pop("job_tags", None) or []
    if isinstance(tags, str) or not all(isinstance(tag, str) for tag in tags):
        raise ValueError(f"environment.job_tags must be a list of str, not {tags!r}")
    other = copy.deepcopy(given)
    if environment:
        other["environment"] = environment
    if simulator.keys() - {"seed_simulator"}:
        other["simulator"] = {k: v for k, v in simulator.items() if k != "seed_simulator"}
    return _FakeSamplerOptions(
        default_shots=given.pop("default_shots", None),
        environment=_FakeEnvironmentOptions(job_tags=list(tags)),
        simulator=_FakeSimulatorOptions(seed_simulator=simulator.get("seed_simulator")),
        other={k: v for k, v in other.items() if k != "default_shots"},
    )


class FakeRuntimeBackend(BackendV2):
    """A device of a :class:`FakeRuntimeService`, shaped like ``qiskit_ibm_runtime.IBMBackend``.

    Like a real IBM Quantum backend it cannot ``run()``: circuits go through a
    Sampler (:class:`FakeRuntimeSampler`, or ``managedjob``'s IBM runtime
    target). Its :attr:`target` (all-to-all connectivity, the service's basis
    gates) is there to transpile against.

    Get one from :meth:`FakeRuntimeService.backend`; do not build it yourself.
    """

    def __init__(
        self,
        service: FakeRuntimeService,
        *,
        name: str,
        num_qubits: int,
        basis_gates: Sequence[str],
    ) -> None:
        super().__init__(name=name, backend_version="1.0.0")
        self._service = service
        self._target = Target.from_configuration(
            basis_gates=list(basis_gates), num_qubits=num_qubits
        )

    @classmethod
    def _default_options(cls) -> Options:
        return Options()

    @property
    def target(self) -> Target:
        """The backend's target: its qubits and basis gates."""
        return self._target

    @property
    def max_circuits(self) -> None:
        """``None``: like IBM Quantum backends, no circuit count is published."""
        return None

    @property
    def service(self) -> FakeRuntimeService:
        """The service the backend belongs to."""
        return self._service

    def run(self, run_input: Any, **options: Any) -> JobV1:
        """Refuse, as ``IBMBackend.run()`` does.

        Raises:
            QiskitError: Always (``IBMBackendError`` when qiskit-ibm-runtime is installed).
        """
        error = _runtime_exception("IBMBackendError", QiskitError)
        raise error(
            f"backend {self.name!r} does not run circuits with backend.run(); submit them "
            "with a Sampler (FakeRuntimeSampler) as on IBM Quantum"
        )

    def __repr__(self) -> str:
        return f"<FakeRuntimeBackend {self.name!r}>"


class FakeRuntimeSession:
    """A session on a :class:`FakeRuntimeBackend`, shaped like ``qiskit_ibm_runtime.Session``.

    Jobs submitted through a :class:`FakeRuntimeSampler` whose ``mode`` is
    the session carry its :attr:`session_id`. After :meth:`close` it refuses
    new jobs, as the real one does, while jobs already queued still run.

    Args:
        backend: The backend the session runs on.
        max_time: Recorded, not enforced.

    Raises:
        ValueError: If ``backend`` is not a :class:`FakeRuntimeBackend`.
    """

    #: The service's name for this kind of session.
    execution_mode = "dedicated"

    def __init__(self, backend: FakeRuntimeBackend, max_time: int | str | None = None) -> None:
        if not isinstance(backend, FakeRuntimeBackend):
            raise ValueError(f"Invalid backend type {type(backend)}")
        self._backend = backend
        self._service = backend.service
        self._session_id = uuid.uuid4().hex[:20]
        self._active = True
        self.max_time = max_time

    @property
    def service(self) -> FakeRuntimeService:
        """The service the session's backend belongs to."""
        return self._service

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self._session_id

    @property
    def active(self) -> bool:
        """Whether the session still accepts jobs."""
        return self._active

    def backend(self) -> str:
        """Return the name of the session's backend, as ``Session.backend()`` does."""
        return str(self._backend.name)

    def status(self) -> str:
        """Return ``"Open"`` or ``"Closed"``."""
        return "Open" if self._active else "Closed"

    def close(self) -> None:
        """Accept no new jobs; queued and running jobs still finish."""
        self._active = False

    def cancel(self) -> None:
        """Close the session and cancel its jobs that have not finished."""
        self._active = False
        for job in self._service.jobs(limit=None, pending=True, session_id=self._session_id):
            job.cancel()

    def __enter__(self) -> FakeRuntimeSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self._session_id!r} on {self._backend.name!r} "
            f"{self.status().lower()}>"
        )


class FakeRuntimeBatch(FakeRuntimeSession):
    """A batch on a :class:`FakeRuntimeBackend`, shaped like ``qiskit_ibm_runtime.Batch``."""

    #: The service's name for this kind of session.
    execution_mode = "batch"


class FakeRuntimeSampler(BaseSamplerV2):
    """A Sampler that submits to a :class:`FakeRuntimeService`, like the runtime ``SamplerV2``.

    Its options are read the way the runtime Sampler's are:
    ``options.default_shots``, ``options.environment.job_tags`` (the tags of
    each job it submits) and ``options.simulator.seed_simulator`` (the seed
    the fake uses to sample). Other options are accepted and recorded in the
    job's inputs.

    Args:
        mode: A :class:`FakeRuntimeBackend` (job mode), :class:`FakeRuntimeSession`
            or :class:`FakeRuntimeBatch`.
        options: A mapping such as ``{"environment": {"job_tags": ["a"]}}``.

    Raises:
        ValueError: If ``mode`` is none of those, or the job tags are not a list of str.
    """

    def __init__(
        self,
        mode: FakeRuntimeBackend | FakeRuntimeSession,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(mode, FakeRuntimeSession):
            self._mode: FakeRuntimeSession | None = mode
            self._backend = mode._backend
        elif isinstance(mode, FakeRuntimeBackend):
            self._mode = None
            self._backend = mode
        else:
            raise ValueError(
                f"mode must be a fake runtime backend, batch or session, not {mode!r}"
            )
        self.options = _sampler_options(options)

    @property
    def mode(self) -> FakeRuntimeSession | None:
        """The session or batch jobs run in, or ``None`` in job mode."""
        return self._mode

    def backend(self) -> FakeRuntimeBackend:
        """Return the backend jobs run on."""
        return self._backend

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> FakeRuntimeJob:
        """Submit the PUBs as one job of the service.

        Args:
            pubs: Circuits, or ``(circuit, parameter values[, shots])`` tuples.
            shots: Shots for PUBs that do not set their own; else
                ``options.default_shots``, else 4096 as on IBM Quantum.

        Returns:
            The job.

        Raises:
            QiskitError: If the session is closed, or the service refuses the
                job (``IBMRuntimeError`` when qiskit-ibm-runtime is installed).
            ValueError: If a circuit is wider than the backend.
        """
        if self._mode is not None and not self._mode.active:
            raise _runtime_exception("IBMRuntimeError", QiskitError)("The session is closed.")
        default = shots if shots is not None else self.options.default_shots
        coerced = [
            SamplerPub.coerce(pub, default if default is not None else _RUNTIME_DEFAULT_SHOTS)
            for pub in pubs
        ]
        width = self._backend.target.num_qubits
        for index, pub in enumerate(coerced):
            if pub.circuit.num_qubits > width:
                raise ValueError(
                    f"circuit {index} ({pub.circuit.name!r}) has {pub.circuit.num_qubits} "
                    f"qubits, but backend {self._backend.name!r} has {width}"
                )
        return self._backend.service._submit(
            backend=self._backend,
            pubs=coerced,
            tags=list(self.options.environment.job_tags),
            seed=self.options.simulator.seed_simulator,
            other_options=copy.deepcopy(self.options.other),
            session=self._mode,
        )


class FakeRuntimeJob(_TimedRun, BasePrimitiveJob):
    """A job of a :class:`FakeRuntimeService`, shaped like ``qiskit_ibm_runtime.RuntimeJobV2``.

    Its :meth:`status` is a runtime status word that follows the service's
    clock: ``"QUEUED"`` for the first half of its run time, ``"RUNNING"`` for
    the second, then ``"DONE"``, or ``"ERROR"`` if the service scripted it to
    fail; ``"CANCELLED"`` once cancelled. :meth:`result` waits through the
    clock and returns a real :class:`~qiskit.primitives.PrimitiveResult`,
    sampled by ``BackendSamplerV2`` on ``BasicSimulator`` (with the
    sampler's ``seed_simulator``). :attr:`inputs` gives the PUBs back as the
    service does: ``[circuit, parameter values, shots]`` lists whose circuits
    went through QPY.

    Jobs are made by the service, never by hand.

    Threading:
        All methods may be called from several threads at once; the PUBs
        are sampled once, by the first call to :meth:`result`.
    """

    def __init__(
        self,
        service: FakeRuntimeService,
        job_id: str,
        *,
        index: int,
        backend: FakeRuntimeBackend,
        pubs: Sequence[SamplerPub],
        tags: Sequence[str],
        seed: int | None,
        other_options: Mapping[str, Any],
        session_id: str | None,
        submitted_at: float,
        run_time: float,
        failure: str | None,
    ) -> None:
        super().__init__(job_id=job_id)
        self._service = service
        self._index = index
        self._backend = backend
        self._pubs = list(pubs)
        self._tags = list(tags)
        self._seed = seed
        self._other_options = dict(other_options)
        self._session_id = session_id
        self._submitted_at = submitted_at
        self._run_time = run_time
        self._failure = failure
        self._cancelled = False
        self._result: PrimitiveResult | None = None
        self._lock = threading.Lock()
        self._result_lock = threading.Lock()

    @property
    def creation_date(self) -> datetime:
        """When the job was created: a fixed date plus the clock's time at submission."""
        return _FAKE_EPOCH + timedelta(seconds=self._submitted_at)

    @property
    def session_id(self) -> str | None:
        """The id of the session or batch the job ran in, if any."""
        return self._session_id

    @property
    def primitive_id(self) -> str:
        """``"sampler"``."""
        return "sampler"

    @property
    def tags(self) -> list[str]:
        """The job's tags."""
        with self._lock:
            return list(self._tags)

    def update_tags(self, new_tags: Sequence[str]) -> list[str]:
        """Replace the job's tags, as ``RuntimeJobV2.update_tags`` does.

        Returns:
            The new tags.

        Raises:
            ValueError: If ``new_tags`` is not a list of str.
        """
        if isinstance(new_tags, str) or not all(isinstance(tag, str) for tag in new_tags):
            raise ValueError(f"job_tags needs to be a list of strings, not {new_tags!r}")
        with self._lock:
            self._tags = list(dict.fromkeys(new_tags))
            return list(self._tags)

    @property
    def inputs(self) -> dict[str, Any]:
        """The job's inputs as the service gives them back: PUBs as lists, circuits via QPY."""
        buffer = io.BytesIO()
        qpy.dump([pub.circuit for pub in self._pubs], buffer)
        buffer.seek(0)
        circuits = qpy.load(buffer)
        pubs = [
            [circuit, pub.parameter_values.as_array(pub.circuit.parameters), pub.shots]
            for circuit, pub in zip(circuits, self._pubs, strict=True)
        ]
        options: dict[str, Any] = {"simulator": {"seed_simulator": self._seed}}
        options.update(copy.deepcopy(self._other_options))
        return {"pubs": pubs, "options": options, "version": 2, "support_qiskit": True}

    def backend(self) -> FakeRuntimeBackend:
        """Return the backend the job runs on."""
        return self._backend

    def _status_at(self, now: float) -> str:
        return self._phase_at(now)

    def status(self) -> str:
        """Return the job's status word at the clock's current time."""
        with self._lock:
            return self._status_at(self._service.clock.monotonic())

    def done(self) -> bool:
        """Return whether the job ran successfully."""
        return self.status() == "DONE"

    def running(self) -> bool:
        """Return whether the job is running."""
        return self.status() == "RUNNING"

    def cancelled(self) -> bool:
        """Return whether the job was cancelled."""
        return self.status() == "CANCELLED"

    def errored(self) -> bool:
        """Return whether the job failed."""
        return self.status() == "ERROR"

    def in_final_state(self) -> bool:
        """Return whether the job is done, failed or cancelled."""
        return self.status() in _RUNTIME_FINAL

    def error_message(self) -> str | None:
        """Return why the job failed, or ``None`` if it has not failed."""
        if self.status() != "ERROR":
            return None
        return f"Job {self.job_id()} has failed:\n{self._failure}"

    def cancel(self) -> None:
        """Cancel the job.

        Raises:
            QiskitError: If the job is already final
                (``RuntimeInvalidStateError`` when qiskit-ibm-runtime is installed).
        """
        with self._lock:
            status = self._status_at(self._service.clock.monotonic())
            if status not in _RUNTIME_FINAL:
                self._cancelled = True
                return
        error = _runtime_exception("RuntimeInvalidStateError", QiskitError)
        raise error(f"Job cannot be cancelled: job {self.job_id()} is {status}")

    def wait_for_final_state(
        self, timeout: float | None = None, poll_interval: float | None = None
    ) -> None:
        """Wait through the service's clock until the job is final.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.
            poll_interval: Ignored: the fake knows when the job ends.

        Raises:
            JobTimeoutError: If the job is not final within ``timeout``
                (``RuntimeJobTimeoutError`` when qiskit-ibm-runtime is installed).
        """
        clock = self._service.clock
        deadline = None if timeout is None else clock.monotonic() + timeout
        while True:
            with self._lock:
                now = clock.monotonic()
                if self._status_at(now) in _RUNTIME_FINAL:
                    return
                left = self.finish_time - now
            if deadline is not None:
                if deadline - now <= 0:
                    error = _runtime_exception("RuntimeJobTimeoutError", QiskitJobTimeoutError)
                    raise error(
                        f"Timed out waiting for job {self.job_id()} to complete after "
                        f"{timeout} secs."
                    )
                left = min(left, deadline - now)
            clock.sleep(max(left, 0.0))

    def result(self, timeout: float | None = None) -> PrimitiveResult:
        """Wait until the job is final, then return its ``PrimitiveResult``.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Returns:
            One pub result per PUB, with a ``BitArray`` per classical register.

        Raises:
            JobError: If the job failed (``RuntimeJobFailureError`` when
                qiskit-ibm-runtime is installed).
            QiskitError: If the job was cancelled (``RuntimeInvalidStateError``).
            JobTimeoutError: If the job is not final within ``timeout``.
        """
        self.wait_for_final_state(timeout)
        status = self.status()
        if status == "ERROR":
            error = _runtime_exception("RuntimeJobFailureError", JobError)
            raise error(f"Unable to retrieve job result. {self._failure}")
        if status == "CANCELLED":
            cancelled = _runtime_exception("RuntimeInvalidStateError", QiskitError)
            raise cancelled(
                f"Unable to retrieve result for job {self.job_id()}. Job was cancelled."
            )
        with self._result_lock:
            if self._result is None:
                options: dict[str, Any] = {}
                if self._seed is not None:
                    options["seed_simulator"] = self._seed
                sampler = BackendSamplerV2(backend=BasicSimulator(), options=options)
                self._result = sampler.run(self._pubs).result()
            return self._result

    def __repr__(self) -> str:
        return f"<FakeRuntimeJob {self.job_id()!r} #{self._index} on {self._backend.name!r}>"


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
        basis_gates: Sequence[str] = _DEFAULT_BASIS_GATES,
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
        error = _runtime_exception("IBMRuntimeError", QiskitError)
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
            pending = [job for job in self.submitted if job._status_at(now) not in _RUNTIME_FINAL]
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
            jobs = [job for job in jobs if job._backend.name == backend_name]
        if pending is not None:
            jobs = [job for job in jobs if (job._status_at(now) not in _RUNTIME_FINAL) == pending]
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
            raise _runtime_exception("RuntimeJobNotFound", QiskitError)(f"Job not found: {job_id}")
        return found

    def __repr__(self) -> str:
        return (
            f"<FakeRuntimeService {self.instance!r}: {len(self.submitted)} jobs, "
            f"{self.submit_calls} submissions>"
        )
