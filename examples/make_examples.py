"""Write the example circuit files used by the README, the docs and the tests.

Run from the repository root::

    python examples/make_examples.py

It writes, with fixed seeds so the files are the same on every run:

* ``random_sweep.qpy``: 2,000 random 4-qubit circuits of four layers, each
  measured, in gates every Qiskit simulator runs as they are (``cx``, ``rz``,
  ``sx``, ``x``);
* ``parameter_sweep.qpy``: a Ry-angle sweep of 64 one-qubit circuits.

The files are written in QPY version 13, which every Qiskit 2.x reads.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from qiskit import QuantumCircuit, qpy

HERE = Path(__file__).resolve().parent
QPY_VERSION = 13
GATES = ("cx", "rz", "sx", "x")


def random_sweep(count: int = 2000, width: int = 4, layers: int = 4) -> list[QuantumCircuit]:
    rng = random.Random(2026)
    circuits = []
    for index in range(count):
        circuit = QuantumCircuit(width, width, name=f"random_{index:04d}")
        for _ in range(layers):
            qubits = list(range(width))
            rng.shuffle(qubits)
            while qubits:
                gate = rng.choice(GATES)
                if gate == "cx" and len(qubits) >= 2:
                    circuit.cx(qubits.pop(), qubits.pop())
                elif gate == "rz":
                    circuit.rz(round(rng.uniform(0, 2 * math.pi), 6), qubits.pop())
                elif gate == "sx":
                    circuit.sx(qubits.pop())
                else:
                    circuit.x(qubits.pop())
        circuit.measure(range(width), range(width))
        circuits.append(circuit)
    return circuits


def parameter_sweep(count: int = 64) -> list[QuantumCircuit]:
    circuits = []
    for index in range(count):
        theta = math.pi * index / (count - 1)
        circuit = QuantumCircuit(1, 1, name=f"ry_{index:02d}")
        circuit.ry(theta, 0)
        circuit.measure(0, 0)
        circuit.metadata = {"theta": theta}
        circuits.append(circuit)
    return circuits


def main() -> None:
    for name, circuits in (
        ("random_sweep.qpy", random_sweep()),
        ("parameter_sweep.qpy", parameter_sweep()),
    ):
        path = HERE / name
        with path.open("wb") as handle:
            qpy.dump(circuits, handle, version=QPY_VERSION)
        print(f"wrote {len(circuits)} circuits to {path.name}")


if __name__ == "__main__":
    main()
