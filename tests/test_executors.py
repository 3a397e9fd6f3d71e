"""Any concurrent.futures.Executor runs the submissions: threads, processes, Dask."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus
from qiskit_aer import AerSimulator

from helpers import basis_circuit, expected_key
from managedjob import JobManager
from managedjob._managed_job import CompletedJob


def coins(count: int) -> list[QuantumCircuit]:
    out = []
    for index in range(count):
        qc = QuantumCircuit(2, 2, name=f"coin_{index}")
        qc.h(0)
        qc.cx(0, 1)
        qc.rx(0.1 * index, 1)
        qc.measure([0, 1], [0, 1])
        out.append(qc)
    return out


def local_counts(circuits: list[QuantumCircuit]) -> list[dict[str, int]]:
    with JobManager(journal=False) as jm:
        results = jm.run(
            circuits, AerSimulator(), max_experiments_per_job=3, shots=200, seed_simulator=42
        ).results()
        return [results.get_counts(i) for i in range(len(circuits))]


def test_process_pool_executor_hands_jobs_back() -> None:
    circuits = coins(7)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        jm = JobManager(executor=pool, journal=False)
        job_set = jm.run(
            circuits, AerSimulator(), max_experiments_per_job=3, shots=200, seed_simulator=42
        )
        results = job_set.results()
        assert all(isinstance(job, CompletedJob) for job in job_set.jobs())
        assert job_set.statuses() == [JobStatus.DONE] * 3
        counts = [results.get_counts(i) for i in range(7)]
        jm.close()
    assert counts == local_counts(circuits)


def test_process_pool_submit_failure_comes_back() -> None:
    too_wide = QuantumCircuit(40, 40, name="wide")
    too_wide.measure(range(40), range(40))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        jm = JobManager(executor=pool, journal=False)
        from qiskit.providers.basic_provider import BasicSimulator

        job_set = jm.run(
            [basis_circuit(1), too_wide], BasicSimulator(), max_experiments_per_job=1, shots=3
        )
        with pytest.warns(UserWarning, match="experiments 1-1: Number of qubits 40"):
            results = job_set.results()
        assert results.get_counts(0) == {expected_key(1): 3}
        assert job_set.managed_jobs()[1].submit_error is not None
        assert job_set.statuses()[1] is None
        jm.close()


def test_dask_local_cluster_gives_the_local_counts() -> None:
    distributed = pytest.importorskip("distributed")
    circuits = coins(8)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        jm = JobManager(executor=client.get_executor(), journal=False)
        job_set = jm.run(
            circuits, AerSimulator(), max_experiments_per_job=3, shots=200, seed_simulator=42
        )
        results = job_set.results()
        counts = [results.get_counts(i) for i in range(8)]
        jm.close()
    assert counts == local_counts(circuits)
