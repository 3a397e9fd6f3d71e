"""Simulator jobs in worker processes: same counts, cancel, shutdown, failures."""

from __future__ import annotations

import threading

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.providers import JobStatus

from helpers import basis_circuit
from managedjob import JobManager
from managedjob.targets._workers import WorkerPool, WorkerTarget

aer = pytest.importorskip("qiskit_aer")


def slow_circuit() -> QuantumCircuit:
    """A circuit Aer runs shot by shot (a measurement in the middle): slow for many shots."""
    circuit = QuantumCircuit(10, 10, name="slow")
    circuit.h(range(10))
    circuit.measure(0, 0)
    circuit.cx(0, 1)
    circuit.measure(range(10), range(10))
    return circuit


def test_jobs_in_workers_give_the_counts_they_give_here() -> None:
    circuits = [basis_circuit(i) for i in range(4)]
    for circuit in circuits:
        circuit.h(0)
    backend = aer.AerSimulator()
    with WorkerPool(2) as pool, JobManager(journal=False) as manager:
        remote = manager.run(
            circuits,
            WorkerTarget(backend, pool),
            max_experiments_per_job=1,
            shots=50,
            seed_simulator=9,
        )
        here = manager.run(
            circuits, backend, max_experiments_per_job=1, shots=50, seed_simulator=9
        )
        far, near = remote.results(), here.results()
    assert far.success and remote.statuses() == [JobStatus.DONE] * 4
    assert [far.get_counts(i) for i in range(4)] == [near.get_counts(i) for i in range(4)]


def test_a_fake_device_is_noisy_in_every_job_run_by_workers() -> None:
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    device = FakeManilaV2()
    ghz = QuantumCircuit(3, name="ghz")
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(1, 2)
    ghz.measure_all()
    circuits = [transpile(ghz, device, seed_transpiler=1)] * 4
    with WorkerPool(2) as pool, JobManager(journal=False) as manager:
        job_set = manager.run(
            circuits, WorkerTarget(device, pool), max_experiments_per_job=1, shots=4000
        )
        results = job_set.results()
    for index in range(4):
        assert len(results.get_counts(index)) > 2  # noise: more than 000 and 111


def test_cancel_a_queued_and_a_running_job_then_run_another() -> None:
    backend = aer.AerSimulator()
    with WorkerPool(1) as pool:
        running = pool.submit(backend, [slow_circuit()], {"shots": 10_000_000})
        queued = pool.submit(backend, [slow_circuit()], {"shots": 10_000_000})
        assert queued.status() is JobStatus.QUEUED
        assert queued.cancel() and queued.status() is JobStatus.CANCELLED
        started = threading.Event()
        while running.status() is not JobStatus.RUNNING:
            started.wait(0.01)
        assert running.cancel() and running.status() is JobStatus.CANCELLED
        assert not running.cancel()  # final already
        after = pool.submit(backend, [basis_circuit(3)], {"shots": 5})
        assert after.result(timeout=120).get_counts() == {"011": 5}


def test_shutdown_fails_what_is_left_with_its_reason() -> None:
    backend = aer.AerSimulator()
    pool = WorkerPool(1)
    running = pool.submit(backend, [slow_circuit()], {"shots": 10_000_000})
    queued = pool.submit(backend, [slow_circuit()], {"shots": 10_000_000})
    pool.shutdown("the lights went out")
    for job in (running, queued):
        assert job.status() is JobStatus.ERROR
        assert job.error_message() == "the lights went out"
        with pytest.raises(Exception, match="the lights went out"):
            job.result(timeout=5)
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(backend, [basis_circuit(1)], {})


def test_what_a_worker_cannot_do_is_said() -> None:
    with pytest.raises(ValueError, match="positive integer, not 0"):
        WorkerPool(0)
    unpicklable = aer.AerSimulator()
    unpicklable.lock = threading.Lock()  # type: ignore[attr-defined]
    with WorkerPool(1) as pool:
        with pytest.raises(TypeError, match="cannot be sent to a worker process"):
            WorkerTarget(unpicklable, pool)
        failing = pool.submit(aer.AerSimulator(), [basis_circuit(1)], {"method": "nope"})
        with pytest.raises(Exception, match="Invalid simulation method"):
            failing.result(timeout=120)  # run() raised in the worker: the job's failure
        assert failing.status() is JobStatus.ERROR
        assert failing.error_message() == "RuntimeError: Invalid simulation method (nope)."
