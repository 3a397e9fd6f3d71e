"""SamplerTarget and PrimitiveJobV1 on real Sampler primitives."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Clbit, Parameter
from qiskit.exceptions import QiskitError
from qiskit.primitives import (
    BackendSamplerV2,
    BaseSamplerV2,
    PrimitiveResult,
    StatevectorSampler,
)
from qiskit.primitives.base.base_primitive_job import BasePrimitiveJob
from qiskit.providers import JobError, JobStatus, JobV1
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError
from qiskit.result import Result

from helpers import ghz, runtime_local_sampler, two_registers
from managedjob._wait import job_future, wait_for_final_state
from managedjob.exceptions import InvalidInputError, JobTimeoutError, UnsupportedRunOptionError
from managedjob.targets import Target, TargetLimits
from managedjob.targets.sampler import PrimitiveJobV1, SamplerTarget, is_sampler, job_status_from

SHOTS = 200


# --- circuits and samplers ------------------------------------------------------


def loose_clbits() -> QuantumCircuit:
    """Loose clbits at indices 0 and 3: not next to each other."""
    q = QuantumRegister(3, "q")
    first = Clbit()
    qc = QuantumCircuit(q, name="loose")
    qc.add_bits([first])
    a = ClassicalRegister(2, "a")
    qc.add_register(a)
    last = Clbit()
    qc.add_bits([last])
    qc.x(0)
    qc.x(2)
    qc.measure(0, first)
    qc.measure(1, a[0])
    qc.measure(2, a[1])
    qc.measure(2, last)
    return qc


def runtime_sampler() -> Any:
    """qiskit-ibm-runtime's SamplerV2 in local testing mode (no network)."""
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    return runtime_local_sampler(FakeManilaV2())


@pytest.fixture(scope="module")
def manila_circuits() -> list[QuantumCircuit]:
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    return transpile([two_registers(), ghz()], FakeManilaV2(), seed_transpiler=3)


def run_to_result(
    target: SamplerTarget, circuits: list[QuantumCircuit], **run_config: Any
) -> tuple[PrimitiveJobV1, Result]:
    job = target.submit(circuits, job_name="set_0_", job_tags=["tag"], run_config=run_config)
    assert isinstance(job, JobV1)
    assert wait_for_final_state(job, timeout=60)
    assert job.status() is JobStatus.DONE
    return job, job.result()


def basic_result(circuits: list[QuantumCircuit], **options: Any) -> Result:
    return BasicSimulator().run(circuits, shots=SHOTS, **options).result()


class CountingSampler(StatevectorSampler):
    """A StatevectorSampler that counts run() calls."""

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> Any:
        self.runs += 1
        return super().run(pubs, shots=shots)


class WordStatusJob(BasePrimitiveJob):
    """A primitive job that reports runtime-style status words from a script."""

    def __init__(self, inner: Any, statuses: list[str], message: str = "") -> None:
        super().__init__(job_id="word-job")
        self._inner = inner
        self._statuses = statuses
        self._message = message
        self.cancel_calls = 0

    def result(self) -> Any:
        if self._statuses[0] in ("ERROR", "CANCELLED"):
            raise RuntimeError(f"job is {self._statuses[0]}")
        return self._inner.result()

    def status(self) -> str:
        return self._statuses[0] if len(self._statuses) == 1 else self._statuses.pop(0)

    def error_message(self) -> str:
        return self._message

    def cancel(self) -> bool:
        self.cancel_calls += 1
        self._statuses[:] = ["CANCELLED"]
        return True

    def done(self) -> bool:
        return self._statuses[0] == "DONE"

    def running(self) -> bool:
        return self._statuses[0] == "RUNNING"

    def cancelled(self) -> bool:
        return self._statuses[0] == "CANCELLED"

    def in_final_state(self) -> bool:
        return self._statuses[0] in ("DONE", "ERROR", "CANCELLED")


