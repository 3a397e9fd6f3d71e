"""Which runtime client an object belongs to, and how that client builds jobs.

:class:`IBMRuntimeTarget` does not know the classes it drives. It asks the
registered :class:`RuntimeClient` objects, the latest registered first,
whose backend, batch or session an object is, and builds its samplers and
batches through that client. :class:`QiskitRuntimeClient`, for
``qiskit-ibm-runtime`` itself, is registered when ``managedjob.targets`` is
imported; stand-ins for it (the fakes of ``managedjob.testing``, or a
user's own) register theirs with :func:`register_runtime_client`.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Mapping
from typing import Any

from qiskit.primitives import BaseSamplerV2

__all__ = [
    "QiskitRuntimeClient",
    "RuntimeClient",
    "client_for",
    "is_ibm_runtime",
    "is_runtime_service",
    "register_runtime_client",
    "service_of",
]

_SAMPLER_DEPRECATION = "The SamplerV2 class is deprecated"
# Held while a runtime SamplerV2 is built with its deprecation warning silenced:
# warnings.catch_warnings changes process-wide state.
_SAMPLER_LOCK = threading.Lock()


class RuntimeClient:
    """One implementation of the IBM Quantum runtime client, as the adapter drives it.

    A subclass says which objects are its backends, batches, sessions and
    services, and builds the samplers and batches jobs are submitted
    through. Register an instance with :func:`register_runtime_client`; then
    :func:`is_ibm_runtime` accepts its objects, and ``JobManager.run`` runs
    on them through :class:`IBMRuntimeTarget`.
    """

    def is_mode(self, obj: object) -> bool:
        """Return whether ``obj`` is a backend, batch or session of this client."""
        return False

    def is_session(self, obj: object) -> bool:
        """Return whether ``obj`` is a batch or session of this client (jobs run in it)."""
        return False

    def is_service(self, obj: object) -> bool:
        """Return whether ``obj`` is a service of this client (it lists and finds jobs)."""
        return False

    def sampler(self, mode: Any, options: Mapping[str, Any]) -> BaseSamplerV2:
        """Return a new Sampler that submits jobs in ``mode``.

        Args:
            mode: A backend (job mode), batch or session of this client.
            options: Options as ``SamplerV2(options=...)`` takes them; the job
                tags are in ``options["environment"]["job_tags"]``.
        """
        raise NotImplementedError(f"{type(self).__name__} builds no samplers")

    def batch(self, backend: Any) -> Any:
        """Open a new batch on ``backend``; it is closed with its ``close()``."""
        raise NotImplementedError(f"{type(self).__name__} opens no batches")

    def runs_on_hardware(self, backend: Any) -> bool:
        """Return whether jobs on ``backend`` run on a quantum device (no simulator seed)."""
        return False


def _loaded(module: str, *names: str) -> tuple[type, ...]:
    """Return the named classes of ``module`` if it is imported already, else nothing."""
    found = sys.modules.get(module)
    if found is None:
        return ()
    classes = tuple(getattr(found, name, None) for name in names)
    return tuple(cls for cls in classes if isinstance(cls, type))


def _is_one_of(obj: object, classes: tuple[type, ...]) -> bool:
    return bool(classes) and isinstance(obj, classes)


class QiskitRuntimeClient(RuntimeClient):
    """``qiskit-ibm-runtime``: ``IBMBackend``, ``Batch``, ``Session``, ``QiskitRuntimeService``.

    The package is never imported here: an object can only be one of its
    classes when the user has imported it already. Samplers are its
    ``SamplerV2``, built with that class's deprecation warning (from
    qiskit-ibm-runtime 0.50) silenced, which changes the process-wide
    warning filters for that moment.
    """

    #: Job creations a minute that IBM Quantum documents for a user (``POST /v1/jobs``).
    max_jobs_per_minute = 5

    def is_mode(self, obj: object) -> bool:
        """Return whether ``obj`` is an ``IBMBackend`` or a ``Session`` (a ``Batch`` is one)."""
        return _is_one_of(obj, _loaded("qiskit_ibm_runtime", "IBMBackend", "Session"))

    def is_session(self, obj: object) -> bool:
        """Return whether ``obj`` is a ``Session`` or a ``Batch``."""
        return _is_one_of(obj, _loaded("qiskit_ibm_runtime", "Session"))

    def is_service(self, obj: object) -> bool:
        """Return whether ``obj`` is a ``QiskitRuntimeService``."""
        return _is_one_of(obj, _loaded("qiskit_ibm_runtime", "QiskitRuntimeService"))

    def sampler(self, mode: Any, options: Mapping[str, Any]) -> BaseSamplerV2:
        """Return a runtime ``SamplerV2(mode=mode, options=options)``."""
        runtime = sys.modules["qiskit_ibm_runtime"]
        with _SAMPLER_LOCK, warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_SAMPLER_DEPRECATION, category=DeprecationWarning
            )
            sampler: BaseSamplerV2 = runtime.SamplerV2(mode=mode, options=options)
        return sampler

    def batch(self, backend: Any) -> Any:
        """Return a new ``Batch(backend=backend)``."""
        return sys.modules["qiskit_ibm_runtime"].Batch(backend=backend)

    def runs_on_hardware(self, backend: Any) -> bool:
        """Return whether ``backend`` is an ``IBMBackend`` whose configuration is no simulator."""
        if not _is_one_of(backend, _loaded("qiskit_ibm_runtime", "IBMBackend")):
            return False
        try:
            return not bool(backend.configuration().simulator)
        except Exception:  # no configuration: assume a device
            return True

    def __repr__(self) -> str:
        return "<QiskitRuntimeClient>"


_clients: list[RuntimeClient] = []
_clients_lock = threading.Lock()


def register_runtime_client(client: RuntimeClient) -> None:
    """Let :class:`IBMRuntimeTarget` and :class:`IBMRuntimeJobFinder` drive ``client``'s objects.

    Clients registered later are asked first; registering one twice has no
    further effect.

    Args:
        client: The client.
    """
    with _clients_lock:
        if client not in _clients:
            _clients.insert(0, client)


def _registered() -> list[RuntimeClient]:
    with _clients_lock:
        return list(_clients)


def client_for(obj: object) -> RuntimeClient | None:
    """Return the client whose backend, batch or session ``obj`` is, if any."""
    return next((client for client in _registered() if client.is_mode(obj)), None)


def service_of(obj: object) -> Any:
    """Return ``obj.service``, or ``None`` if it has none or cannot tell."""
    try:
        return getattr(obj, "service", None)
    except Exception:  # a mode that cannot tell
        return None


def is_ibm_runtime(obj: object) -> bool:
    """Return whether :class:`IBMRuntimeTarget` can wrap ``obj``.

    Args:
        obj: Anything a user may pass as ``backend``.

    Returns:
        ``True`` for a backend, batch or session of a registered runtime
        client: a ``qiskit_ibm_runtime`` ``IBMBackend``, ``Batch`` or
        ``Session``, and, once :mod:`managedjob.testing` is imported, its
        ``FakeRuntimeBackend``, ``FakeRuntimeSession`` and ``FakeRuntimeBatch``.
    """
    return client_for(obj) is not None


def is_runtime_service(obj: object) -> bool:
    """Return whether :class:`IBMRuntimeJobFinder` can look job sets up on ``obj``.

    Args:
        obj: Anything a user may pass as ``provider`` to ``retrieve_job_set``.

    Returns:
        ``True`` for a service of a registered runtime client (a
        ``QiskitRuntimeService``, or a
        :class:`~managedjob.testing.FakeRuntimeService`), and for anything
        :func:`is_ibm_runtime` accepts whose ``service`` is one of those.
    """
    clients = _registered()
    if any(client.is_service(obj) for client in clients):
        return True
    if not any(client.is_mode(obj) for client in clients):
        return False
    service = service_of(obj)
    return any(client.is_service(service) for client in clients)
