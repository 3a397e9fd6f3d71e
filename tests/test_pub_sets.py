"""PUB workloads as one managed set: run_pubs, primitive_result, failures, retries, journal."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives import (
    BackendEstimatorV2,
    BackendSamplerV2,
    BaseEstimatorV2,
    BaseSamplerV2,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.primitive_job import PrimitiveJob
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.quantum_info import SparsePauliOp

from managedjob import (
    IBMQManagedResultDataNotAvailable,
    InvalidInputError,
    JobManager,
    JobManagerInvalidStateError,
    ResultDataNotAvailableError,
    UnsupportedRunOptionError,
)

THETA = Parameter("theta")


def ansatz(name: str = "ansatz") -> QuantumCircuit:
    circuit = QuantumCircuit(2, name=name)
    circuit.ry(THETA, 0)
    circuit.cx(0, 1)
    return circuit


def bell() -> QuantumCircuit:
    circuit = QuantumCircuit(2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


OBSERVABLES = [SparsePauliOp(["ZZ", "XI"]), SparsePauliOp("XX")]


def estimator_pubs(count: int, points: int = 5) -> list[Any]:
    return [
        (ansatz(), [[obs] for obs in OBSERVABLES], np.linspace(0, 1 + k, points)[None, :, None])
        for k in range(count)
    ]


class CountingEstimator(BaseEstimatorV2):
    """A StatevectorEstimator that counts its run() calls and fails jobs on request.

    A job fails when it holds a PUB whose circuit is named in ``failing`` and
    the failures asked for are not used up yet.
    """

    def __init__(self, failing: Iterable[str] = (), failures: int = 1) -> None:
        self._inner = StatevectorEstimator()
        self._failing = set(failing)
        self._failures = failures
        self.calls: list[int] = []
        self._lock = threading.Lock()

    def run(self, pubs: Iterable[Any], *, precision: float | None = None) -> PrimitiveJob[Any]:
        pubs = list(pubs)
        with self._lock:
            self.calls.append(len(pubs))
            fail = self._failures > 0 and any(
                EstimatorPub.coerce(pub).circuit.name in self._failing for pub in pubs
            )
            if fail:
                self._failures -= 1

        def work() -> Any:
            if fail:
                raise RuntimeError("the device fell over")
            return self._inner.run(pubs, precision=precision).result()

        job = PrimitiveJob(work)
        job._submit()
        return job


# ---------------------------------------------------------------- local primitives


def test_estimator_pubs_split_by_count_merge_in_input_order() -> None:
    pubs = estimator_pubs(23)
    estimator = CountingEstimator()
    with JobManager() as manager:
        job_set = manager.run_pubs(pubs, estimator, max_pubs_per_job=10, name="evs")
        result = job_set.primitive_result()
    direct = StatevectorEstimator().run(pubs).result()
    assert estimator.calls == [10, 10, 3]
    assert len(result) == 23
    for merged, alone in zip(result, direct, strict=True):
        assert merged.data.evs.shape == (2, 5)
        np.testing.assert_allclose(merged.data.evs, alone.data.evs)
    assert [mjob.job.name() for mjob in job_set.managed_jobs()] == ["evs_0_", "evs_1_", "evs_2_"]


def test_estimator_pub_over_the_execution_budget_is_cut_along_its_leading_axis() -> None:
    # A broadcast shape of (4, 3): 12 executions, at most 5 per job.
    values = np.linspace(0, 3, 12).reshape(4, 3, 1)
    pubs = [(ansatz(), SparsePauliOp("ZZ"), values), (ansatz(), SparsePauliOp("XX"), 0.3)]
    estimator = CountingEstimator()
    with JobManager() as manager:
        job_set = manager.run_pubs(pubs, estimator, max_executions_per_job=5)
        result = job_set.primitive_result()
    direct = StatevectorEstimator().run(pubs).result()
    assert len(estimator.calls) > 2
    assert result[0].data.evs.shape == (4, 3)
    np.testing.assert_allclose(result[0].data.evs, direct[0].data.evs)
    np.testing.assert_allclose(result[1].data.evs, direct[1].data.evs)
    assert len(result[0].metadata["parts"]) > 1


def test_sampler_pub_over_the_execution_budget_is_cut_by_shots_and_joined() -> None:
    pubs = [bell(), (bell(), None, 50)]
    with JobManager() as manager:
        job_set = manager.run_pubs(
            pubs, StatevectorSampler(seed=3), max_executions_per_job=300, shots=1000
        )
        result = job_set.primitive_result()
    assert len(job_set.managed_jobs()) == 5  # 1000 shots in 4 jobs, 50 shots on their own
    first = result[0].data.meas
    assert first.num_shots == 1000
    assert first.num_bits == 2
    assert first.array.dtype == np.uint8
    assert set(first.get_counts()) <= {"00", "11"}
    assert sum(first.get_counts().values()) == 1000
    assert result[0].metadata["shots"] == 1000
    assert result[1].data.meas.num_shots == 50


def test_mixed_shots_never_share_a_job() -> None:
    sampler_calls: list[list[int | None]] = []

    class Recording(BaseSamplerV2):
        def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> Any:
            pubs = list(pubs)
            sampler_calls.append([pub.shots for pub in pubs])
            return StatevectorSampler().run(pubs, shots=shots)

    pubs = [(bell(), None, 10), (bell(), None, 10), (bell(), None, 20), (bell(), None, 10)]
    with JobManager() as manager:
        result = manager.run_pubs(pubs, Recording()).primitive_result()
    assert sorted(sampler_calls) == [[10], [10, 10], [20]]
    assert [pub.data.meas.num_shots for pub in result] == [10, 10, 20, 10]


@pytest.mark.parametrize("kind", ["backend", "aer"])
def test_backend_and_aer_primitives(kind: str) -> None:
    if kind == "backend":
        sampler: BaseSamplerV2 = BackendSamplerV2(backend=BasicSimulator())
        estimator: BaseEstimatorV2 = BackendEstimatorV2(backend=BasicSimulator())
    else:
        aer = pytest.importorskip("qiskit_aer.primitives")
        sampler, estimator = aer.SamplerV2(), aer.EstimatorV2()
    with JobManager() as manager:
        counts = manager.run_pubs([bell()] * 5, sampler, max_pubs_per_job=2, shots=100)
        evs = manager.run_pubs(
            [(bell().remove_final_measurements(inplace=False), "ZZ")] * 3,
            estimator,
            max_pubs_per_job=2,
            precision=0.0 if kind == "aer" else None,
        )
        sampled = counts.primitive_result()
        estimated = evs.primitive_result()
    assert len(counts.managed_jobs()) == 3
    assert [pub.data.meas.num_shots for pub in sampled] == [100] * 5
    assert all(set(pub.data.meas.get_counts()) <= {"00", "11"} for pub in sampled)
    assert len(estimated) == 3
    np.testing.assert_allclose([float(pub.data.evs) for pub in estimated], 1.0, atol=0.1)


def test_a_process_pool_runs_the_jobs() -> None:
    pubs = estimator_pubs(5)
    context = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(max_workers=2, mp_context=context) as pool,
        JobManager(executor=pool) as manager,
    ):
        result = manager.run_pubs(
            pubs, StatevectorEstimator(), max_pubs_per_job=2
        ).primitive_result()
    direct = StatevectorEstimator().run(pubs).result()
    for merged, alone in zip(result, direct, strict=True):
        np.testing.assert_allclose(merged.data.evs, alone.data.evs)


# ---------------------------------------------------------------- bad input


def bad_cases() -> list[tuple[str, Any, Any, dict[str, Any], str]]:
    sampler = StatevectorSampler()
    return [
        ("non-PUB", [bell(), "oops"], sampler, {}, "pub 1"),
        ("observables too wide", [(ansatz(), "ZZZ", 0.1)], StatevectorEstimator(), {}, "pub 0"),
        ("parameters that do not broadcast",
         [(ansatz(), "ZZ", 0.1), (ansatz(), ["ZZ", "XX"], [[0.1], [0.2], [0.3]])],
         StatevectorEstimator(), {}, "pub 1"),
        ("parameters of another circuit", [(ansatz(), "ZZ", {"phi": 0.1})],
         StatevectorEstimator(), {}, "pub 0"),
        ("negative shots", [bell()], sampler, {"shots": -5}, "shots"),
        ("negative pub shots", [bell(), (bell(), None, -1)], sampler, {}, "pub 1"),
        ("negative precision", [(ansatz(), "ZZ", 0.1)], StatevectorEstimator(),
         {"precision": -0.1}, "precision"),
        ("sampler given observables", [(ansatz(), SparsePauliOp("ZZ"))], sampler, {}, "pub 0"),
        ("precision to a sampler", [bell()], sampler, {"precision": 0.1}, "precision"),
        ("shots to an estimator", [(ansatz(), "ZZ", 0.1)], StatevectorEstimator(),
         {"shots": 10}, "shots"),
        ("not a primitive", [bell()], BasicSimulator(), {}, "BasicSimulator"),
        ("empty", [], sampler, {}, "empty"),
        ("bad limit", [bell()], sampler, {"max_pubs_per_job": 0}, "max_pubs_per_job"),
        ("bad tags", [bell()], sampler, {"job_tags": "x"}, "tags"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", bad_cases(), ids=lambda case: case[0])
def test_bad_input_is_refused_before_anything_is_submitted(
    case: tuple[str, Any, Any, dict[str, Any], str], journal_path: Path
) -> None:
    _, pubs, primitive, kwargs, named = case
    with JobManager() as manager:
        with pytest.raises(InvalidInputError, match=named):
            manager.run_pubs(pubs, primitive, **kwargs)
        assert manager.job_sets() == []


def test_an_option_run_does_not_take_is_refused() -> None:
    estimator = CountingEstimator()
    with JobManager() as manager, pytest.raises(UnsupportedRunOptionError, match="dry_run"):
        manager.run_pubs([(ansatz(), "ZZ", 0.1)], estimator, dry_run=True)
    assert estimator.calls == []


def test_an_estimator_is_refused_by_the_circuits_api() -> None:
    estimator = CountingEstimator()
    with JobManager() as manager, pytest.raises(InvalidInputError, match="run_pubs"):
        manager.run([bell()], estimator)
    assert estimator.calls == []


# ---------------------------------------------------------------- failures


def failing_pubs() -> list[Any]:
    pubs = estimator_pubs(6)
    pubs[3] = (ansatz("bad"), pubs[3][1], pubs[3][2])
    return pubs


def test_a_failed_job_fails_only_its_pubs() -> None:
    estimator = CountingEstimator(failing=["bad"])
    with JobManager() as manager:
        job_set = manager.run_pubs(failing_pubs(), estimator, max_pubs_per_job=2)
        with (
            pytest.warns(UserWarning, match="fell over"),
            pytest.raises(ResultDataNotAvailableError, match=r"PUBs 2-3 .*fell over"),
        ):
            job_set.primitive_result()
        with pytest.warns(UserWarning, match="fell over"):
            partial = job_set.primitive_result(partial=True)
        assert job_set.statuses() == [JobStatus.DONE, JobStatus.ERROR, JobStatus.DONE]
        messages = job_set.error_messages()
    direct = StatevectorEstimator().run(failing_pubs()).result()
    assert partial[2] is None and partial[3] is None
    for index in (0, 1, 4, 5):
        np.testing.assert_allclose(partial[index].data.evs, direct[index].data.evs)
    assert messages is not None and "fell over" in messages
    assert issubclass(ResultDataNotAvailableError, IBMQManagedResultDataNotAvailable)


def test_retry_failed_resubmits_only_the_failed_job() -> None:
    estimator = CountingEstimator(failing=["bad"])
    with JobManager() as manager:
        job_set = manager.run_pubs(failing_pubs(), estimator, max_pubs_per_job=2)
        job_set.wait()
        retried = job_set.retry_failed()
        result = job_set.primitive_result()
    assert len(retried) == 1
    assert estimator.calls == [2, 2, 2, 2]
    direct = StatevectorEstimator().run(failing_pubs()).result()
    for merged, alone in zip(result, direct, strict=True):
        np.testing.assert_allclose(merged.data.evs, alone.data.evs)


def test_max_resubmits_retries_by_itself() -> None:
    estimator = CountingEstimator(failing=["bad"])
    with JobManager() as manager:
        job_set = manager.run_pubs(failing_pubs(), estimator, max_pubs_per_job=2, max_resubmits=1)
        result = job_set.primitive_result()
    assert len(estimator.calls) == 4
    assert all(pub is not None for pub in result)


def test_circuit_sets_have_no_primitive_result() -> None:
    with JobManager() as manager:
        job_set = manager.run([bell()], BasicSimulator(), shots=10)
        with pytest.raises(JobManagerInvalidStateError, match="results"):
            job_set.primitive_result()


def test_cancel_and_report_work_for_pub_sets() -> None:
    with JobManager() as manager:
        job_set = manager.run_pubs(estimator_pubs(4), StatevectorEstimator(), max_pubs_per_job=2)
        job_set.primitive_result()
        with pytest.raises(JobManagerInvalidStateError, match="primitive_result"):
            job_set.results()
        job_set.cancel()  # all done: nothing to cancel, and nothing breaks
        report = job_set.report()
    assert job_set.job_set_id() in report
    assert "Successful jobs: 2" in report


# ---------------------------------------------------------------- durable

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from test_pub_sets import CountingEstimator, failing_pubs
    from managedjob import JobManager

    with JobManager() as manager:
        job_set = manager.run_pubs(
            failing_pubs(), CountingEstimator(failing=[sys.argv[1]]), max_pubs_per_job=2,
            name="durable",
        )
        job_set.wait()
        print(job_set.job_set_id())
    """
)