class WordStatusSampler(BaseSamplerV2):
    """A third-party-style sampler: no seed option, string statuses, scripted."""

    def __init__(self, statuses: list[str], message: str = "") -> None:
        self.statuses = statuses
        self.message = message
        self.jobs: list[WordStatusJob] = []

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> WordStatusJob:
        inner = StatevectorSampler().run(list(pubs), shots=shots)
        job = WordStatusJob(inner, list(self.statuses), self.message)
        self.jobs.append(job)
        return job


class NeverEndingJob(BasePrimitiveJob):
    """A primitive job whose future never completes."""

    def __init__(self) -> None:
        super().__init__(job_id="never")
        self._future: Future[Any] = Future()

    def result(self) -> Any:
        return self._future.result()

    def status(self) -> JobStatus:
        return JobStatus.CANCELLED if self._future.cancelled() else JobStatus.RUNNING

    def cancel(self) -> bool:
        return self._future.cancel()

    def done(self) -> bool:
        return False

    def running(self) -> bool:
        return True

    def cancelled(self) -> bool:
        return self._future.cancelled()

    def in_final_state(self) -> bool:
        return self._future.done()


# --- end to end on real samplers ------------------------------------------------


@pytest.mark.parametrize(
    "make_sampler",
    [StatevectorSampler, lambda: BackendSamplerV2(backend=BasicSimulator())],
    ids=["statevector", "backend_sampler"],
)
def test_deterministic_counts_equal_basic_simulator(make_sampler):
    circuits = [two_registers(), loose_clbits()]
    target = SamplerTarget(make_sampler())
    job, result = run_to_result(target, circuits, shots=SHOTS, memory=True)
    expected = basic_result(circuits, memory=True)
    assert result.get_counts() == expected.get_counts()
    assert result.get_counts() == [{"1 01": SHOTS}, {"11": SHOTS}]
    assert result.get_memory(1) == expected.get_memory(1)
    assert result.data(0)["counts"] == expected.data(0)["counts"]
    assert result.get_counts("loose") == expected.get_counts("loose")
    assert result.job_id == job.job_id() == job.primitive_job.job_id()
    assert result.backend_name == target.name
    assert isinstance(job.primitive_result(), PrimitiveResult)
    # The user's circuits are not changed by the registers added for loose clbits.
    assert [creg.name for creg in circuits[1].cregs] == ["a"]


def test_ghz_through_statevector_sampler():
    target = SamplerTarget(StatevectorSampler())
    _, result = run_to_result(target, [ghz()], shots=SHOTS)
    counts = result.get_counts()
    assert set(counts) == {"000", "111"}
    assert sum(counts.values()) == SHOTS


def test_seeded_backend_sampler_matches_basic_simulator_shot_for_shot():
    circuits = [ghz(), two_registers()]
    target = SamplerTarget(BackendSamplerV2(backend=BasicSimulator()))
    _, result = run_to_result(target, circuits, shots=SHOTS, memory=True, seed_simulator=42)
    expected = basic_result(circuits, memory=True, seed_simulator=42)
    assert result.get_memory(0) == expected.get_memory(0)
    assert result.get_counts() == expected.get_counts()


def test_runtime_sampler_in_local_mode(manila_circuits):
    target = SamplerTarget(runtime_sampler())
    assert target.name == "fake_manila"
    job, result = run_to_result(target, manila_circuits, shots=SHOTS, memory=True)
    assert type(job.primitive_job).__name__ == "LocalRuntimeJob"
    assert job_future(job) is job.primitive_job._future
    assert job.backend().name == "fake_manila"
    # The fake backend is noisy: the ideal outcome dominates and keys keep the layout.
    counts = result.get_counts(0)
    assert max(counts, key=counts.get) == "1 01"
    assert all(len(key) == 4 and key[1] == " " for key in counts)
    assert sum(counts.values()) == SHOTS
    assert len(result.get_memory(1)) == SHOTS
    assert result.results[1].header["name"] == "ghz"


def test_runtime_sampler_seed_is_reproducible_and_restored(manila_circuits):
    sampler = runtime_sampler()
    before = sampler.options.simulator.seed_simulator
    target = SamplerTarget(sampler)
    memories = [
        run_to_result(target, manila_circuits, shots=SHOTS, memory=True, seed_simulator=seed)[
            1
        ].get_memory(1)
        for seed in (9, 9, 10)
    ]
    assert memories[0] == memories[1]
    assert memories[0] != memories[2]
    assert sampler.options.simulator.seed_simulator == before


