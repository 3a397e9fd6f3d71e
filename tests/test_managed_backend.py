"""ManagedBackend: job splitting behind the plain BackendV2 interface."""

from __future__ import annotations

import pytest
from qiskit import transpile
from qiskit.providers import BackendV2, JobStatus, JobV1
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobError
from qiskit.result import Result
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from helpers import basis_circuit, expected_key, in_order
from managedjob import InvalidInputError, JobManager, ManagedBackend, ManagedBackendJob
from managedjob.testing import FakeClock, ScriptedBackend


def test_run_splits_and_combines() -> None:
    backend = ManagedBackend(AerSimulator(), max_experiments_per_job=4)
    try:
        assert isinstance(backend, BackendV2)
        circuits = [basis_circuit(i) for i in range(10)]
        job = backend.run(circuits, shots=12)
        assert isinstance(job, (JobV1, ManagedBackendJob))
        result = job.result()
        assert isinstance(result, Result)
        assert [result.get_counts(i) for i in range(10)] == [
            {expected_key(i): 12} for i in range(10)
        ]
        assert len(job.job_set.managed_jobs()) == 3
        assert job.status() is JobStatus.DONE
        assert job.job_id() == job.job_set.job_set_id()
    finally:
        backend.close()


def test_target_and_options_show_through() -> None:
    device = FakeManilaV2()
    backend = ManagedBackend(device, manager=JobManager())
    try:
        assert backend.target is device.target
        assert backend.num_qubits == device.num_qubits
        assert backend.options is device.options
        assert backend.name == "managed_fake_manila"
        circuits = transpile([basis_circuit(i) for i in range(3)], backend, seed_transpiler=3)
        counts = backend.run(circuits, shots=200, seed_simulator=1).result().get_counts(2)
        assert max(counts, key=counts.get) == expected_key(2)
    finally:
        backend.manager.close()


def test_failed_job_is_a_job_error() -> None:
    clock = FakeClock()
    scripted = ScriptedBackend(clock=clock, failing_jobs={1})
    with in_order(clock=clock) as manager:
        backend = ManagedBackend(scripted, max_experiments_per_job=2, manager=manager)
        job = backend.run([basis_circuit(i) for i in range(4)])
        with (
            pytest.warns(UserWarning, match="experiments 2-3"),
            pytest.raises(JobError, match="2-3"),
        ):
            job.result()
        assert job.status() is JobStatus.ERROR


def test_status_while_running_and_cancel() -> None:
    clock = FakeClock()
    scripted = ScriptedBackend(clock=clock, run_time=10.0)
    backend = ManagedBackend(scripted, max_experiments_per_job=1, clock=clock)
    try:
        job = backend.run([basis_circuit(1), basis_circuit(2)])
        job.job_set.jobs()
        assert job.status() is JobStatus.QUEUED
        clock.advance(6)
        assert job.status() is JobStatus.RUNNING
        job.cancel()
        assert job.status() is JobStatus.CANCELLED
    finally:
        backend.close()


def test_manager_and_settings_are_exclusive() -> None:
    with JobManager() as manager, pytest.raises(InvalidInputError, match="max_parallel_submits"):
        ManagedBackend(BasicSimulator(), manager=manager, max_parallel_submits=2)
