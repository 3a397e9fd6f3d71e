"""A slice's circuits as compressed QPY, each repeated circuit body stored once.

Sweeps often run one circuit many times (for more shots, or as a reference
between the others), under different names: a slice whose circuits repeat
a body stores that body once, and the repeats as a reference to it with
their own name and metadata. Two circuits share a body when QPY would write
the same thing for both but their name and metadata: the same instructions
(compared by Qiskit's Rust circuit data), bits, registers and global phase,
no layout (unless the very same one) and no classical variables or
stretches. A circuit is compared with the latest few bodies of its width
and length only, and a slice stops looking after a few misses in a row
without a repeat (a slice of all-different circuits pays almost nothing
for it).

The format: a slice without repeats is zlib-compressed QPY (as journals of
schema 3 and before store every slice); a slice with repeats is
:data:`MAGIC` followed by zlib-compressed (four bytes of length, a JSON
list with one entry per circuit: the index of a body in the QPY that
follows, stored whole, or ``[body, name, metadata]`` for a repeat; then the
QPY of the distinct bodies).
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Sequence
from typing import Any

from qiskit import qpy
from qiskit.circuit import QuantumCircuit

__all__ = ["MAGIC", "decode_circuits", "encode_circuits"]

#: The first bytes of a slice that stores repeated bodies once (never those of zlib).
MAGIC = b"MJQ1"
#: Misses in a row (circuits unlike the first and the latest body) before a
#: slice stops looking for repeats, unless it found one already.
_MISSES = 8
#: How many bodies of one width and length a circuit is compared with, the latest first.
_SHELF = 4
_ZLIB_LEVEL = 1
_LENGTH = 4


def _identifiers(circuit: QuantumCircuit) -> int:
    """How many classical variables and stretches ``circuit`` has (cheaper than its property)."""
    data = circuit._data
    count: int = (
        data.num_input_vars
        + data.num_captured_vars
        + data.num_declared_vars
        + data.num_captured_stretches
        + data.num_declared_stretches
    )
    return count


def _bits(circuit: QuantumCircuit) -> tuple[list[Any], list[Any]]:
    """The circuit's qubits and clbits, read from a copy.

    ``circuit.qubits`` makes a list that the circuit then keeps for good:
    two lists on every circuit of a large set are hundreds of thousands of
    objects that Python's garbage collector walks again and again. An empty
    copy of the circuit's data makes them, and they go with it.
    """
    empty = circuit._data.copy_empty_like()
    return empty.qubits, empty.clbits


class _Body:
    """A stored body and what a repeat of it must have the same (read once)."""

    __slots__ = ("circuit", "clbits", "cregs", "layout", "phase", "qregs", "qubits")

    def __init__(self, circuit: QuantumCircuit) -> None:
        self.circuit = circuit
        self.layout = circuit._layout
        self.phase = circuit.global_phase
        self.qregs = circuit.qregs
        self.cregs = circuit.cregs
        self.qubits, self.clbits = _bits(circuit)

    def repeated_by(self, circuit: QuantumCircuit) -> bool:
        """Whether QPY writes the same for ``circuit`` as for this body, but name and metadata.

        Only circuits of the same width and length (a shelf) are compared,
        and a body has no variables or stretches.
        """
        return (
            circuit._layout is self.layout
            and _identifiers(circuit) == 0
            and circuit.global_phase == self.phase
            and circuit.qregs == self.qregs
            and circuit.cregs == self.cregs
            and circuit._data == self.circuit._data
            and _bits(circuit) == (self.qubits, self.clbits)
        )


def _qpy(circuits: Sequence[QuantumCircuit]) -> bytes:
    buffer = io.BytesIO()
    qpy.dump(list(circuits), buffer)
    return buffer.getvalue()


def encode_circuits(circuits: Sequence[QuantumCircuit]) -> bytes:
    """Return ``circuits`` as compressed QPY, repeated bodies once (see the module)."""
    circuits = list(circuits)
    bodies: list[QuantumCircuit] = []
    entries: list[Any] = []
    # Bodies by what is cheap to read (width and length), the latest few each.
    shelves: dict[tuple[int, int, int], list[tuple[int, _Body]]] = {}
    misses = repeats = 0
    for circuit in circuits:
        key = (circuit.num_qubits, circuit.num_clbits, len(circuit._data))
        shelf = shelves.setdefault(key, [])
        found = None
        if shelf and (repeats or misses < _MISSES):
            found = next((i for i, body in reversed(shelf) if body.repeated_by(circuit)), None)
            misses = 0 if found is not None else misses + 1
        if found is None:
            entries.append(len(bodies))
            if not _identifiers(circuit):  # QPY writes variables: never a shared body
                shelf.append((len(bodies), _Body(circuit)))
                del shelf[:-_SHELF]
            bodies.append(circuit)
        else:
            repeats += 1
            entries.append([found, circuit.name, circuit.metadata])
    if repeats:
        try:
            header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
        except (TypeError, ValueError):  # metadata without a JSON form: QPY says why
            header = b""
        if header:
            payload = len(header).to_bytes(_LENGTH, "big") + header + _qpy(bodies)
            return MAGIC + zlib.compress(payload, _ZLIB_LEVEL)
    return zlib.compress(_qpy(circuits), _ZLIB_LEVEL)


def decode_circuits(blob: bytes) -> list[QuantumCircuit]:
    """Rebuild circuits written by :func:`encode_circuits` (either form)."""
    if not blob.startswith(MAGIC):
        return list(qpy.load(io.BytesIO(zlib.decompress(blob))))
    payload = zlib.decompress(blob[len(MAGIC) :])
    size = int.from_bytes(payload[:_LENGTH], "big")
    entries = json.loads(payload[_LENGTH : _LENGTH + size].decode("utf-8"))
    bodies = list(qpy.load(io.BytesIO(payload[_LENGTH + size :])))
    circuits = []
    for entry in entries:
        if isinstance(entry, int):
            circuits.append(bodies[entry])
            continue
        body, name, metadata = entry
        copy = bodies[body].copy(name=name)
        copy.metadata = metadata
        circuits.append(copy)
    return circuits
