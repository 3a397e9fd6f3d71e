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

import threading
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Literal

from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2, JobStatus, JobV1, Options
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobError
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

__all__ = ["BareJob", "FakeClock", "ScriptedBackend", "ScriptedJob"]

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


class BareJob(JobV1):
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
    def index(self) -> int:
        """Place of this job among the backend's jobs, counting from 0."""
        return self._index

    @property
    def submitted_at(self) -> float:
        """The clock's time when the job was accepted."""
        return self._submitted_at

    @property
    def finish_time(self) -> float:
        """The clock's time at which the job ends, unless it is cancelled first."""
        return self._submitted_at + self._run_time

    def _status_at(self, now: float) -> JobStatus:
        # Callers hold self._lock, or accept a status that is a moment old.
        if self._cancelled:
            return JobStatus.CANCELLED
        elapsed = now - self._submitted_at
        if elapsed >= self._run_time:
            return JobStatus.ERROR if self._failure is not None else JobStatus.DONE
        if elapsed < self._run_time / 2:
            return JobStatus.QUEUED
        return JobStatus.RUNNING

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