@pytest.mark.parametrize(
    "make_sampler",
    [StatevectorSampler, lambda: BackendSamplerV2(backend=BasicSimulator())],
    ids=["statevector", "backend_sampler"],
)
def test_seeds_give_reproducible_memory(make_sampler):
    target = SamplerTarget(make_sampler())
    memories = [
        run_to_result(target, [ghz()], shots=SHOTS, memory=True, seed_simulator=seed)[
            1
        ].get_memory(0)
        for seed in (5, 5, 6)
    ]
    assert memories[0] == memories[1]
    assert memories[0] != memories[2]


def test_numpy_integers_are_accepted_for_shots_and_seed():
    target = SamplerTarget(StatevectorSampler())
    _, result = run_to_result(
        target, [ghz()], shots=np.int64(50), seed_simulator=np.int32(3), memory=np.True_
    )
    assert result.results[0].shots == 50
    assert len(result.get_memory(0)) == 50


def test_default_shots_come_from_the_sampler():
    _, result = run_to_result(SamplerTarget(StatevectorSampler(default_shots=77)), [ghz()])
    assert result.results[0].shots == 77
    sampler = BackendSamplerV2(backend=BasicSimulator(), options={"default_shots": 33})
    _, result = run_to_result(SamplerTarget(sampler), [ghz()])
    assert result.results[0].shots == 33
    _, result = run_to_result(SamplerTarget(WordStatusSampler(["DONE"])), [ghz()])
    assert result.results[0].shots == 1024


# --- the job wrapper ----------------------------------------------------------------


def test_job_keeps_the_future_and_caches_one_result():
    target = SamplerTarget(StatevectorSampler())
    job = target.submit([ghz()] * 3, job_name="set_1_", job_tags=["a", "b"], run_config={})
    assert job_future(job) is job.primitive_job._future
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: job.result(), range(16)))
    assert all(result is results[0] for result in results)
    assert job.result() is results[0]
    assert job.error_message() is None
    assert job.name() == "set_1_"
    assert job.tags() == ["a", "b"]
    assert len(job.circuits) == 3
    assert "PrimitiveJobV1" in repr(job)
    with pytest.raises(QiskitError):
        job.backend()  # a statevector sampler runs on no backend
    with pytest.raises(JobError):
        job.submit()


def test_backend_of_a_backend_sampler_job():
    backend = BasicSimulator()
    job = SamplerTarget(BackendSamplerV2(backend=backend)).submit(
        [ghz()], job_name="n", job_tags=[], run_config={}
    )
    assert job.backend() is backend
    job.wait_for_final_state(timeout=60)
    assert job.done()


def test_failed_job_reports_its_error():
    mid = QuantumCircuit(1, 2, name="mid_circuit")
    mid.measure(0, 0)
    mid.x(0)
    mid.measure(0, 1)
    job = SamplerTarget(StatevectorSampler()).submit(
        [mid], job_name="n", job_tags=[], run_config={}
    )
    assert wait_for_final_state(job, timeout=60)
    assert job.status() is JobStatus.ERROR
    assert "mid-circuit measurements" in job.error_message()
    with pytest.raises(JobError, match="did not complete") as caught:
        job.result()
    assert isinstance(caught.value.__cause__, QiskitError)


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (["INITIALIZING", "DONE"], [JobStatus.INITIALIZING, JobStatus.DONE]),
        (
            ["VALIDATING", "QUEUED", "RUNNING", "DONE"],
            [JobStatus.VALIDATING, JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.DONE],
        ),
        (["QUEUED", "ERROR"], [JobStatus.QUEUED, JobStatus.ERROR]),
        (["RUNNING", "CANCELLED"], [JobStatus.RUNNING, JobStatus.CANCELLED]),
    ],
)
def test_status_words_through_the_wrapper(script, expected):
    target = SamplerTarget(WordStatusSampler(script))
    job = target.submit([ghz()], job_name="n", job_tags=[], run_config={})
    assert [job.status() for _ in expected] == expected
    assert isinstance(job.primitive_job, WordStatusJob)


