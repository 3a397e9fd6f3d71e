"""Small circuit builders shared by the tests."""

from __future__ import annotations

from qiskit import QuantumCircuit


def basis_circuit(index: int, width: int = 3, name: str | None = None) -> QuantumCircuit:
    """A deterministic circuit preparing the low bits of ``index``."""
    qc = QuantumCircuit(width, width, name=name or f"basis_{index}")
    for bit in range(width):
        if (index >> bit) & 1:
            qc.x(bit)
    qc.measure(range(width), range(width))
    return qc


def expected_key(index: int, width: int = 3) -> str:
    """The single outcome of ``basis_circuit(index, width)``."""
    return format(index % (1 << width), f"0{width}b")
