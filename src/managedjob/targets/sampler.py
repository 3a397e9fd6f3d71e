"""Target adapter for Sampler primitives: any :class:`qiskit.primitives.BaseSamplerV2`.

``StatevectorSampler``, ``BackendSamplerV2`` and ``qiskit_ibm_runtime``'s
``SamplerV2`` (including its local testing mode with a fake backend) all run
this way. Each circuit becomes one PUB; the sampler's job is wrapped in a
:class:`PrimitiveJobV1`, a real :class:`qiskit.providers.JobV1` whose
``result()`` is a legacy :class:`qiskit.result.Result`, so nothing above the
target needs to know a primitive ran the circuits.

Run options:

* ``shots``: passed to ``sampler.run``. Without it, the sampler's own integer
  ``default_shots`` is used, or 1024 (the legacy default) when it has none.
  Shots are always passed explicitly, so the result reports what ran.
* ``memory``: the result lists each shot's outcome (primitives always keep
  them). Off by default, as on IBM Quantum backends and Aer (``BasicSimulator``
  alone defaults to on).
* ``seed_simulator``: honoured where the primitive has a seed:
  ``StatevectorSampler`` (a copy with ``seed=``), ``BackendSamplerV2`` (a copy
  with the ``seed_simulator`` option) and runtime ``SamplerV2``
  (``options.simulator.seed_simulator`` for the duration of the ``run`` call).
  Other primitives reject it. Note that the local testing mode of
  ``qiskit-ibm-runtime`` ignores a seed of ``0``.

Anything else, including ``parameter_binds``, is rejected before submission
with :class:`~managedjob.exceptions.UnsupportedRunOptionError`.

Circuits must measure something and have no unbound parameters: a Sampler
returns only what was measured. :meth:`SamplerTarget.check_circuits` raises
:class:`~managedjob.exceptions.InvalidInputError` naming the circuit's index;
:meth:`SamplerTarget.submit` calls it too, so indices there count from the
job's first circuit.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from enum import Enum
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BackendSamplerV2, BaseSamplerV2, StatevectorSampler
from qiskit.providers import BackendV2, JobError, JobStatus, JobV1
from qiskit.result import Result

from managedjob._convert import add_loose_clbit_registers, primitive_result_to_result
from managedjob._throttle import retry_after, too_many_requests
from managedjob._wait import SYSTEM_CLOCK, Clock, wait_for_final_state
from managedjob.exceptions import (
    InvalidInputError,
    JobTimeoutError,
    UnsupportedRunOptionError,
)
from managedjob.targets._base import TargetBase, TargetLimits
from managedjob.targets._devices import prepare_backend

__all__ = [
    "MAX_RATE_LIMITED_READS",
    "PrimitiveJobV1",
    "SamplerTarget",
    "is_sampler",
    "job_status_from",
]

#: How many "too many requests" answers in a row a result download waits out.
MAX_RATE_LIMITED_READS = 20

_DEFAULT_SHOTS = 1024
_SUPPORTED_OPTIONS = ("shots", "memory", "seed_simulator")

# Status words used by primitive jobs that do not return a JobStatus, such as
# qiskit-ibm-runtime's RuntimeJobV2 ("QUEUED", "DONE", ...).
_STATUS_WORDS: dict[str, JobStatus] = {
    **{status.name: status for status in JobStatus},
    "CANCELED": JobStatus.CANCELLED,
    "COMPLETED": JobStatus.DONE,
    "FAILED": JobStatus.ERROR,
}


def is_sampler(obj: object) -> bool:
    """Return whether ``obj`` is a Sampler primitive (a ``BaseSamplerV2``).

    Args:
        obj: Anything a user may pass as ``backend``.

    Returns:
        ``True`` if :class:`SamplerTarget` can wrap ``obj``.
    """
    return isinstance(obj, BaseSamplerV2)


def job_status_from(raw: object) -> JobStatus:
    """Turn the status a primitive job reports into a :class:`~qiskit.providers.JobStatus`.

    Args:
        raw: A ``JobStatus``, a status word such as ``"QUEUED"``, ``"RUNNING"``,
            ``"DONE"``, ``"ERROR"``, ``"CANCELLED"``, ``"INITIALIZING"`` or
            ``"VALIDATING"`` (in any case; ``"CANCELED"``, ``"COMPLETED"`` and
            ``"FAILED"`` are understood too), or another enum with such names.

    Returns:
        The matching ``JobStatus``.

    Raises:
        JobError: If ``raw`` is no status this function knows.
    """
    if isinstance(raw, JobStatus):
        return raw
    word = raw.name if isinstance(raw, Enum) else raw
    if isinstance(word, str):
        status = _STATUS_WORDS.get(word.strip().upper())
        if status is not None:
            return status
    raise JobError(f"unknown job status {raw!r}")


def _failure_text(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class PrimitiveJobV1(JobV1):
    """A primitive's job as a :class:`qiskit.providers.JobV1` with legacy results.

    The primitive's own job stays one attribute away (:attr:`primitive_job`),
    and so does its result (:meth:`primitive_result`).

    Threading:
        :meth:`result` converts the primitive result once, under a lock, and
        caches the converted result; any number of threads may call it. When
        the primitive job runs in a :class:`concurrent.futures.Future` (local
        primitives do), the future is reachable as ``_future``, so waiters
        (``managedjob._wait``) wait on it instead of polling, and
        :meth:`status` reads it before asking the primitive job.

    Args:
        primitive_job: The job returned by ``sampler.run``.
        circuits: The circuits as the user gave them, one per PUB, in order.
        shots: The shots each PUB ran with.
        memory: Whether results list each shot's outcome.
        backend_name: The name results report.
        backend: The backend the sampler runs on, if it has one.
        job_name: The name the job manager gave the job.
        job_tags: The tags the job manager gave the job.
        clock: How :meth:`result` waits out a "too many requests" answer.
    """

    def __init__(
        self,
        primitive_job: Any,
        circuits: Sequence[QuantumCircuit],
        *,
        shots: int,
        memory: bool,
        backend_name: str,
        backend: BackendV2 | None = None,
        job_name: str | None = None,
        job_tags: Sequence[str] = (),
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(backend, str(primitive_job.job_id()))
        #: Jobs of the same slice that a lost answer made twice, cancelled (their ids).
        self.cancelled_duplicates: list[str] = []
        self._primitive_job = primitive_job
        self._circuits = tuple(circuits)
        self._shots = shots
        self._memory = memory
        self._backend_name = backend_name
        self._job_name = job_name
        self._job_tags = list(job_tags)
        self._result: Result | None = None
        self._result_lock = threading.Lock()
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} job_id={self.job_id()!r} backend={self._backend_name!r} "
            f"circuits={len(self._circuits)}>"
        )

    @property
    def _future(self) -> Future[Any] | None:
        future = getattr(self._primitive_job, "_future", None)
        return future if isinstance(future, Future) else None

    @property
    def primitive_job(self) -> Any:
        """The job the primitive returned."""
        return self._primitive_job

    @property
    def circuits(self) -> tuple[QuantumCircuit, ...]:
        """The circuits of the job, as given."""
        return self._circuits

    def primitive_result(self) -> Any:
        """Return the primitive's own ``PrimitiveResult``, waiting for it if need be."""
        return self._primitive_job.result()

    def name(self) -> str | None:
        """Return the job's name, as the legacy ``IBMQJob.name()`` did."""
        return self._job_name

    def tags(self) -> list[str]:
        """Return the job's tags, as the legacy ``IBMQJob.tags()`` did."""
        return list(self._job_tags)

    def submit(self) -> None:
        """Do nothing useful: the sampler submitted the job already.

        Raises:
            JobError: Always.
        """
        raise JobError(f"job {self.job_id()} was submitted by its sampler already")

    def status(self) -> JobStatus:
        """Return the job's status as a :class:`~qiskit.providers.JobStatus`.

        Raises:
            JobError: If the primitive job reports a status that is not known.
        """
        return self._read_status()[0]

    def _read_status(self) -> tuple[JobStatus, bool]:
        """The status (one read of the primitive job's), and whether the service cancelled it."""
        future = self._future
        if future is not None and not future.done():
            return (JobStatus.RUNNING if future.running() else JobStatus.QUEUED), False
        status = job_status_from(self._primitive_job.status())
        if status is JobStatus.CANCELLED and self.service_reason() is not None:
            return JobStatus.ERROR, True  # ended by the service, not by its owner
        return status, False

    def service_reason(self) -> str | None:
        """Say why the service ended the job, when it did and said so; else ``None``.

        A runtime job cancelled because its batch or session reached its end
        ("Error code 4001; Job is part of a session that's been closed") has
        no error message in qiskit-ibm-runtime: the reason is only in the
        job's state, which the client keeps (``_reason``) once it has read
        the job's status. Such a job counts as failed (``status()`` is
        ``ERROR``), so that reports show the reason and ``max_resubmits`` and
        ``retry_failed()`` run it again. Only a reason with a service error
        code counts: a job its owner cancelled has none and stays
        ``CANCELLED``.
        """
        reason = getattr(self._primitive_job, "_reason", None)
        code = getattr(self._primitive_job, "_reason_code", None)
        if not isinstance(code, int) or isinstance(code, bool):
            return None
        return reason.strip() if isinstance(reason, str) and reason.strip() else None

    def cancel(self) -> bool | None:
        """Ask the primitive job to cancel.

        Returns:
            What the primitive job's ``cancel`` returned; for local primitives,
            whether the job was cancelled (a running local job cannot be).
        """
        outcome = self._primitive_job.cancel()
        return None if outcome is None else bool(outcome)

    def error_message(self) -> str | None:
        """Say why the job failed, or ``None`` if it has not failed."""
        status, by_service = self._read_status()
        if status is not JobStatus.ERROR:
            return None
        if by_service:
            return f"Cancelled by the service: {self.service_reason()}"
        own = getattr(self._primitive_job, "error_message", None)
        if callable(own):
            try:
                message = own()
            except Exception:  # the job cannot say; fall back to its exception
                message = None
            if isinstance(message, str) and message:
                return message
        error = self._failure()
        if error is None:
            return f"job {self.job_id()} failed without an error message"
        return _failure_text(error)

    def _failure(self) -> BaseException | None:
        future = self._future
        if future is not None and future.done() and not future.cancelled():
            return future.exception()
        try:
            self._primitive_job.result()
        except Exception as err:
            return err
        return None

    def wait_for_final_state(
        self, timeout: float | None = None, wait: float = 5, callback: Any = None
    ) -> None:
        """Wait until the job is done, failed or cancelled.

        Waits on the job's future when it has one, else polls adaptively.
        With a ``callback``, polls every ``wait`` seconds like
        :meth:`qiskit.providers.JobV1.wait_for_final_state`.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.
            wait: Seconds between polls, used only with ``callback``.
            callback: Called as ``callback(job_id, status, job)`` after each poll.

        Raises:
            JobTimeoutError: If the job is not finished within ``timeout``.
        """
        if callback is not None:
            super().wait_for_final_state(timeout=timeout, wait=wait, callback=callback)
            return
        if not wait_for_final_state(self, timeout):
            raise JobTimeoutError(f"job {self.job_id()} did not finish within {timeout} s")

    def _native_result(self) -> Any:
        """Return the primitive job's result, waiting out "too many requests" (HTTP 429).

        A service that rate-limits result downloads answers 429 with a
        ``Retry-After``; the runtime client retries a few times by itself,
        then raises. The wait is the service's (else 1, 2, 4 ... seconds, at
        most 60), up to :data:`MAX_RATE_LIMITED_READS` refusals in a row; a
        refusal is not a failure of the job.
        """
        refusals = 0
        while True:
            try:
                return self._primitive_job.result()
            except Exception as err:
                refusals += 1
                if not too_many_requests(err) or refusals > MAX_RATE_LIMITED_READS:
                    raise
                wait = retry_after(err)
                self._clock.sleep(min(60.0, 2.0 ** (refusals - 1)) if wait is None else wait)

    def result(self, timeout: float | None = None) -> Result:
        """Return the job's result as a legacy :class:`~qiskit.result.Result`.

        Waits for the job if it is not finished. The conversion runs once; later
        calls return the same object.

        Args:
            timeout: Seconds to wait at most; ``None`` waits as long as it takes.

        Raises:
            JobTimeoutError: If the job is not finished within ``timeout``.
            JobError: If the job failed or was cancelled; the primitive job's
                error is the ``__cause__``.
        """
        cached = self._result
        if cached is not None:
            return cached
        if timeout is not None:
            self.wait_for_final_state(timeout)
        with self._result_lock:
            if self._result is None:
                try:
                    native = self._native_result()
                except Exception as err:
                    raise JobError(
                        f"job {self.job_id()} on {self._backend_name!r} "
                        f"({len(self._circuits)} circuits) did not complete: "
                        f"{_failure_text(err)}"
                    ) from err
                self._result = primitive_result_to_result(
                    native,
                    self._circuits,
                    shots=self._shots,
                    memory=self._memory,
                    backend_name=self._backend_name,
                    job_id=self.job_id(),
                )
            return self._result


