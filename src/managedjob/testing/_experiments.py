"""Experiment results made without a simulator run: failed ones, and fixed all-zeros ones."""

from __future__ import annotations

from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.result.models import ExperimentResult, ExperimentResultData

__all__ = ["failed_experiment", "fixed_experiment"]


def _experiment_header(circuit: QuantumCircuit) -> dict[str, Any]:
    """Return the result header Qiskit's simulators give ``circuit``."""
    # Register attributes are slow to read; read each once.
    qregs = [(qreg.name, qreg.size) for qreg in circuit.qregs]
    cregs = [(creg.name, creg.size) for creg in circuit.cregs]
    return {
        "name": circuit.name,
        "n_qubits": circuit.num_qubits,
        "qreg_sizes": [[name, size] for name, size in qregs],
        "creg_sizes": [[name, size] for name, size in cregs],
        "qubit_labels": [[name, j] for name, size in qregs for j in range(size)],
        "clbit_labels": [[name, j] for name, size in cregs for j in range(size)],
        "memory_slots": circuit.num_clbits,
        "global_phase": circuit.global_phase,
        "metadata": circuit.metadata if circuit.metadata is not None else {},
    }


def failed_experiment(circuit: QuantumCircuit, shots: int, message: str) -> ExperimentResult:
    return ExperimentResult(
        shots=shots,
        success=False,
        data=ExperimentResultData(),
        status=message,
        header=_experiment_header(circuit),
    )


def fixed_experiment(circuit: QuantumCircuit, shots: int, memory: bool) -> ExperimentResult:
    """Return a result of the right shape without simulating: every shot reads 0."""
    data = ExperimentResultData(counts={"0x0": shots}, memory=["0x0"] * shots if memory else None)
    return ExperimentResult(
        shots=shots,
        success=True,
        data=data,
        status="DONE",
        header=_experiment_header(circuit),
    )
