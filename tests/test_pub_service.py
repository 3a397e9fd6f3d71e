"""A PUB set rebuilt from IBM Quantum alone, through the real client over HTTP."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit_ibm_runtime import QiskitRuntimeService, SamplerV2

from helpers import basis_circuit, expected_key
from managedjob import JobManager

pytestmark = pytest.mark.filterwarnings(
    "ignore:The SamplerV2 class is deprecated:DeprecationWarning"
)


def test_a_pub_set_is_merged_again_from_the_service_without_a_journal(
    ibm_loopback: Any, runtime_service: QiskitRuntimeService
) -> None:
    backend = runtime_service.backend("fake_manila")
    theta = Parameter("θ")
    flip = QuantumCircuit(1, 1)
    flip.rx(theta, 0)
    flip.measure(0, 0)
    circuits = transpile([basis_circuit(1), basis_circuit(2), flip], backend, seed_transpiler=7)
    pubs = [
        (circuits[0], None, 100),  # cut by shots: 60 + 40
        (circuits[2], np.array([[0.0], [np.pi], [0.0], [np.pi]]), 10),  # rows together
        (circuits[1], None, 20),
    ]
    with JobManager(journal=False) as manager:
        job_set = manager.run_pubs(
            pubs, SamplerV2(mode=backend), max_executions_per_job=60, name="from-service"
        )
        original = job_set.primitive_result(timeout=60)
    assert len(job_set.managed_jobs()) == 4
    posted = ibm_loopback.count("POST", "/jobs")

    with JobManager(journal=False) as manager:
        rebuilt = manager.retrieve_job_set(job_set.job_set_id(), provider=runtime_service)
        merged = rebuilt.primitive_result(timeout=60)
    assert rebuilt.name() == "from-service"
    assert ibm_loopback.count("POST", "/jobs") == posted  # nothing ran again
    assert merged[0].data.c.get_counts() == {expected_key(1): 100}
    assert merged[0].data.c.num_shots == 100
    assert merged[1].data.c.shape == (4,)
    assert [merged[1].data.c[row].get_counts() for row in range(4)] == [
        {"0": 10},
        {"1": 10},
        {"0": 10},
        {"1": 10},
    ]
    assert merged[2].data.c.get_counts() == {expected_key(2): 20}
    for before, after in zip(original, merged, strict=True):
        assert np.array_equal(before.data.c.array, after.data.c.array)


def test_a_pub_job_whose_answer_was_lost_is_found_not_made_twice(
    ibm_loopback: Any, runtime_service: QiskitRuntimeService
) -> None:
    backend = runtime_service.backend("fake_manila")
    circuits = transpile([basis_circuit(i) for i in range(4)], backend, seed_transpiler=7)
    ibm_loopback.faults.drop_response(status=None)  # the first job is made, its answer lost
    ibm_loopback.hold()
    ibm_loopback.faults.drop_response(status=502)  # the client posts the second job twice
    with JobManager(journal=False, max_parallel_submits=1) as manager:
        job_set = manager.run_pubs(
            [(c, None, 32) for c in circuits], SamplerV2(mode=backend), max_pubs_per_job=2
        )
        job_set.managed_jobs()[1].future.result(timeout=30)
        ibm_loopback.release()
        result = job_set.primitive_result(timeout=60)
        report = job_set.report()
    assert [pub.data.c.get_counts() for pub in result] == [{expected_key(i): 32} for i in range(4)]
    assert ibm_loopback.count("POST", "/jobs") == 3  # one lost answer, one posted twice
    running = [job for job in ibm_loopback.jobs if job.status != "Cancelled"]
    assert len(running) == 2  # one job per slice
    assert report.count("cancelled duplicate jobs:") == 1
