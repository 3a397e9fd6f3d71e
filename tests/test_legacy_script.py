"""One legacy job-manager script, unchanged, on every kind of target.

``legacy_script`` is written the way scripts for ``qiskit-ibmq-provider``'s
``IBMQJobManager`` were, with only the import changed. It runs against a
``BackendV2`` (BasicSimulator, AerSimulator), a ``StatevectorSampler``,
qiskit-ibm-runtime's ``SamplerV2`` and ``Batch`` in local testing mode, and
the fake IBM Quantum Runtime service of ``managedjob.testing``; the circuits
prepare basis states, so every target must give the same counts.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.primitives import StatevectorSampler
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel
from qiskit_ibm_runtime import Batch
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from helpers import basis_circuit, expected_key
from managedjob import IBMQJobManager
from managedjob.targets import register_target, resolve_target
from managedjob.targets.ibm_runtime import IBMRuntimeTarget, is_ibm_runtime
from managedjob.testing import FakeRuntimeService

SHOTS = 64
COUNT = 8
PER_JOB = 3


def legacy_script(backend: Any, circuits: list[QuantumCircuit]) -> dict[str, Any]:
    """A user's script for the legacy job manager; only its import changed."""
    job_manager = IBMQJobManager()
    job_set = job_manager.run(
        circuits,
        backend=backend,
        name="legacy-sweep",
        max_experiments_per_job=PER_JOB,
        shots=SHOTS,
    )
    results = job_set.results()
    counts = {circuit.name: results.get_counts(circuit.name) for circuit in circuits}
    combined = results.combine_results()
    report = job_set.report()
    errors = job_set.error_messages()
    job_set.cancel()  # everything has finished: nothing to cancel, and no error
    return {
        "counts": counts,
        "combined": combined.get_counts(),
        "success": results.success,
        "report": report,
        "errors": errors,
        "statuses": job_set.statuses(),
        "jobs": len(job_set.jobs()),
        "summary": job_manager.report(detailed=False),
    }


def basis_circuits() -> list[QuantumCircuit]:
    return [basis_circuit(i) for i in range(COUNT)]


def for_manila() -> list[QuantumCircuit]:
    return transpile(basis_circuits(), backend=FakeManilaV2(), seed_transpiler=7)


def basic_simulator() -> tuple[Any, list[QuantumCircuit]]:
    return BasicSimulator(), basis_circuits()


def aer_simulator() -> tuple[Any, list[QuantumCircuit]]:
    return AerSimulator(), basis_circuits()


def statevector_sampler() -> tuple[Any, list[QuantumCircuit]]:
    return StatevectorSampler(), basis_circuits()


def runtime_sampler_local() -> tuple[Any, list[QuantumCircuit]]:
    """qiskit-ibm-runtime's SamplerV2 in local testing mode, without noise."""
    from qiskit_ibm_runtime import SamplerV2

    with warnings.catch_warnings():
        # Deprecated in qiskit-ibm-runtime 0.50 in favour of the executor-based Sampler.
        warnings.filterwarnings(
            "ignore", message="The SamplerV2 class is deprecated", category=DeprecationWarning
        )
        sampler = SamplerV2(mode=FakeManilaV2())
    sampler.options.simulator.noise_model = NoiseModel()  # empty: no noise
    return sampler, for_manila()


def runtime_batch_local() -> tuple[Any, list[QuantumCircuit]]:
    """A local-mode Batch, through the IBM runtime adapter, without noise."""
    target = IBMRuntimeTarget(
        Batch(backend=FakeManilaV2()),
        sampler_options={"simulator": {"noise_model": NoiseModel()}},
    )
    return target, for_manila()


def fake_runtime_service() -> tuple[Any, list[QuantumCircuit]]:
    backend = FakeRuntimeService().backend()
    if not isinstance(resolve_target(backend), IBMRuntimeTarget):
        register_target(is_ibm_runtime, IBMRuntimeTarget)
    return backend, transpile(basis_circuits(), backend=backend, seed_transpiler=7)


TARGETS: dict[str, Callable[[], tuple[Any, list[QuantumCircuit]]]] = {
    setup.__name__: setup
    for setup in (
        basic_simulator,
        aer_simulator,
        statevector_sampler,
        runtime_sampler_local,
        runtime_batch_local,
        fake_runtime_service,
    )
}


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return legacy_script(BasicSimulator(), basis_circuits())


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_the_same_legacy_script_runs_unchanged(kind: str, reference: dict[str, Any]) -> None:
    backend, circuits = TARGETS[kind]()
    outcome = legacy_script(backend, circuits)

    expected = {f"basis_{i}": {expected_key(i): SHOTS} for i in range(COUNT)}
    assert outcome["counts"] == expected
    assert outcome["counts"] == reference["counts"]
    assert outcome["combined"] == [expected[f"basis_{i}"] for i in range(COUNT)]
    assert outcome["combined"] == reference["combined"]
    assert outcome["success"] is True
    assert outcome["errors"] is None
    jobs = -(-COUNT // PER_JOB)
    assert outcome["jobs"] == jobs
    assert outcome["statuses"] == [JobStatus.DONE] * jobs
    assert "Job set name: legacy-sweep" in outcome["report"]
    assert f"Successful jobs: {jobs}" in outcome["report"]
    assert f"Successful jobs: {jobs}" in outcome["summary"]


@pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning")
def test_the_same_legacy_script_runs_against_ibm_quantum_over_http(
    ibm_loopback: Any, runtime_service: Any, reference: dict[str, Any]
) -> None:
    """The real qiskit-ibm-runtime client, talking HTTP to the loopback IBM Quantum service."""
    backend = runtime_service.backend("fake_manila")
    circuits = transpile(basis_circuits(), backend=backend, seed_transpiler=7)
    outcome = legacy_script(backend, circuits)
    assert outcome["counts"] == reference["counts"]
    assert outcome["combined"] == reference["combined"]
    assert outcome["success"] is True and outcome["errors"] is None
    jobs = -(-COUNT // PER_JOB)
    assert outcome["statuses"] == [JobStatus.DONE] * jobs
    assert f"Successful jobs: {jobs}" in outcome["report"]
    assert ibm_loopback.count("POST", "/jobs") == jobs
