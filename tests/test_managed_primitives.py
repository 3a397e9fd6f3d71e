"""ManagedSampler and ManagedEstimator: drop-in V2 primitives that split by themselves."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import (
    BaseEstimatorV2,
    BasePrimitiveJob,
    BaseSamplerV2,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.providers import JobStatus
from qiskit.quantum_info import SparsePauliOp

from managedjob import (
    InvalidInputError,
    JobManager,
    ManagedEstimator,
    ManagedPrimitiveJob,
    ManagedSampler,
)
from test_pub_sets import CountingEstimator, bell, estimator_pubs, failing_pubs


def test_managed_estimator_is_an_estimator_whose_job_is_the_merged_run() -> None:
    pubs = estimator_pubs(7)
    inner = CountingEstimator()
    with JobManager() as manager:
        estimator = ManagedEstimator(inner, max_pubs_per_job=3, manager=manager)
        assert isinstance(estimator, BaseEstimatorV2)
        job = estimator.run(pubs, precision=0.0)
        assert isinstance(job, BasePrimitiveJob)
        result = job.result()
        assert job.status() is JobStatus.DONE
        assert job.done() and job.in_final_state()
        assert not job.running() and not job.cancelled()
        assert job.job_id() == job.job_set.job_set_id()
        assert len(job.job_set.managed_jobs()) == 3
    direct = StatevectorEstimator().run(pubs).result()
    assert inner.calls == [3, 3, 1]
    for merged, alone in zip(result, direct, strict=True):
        np.testing.assert_allclose(merged.data.evs, alone.data.evs)


def test_managed_sampler_with_its_own_manager() -> None:
    with ManagedSampler(StatevectorSampler(seed=5), max_executions_per_job=250) as sampler:
        assert isinstance(sampler, BaseSamplerV2)
        job = sampler.run([bell(), bell()], shots=200)
        assert isinstance(job, ManagedPrimitiveJob)
        result = job.result()
        assert len(job.job_set.managed_jobs()) == 2  # 200 + 200 executions, 250 per job
    assert [pub.data.meas.num_shots for pub in result] == [200, 200]
    assert all(set(pub.data.meas.get_counts()) <= {"00", "11"} for pub in result)


def test_a_failed_job_makes_the_wrapper_job_an_error() -> None:
    inner = CountingEstimator(failing=["bad"])
    with JobManager() as manager:
        job = ManagedEstimator(inner, max_pubs_per_job=2, manager=manager).run(failing_pubs())
        job.job_set.wait()
        assert job.status() is JobStatus.ERROR
        assert job.in_final_state()
        job.job_set.retry_failed()
        assert len(job.result()) == 6
        assert job.status() is JobStatus.DONE


def test_wrappers_refuse_the_wrong_primitive_and_bad_pubs() -> None:
    with pytest.raises(InvalidInputError, match="BaseSamplerV2"):
        ManagedSampler(StatevectorEstimator())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="BaseEstimatorV2"):
        ManagedEstimator(StatevectorSampler())  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="JobManager"):
        ManagedSampler(StatevectorSampler(), manager="manager")  # type: ignore[arg-type]
    inner = CountingEstimator()
    with JobManager() as manager:
        estimator = ManagedEstimator(inner, manager=manager)
        circuit = QuantumCircuit(3)
        with pytest.raises(InvalidInputError, match="pub 0: observables act on 2 qubits"):
            estimator.run([(circuit, SparsePauliOp("ZZ"))])
        with pytest.raises(InvalidInputError, match="precision"):
            estimator.run([(circuit, "ZZZ")], precision=-1.0)
    assert inner.calls == []