def test_error_message_comes_from_the_primitive_job_when_it_has_one():
    sampler = WordStatusSampler(["RUNNING", "ERROR"], message="backend fell over")
    job = SamplerTarget(sampler).submit([ghz()], job_name="n", job_tags=[], run_config={})
    assert job.error_message() is None  # still running
    assert job.error_message() == "backend fell over"
    with pytest.raises(JobError, match="job is ERROR"):
        job.result()


def test_error_message_falls_back_to_the_exception():
    sampler = WordStatusSampler(["ERROR"])
    job = SamplerTarget(sampler).submit([ghz()], job_name="n", job_tags=[], run_config={})
    assert job.error_message() == "RuntimeError: job is ERROR"


def test_cancel_delegates_to_the_primitive_job():
    sampler = WordStatusSampler(["RUNNING"])
    job = SamplerTarget(sampler).submit([ghz()], job_name="n", job_tags=[], run_config={})
    assert job.status() is JobStatus.RUNNING
    assert job.cancel() is True
    assert sampler.jobs[0].cancel_calls == 1
    assert job.status() is JobStatus.CANCELLED
    assert job.cancelled()
    assert job.error_message() is None
    with pytest.raises(JobError):
        job.result()


def test_pending_future_is_queued_and_times_out():
    job = PrimitiveJobV1(NeverEndingJob(), [ghz()], shots=1, memory=False, backend_name="b")
    assert job.status() is JobStatus.QUEUED
    with pytest.raises(JobTimeoutError) as caught:
        job.result(timeout=0.01)
    assert isinstance(caught.value, QiskitJobTimeoutError)
    with pytest.raises(JobTimeoutError):
        job.wait_for_final_state(timeout=0.01)
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("QUEUED", JobStatus.QUEUED),
        ("RUNNING", JobStatus.RUNNING),
        ("DONE", JobStatus.DONE),
        ("ERROR", JobStatus.ERROR),
        ("CANCELLED", JobStatus.CANCELLED),
        ("INITIALIZING", JobStatus.INITIALIZING),
        ("VALIDATING", JobStatus.VALIDATING),
        ("done", JobStatus.DONE),
        (" Running ", JobStatus.RUNNING),
        ("CANCELED", JobStatus.CANCELLED),
        ("COMPLETED", JobStatus.DONE),
        ("FAILED", JobStatus.ERROR),
        (JobStatus.QUEUED, JobStatus.QUEUED),
    ],
)
def test_job_status_from(raw, expected):
    assert job_status_from(raw) is expected


def test_job_status_from_other_enums_and_unknown_words():
    import enum

    class RuntimeStatus(enum.Enum):
        QUEUED = "queued"

    assert job_status_from(RuntimeStatus.QUEUED) is JobStatus.QUEUED
    with pytest.raises(JobError, match="'LOST'"):
        job_status_from("LOST")
    with pytest.raises(JobError):
        job_status_from(3)


# --- run options and circuits -------------------------------------------------------


@pytest.mark.parametrize("option", ["parameter_binds", "noise_model", "init_qubits", "rep_delay"])
def test_unsupported_options_are_named_and_nothing_is_submitted(option):
    sampler = CountingSampler()
    target = SamplerTarget(sampler)
    with pytest.raises(UnsupportedRunOptionError, match=repr(option)) as caught:
        target.check_run_config({"shots": 10, option: 1})
    assert caught.value.option == option
    with pytest.raises(UnsupportedRunOptionError):
        target.submit([ghz()], job_name="n", job_tags=[], run_config={option: 1})
    assert sampler.runs == 0


def test_seed_is_rejected_where_the_primitive_has_none():
    sampler = WordStatusSampler(["DONE"])
    target = SamplerTarget(sampler)
    with pytest.raises(UnsupportedRunOptionError, match="seed_simulator") as caught:
        target.submit([ghz()], job_name="n", job_tags=[], run_config={"seed_simulator": 1})
    assert caught.value.option == "seed_simulator"
    assert sampler.jobs == []
    target.check_run_config({"seed_simulator": None, "shots": 5, "memory": False})


