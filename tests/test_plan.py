"""JobManager.plan and ``managedjob run --dry-run``: the jobs a run would make, submitting none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives import StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp

from helpers import basis_circuit
from managedjob import InvalidInputError, JobManager, Journal, RunEstimate
from managedjob._estimate import JOB_OVERHEAD_SECONDS
from managedjob.testing import FakeClock, ScriptedBackend

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def spans(job_set: Any) -> list[int]:
    return [mjob.end_index - mjob.start_index + 1 for mjob in job_set.managed_jobs()]


def test_the_plan_of_circuits_is_the_split_run_makes_and_nothing_is_submitted(
    journal_path: Path,
) -> None:
    circuits = [basis_circuit(i) for i in range(11)]
    backend = ScriptedBackend(clock=FakeClock(), max_circuits=4)
    with JobManager(clock=backend.clock) as manager:
        estimate = manager.plan(circuits, backend, max_experiments_per_job=5, shots=100)
        assert isinstance(estimate, RunEstimate)
        assert backend.run_calls == 0
        assert manager.job_sets() == []
        job_set = manager.run(circuits, backend, max_experiments_per_job=5, shots=100)
        job_set.results()
    assert [job.items for job in estimate.jobs] == spans(job_set) == [4, 4, 3]
    assert [job.executions for job in estimate.jobs] == [400, 400, 300]
    assert estimate.items == 11 and estimate.executions == 1100
    assert all(job.payload_bytes > 0 for job in estimate.jobs)
    assert estimate.usage_seconds is None  # not an IBM Quantum device
    assert len(Journal(journal_path).job_sets()) == 1  # the run, not the plan
    text = str(estimate)
    assert text.startswith("3 jobs on scripted_backend: 11 experiments, 1100 executions")
    assert len(text.splitlines()) == 2 + 3


def test_the_plan_of_pubs_is_the_split_run_pubs_makes() -> None:
    theta = Parameter("theta")
    ansatz = QuantumCircuit(1)
    ansatz.ry(theta, 0)
    pubs = [(ansatz, SparsePauliOp("Z"), np.linspace(0, 1, 4)) for _ in range(5)]
    estimator = StatevectorEstimator()
    with JobManager(journal=False) as manager:
        estimate = manager.plan(pubs, estimator, max_pubs_per_job=2, precision=0.01)
        job_set = manager.run_pubs(pubs, estimator, max_pubs_per_job=2, precision=0.01)
        job_set.primitive_result()
    assert estimate.workload == "pubs"
    assert [job.items for job in estimate.jobs] == spans(job_set) == [2, 2, 1]
    assert [job.executions for job in estimate.jobs] == [8, 8, 4]  # elements of each PUB
    assert "PUB parts" in str(estimate)


def test_bad_input_is_refused_as_run_would(journal_path: Path) -> None:
    with JobManager() as manager, pytest.raises(InvalidInputError, match="shots"):
        manager.plan([basis_circuit(0)], ScriptedBackend(), shots=-3)


@pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning")
def test_on_ibm_quantum_the_plan_estimates_the_qpu_time(ibm_loopback: Any, runtime_service: Any):
    backend = runtime_service.backend("fake_manila")
    circuits = transpile([basis_circuit(i) for i in range(6)], backend, seed_transpiler=7)
    with JobManager(journal=False) as manager:
        estimate = manager.plan(circuits, backend, max_experiments_per_job=4, shots=1000)
    assert ibm_loopback.count("POST", "/jobs") == 0  # nothing submitted
    delay = backend.default_rep_delay
    assert [job.executions for job in estimate.jobs] == [4000, 2000]
    assert [job.usage_seconds for job in estimate.jobs] == pytest.approx(
        [JOB_OVERHEAD_SECONDS + 4000 * delay, JOB_OVERHEAD_SECONDS + 2000 * delay]
    )
    assert "s of QPU time" in str(estimate)


def dry_run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    journal = tmp_path / "journal.sqlite3"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "managedjob",
            "run",
            str(EXAMPLES / "random_sweep.qpy"),
            "--backend",
            "basic",
            "--shots",
            "10",
            *extra,
        ],
        cwd=tmp_path,
        env={**os.environ, "MANAGEDJOB_JOURNAL": str(journal)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    done = dry_run(tmp_path, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("20 jobs on basic_simulator: 2000 experiments, 20000 executions")
    assert "submitting" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # no journal, no counts file


@pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning")
def test_a_usage_budget_holds_back_the_jobs_past_it(ibm_loopback: Any, runtime_service: Any):
    from qiskit.providers import JobStatus

    from helpers import expected_key, in_order
    from managedjob import UsageBudgetError

    backend = runtime_service.backend("fake_manila")
    circuits = transpile([basis_circuit(i) for i in range(6)], backend, seed_transpiler=7)
    with in_order(journal=False) as manager:
        estimate = manager.plan(circuits, backend, max_experiments_per_job=2, shots=1000)
        budget = estimate.jobs[0].usage_seconds + estimate.jobs[1].usage_seconds + 0.5
        ibm_loopback.hold()  # nothing finishes (and reports its usage) meanwhile
        job_set = manager.run(
            circuits, backend, max_experiments_per_job=2, shots=1000, max_usage_seconds=budget
        )
        job_set.managed_jobs()[2].future.result(timeout=30)
        ibm_loopback.release()
        partial = job_set.results(partial=True)
        statuses = job_set.statuses()
        held_back = job_set.managed_jobs()[2].submit_error
        errors = job_set.error_messages() or ""
        assert ibm_loopback.count("POST", "/jobs") == 2
        assert statuses[:2] == [JobStatus.DONE, JobStatus.DONE] and statuses[2] is None
        assert isinstance(held_back, UsageBudgetError)
        assert held_back.budget == pytest.approx(budget)
        assert "max_usage_seconds" in errors and "retry_failed() submits it" in errors
        assert partial.get_counts(0) == {expected_key(0): 1000}
        # Asked for, what the budget held back runs.
        assert len(job_set.retry_failed()) == 1
        results = job_set.results()
    assert results.success and ibm_loopback.count("POST", "/jobs") == 3


def test_a_usage_budget_needs_a_target_whose_usage_can_be_estimated() -> None:
    with JobManager(journal=False) as manager:
        with pytest.raises(InvalidInputError, match="max_usage_seconds needs a target"):
            manager.run([basis_circuit(0)], ScriptedBackend(), max_usage_seconds=10)
        with pytest.raises(InvalidInputError, match="max_usage_seconds must be a positive"):
            manager.run([basis_circuit(0)], ScriptedBackend(), max_usage_seconds=-1)


@pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning")
def test_a_pub_set_keeps_to_its_usage_budget_too(ibm_loopback: Any, runtime_service: Any):
    from qiskit.providers import JobStatus
    from qiskit_ibm_runtime import SamplerV2

    from managedjob import ManagedSampler, UsageBudgetError

    backend = runtime_service.backend("fake_manila")
    circuits = transpile([basis_circuit(i) for i in range(4)], backend, seed_transpiler=7)
    pubs = [(c, None, 500) for c in circuits]
    ibm_loopback.hold()
    with JobManager(journal=False, max_parallel_submits=1) as manager:
        plan = manager.plan(pubs, SamplerV2(mode=backend), max_pubs_per_job=2)
        sampler = ManagedSampler(SamplerV2(mode=backend), max_pubs_per_job=2, manager=manager)
        job = sampler.run(pubs, max_usage_seconds=plan.jobs[0].usage_seconds + 0.1)
        job.job_set.managed_jobs()[1].future.result(timeout=30)
        ibm_loopback.release()
        held_back = job.job_set.managed_jobs()[1].submit_error
        assert isinstance(held_back, UsageBudgetError)
        job.job_set.wait(timeout=30)
        assert job.job_set.statuses() == [JobStatus.DONE, None]
        assert ibm_loopback.count("POST", "/jobs") == 1


@pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning")
def test_the_qpu_time_follows_the_jobs_rep_delay(ibm_loopback: Any, runtime_service: Any) -> None:
    from qiskit_ibm_runtime import SamplerV2

    from managedjob.targets import IBMRuntimeTarget

    backend = runtime_service.backend("fake_manila")
    circuits = transpile([basis_circuit(i) for i in range(2)], backend, seed_transpiler=7)
    target = IBMRuntimeTarget(backend, sampler_options={"execution": {"rep_delay": 0.0005}})
    sampler = SamplerV2(mode=backend)
    sampler.options.execution.rep_delay = 0.0004
    with JobManager(journal=False) as manager:
        by_target = manager.plan(circuits, target, shots=1000)
        by_sampler = manager.plan([(c, None, 1000) for c in circuits], sampler)
    assert ibm_loopback.count("POST", "/jobs") == 0
    assert by_target.usage_seconds == pytest.approx(JOB_OVERHEAD_SECONDS + 2000 * 0.0005)
    assert by_sampler.usage_seconds == pytest.approx(JOB_OVERHEAD_SECONDS + 2000 * 0.0004)


def test_dry_run_json_is_the_plan_as_data(tmp_path: Path) -> None:
    done = dry_run(tmp_path, "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["backend"] == "basic_simulator" and document["workload"] == "circuits"
    assert (document["jobs"], document["items"], document["executions"]) == (20, 2000, 20000)
    assert document["usage_seconds"] is None
    assert document["per_job"][0] == {
        "index": 0,
        "items": 100,
        "executions": 1000,
        "payload_bytes": document["per_job"][0]["payload_bytes"],
        "usage_seconds": None,
    }
    assert sum(job["payload_bytes"] for job in document["per_job"]) == document["payload_bytes"]
    assert list(tmp_path.iterdir()) == []
    for extra in (["--csv"], ["-o", "plan.json"]):
        refused = dry_run(tmp_path, "--dry-run", *extra)
        assert refused.returncode == 2 and "it writes no file" in refused.stderr
    assert list(tmp_path.iterdir()) == []
