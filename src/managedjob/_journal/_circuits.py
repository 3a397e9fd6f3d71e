"""A slice's circuits as compressed QPY, each circuit repeated in it stored once.

Sweeps often run one circuit many times (for more shots, or as a reference
between the others): a slice in which the very same circuit object comes
back stores it once, and each repeat as a reference to it with its name and
metadata. Only the same object counts: circuits that are equal but separate
objects are written whole, because telling whether QPY would write the same
for both costs more than writing them (Qiskit's circuit equality ignores
labels and compares some operations within a tolerance; checking what it
leaves out took about 3 us an instruction, against about 9 us a circuit
and 1.4 us an instruction for QPY).

The format: a slice without repeats is zlib-compressed QPY (as journals of
schema 3 and before store every slice); a slice with repeats is
:data:`MAGIC` followed by zlib-compressed (four bytes of length, a JSON
list with one entry per circuit: the index of a body in the QPY that
follows, stored whole, or ``[body, name, metadata]`` for a repeat; then the
QPY of the distinct bodies). Slices written by versions that also shared
the bodies of equal circuits are read the same way.
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
_ZLIB_LEVEL = 1
_LENGTH = 4


def _qpy(circuits: Sequence[QuantumCircuit]) -> bytes:
    buffer = io.BytesIO()
    qpy.dump(list(circuits), buffer)
    return buffer.getvalue()


def encode_circuits(circuits: Sequence[QuantumCircuit]) -> bytes:
    """Return ``circuits`` as compressed QPY, repeated bodies once (see the module)."""
    circuits = list(circuits)
    bodies: list[QuantumCircuit] = []
    entries: list[Any] = []
    seen: dict[int, int] = {}  # id of a circuit stored whole: its body index
    repeats = 0
    for circuit in circuits:
        found = seen.get(id(circuit))
        if found is None:
            seen[id(circuit)] = len(bodies)
            entries.append(len(bodies))
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