def _name_of(obj: object, depth: int = 0) -> str | None:
    """Return the backend name behind a backend, session, batch or ``backend()`` method."""
    if isinstance(obj, str):
        return obj or None
    if obj is None or depth > 2:
        return None
    if inspect.ismethod(obj):  # qiskit-ibm-runtime primitives: sampler.backend()
        return _name_of(obj(), depth + 1)
    name = getattr(obj, "name", None)
    if callable(name):  # BackendV1 style
        name = name()
    if isinstance(name, str) and name:
        return name
    return _name_of(getattr(obj, "backend", None), depth + 1)


def _backend_of(sampler: object) -> BackendV2 | None:
    for attribute in ("backend", "mode"):
        try:
            found = getattr(sampler, attribute, None)
            if inspect.ismethod(found):
                found = found()
        except Exception:  # a primitive that cannot tell
            continue
        if isinstance(found, BackendV2):
            return found
    return None


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _sampler_name(sampler: object) -> str:
    for attribute in ("mode", "backend"):
        try:
            found = _name_of(getattr(sampler, attribute, None))
        except Exception:  # a primitive that cannot tell
            found = None
        if found:
            return found
    return _snake_case(type(sampler).__name__)


def _as_int(value: object) -> int | None:
    """Return ``value`` as an ``int`` if it is an integer (NumPy's too), not a bool."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    return None


def _positive_int(value: object) -> bool:
    number = _as_int(value)
    return number is not None and number > 0


def _has_measure(circuit: QuantumCircuit) -> bool:
    if "measure" in circuit.count_ops():
        return True
    for instruction in circuit.data:
        for block in getattr(instruction.operation, "blocks", ()):
            if _has_measure(block):
                return True
    return False


class SamplerTarget(TargetBase):
    """Runs circuits with ``sampler.run(pubs, shots=...)`` on any Sampler primitive.

    Args:
        sampler: The primitive; any :class:`~qiskit.primitives.BaseSamplerV2`.
        max_experiments: Most circuits per job (default: no limit).
        max_executions: Most circuits times shots per job (default: no limit).
        max_payload_bytes: Most bytes of serialized circuits per job (default:
            no limit).

    Raises:
        InvalidInputError: If ``sampler`` is not a Sampler primitive, or a limit
            is not a positive integer.
    """

    def __init__(
        self,
        sampler: BaseSamplerV2,
        *,
        max_experiments: int | None = None,
        max_executions: int | None = None,
        max_payload_bytes: int | None = None,
    ) -> None:
        if not is_sampler(sampler):
            raise InvalidInputError(
                f"{sampler!r} is not a Sampler primitive (qiskit.primitives.BaseSamplerV2)"
            )
        for label, limit in (
            ("max_experiments", max_experiments),
            ("max_executions", max_executions),
            ("max_payload_bytes", max_payload_bytes),
        ):
            if limit is not None and not _positive_int(limit):
                raise InvalidInputError(f"{label} must be a positive integer, not {limit!r}")
        self._sampler = sampler
        self._limits = TargetLimits(
            max_experiments=max_experiments,
            max_executions=max_executions,
            max_payload_bytes=max_payload_bytes,
        )
        self._name = _sampler_name(sampler)
        self._backend = _backend_of(sampler)
        # Held while a runtime sampler's options carry a seed for one run() call.
        self._options_lock = threading.Lock()

    @property
    def name(self) -> str:
        """The backend's name, or the sampler's class in snake case (``statevector_sampler``)."""
        return self._name

    @property
    def wrapped(self) -> object:
        """The sampler."""
        return self._sampler

    @property
    def supports_job_names(self) -> bool:
        """``False``: primitives take no job names."""
        return False

    @property
    def supports_job_tags(self) -> bool:
        """``False``: this adapter passes no tags (the IBM runtime target does)."""
        return False

    def limits(self) -> TargetLimits:
        """Return the limits given to the constructor."""
        return self._limits

    def _runtime_simulator_options(self) -> Any:
        simulator = getattr(getattr(self._sampler, "options", None), "simulator", None)
        return simulator if hasattr(simulator, "seed_simulator") else None

    def _honours_seed(self) -> bool:
        return isinstance(self._sampler, (StatevectorSampler, BackendSamplerV2)) or (
            self._runtime_simulator_options() is not None
        )

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        """Reject run options this sampler cannot honour, and bad values.

        Raises:
            UnsupportedRunOptionError: Naming the first option that is not
                ``shots``, ``memory`` or ``seed_simulator``, or
                ``seed_simulator`` for a primitive without a seed.
            InvalidInputError: If ``shots`` is not a positive integer,
                ``memory`` not a bool, or ``seed_simulator`` not an integer.
        """
        for key in run_config:
            if key not in _SUPPORTED_OPTIONS:
                raise UnsupportedRunOptionError(
                    f"run option {key!r} is not supported by sampler {self.name!r}; "
                    f"it accepts: {', '.join(_SUPPORTED_OPTIONS)}",
                    option=key,
                )
        shots = run_config.get("shots")
        if shots is not None and not _positive_int(shots):
            raise InvalidInputError(
                f"run option 'shots' must be a positive integer, not {shots!r}"
            )
        memory = run_config.get("memory")
        if memory is not None and not isinstance(memory, (bool, np.bool_)):
            raise InvalidInputError(f"run option 'memory' must be True or False, not {memory!r}")
        seed = run_config.get("seed_simulator")
        if seed is None:
            return
        if _as_int(seed) is None:
            raise InvalidInputError(
                f"run option 'seed_simulator' must be an integer, not {seed!r}"
            )
        if not self._honours_seed():
            raise UnsupportedRunOptionError(
                f"run option 'seed_simulator' is not supported by sampler {self.name!r} "
                f"({type(self._sampler).__name__} has no seed option)",
                option="seed_simulator",
            )

    def check_circuits(self, circuits: Sequence[QuantumCircuit]) -> None:
        """Reject circuits a Sampler cannot run as one experiment each.

        Raises:
            InvalidInputError: Naming the index of the first circuit that is not
                a ``QuantumCircuit``, has unbound parameters, or measures nothing.
        """
        for index, circuit in enumerate(circuits):
            if not isinstance(circuit, QuantumCircuit):
                raise InvalidInputError(
                    f"circuit {index} is a {type(circuit).__name__}, not a QuantumCircuit"
                )
            if circuit.num_parameters:
                names = ", ".join(sorted(p.name for p in circuit.parameters))
                raise InvalidInputError(
                    f"circuit {index} ({circuit.name!r}) has unbound parameters ({names}); "
                    f"bind them first: sampler targets take no parameter_binds"
                )
            if not _has_measure(circuit):
                raise InvalidInputError(
                    f"circuit {index} ({circuit.name!r}) measures nothing; a Sampler "
                    f"returns only measured bits (add measurements, e.g. measure_all())"
                )

    def _shots(self, run_config: Mapping[str, Any]) -> int:
        shots = _as_int(run_config.get("shots"))
        if shots is not None:
            return shots
        candidates = (
            getattr(self._sampler, "default_shots", None),
            getattr(getattr(self._sampler, "options", None), "default_shots", None),
        )
        for candidate in candidates:
            number = _as_int(candidate)
            if number is not None and number > 0:
                return number
        return _DEFAULT_SHOTS

    def _run(self, pubs: list[QuantumCircuit], shots: int, seed: int | None) -> Any:
        sampler = self._sampler
        if seed is None:
            return sampler.run(pubs, shots=shots)
        if isinstance(sampler, StatevectorSampler):
            seeded = StatevectorSampler(default_shots=sampler.default_shots, seed=seed)
            return seeded.run(pubs, shots=shots)
        if isinstance(sampler, BackendSamplerV2):
            options = {**dataclasses.asdict(sampler.options), "seed_simulator": seed}
            return BackendSamplerV2(backend=sampler.backend, options=options).run(
                pubs, shots=shots
            )
        simulator = self._runtime_simulator_options()
        # Runtime primitives read their options inside run(), so the seed only
        # needs to be in place for the call.
        with self._options_lock:
            previous = simulator.seed_simulator
            simulator.seed_simulator = seed
            try:
                return sampler.run(pubs, shots=shots)
            finally:
                simulator.seed_simulator = previous

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> PrimitiveJobV1:
        """Run the circuits as one sampler job and wrap it; ``start_index`` is not used.

        Clbits outside every register get one-bit registers of their own on a
        copy of the circuit (see :func:`managedjob._convert.add_loose_clbit_registers`);
        the result is reported against the circuits as given.

        Raises:
            UnsupportedRunOptionError: See :meth:`check_run_config`.
            InvalidInputError: See :meth:`check_circuits`.
        """
        self.check_run_config(run_config)
        self.check_circuits(circuits)
        shots = self._shots(run_config)
        seed = _as_int(run_config.get("seed_simulator"))
        pubs = [add_loose_clbit_registers(circuit) for circuit in circuits]
        prepare_backend(self._backend)
        primitive_job = self._run(pubs, shots, seed)
        return PrimitiveJobV1(
            primitive_job,
            circuits,
            shots=shots,
            memory=bool(run_config.get("memory", False)),
            backend_name=self._name,
            backend=self._backend,
            job_name=job_name,
            job_tags=job_tags,
        )

    def oldest_pending_job(self) -> JobV1 | None:
        """Return ``None``: local primitives keep no list of jobs."""
        return None

    def retrieve_job(self, job_id: str) -> JobV1 | None:
        """Return ``None``: local primitives keep no history to retrieve from."""
        return None
