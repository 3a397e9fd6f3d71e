"""Fake IBM devices simulate with their noise in every job of a concurrent set.

A fake device of ``qiskit_ibm_runtime.fake_provider`` builds its noisy
simulator on its first ``run()``; jobs started while it does so ran
noiseless before managedjob built it once ahead of them. A noiseless GHZ
circuit gives only ``000`` and ``111``; with the device's noise, thousands of
shots give other outcomes too, and Aer reports the noise it applied.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.primitives import BackendSamplerV2
from qiskit_ibm_runtime.fake_provider import FakeLimaV2, FakeManilaV2

from helpers import ghz, runtime_local_sampler
from managedjob import JobManager, ManagedBackend

SHOTS = 4000
JOBS = 8


def device_ghz(backend: Any) -> list[QuantumCircuit]:
    circuit = transpile(ghz(), backend, seed_transpiler=7)
    return [circuit.copy(name=f"ghz_{index}") for index in range(JOBS)]


def assert_noisy(counts: dict[str, int], where: str) -> None:
    others = {key: value for key, value in counts.items() if key not in ("000", "111")}
    assert sum(counts.values()) == SHOTS, where
    assert others, f"{where} ran without the device's noise: {counts}"


@pytest.mark.parametrize("device", [FakeManilaV2, FakeLimaV2])
def test_every_job_of_a_concurrent_set_is_noisy(device: type) -> None:
    backend = device()
    circuits = device_ghz(backend)
    with JobManager(journal=False, max_parallel_submits=JOBS) as manager:
        job_set = manager.run(
            circuits, backend, max_experiments_per_job=1, shots=SHOTS, seed_simulator=11
        )
        results = job_set.results()
        for index in range(JOBS):
            assert_noisy(results.get_counts(index), f"experiment {index} on {backend.name}")
        for mjob in job_set.managed_jobs():
            assert mjob.job is not None
            assert mjob.job.result().results[0].metadata["noise"] != "ideal"


def test_two_devices_side_by_side_are_both_noisy() -> None:
    backends = [FakeManilaV2(), FakeLimaV2()]
    with JobManager(journal=False, max_parallel_submits=JOBS) as manager:
        sets = [
            manager.run(device_ghz(backend), backend, max_experiments_per_job=1, shots=SHOTS)
            for backend in backends
        ]
        for backend, job_set in zip(backends, sets, strict=True):
            results = job_set.results()
            for index in range(JOBS):
                assert_noisy(results.get_counts(index), f"experiment {index} on {backend.name}")


def test_managed_backend_on_a_fake_device_is_noisy() -> None:
    device = FakeManilaV2()
    with JobManager(journal=False) as manager:
        backend = ManagedBackend(device, manager=manager, max_experiments_per_job=1)
        result = backend.run(device_ghz(device), shots=SHOTS).result()
        for index in range(JOBS):
            assert_noisy(result.get_counts(index), f"experiment {index}")


@pytest.mark.parametrize("kind", ["backend_sampler", "runtime_local"])
def test_samplers_on_a_fake_device_are_noisy(kind: str) -> None:
    device = FakeManilaV2()
    sampler: Any = (
        BackendSamplerV2(backend=device)
        if kind == "backend_sampler"
        else runtime_local_sampler(device)
    )
    with JobManager(journal=False) as manager:
        job_set = manager.run(device_ghz(device), sampler, max_experiments_per_job=1, shots=SHOTS)
        results = job_set.results()
        for index in range(JOBS):
            assert_noisy(results.get_counts(index), f"experiment {index} through {kind}")


def test_other_backends_never_import_the_runtime_package() -> None:
    # Telling a fake device from other backends must not import
    # qiskit-ibm-runtime (about a second, on the first submission).
    script = (
        "import sys\n"
        "from qiskit import QuantumCircuit\n"
        "from managedjob import JobManager\n"
        "from managedjob.testing import ScriptedBackend\n"
        "qc = QuantumCircuit(1, 1)\n"
        "qc.measure(0, 0)\n"
        "with JobManager(journal=False) as jm:\n"
        "    assert jm.run([qc], ScriptedBackend(), shots=8).results().get_counts(0) == {'0': 8}\n"
        "print('qiskit_ibm_runtime' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
