"""What a job set runs: the kind of item in its slices and of its jobs' results.

The job set's parts ask the workload, never the items themselves: whether
an object is an item, what an item is called, and whether a result
succeeded. Circuits with :class:`qiskit.result.Result` results are the
workload of the legacy API (:data:`CIRCUITS`); another workload (Sampler or
Estimator PUBs with ``PrimitiveResult`` results) plugs in the same way.
"""

from __future__ import annotations

from typing import Protocol

from qiskit.circuit import QuantumCircuit
from qiskit.result import Result

from managedjob._managed_job import experiment_name

__all__ = ["CIRCUITS", "CircuitWorkload", "Workload"]


class Workload(Protocol):
    """The kind of item a job set's slices hold, and of their jobs' results."""

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

    #: Items are circuits.
    item_kind = "QuantumCircuit"

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
