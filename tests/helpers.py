"""Small circuit builders shared by the tests."""

from __future__ import annotations

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister


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


def two_registers() -> QuantumCircuit:
    """X on q0 and q2, measured into registers of sizes 2 and 1."""
    qc = QuantumCircuit(
        QuantumRegister(3, "q"), ClassicalRegister(2, "a"), ClassicalRegister(1, "c")
    )
    qc.name = "two_registers"
    qc.x(0)
    qc.x(2)
    qc.measure([0, 1, 2], [0, 1, 2])
    return qc


def ghz() -> QuantumCircuit:
    """A 3-qubit GHZ state, measured."""
    qc = QuantumCircuit(3, 3, name="ghz")
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.measure(range(3), range(3))
    return qc
