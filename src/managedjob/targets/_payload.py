"""How many bytes one circuit adds to a job's serialized inputs."""

from __future__ import annotations

from qiskit.circuit import QuantumCircuit

from managedjob._pubs import estimate_circuit_bytes

__all__ = ["estimate_payload_bytes"]


def estimate_payload_bytes(circuit: QuantumCircuit) -> int:
    """Return an upper bound of the bytes ``circuit`` adds to a runtime job's inputs.

    The runtime client sends each circuit as QPY, compressed and base64
    encoded; this counts the base64 length of the uncompressed QPY, plus a
    little for the PUB around it, so compression only ever makes the real
    size smaller (the estimate PUB workloads use too).

    Args:
        circuit: A circuit as it will be submitted.

    Returns:
        The estimate, in bytes.

    Raises:
        InvalidInputError: If ``circuit`` cannot be serialized to QPY.
    """
    return estimate_circuit_bytes(circuit)
