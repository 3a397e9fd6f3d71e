"""Target adapter for anything with a ``run()`` method: any Qiskit ``BackendV2``.

Qiskit Aer's simulators, ``BasicSimulator``, the fake backends of
``qiskit_ibm_runtime.fake_provider`` and third-party providers' backends all
run this way. Job names and tags are passed to ``run()`` only when its
signature names ``job_name`` / ``job_tags`` (legacy-style providers and
:class:`managedjob.testing.ScriptedBackend` do); other backends would warn
about, or reject, options they do not know.

Qiskit's ``BasicSimulator`` simulates inside ``run()`` and keeps the circuit
being simulated on the backend object itself, so two ``run()`` calls at once
on one instance corrupt each other (an ``IndexError`` deep in the simulator,
or wrong counts). Its runs are therefore made one at a time per instance,
whatever ``max_parallel_submits`` says; they gain nothing from running at
once anyway, since the simulation holds the interpreter lock. The fake
devices of qiskit-ibm-runtime build their noisy simulator on their first
``run()``; it is built once before the first submission
(:func:`managedjob.targets._devices.prepare_backend`), else concurrent first
jobs run without noise.
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobV1

from managedjob.exceptions import InvalidInputError, UnsupportedRunOptionError
from managedjob.targets._base import TargetBase, TargetLimits
from managedjob.targets._devices import prepare_backend

__all__ = ["BackendTarget"]

logger = logging.getLogger(__name__)

_NAME_PARAMS = frozenset({"job_name", "job_tags"})


# One lock per backend instance whose run() must not be entered twice at once.
_RUN_LOCKS: weakref.WeakKeyDictionary[object, threading.Lock] = weakref.WeakKeyDictionary()
_RUN_LOCKS_GUARD = threading.Lock()


def _runs_one_at_a_time(backend: object) -> bool:
    """Whether ``backend.run`` is known to be unsafe to call from two threads at once."""
    try:
        from qiskit.providers.basic_provider import BasicSimulator
    except ImportError:  # pragma: no cover - every supported Qiskit has it
        return False
    return isinstance(backend, BasicSimulator)


def _run_lock(backend: object) -> AbstractContextManager[Any]:
    """The lock that serialises ``backend.run``, or a no-op where it is safe."""
    if not _runs_one_at_a_time(backend):
        return nullcontext()
    with _RUN_LOCKS_GUARD:
        lock = _RUN_LOCKS.get(backend)
        if lock is None:
            lock = _RUN_LOCKS[backend] = threading.Lock()
    return lock


def _backend_name(backend: object) -> str:
    name = getattr(backend, "name", None)
    if callable(name):  # BackendV1 and older providers
        name = name()
    return name if isinstance(name, str) else type(backend).__name__


class BackendTarget(TargetBase):
    """Runs circuits with ``backend.run(circuits, **run_config)``.

    Args:
        backend: The backend; anything with a callable ``run``.
        max_experiments: A limit on circuits per job below the backend's own.

    Raises:
        InvalidInputError: If ``backend`` has no ``run`` method.
    """

    def __init__(self, backend: object, *, max_experiments: int | None = None) -> None:
        run = getattr(backend, "run", None)
        if not callable(run):
            raise InvalidInputError(
                f"backend {backend!r} cannot run circuits: it has no run() method"
            )
        self._backend = backend
        self._run = run
        self._run_lock = _run_lock(backend)
        self._max_experiments = max_experiments
        try:
            params = inspect.signature(run).parameters
        except (TypeError, ValueError):  # builtins and C extensions
            params = {}  # type: ignore[assignment]
        self._passes_name = "job_name" in params
        self._passes_tags = "job_tags" in params
        named = [
            p.name for p in params.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        # The first parameter takes the circuits; the rest are run options.
        self._run_params = frozenset(named[1:]) - _NAME_PARAMS

    @property
    def name(self) -> str:
        """The backend's name."""
        return _backend_name(self._backend)

    @property
    def wrapped(self) -> object:
        """The backend."""
        return self._backend

    def _num_qubits(self) -> int | None:
        """The backend's qubits, where it publishes them (``num_qubits`` or ``n_qubits``).

        ``None`` for a simulator (no coupling map) that picks its method per
        circuit (Qiskit Aer's ``method="automatic"``): its ``num_qubits`` is
        what a statevector fits in memory, and wider Clifford circuits still
        run. A device, or a fake one, has a coupling map and is checked.
        """
        backend = self._backend
        options = getattr(backend, "options", None)
        simulator = getattr(backend, "coupling_map", None) is None
        if simulator and getattr(options, "method", None) == "automatic":
            return None
        count = getattr(backend, "num_qubits", None)
        if count is None:
            configuration = getattr(backend, "configuration", None)
            try:
                count = (
                    getattr(configuration(), "n_qubits", None) if callable(configuration) else None
                )
            except Exception:
                count = None
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            return None
        return count

    def check_circuits(self, circuits: Sequence[QuantumCircuit]) -> None:
        """Reject circuits wider than the backend, where it says how many qubits it has.

        Raises:
            InvalidInputError: Naming the index of the first circuit too wide.
        """
        width = self._num_qubits()
        if width is None:
            return
        for index, circuit in enumerate(circuits):
            if isinstance(circuit, QuantumCircuit) and circuit.num_qubits > width:
                raise InvalidInputError(
                    f"circuit {index} ({circuit.name!r}) has {circuit.num_qubits} qubits, but "
                    f"backend {self.name!r} has {width}"
                )

    @property
    def supports_job_names(self) -> bool:
        """Whether ``run()`` takes a job name."""
        return self._passes_name

    @property
    def supports_job_tags(self) -> bool:
        """Whether ``run()`` takes job tags."""
        return self._passes_tags

    def _option_names(self) -> frozenset[str] | None:
        options = getattr(self._backend, "options", None)
        keys = getattr(options, "keys", None)
        if options is None or not callable(keys):
            return None
        return frozenset(str(key) for key in keys())

    def limits(self) -> TargetLimits:
        """Return the smallest of the backend's and the adapter's circuit limits."""
        candidates: list[int] = []
        max_circuits = getattr(self._backend, "max_circuits", None)
        if isinstance(max_circuits, int) and max_circuits > 0:
            candidates.append(max_circuits)
        configuration = getattr(self._backend, "configuration", None)
        if callable(configuration):
            try:
                max_experiments = getattr(configuration(), "max_experiments", None)
            except Exception:  # a backend whose configuration cannot be built
                max_experiments = None
            if isinstance(max_experiments, int) and max_experiments > 0:
                candidates.append(max_experiments)
        if self._max_experiments is not None:
            candidates.append(self._max_experiments)
        return TargetLimits(max_experiments=min(candidates) if candidates else None)

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        """Reject options that are neither backend options nor ``run()`` parameters.

        A backend that does not publish its options accepts everything.

        Raises:
            UnsupportedRunOptionError: Naming the first unknown option.
        """
        options = self._option_names()
        if options is None:
            return
        known = options | self._run_params
        for key in run_config:
            if key not in known:
                raise UnsupportedRunOptionError(
                    f"run option {key!r} is not supported by backend {self.name!r}; "
                    f"it accepts: {', '.join(sorted(known))}",
                    option=key,
                )

    def _run_kwargs(
        self, run_config: Mapping[str, Any], job_name: str, job_tags: Sequence[str]
    ) -> dict[str, Any]:
        """The keyword arguments of ``run()``: the options, the name and tags it takes."""
        kwargs = dict(run_config)
        if self._passes_name:
            kwargs["job_name"] = job_name
        if self._passes_tags:
            kwargs["job_tags"] = list(job_tags)
        return kwargs

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> JobV1:
        """Call ``backend.run`` with the circuits and run options; ``start_index`` is not used."""
        kwargs = self._run_kwargs(run_config, job_name, job_tags)
        prepare_backend(self._backend)
        with self._run_lock:
            return self._run(list(circuits), **kwargs)

    def oldest_pending_job(self) -> JobV1 | None:
        """Ask the backend for its oldest unfinished job, if it lists jobs."""
        jobs = getattr(self._backend, "jobs", None)
        if not callable(jobs):
            return None
        try:
            found = jobs(pending=True, descending=False, limit=1)
        except TypeError:  # a jobs() that does not take these filters
            return None
        found = list(found)
        return found[0] if found else None

    def retrieve_job(self, job_id: str) -> JobV1 | None:
        """Look a job up with the backend's ``retrieve_job``, if it has one."""
        retrieve = getattr(self._backend, "retrieve_job", None)
        if not callable(retrieve):
            return None
        try:
            return retrieve(job_id)
        except Exception as err:  # the backend does not know the job (any more)
            logger.debug("Backend %s cannot retrieve job %s: %s", self.name, job_id, err)
            return None