def run_child(tmp_path: Path, journal_path: Path, failing: str) -> str:
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(tests=str(Path(__file__).parent)))
    done = subprocess.run(
        [sys.executable, "-W", "ignore", str(script), failing],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_a_pub_set_is_retrieved_in_a_new_process_without_its_target(
    tmp_path: Path, journal_path: Path
) -> None:
    job_set_id = run_child(tmp_path, journal_path, failing="nothing")
    with JobManager() as manager:
        job_set = manager.retrieve_job_set(job_set_id)
        result = job_set.primitive_result()
        assert job_set.name() == "durable"
    direct = StatevectorEstimator().run(failing_pubs()).result()
    assert len(result) == 6
    for merged, alone in zip(result, direct, strict=True):
        np.testing.assert_allclose(merged.data.evs, alone.data.evs)
        assert merged.data.evs.dtype == alone.data.evs.dtype


def test_retry_failed_after_a_restart(tmp_path: Path, journal_path: Path) -> None:
    job_set_id = run_child(tmp_path, journal_path, failing="bad")
    estimator = CountingEstimator()
    with JobManager() as manager:
        job_set = manager.retrieve_job_set(job_set_id, provider=estimator)
        assert job_set.statuses() == [JobStatus.DONE, JobStatus.ERROR, JobStatus.DONE]
        retried = job_set.retry_failed()
        result = job_set.primitive_result()
    assert len(retried) == 1
    assert estimator.calls == [2]
    direct = StatevectorEstimator().run(failing_pubs()).result()
    for merged, alone in zip(result, direct, strict=True):
        np.testing.assert_allclose(merged.data.evs, alone.data.evs)


class CountingSampler(StatevectorSampler):
    """A StatevectorSampler that records how many of its jobs compute at once."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0

    def _run(self, pubs: Any) -> Any:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            return super()._run(pubs)
        finally:
            with self.lock:
                self.running -= 1


def test_an_in_process_primitive_runs_one_job_at_a_time() -> None:
    """Local jobs computing side by side only take turns at the GIL: run them in turn."""
    sampler = CountingSampler()
    with JobManager(journal=False, max_parallel_submits=8) as manager:
        job_set = manager.run_pubs([bell()] * 16, sampler, max_pubs_per_job=2, shots=64)
        result = job_set.primitive_result(timeout=60)
    assert len(job_set.managed_jobs()) == 8
    assert sampler.most_at_once == 1
    assert all(pub.data.meas.num_shots == 64 for pub in result)


def test_which_primitives_compute_in_this_process() -> None:
    from managedjob.targets.primitives import runs_in_process
    from managedjob.testing import ScriptedBackend

    assert runs_in_process(StatevectorEstimator())
    assert runs_in_process(CountingSampler())
    assert runs_in_process(BackendSamplerV2(backend=BasicSimulator()))
    assert not runs_in_process(BackendSamplerV2(backend=ScriptedBackend()))
