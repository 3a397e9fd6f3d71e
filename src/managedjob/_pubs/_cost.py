"""What a PUB costs a job: executions and payload bytes, per leading-axis row.

A :class:`PubCost` is all the planner needs to know about a PUB, so the
planner is arithmetic on plain numbers. Executions follow IBM's count: a
Sampler PUB costs its broadcast size times its shots, an Estimator PUB its
broadcast size. Payload bytes are an upper-bound estimate of what the PUB
adds to a job's inputs: its circuit (as QPY, base64-encoded) and its arrays,
split into what every part of the PUB carries and what one leading-axis row
adds.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qiskit import qpy
from qiskit.circuit import QuantumCircuit
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub

from managedjob._pubs._coerce import check_shots, observable_terms
from managedjob.exceptions import InvalidInputError

__all__ = ["PubCost", "estimate_circuit_bytes", "has_leading_axis", "pub_costs"]

# Room for the keys and brackets around each serialized item.
_ITEM_OVERHEAD = 64
# A Pauli term as text: its label plus about this many characters of coefficient.
_TERM_OVERHEAD = 24


@dataclass(frozen=True)
class PubCost:
    """What one PUB costs, in the terms the planner counts.

    Attributes:
        shape: The PUB's broadcast shape.
        shots: Shots of every element of a Sampler PUB (its own, else the
            default); ``None`` for an Estimator PUB, or when unknown.
        sampler: Whether the PUB is a Sampler PUB (and may be split by shots).
        key: What all PUBs of one job must share: a Sampler PUB's shots, an
            Estimator PUB's precision, as set on the PUB (``None`` if unset).
        fixed_bytes: Payload bytes every part of the PUB carries (its
            circuit, and arrays not split along the leading axis).
        row_bytes: Payload bytes each leading-axis row adds.
    """

    shape: tuple[int, ...]
    shots: int | None = None
    sampler: bool = False
    key: float | None = None
    fixed_bytes: int = 0
    row_bytes: int = 0

    @property
    def size(self) -> int:
        """The number of elements of the broadcast shape."""
        return math.prod(self.shape)

    @property
    def rows(self) -> int | None:
        """The length of the leading axis; ``None`` for a 0-d PUB."""
        return self.shape[0] if self.shape else None

    @property
    def row_size(self) -> int:
        """Elements in one leading-axis row (all of them for a 0-d PUB)."""
        rows = self.rows
        return self.size // rows if rows else self.size

    def executions_per_element(self, index: int) -> int:
        """Executions of one element: its shots for a Sampler PUB, else 1.

        Args:
            index: The PUB's index, for the error message.

        Raises:
            InvalidInputError: If the PUB is a Sampler PUB whose shots are unknown.
        """
        if not self.sampler:
            return 1
        if self.shots is None:
            raise InvalidInputError(
                f"pub {index} sets no shots and no default is known, so its executions "
                f"cannot be counted; give shots"
            )
        return self.shots

    def payload_bytes(self, rows: int | None = None) -> int:
        """Payload bytes of a part of ``rows`` leading-axis rows (``None``: all)."""
        count = (self.rows or 0) if rows is None else rows
        return self.fixed_bytes + count * self.row_bytes


def estimate_circuit_bytes(circuit: QuantumCircuit) -> int:
    """Return an upper bound of the bytes ``circuit`` adds to a job's inputs.

    Remote primitives send circuits as QPY, compressed and base64 encoded;
    this is the base64 length of the uncompressed QPY, so compression only
    makes the real size smaller.

    Raises:
        InvalidInputError: If ``circuit`` cannot be serialized to QPY.
    """
    buffer = io.BytesIO()
    try:
        qpy.dump(circuit, buffer)
    except Exception as err:
        raise InvalidInputError(
            f"circuit {circuit.name!r} cannot be serialized to QPY: {err}"
        ) from err
    return _base64_bytes(buffer.tell()) + _ITEM_OVERHEAD


def _base64_bytes(size: int) -> int:
    return 4 * ((size + 2) // 3)


def has_leading_axis(shape: tuple[int, ...], pub_shape: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` is cut when its PUB is cut along the leading axis.

    An array of a PUB's parameter values or observables is broadcast to the
    PUB's shape; it has the leading axis unless it is broadcast along it.
    """
    return len(shape) == len(pub_shape) and bool(shape) and shape[0] == pub_shape[0]


def _array_bytes(pub: SamplerPub | EstimatorPub) -> tuple[int, int]:
    """Return the bytes of the PUB's arrays: (not split along rows, split)."""
    fixed = split = 0
    bindings = pub.parameter_values
    values = sum(_base64_bytes(array.nbytes) + _ITEM_OVERHEAD for array in bindings.data.values())
    if has_leading_axis(bindings.shape, pub.shape):
        split += values
    else:
        fixed += values
    if isinstance(pub, EstimatorPub):
        observables = pub.observables
        width = pub.circuit.num_qubits + _TERM_OVERHEAD
        terms = sum(len(item) for item in observable_terms(observables))
        text = terms * width + observables.size * _TERM_OVERHEAD
        if has_leading_axis(observables.shape, pub.shape):
            split += text
        else:
            fixed += text
    return fixed, split


def pub_costs(
    pubs: Sequence[SamplerPub | EstimatorPub],
    default_shots: int | None = None,
    circuit_bytes: Callable[[QuantumCircuit], int] | None = None,
) -> list[PubCost]:
    """Return the cost of each PUB, in order.

    Args:
        pubs: Coerced PUBs, all of one kind.
        default_shots: Shots of the Sampler PUBs that set none (the
            primitive's default); needed only to count executions.
        circuit_bytes: Estimates the payload bytes of a circuit (such as
            :func:`estimate_circuit_bytes`, or a target's own estimate); each
            distinct circuit object is measured once. ``None`` counts no
            payload bytes, which is cheapest when no payload budget applies.

    Returns:
        One :class:`PubCost` per PUB.

    Raises:
        InvalidInputError: If ``default_shots`` is not a positive integer, or a
            circuit cannot be measured.
    """
    default = check_shots(default_shots, "default_shots")
    measured: dict[int, int] = {}
    costs = []
    for pub in pubs:
        fixed = row_bytes = 0
        if circuit_bytes is not None:
            circuit = pub.circuit
            known = measured.get(id(circuit))
            if known is None:
                known = measured[id(circuit)] = circuit_bytes(circuit)
            fixed, split = _array_bytes(pub)
            fixed += known
            rows = pub.shape[0] if pub.shape else 0
            row_bytes = -(-split // rows) if rows else 0
            if not rows:
                fixed += split
        if isinstance(pub, SamplerPub):
            shots = pub.shots if pub.shots is not None else default
            cost = PubCost(pub.shape, shots, True, pub.shots, fixed, row_bytes)
        else:
            cost = PubCost(pub.shape, None, False, pub.precision, fixed, row_bytes)
        costs.append(cost)
    return costs
