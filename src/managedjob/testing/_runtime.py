"""The fake IBM Quantum Runtime's backends, sessions, batches and Sampler."""

from __future__ import annotations

import copy
import importlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from qiskit.exceptions import QiskitError
from qiskit.primitives import BaseSamplerV2
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.providers import BackendV2, JobV1, Options
from qiskit.transpiler import Target

if TYPE_CHECKING:
    from managedjob.testing._runtime_job import FakeRuntimeJob
    from managedjob.testing._runtime_service import FakeRuntimeService

__all__ = [
    "RUNTIME_FINAL",
    "FakeRuntimeBackend",
    "FakeRuntimeBatch",
    "FakeRuntimeSampler",
    "FakeRuntimeSession",
    "runtime_exception",
]


RUNTIME_FINAL = frozenset({"DONE", "ERROR", "CANCELLED"})
_RUNTIME_DEFAULT_SHOTS = 4096


def runtime_exception(name: str, default: type[Exception]) -> type[Exception]:
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
        error = runtime_exception("IBMBackendError", QiskitError)
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
            raise runtime_exception("IBMRuntimeError", QiskitError)("The session is closed.")
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
