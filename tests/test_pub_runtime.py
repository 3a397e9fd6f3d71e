"""PUB sets on qiskit-ibm-runtime primitives (local mode) and on the package's fake service."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives import StatevectorSampler
from qiskit.quantum_info import SparsePauliOp

from managedjob import JobLimitError, JobManager, ManagedSampler
from managedjob._job_set import plan_pub_run
from managedjob.targets import PubTarget, TargetLimits
from managedjob.testing import FakeRuntimeSampler, FakeRuntimeService

runtime = pytest.importorskip("qiskit_ibm_runtime")
fake_provider = pytest.importorskip("qiskit_ibm_runtime.fake_provider")


def quietly(factory: Any, **kwargs: Any) -> Any:
    """Make a runtime primitive; SamplerV2/EstimatorV2 are deprecated since 0.50."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The (Sampler|Estimator)V2 class is deprecated")
        return factory(**kwargs)


@pytest.fixture(scope="module")
def manila() -> Any:
    return fake_provider.FakeManilaV2()


def bell(backend: Any, measure: bool = True) -> QuantumCircuit:
    circuit = QuantumCircuit(2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    if measure:
        circuit.measure_all()
    return transpile(circuit, backend, optimization_level=0, seed_transpiler=1)


@pytest.mark.parametrize("mode", ["job", "batch", "session"])
def test_runtime_sampler_in_local_mode_with_the_sets_tags(manila: Any, mode: str) -> None:
    circuit = bell(manila)
    with JobManager() as manager:
        if mode == "job":
            sampler = quietly(runtime.SamplerV2, mode=manila)
            opened = None
        else:
            opened = (runtime.Batch if mode == "batch" else runtime.Session)(backend=manila)
            sampler = quietly(runtime.SamplerV2, mode=opened)
        sampler.options.environment.job_tags = ["users-own"]
        job_set = manager.run_pubs(
            [circuit] * 5, sampler, max_pubs_per_job=2, shots=100, job_tags=["sweep"]
        )
        result = job_set.primitive_result()
        if opened is not None:
            opened.close()
        tags = [mjob.job.tags() for mjob in job_set.managed_jobs()]
    assert [pub.data.meas.num_shots for pub in result] == [100] * 5
    assert all(set(pub.data.meas.get_counts()) for pub in result)
    id_tag = f"ibmq_jobset_{job_set.job_set_id()}_"
    assert all("sweep" in job_tags and id_tag in job_tags for job_tags in tags)
    assert "managedjob:slice:2:4-4" in tags[2]
    # The tags were the primitive's for each run() call only.
    assert sampler.options.environment.job_tags == ["users-own"]


def test_runtime_estimator_in_local_mode(manila: Any) -> None:
    circuit = bell(manila, measure=False)
    observable = SparsePauliOp("ZZ").apply_layout(circuit.layout)
    estimator = quietly(runtime.EstimatorV2, mode=manila)
    estimator.options.simulator.seed_simulator = 11
    with JobManager() as manager:
        job_set = manager.run_pubs(
            [(circuit, observable)] * 3, estimator, max_pubs_per_job=2, precision=0.05
        )
        result = job_set.primitive_result()
    assert len(job_set.managed_jobs()) == 2
    np.testing.assert_allclose([float(pub.data.evs) for pub in result], 1.0, atol=0.3)


def test_executor_sampler_in_local_mode(manila: Any) -> None:
    executor_sampler = pytest.importorskip("qiskit_ibm_runtime.executor_sampler")
    sampler = quietly(executor_sampler.Sampler, mode=manila)
    with JobManager() as manager:
        job = ManagedSampler(sampler, max_pubs_per_job=1, manager=manager).run(
            [bell(manila)] * 2, shots=64
        )
        result = job.result()
    assert [pub.data.meas.num_shots for pub in result] == [64, 64]


def test_a_runtime_sampler_job_holds_at_most_ten_million_executions(manila: Any) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1)
    circuit.ry(theta, 0)
    circuit.measure_all()
    circuit = transpile(circuit, manila, optimization_level=0)
    # 3,000 parameter sets at the runtime's 4,096 default shots: 12.3 million executions.
    values = np.linspace(0, 1, 3000)[:, None]
    _, plan = plan_pub_run(
        [(circuit, values)],
        quietly(runtime.SamplerV2, mode=manila),
        max_pubs_per_job=None,
        max_executions_per_job=None,
        job_tags=None,
        max_resubmits=0,
        shots=None,
        precision=None,
        options={},
    )
    assert plan.num_jobs == 2
    # Cut by shots: each part runs all 3,000 sets, for at most 10 million executions.
    shots = [part.shots for part in plan.parts[0]]
    assert shots == [range(3333), range(3333, 4096)]


def test_runtime_primitives_have_ibms_limits(manila: Any) -> None:
    sampler = PubTarget(quietly(runtime.SamplerV2, mode=manila))
    estimator = PubTarget(quietly(runtime.EstimatorV2, mode=manila))
    assert sampler.limits() == TargetLimits(
        max_executions=10_000_000, max_payload_bytes=50_000_000, poll_interval=5.0
    )
    assert estimator.limits().max_executions is None
    assert estimator.limits().max_payload_bytes == 50_000_000
    assert sampler.supports_job_tags and estimator.supports_job_tags
    assert PubTarget(StatevectorSampler()).limits() == TargetLimits()


