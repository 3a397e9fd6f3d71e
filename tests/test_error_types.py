"""Errors of the right type: results without counts, damaged journals, bad timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from qiskit import QuantumCircuit
from qiskit.exceptions import QiskitError
from qiskit_aer import AerSimulator

from helpers import basis_circuit, expected_key
from managedjob import IBMQManagedResultDataNotAvailable, JobManager


def test_an_experiment_without_counts_is_result_data_not_available(tmp_path: Path) -> None:
    unmeasured = QuantumCircuit(2, name="unmeasured")
    unmeasured.h(0)
    with JobManager(journal=tmp_path / "journal.sqlite3") as manager:
        job_set = manager.run([basis_circuit(1), unmeasured], AerSimulator(), shots=5)
        results = job_set.results()
        assert results.get_counts(0) == {expected_key(1): 5}
        with pytest.raises(
            IBMQManagedResultDataNotAvailable, match="Experiment 1 has no counts"
        ) as caught:
            results.get_counts(1)
        assert isinstance(caught.value, QiskitError)  # legacy handlers still catch it
        assert isinstance(caught.value.__cause__, QiskitError)
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="'unmeasured' has no counts"):
            results.get_counts("unmeasured")
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="Experiment 1 has no counts"):
            results.get_counts()
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="has no memory"):
            results.get_memory(0)  # memory was not asked for
