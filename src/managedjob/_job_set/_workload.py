"""What a job set runs: the kind of item in its slices and of its jobs' results.

The job set's parts ask the workload, never the items themselves: whether
an object is an item, what an item is called, and whether a result
succeeded. Circuits with :class:`qiskit.result.Result` results are the
workload of the legacy API (:data:`CIRCUITS`); another workload (Sampler or
Estimator PUBs with ``PrimitiveResult`` results) plugs in the same way.
"""

from __future__ import annotations

from typing import Any, Protocol

from qiskit.circuit import QuantumCircuit
from qiskit.result import Result

from managedjob._managed_job import experiment_name
from managedjob.targets import Target, resolve_target

__all__ = ["CIRCUITS", "CircuitWorkload", "Workload", "register_workload", "workload_of"]


class Workload(Protocol):
    """The kind of item a job set's slices hold, and of their jobs' results."""

    @property
    def kind(self) -> str:
        """The workload's name in the journal (it chooses the journal's codec)."""
        ...

    def target_for(self, backend: Any) -> Target:
        """Return the target that runs this workload on ``backend``.

        Raises:
            InvalidInputError: If ``backend`` cannot run it.
        """
        ...

    @property
    def item_kind(self) -> str:
        """What an item is, for messages (``"QuantumCircuit"``)."""
        ...

    def is_item(self, item: object) -> bool:
        """Whether ``item`` can be one item of a slice."""
        ...

    def item_name(self, item: object) -> str | None:
        """Return the name an item is found by, if it has one."""
        ...

    def result_item_names(self, result: object, count: int) -> list[str | None] | None:
        """Return the names of the ``count`` items a job's result tells, if it does."""
        ...

    def succeeded(self, result: object) -> bool:
        """Whether a job's result holds the data of every item."""
        ...


class CircuitWorkload:
    """Circuits in, :class:`qiskit.result.Result` out: the legacy API's workload."""

    #: The journal's name of the workload.
    kind = "circuits"
    #: Items are circuits.
    item_kind = "QuantumCircuit"

    def target_for(self, backend: Any) -> Target:
        """Return the target of ``backend``, as :func:`~managedjob.targets.resolve_target` does."""
        return resolve_target(backend)

    def is_item(self, item: object) -> bool:
        """Whether ``item`` is a :class:`~qiskit.circuit.QuantumCircuit`."""
        return isinstance(item, QuantumCircuit)

    def item_name(self, item: object) -> str | None:
        """Return the circuit's name."""
        return item.name if isinstance(item, QuantumCircuit) else None

    def result_item_names(self, result: object, count: int) -> list[str | None] | None:
        """Return the names in the experiment headers, if the result has ``count`` of them."""
        if isinstance(result, Result) and len(result.results) == count:
            return [experiment_name(experiment) for experiment in result.results]
        return None

    def succeeded(self, result: object) -> bool:
        """Whether the result's ``success`` is true."""
        return bool(getattr(result, "success", False))


#: The workload of circuits; the default of every job set.
CIRCUITS = CircuitWorkload()

_WORKLOADS: dict[str, Workload] = {CIRCUITS.kind: CIRCUITS}


def register_workload(workload: Workload) -> None:
    """Make ``workload`` the one a set journaled with its kind is rebuilt with."""
    _WORKLOADS[workload.kind] = workload


def workload_of(kind: str) -> Workload:
    """Return the workload a set journaled with ``kind`` runs (circuits if unknown)."""
    return _WORKLOADS.get(kind, CIRCUITS)