@pytest.mark.parametrize(
    "run_config",
    [
        {"shots": 0},
        {"shots": -3},
        {"shots": True},
        {"shots": 2.5},
        {"memory": "yes"},
        {"seed_simulator": "7"},
        {"seed_simulator": 1.0},
    ],
)
def test_bad_option_values_are_input_errors(run_config):
    with pytest.raises(InvalidInputError, match=next(iter(run_config))):
        SamplerTarget(StatevectorSampler()).check_run_config(run_config)


def test_circuits_without_measurements_are_named_by_index():
    sampler = CountingSampler()
    target = SamplerTarget(sampler)
    unmeasured = QuantumCircuit(2, 2, name="unmeasured")
    unmeasured.h(0)
    with pytest.raises(InvalidInputError, match=r"circuit 1 \('unmeasured'\) measures nothing"):
        target.check_circuits([ghz(), unmeasured])
    with pytest.raises(InvalidInputError, match="circuit 2"):
        target.submit([ghz(), ghz(), unmeasured], job_name="n", job_tags=[], run_config={})
    assert sampler.runs == 0


def test_measurement_inside_control_flow_counts():
    qc = QuantumCircuit(1, 1, name="branchy")
    with qc.if_test((qc.clbits[0], 0)):
        qc.measure(0, 0)
    SamplerTarget(StatevectorSampler()).check_circuits([qc])


def test_unbound_parameters_and_non_circuits_are_rejected():
    theta = Parameter("theta")
    qc = QuantumCircuit(1, 1, name="free")
    qc.rx(theta, 0)
    qc.measure(0, 0)
    target = SamplerTarget(StatevectorSampler())
    with pytest.raises(InvalidInputError, match=r"circuit 0 \('free'\) has unbound parameters"):
        target.check_circuits([qc])
    with pytest.raises(InvalidInputError, match="circuit 1 is a str"):
        target.check_circuits([ghz(), "ghz"])


# --- the target itself --------------------------------------------------------------


def test_names_limits_and_protocol():
    statevector = SamplerTarget(StatevectorSampler())
    assert statevector.name == "statevector_sampler"
    assert SamplerTarget(BackendSamplerV2(backend=BasicSimulator())).name == "basic_simulator"
    assert SamplerTarget(WordStatusSampler(["DONE"])).name == "word_status_sampler"
    assert isinstance(statevector, Target)
    assert statevector.limits() == TargetLimits()
    limited = SamplerTarget(
        StatevectorSampler(), max_experiments=10, max_executions=1000, max_payload_bytes=2**20
    )
    assert limited.limits() == TargetLimits(10, 1000, 2**20)
    assert statevector.oldest_pending_job() is None
    assert statevector.retrieve_job("anything") is None
    assert statevector.supports_job_names is False
    assert statevector.supports_job_tags is False


def test_wrapped_is_the_users_sampler():
    sampler = StatevectorSampler()
    assert SamplerTarget(sampler).wrapped is sampler


def test_constructor_rejects_non_samplers_and_bad_limits():
    with pytest.raises(InvalidInputError, match="not a Sampler primitive"):
        SamplerTarget(BasicSimulator())
    with pytest.raises(InvalidInputError, match="max_experiments"):
        SamplerTarget(StatevectorSampler(), max_experiments=0)


def test_is_sampler():
    assert is_sampler(StatevectorSampler())
    assert is_sampler(BackendSamplerV2(backend=BasicSimulator()))
    assert is_sampler(runtime_sampler())
    assert not is_sampler(BasicSimulator())
    assert not is_sampler(object())


def test_concurrent_submissions_share_one_target():
    target = SamplerTarget(StatevectorSampler())
    barrier = threading.Barrier(4)

    def submit(seed: int) -> dict[str, int]:
        barrier.wait()
        job = target.submit(
            [two_registers()], job_name="n", job_tags=[], run_config={"seed_simulator": seed}
        )
        return job.result().get_counts()

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(submit, range(4)))
    assert counts == [{"1 01": 1024}] * 4