def test_a_pub_set_on_the_fake_service_is_found_by_its_tag() -> None:
    service = FakeRuntimeService()
    backend = service.backend()
    circuit = bell(backend)
    with JobManager() as manager:
        job_set = manager.run_pubs(
            [circuit] * 5, FakeRuntimeSampler(backend), max_pubs_per_job=2, shots=100
        )
        result = job_set.primitive_result(timeout=60)
    found = service.jobs(job_tags=[f"ibmq_jobset_{job_set.job_set_id()}_"], limit=None)
    assert sorted(job.job_id() for job in found) == sorted(
        mjob.job.job_id() for mjob in job_set.managed_jobs()
    )
    assert [pub.data.meas.num_shots for pub in result] == [100] * 5


def test_a_failed_job_on_the_fake_service_is_retried_elsewhere() -> None:
    service = FakeRuntimeService(failing_jobs=["managedjob:slice:1:2-3"])
    circuit = bell(service.backend())
    with JobManager() as manager:
        job_set = manager.run_pubs(
            [circuit] * 5, FakeRuntimeSampler(service.backend()), max_pubs_per_job=2, shots=10
        )
        with pytest.warns(UserWarning, match="scripted failure"):
            partial = job_set.primitive_result(timeout=60, partial=True)
        healthy = FakeRuntimeService()
        retried = job_set.retry_failed(backend=FakeRuntimeSampler(healthy.backend()))
        result = job_set.primitive_result(timeout=60)
    assert [pub is None for pub in partial] == [False, False, True, True, False]
    assert len(retried) == 1 and len(healthy.submitted) == 1
    assert [pub.data.meas.num_shots for pub in result] == [10] * 5


def test_the_services_job_limit_is_a_job_limit_error() -> None:
    service = FakeRuntimeService(max_pending_jobs=1, run_time=100.0)
    sampler = FakeRuntimeSampler(service.backend())
    plan, _ = plan_pub_run(
        [bell(service.backend())] * 2,
        sampler,
        max_pubs_per_job=1,
        max_executions_per_job=None,
        job_tags=None,
        max_resubmits=0,
        shots=10,
        precision=None,
        options={},
    )
    target = plan.checked.target
    target.submit(plan.slices[0], job_name="set_0_", job_tags=[], run_config={})
    with pytest.raises(JobLimitError, match="set_1_"):
        target.submit(plan.slices[1], job_name="set_1_", job_tags=[], run_config={})


def test_a_pub_set_is_rebuilt_from_the_fake_service_alone() -> None:
    """No journal: the jobs' tags and inputs give the plan, cut PUBs and mixed shots too."""
    service = FakeRuntimeService()
    backend = service.backend()
    theta = Parameter("θ")
    rotation = QuantumCircuit(2, name="rotation")
    rotation.ry(theta, 0)
    rotation.cx(0, 1)
    rotation.measure_all()
    rotation = transpile(rotation, backend, optimization_level=0, seed_transpiler=1)
    angles = np.linspace(0, np.pi, 700).reshape(700, 1)
    pubs = [
        (bell(backend), None, 40),
        (rotation, angles, 1),  # 700 rows at one shot: cut along its leading axis
        (bell(backend), None, 40),
        (bell(backend), None, 1500),  # over the budget alone: cut by shots
        bell(backend),
        bell(backend),
    ]
    with JobManager(journal=False) as manager:
        job_set = manager.run_pubs(
            pubs,
            FakeRuntimeSampler(backend),
            max_executions_per_job=600,
            shots=50,
            job_tags=["sweep"],
        )
        original = job_set.primitive_result(timeout=60)
    parts_tags = [
        next(tag for tag in mjob.job.tags() if tag.startswith("managedjob:pubs:"))
        for mjob in job_set.managed_jobs()
    ]
    assert [tag.removeprefix("managedjob:pubs:") for tag in parts_tags] == [
        "0", "1r0-599", "1r600-699", "2", "3s0-599", "3s600-1199", "3s1200-1499", "4-5"
    ]  # fmt: skip
    with JobManager(journal=False) as manager:
        rebuilt = manager.retrieve_job_set(job_set.job_set_id(), provider=service)
        merged = rebuilt.primitive_result(timeout=60)
        assert rebuilt.tags() == ["sweep"]
        assert repr(rebuilt).startswith("<ManagedJobSet")
        assert "PUBs</th><td style='text-align:left'>6</td>" in rebuilt._repr_html_()
    assert len(merged) == len(original) == 6
    for before, after in zip(original, merged, strict=True):
        assert after.data.meas.shape == before.data.meas.shape
        assert after.data.meas.num_shots == before.data.meas.num_shots
        assert np.array_equal(after.data.meas.array, before.data.meas.array)
    assert merged[3].data.meas.num_shots == 1500 and merged[1].data.meas.shape == (700,)


def test_a_pub_set_rebuilt_from_the_service_retries_its_failed_job() -> None:
    service = FakeRuntimeService(failing_jobs=["managedjob:slice:1:2-3"])
    circuit = bell(service.backend())
    with JobManager(journal=False) as manager:
        job_set = manager.run_pubs(
            [circuit] * 5, FakeRuntimeSampler(service.backend()), max_pubs_per_job=2, shots=10
        )
        job_set.wait(timeout=60)
    with JobManager(journal=False) as manager:
        rebuilt = manager.retrieve_job_set(job_set.job_set_id(), provider=service)
        with pytest.warns(UserWarning, match="scripted failure"):
            partial = rebuilt.primitive_result(timeout=60, partial=True)
        healthy = FakeRuntimeService()
        rebuilt.retry_failed(backend=FakeRuntimeSampler(healthy.backend()))
        result = rebuilt.primitive_result(timeout=60)
    assert [pub is None for pub in partial] == [False, False, True, True, False]
    assert [len(job.inputs["pubs"]) for job in healthy.submitted] == [2]
    assert [pub.data.meas.num_shots for pub in result] == [10] * 5
