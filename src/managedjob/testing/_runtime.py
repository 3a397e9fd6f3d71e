"""The fake IBM Quantum Runtime's backends, sessions and batches."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from qiskit.exceptions import QiskitError
from qiskit.providers import BackendV2, JobV1, Options
from qiskit.transpiler import Target

if TYPE_CHECKING:
    from managedjob.testing._runtime_service import FakeRuntimeService

__all__ = [
    "RUNTIME_FINAL",
    "FakeRuntimeBackend",
    "FakeRuntimeBatch",
    "FakeRuntimeSession",
    "runtime_exception",
    "session_backend",
]


RUNTIME_FINAL = frozenset({"DONE", "ERROR", "CANCELLED"})


def runtime_exception(name: str, default: type[Exception]) -> type[Exception]:
    """Return ``qiskit_ibm_runtime.exceptions.<name>`` if that package is installed."""
    try:
        module = importlib.import_module("qiskit_ibm_runtime.exceptions")
    except ImportError:
        return default
    found = getattr(module, name, None)
    return found if isinstance(found, type) and issubclass(found, Exception) else default


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


def session_backend(session: FakeRuntimeSession) -> FakeRuntimeBackend:
    """Return the backend (the object, where ``session.backend()`` names it) of a session."""
    return session._backend
