"""Tests of managedjob.testing: the fake clock, scripted backend and jobs."""

from __future__ import annotations

import doctest
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.exceptions import QiskitError
from qiskit.providers import BackendV2, JobStatus, JobV1
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobError
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError

import managedjob.testing
from managedjob._wait import Clock, wait_for_final_state
from managedjob.exceptions import (
    InvalidInputError,
    JobLimitError,
    JobTimeoutError,
    UnsupportedRunOptionError,
)
from managedjob.testing import BareJob, FakeClock, ScriptedBackend, ScriptedJob


def bell(name: str = "bell") -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name=name)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure([0, 1], [0, 1])
    return circuit


def x_on_first(name: str) -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name=name)
    circuit.x(0)
    circuit.measure([0, 1], [0, 1])
    return circuit


# --- FakeClock ---------------------------------------------------------------


def test_fake_clock_is_a_clock_and_starts_where_told() -> None:
    assert isinstance(FakeClock(), Clock)
    assert FakeClock().monotonic() == 0.0
    assert FakeClock(start=100.5).monotonic() == 100.5


def test_fake_clock_sleep_moves_time_and_records_each_request() -> None:
    clock = FakeClock()
    for seconds in (0.5, 1.0, 2.0):
        clock.sleep(seconds)
    assert clock.monotonic() == pytest.approx(3.5)
    assert clock.sleeps == [0.5, 1.0, 2.0]


def test_fake_clock_advance_moves_time_without_recording_a_sleep() -> None:
    clock = FakeClock(start=1.0)
    clock.advance(9.0)
    assert clock.monotonic() == 10.0
    assert clock.sleeps == []


def test_fake_clock_rejects_negative_time() -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="-1"):
        clock.sleep(-1)
    with pytest.raises(ValueError, match="-2"):
        clock.advance(-2)
    assert clock.monotonic() == 0.0


def test_fake_clock_sleeps_from_many_threads_all_count() -> None:
    clock = FakeClock()

    def sleep_often() -> None:
        for _ in range(500):
            clock.sleep(0.25)

    threads = [threading.Thread(target=sleep_often) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clock.sleeps) == 8 * 500
    assert clock.monotonic() == 8 * 500 * 0.25


# --- the backend is a real BackendV2 ------------------------------------------


def test_backend_is_a_backend_v2_with_a_target_transpile_can_use() -> None:
    backend = ScriptedBackend(num_qubits=3, max_circuits=7, name="fake_three")
    assert isinstance(backend, BackendV2)
    assert backend.name == "fake_three"
    assert backend.num_qubits == 3
    assert backend.max_circuits == 7
    compiled = transpile(bell(), backend=backend, seed_transpiler=1)
    assert set(compiled.count_ops()) <= set(backend.operation_names) | {"barrier"}
    counts = backend.run(compiled, shots=200, seed_simulator=5).result().get_counts()
    assert set(counts) <= {"00", "11"}
    assert sum(counts.values()) == 200


def test_default_options_and_set_options() -> None:
    backend = ScriptedBackend()
    assert dict(backend.options.items()) == {
        "shots": 1024,
        "memory": False,
        "seed_simulator": None,
    }
    backend.set_options(shots=10)
    result = backend.run(bell()).result()
    assert sum(result.get_counts().values()) == 10


def test_unknown_run_option_is_rejected_by_name() -> None:
    backend = ScriptedBackend()
    with pytest.raises(UnsupportedRunOptionError, match="job_share_level") as info:
        backend.run(bell(), job_share_level="project")
    assert info.value.option == "job_share_level"
    assert backend.submitted == []


@pytest.mark.parametrize(
    ("run_input", "kwargs", "error", "match"),
    [
        ([], {}, ValueError, "no circuits"),
        ([bell()] * 3, {}, ValueError, "at most 2"),
        ([bell(), QuantumCircuit(6, name="wide")], {}, ValueError, "circuit 1 .'wide'. has 6"),
        ([bell(), "not a circuit"], {}, TypeError, "item 1"),
        ([bell()], {"shots": 0}, ValueError, "shots"),
    ],
)
def test_run_validates_its_input(
    run_input: list[QuantumCircuit], kwargs: dict[str, int], error: type[Exception], match: str
) -> None:
    backend = ScriptedBackend(max_circuits=2)
    with pytest.raises(error, match=match):
        backend.run(run_input, **kwargs)
    assert backend.run_calls == 1
    assert backend.submitted == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"submit_latency": -1},
        {"run_time": -0.5},
        {"num_qubits": 0},
        {"max_pending_jobs": 0},
        {"failed_result": "explode"},
    ],
)
def test_constructor_rejects_bad_scripts(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ScriptedBackend(**kwargs)  # type: ignore[arg-type]


# --- real results --------------------------------------------------------------


def test_bell_counts_are_real() -> None:
    backend = ScriptedBackend(name="bells")
    job = backend.run([bell()], shots=1000)
    result = job.result()
    counts = result.get_counts()
    assert set(counts) == {"00", "11"}
    assert sum(counts.values()) == 1000
    assert result.success
    assert result.job_id == job.job_id()
    assert result.backend_name == "bells"
    assert result.results[0].header["name"] == "bell"


def test_counts_are_those_of_basic_simulator_with_the_same_seed() -> None:
    circuits = [bell("one"), x_on_first("two")]
    job = ScriptedBackend().run(circuits, shots=300, seed_simulator=1234)
    expected = BasicSimulator().run(circuits, shots=300, seed_simulator=1234).result()
    assert job.result().get_counts() == expected.get_counts()
    assert job.result().get_counts("two") == {"01": 300}


def test_seeded_runs_reproduce_and_different_seeds_do_not() -> None:
    def memory(seed: int) -> list[str]:
        job = ScriptedBackend().run(bell(), shots=500, memory=True, seed_simulator=seed)
        return list(job.result().get_memory())

    assert memory(7) == memory(7)
    assert memory(7) != memory(8)
    assert len(memory(7)) == 500


def test_memory_is_only_there_when_asked_for() -> None:
    result = ScriptedBackend().run(bell(), shots=20).result()
    with pytest.raises(QiskitError):
        result.get_memory()


def test_result_is_simulated_once_and_kept() -> None:
    job = ScriptedBackend().run(bell(), shots=50)
    assert job.result() is job.result()


def test_without_simulation_results_have_a_fixed_shape() -> None:
    circuits = [bell("a"), x_on_first("b")]
    result = ScriptedBackend(simulate=False).run(circuits, shots=64, memory=True).result()
    assert result.success
    assert result.get_counts("a") == {"00": 64}
    assert result.get_counts("b") == {"00": 64}
    assert result.get_memory("b") == ["00"] * 64


# --- statuses over fake time ---------------------------------------------------


def test_status_follows_the_clock() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=10.0)
    job = backend.run(bell())
    seen = []
    for moment in (0.0, 4.9, 5.0, 9.9, 10.0, 50.0):
        clock.advance(moment - clock.monotonic())
        seen.append(job.status())
    assert seen == [
        JobStatus.QUEUED,
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.RUNNING,
        JobStatus.DONE,
        JobStatus.DONE,
    ]
    assert job.submitted_at == 0.0
    assert job.finish_time == 10.0


def test_zero_run_time_jobs_are_done_at_once() -> None:
    job = ScriptedBackend().run(bell())
    assert job.status() is JobStatus.DONE
    assert job.done()


def test_latencies_are_spent_through_the_clock() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(
        clock=clock, submit_latency=0.05, run_time=0.2, result_latency=0.05, status_latency=0.005
    )
    job = backend.run(bell())
    assert clock.sleeps == [0.05]
    assert job.submitted_at == pytest.approx(0.05)
    assert job.status() is JobStatus.QUEUED
    job.result()
    assert clock.sleeps[:2] == [0.05, 0.005]
    assert clock.sleeps[-1] == 0.05
    assert clock.monotonic() == pytest.approx(0.05 + 0.2 + 0.05)


def test_result_waits_for_the_job_through_the_clock() -> None:
    clock = FakeClock()
    job = ScriptedBackend(clock=clock, run_time=30.0).run(bell())
    clock.advance(12.0)
    assert job.result().success
    assert clock.sleeps == [pytest.approx(18.0)]


def test_result_times_out_after_the_given_fake_seconds() -> None:
    clock = FakeClock()
    job = ScriptedBackend(clock=clock, run_time=10.0).run(bell())
    with pytest.raises(JobTimeoutError, match=job.job_id()) as info:
        job.result(timeout=3.0)
    assert isinstance(info.value, QiskitJobTimeoutError)
    assert clock.monotonic() == pytest.approx(3.0)
    assert job.status() is JobStatus.QUEUED
    assert job.result(timeout=7.0).success


def test_job_wait_for_final_state_polls_through_the_clock() -> None:
    clock = FakeClock()
    job = ScriptedBackend(clock=clock, run_time=12.0).run(bell())
    calls: list[JobStatus] = []
    job.wait_for_final_state(wait=5, callback=lambda _id, status, _job: calls.append(status))
    assert calls == [JobStatus.QUEUED, JobStatus.QUEUED, JobStatus.RUNNING]
    assert clock.sleeps == [5, 5, 5]
    other = ScriptedBackend(clock=clock, run_time=12.0).run(bell())
    with pytest.raises(JobTimeoutError):
        other.wait_for_final_state(timeout=4, wait=1)


def test_managedjob_wait_helper_works_with_scripted_jobs() -> None:
    clock = FakeClock()
    job = ScriptedBackend(clock=clock, run_time=1.0, status_errors=2).run(bell())
    assert wait_for_final_state(job, timeout=10, clock=clock)
    assert job.status() is JobStatus.DONE


# --- scripted submit failures ----------------------------------------------------


def test_submit_failures_by_call_index() -> None:
    backend = ScriptedBackend(
        submit_failures={0: ConnectionError("reset"), 2: TimeoutError, 3: ConnectionError("x")}
    )
    with pytest.raises(ConnectionError, match="reset"):
        backend.run(bell())
    first = backend.run(bell())
    with pytest.raises(TimeoutError, match=r"run\(\) call 2"):
        backend.run(bell())
    with pytest.raises(ConnectionError, match="x"):
        backend.run(bell())
    second = backend.run(bell())
    assert backend.run_calls == 5
    assert backend.submitted == [first, second]
    assert [job.index for job in backend.submitted] == [0, 1]


def test_submit_failures_as_a_sequence() -> None:
    backend = ScriptedBackend(submit_failures=[None, RuntimeError("boom")])
    backend.run(bell())
    with pytest.raises(RuntimeError, match="boom"):
        backend.run(bell())
    backend.run(bell())
    assert len(backend.submitted) == 2


def test_failed_submission_still_spends_its_latency() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, submit_latency=0.5, submit_failures={0: OSError})
    with pytest.raises(OSError):
        backend.run(bell())
    assert clock.sleeps == [0.5]


# --- job limit -------------------------------------------------------------------


def test_job_limit_raises_until_a_pending_job_finishes() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=10.0, max_pending_jobs=2)
    first = backend.run(bell())
    clock.advance(1.0)
    backend.run(bell())
    with pytest.raises(JobLimitError, match=first.job_id()):
        backend.run(bell())
    assert backend.jobs(pending=True, descending=False, limit=1) == [first]
    clock.advance(first.finish_time - clock.monotonic())
    third = backend.run(bell())
    assert backend.submitted[-1] is third
    with pytest.raises(JobLimitError):
        backend.run(bell())
    assert backend.run_calls == 5


def test_cancelling_a_pending_job_frees_a_place() -> None:
    backend = ScriptedBackend(run_time=10.0, max_pending_jobs=1)
    first = backend.run(bell())
    with pytest.raises(JobLimitError):
        backend.run(bell())
    assert first.cancel()
    backend.run(bell())


# --- failing jobs and experiments -----------------------------------------------


def test_failing_job_by_index_ends_in_error_with_an_unsuccessful_result() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(
        clock=clock, run_time=2.0, failing_jobs={1}, failure_message="calibration lost"
    )
    good, bad = backend.run(bell("g")), backend.run(bell("b"))
    assert isinstance(bad, ScriptedJob)
    assert bad.status() is JobStatus.QUEUED
    assert bad.error_message() is None
    clock.advance(2.0)
    assert good.status() is JobStatus.DONE
    assert bad.status() is JobStatus.ERROR
    assert bad.error_message() == "calibration lost"
    result = bad.result()
    assert not result.success
    assert result.status == "calibration lost"
    assert [experiment.success for experiment in result.results] == [False]
    with pytest.raises(QiskitError):
        result.get_counts("b")
    assert good.result().success


def test_failing_job_by_name_and_raising_results() -> None:
    backend = ScriptedBackend(failing_jobs={"set_1_"}, failed_result="raise")
    ok = backend.run(bell(), job_name="set_0_")
    failed = backend.run(bell(), job_name="set_1_")
    assert ok.status() is JobStatus.DONE
    assert failed.status() is JobStatus.ERROR
    with pytest.raises(JobError, match="scripted failure"):
        failed.result()


def test_failing_experiments_give_partial_results() -> None:
    backend = ScriptedBackend(failing_experiments={"b"})
    job = backend.run([x_on_first("a"), x_on_first("b"), bell("c")], shots=100)
    assert job.status() is JobStatus.ERROR
    assert isinstance(job, ScriptedJob)
    message = job.error_message()
    assert message is not None
    assert "'b'" in message
    assert "1 of 3" in message
    result = job.result()
    assert not result.success
    assert [experiment.success for experiment in result.results] == [True, False, True]
    assert result.get_counts("a") == {"01": 100}
    assert set(result.get_counts("c")) == {"00", "11"}
    with pytest.raises(QiskitError):
        result.get_counts("b")
    other = backend.run([bell("c")])
    assert other.status() is JobStatus.DONE


# --- status errors ---------------------------------------------------------------


def test_status_errors_for_every_job() -> None:
    backend = ScriptedBackend(status_errors=2)
    for job in (backend.run(bell()), backend.run(bell())):
        for attempt in (1, 2):
            with pytest.raises(JobError, match=f"{attempt} of 2"):
                job.status()
        assert job.status() is JobStatus.DONE


def test_status_errors_for_chosen_jobs() -> None:
    backend = ScriptedBackend(status_errors={1: None, "named": 1})
    healthy = backend.run(bell())
    broken = backend.run(bell())
    flaky = backend.run(bell(), job_name="named")
    assert healthy.status() is JobStatus.DONE
    for _ in range(5):
        with pytest.raises(JobError, match=broken.job_id()):
            broken.status()
    with pytest.raises(JobError):
        flaky.status()
    assert flaky.status() is JobStatus.DONE
    assert broken.result().success


# --- cancellation ----------------------------------------------------------------


def test_cancel_a_running_job() -> None:
    clock = FakeClock()
    job = ScriptedBackend(clock=clock, run_time=10.0).run(bell())
    clock.advance(6.0)
    assert job.status() is JobStatus.RUNNING
    assert job.cancel() is True
    assert job.status() is JobStatus.CANCELLED
    clock.advance(10.0)
    assert job.cancelled()
    assert job.cancel() is False
    with pytest.raises(JobError, match="cancelled"):
        job.result()
    assert isinstance(job, ScriptedJob)
    assert job.error_message() is None


def test_cancel_a_finished_job_returns_false() -> None:
    job = ScriptedBackend().run(bell())
    assert job.cancel() is False
    assert job.status() is JobStatus.DONE


def test_cancel_can_be_scripted_off() -> None:
    job = ScriptedBackend(run_time=5.0, cancellable=False).run(bell())
    with pytest.raises(JobError, match="cannot be cancelled"):
        job.cancel()
    assert job.status() is JobStatus.QUEUED


def test_result_of_a_cancelled_job_does_not_wait() -> None:
    clock = FakeClock()
    job = ScriptedBackend(clock=clock, run_time=10.0).run(bell())
    assert job.cancel()
    with pytest.raises(JobError, match="cancelled"):
        job.result()
    assert clock.monotonic() == 0.0


# --- concurrency -----------------------------------------------------------------


def test_concurrent_runs_are_counted() -> None:
    barrier = threading.Barrier(4)
    backend = ScriptedBackend(on_run=lambda _call: barrier.wait(timeout=10))
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = list(pool.map(lambda _: backend.run(bell()), range(4)))
    assert backend.max_concurrent_runs == 4
    assert backend.run_calls == 4
    assert sorted(job.index for job in jobs) == [0, 1, 2, 3]


def test_serialised_runs_never_overlap() -> None:
    # A millisecond of real time inside run() gives unserialised calls the
    # chance to overlap; with the lock they never do.
    backend = ScriptedBackend(on_run=lambda _call: time.sleep(0.001))
    lock = threading.Lock()

    def submit(_: int) -> JobV1:
        with lock:
            return backend.run(bell())

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(submit, range(40)))
    assert backend.max_concurrent_runs == 1
    assert backend.run_calls == 40


def test_many_threads_get_distinct_jobs() -> None:
    backend = ScriptedBackend(simulate=False)
    with ThreadPoolExecutor(max_workers=16) as pool:
        jobs = list(pool.map(lambda _: backend.run(bell()), range(200)))
    assert len({job.job_id() for job in jobs}) == 200
    assert [job.index for job in backend.submitted] == list(range(200))


# --- listing and retrieving jobs -------------------------------------------------


def test_jobs_lists_pending_jobs_in_order() -> None:
    clock = FakeClock()
    run_times = [10.0, 1.0, 5.0, 20.0]
    backend = ScriptedBackend(clock=clock, run_time=run_times.__getitem__)
    jobs = [backend.run(bell(), job_name=f"set_{i}_", job_tags=[f"t{i % 2}"]) for i in range(4)]
    clock.advance(2.0)
    assert backend.jobs(pending=True) == [jobs[3], jobs[2], jobs[0]]
    assert backend.jobs(pending=True, descending=False) == [jobs[0], jobs[2], jobs[3]]
    assert backend.jobs(pending=True, descending=False, limit=1) == [jobs[0]]
    assert backend.jobs(pending=True, skip=1, limit=1) == [jobs[2]]
    assert backend.jobs(pending=False) == [jobs[1]]
    assert backend.jobs(limit=None) == jobs[::-1]
    assert backend.jobs(job_tags=["t1"], descending=False) == [jobs[1], jobs[3]]
    assert backend.jobs(job_name="set_2") == [jobs[2]]
    clock.advance(5.0)
    assert backend.jobs(pending=True) == [jobs[3], jobs[0]]


def test_retrieve_job() -> None:
    backend = ScriptedBackend()
    job = backend.run(bell())
    assert backend.retrieve_job(job.job_id()) is job
    with pytest.raises(JobError, match="no-such-id"):
        backend.retrieve_job("no-such-id")


# --- the legacy extras and bare jobs ----------------------------------------------


def test_scripted_jobs_have_the_legacy_extras() -> None:
    backend = ScriptedBackend()
    circuits = [bell("x"), bell("y")]
    job = backend.run(circuits, job_name="set_0_", job_tags=["a", "b"])
    assert isinstance(job, ScriptedJob)
    assert job.backend() is backend
    assert job.name() == "set_0_"
    assert job.update_name("renamed") == "renamed"
    assert job.name() == "renamed"
    assert job.tags() == ["a", "b"]
    assert job.update_tags(additional_tags=["c", "a"], removal_tags=["b"]) == ["a", "c"]
    assert job.update_tags(replacement_tags=["z"], additional_tags=["ignored"]) == ["z"]
    assert job.tags() == ["z"]
    with pytest.raises(InvalidInputError, match=job.job_id()):
        job.update_tags()
    assert [circuit.name for circuit in job.circuits()] == ["x", "y"]
    assert job.error_message() is None
    with pytest.raises(NotImplementedError):
        job.submit()


def test_bare_jobs_have_only_the_jobv1_api() -> None:
    backend = ScriptedBackend(legacy_api=False, failing_jobs={0})
    job = backend.run(bell(), job_name="set_0_", job_tags=["a"])
    assert isinstance(job, BareJob)
    assert isinstance(job, JobV1)
    assert not isinstance(job, ScriptedJob)
    for legacy in ("error_message", "name", "tags", "update_tags", "update_name", "circuits"):
        assert not hasattr(job, legacy), legacy
    assert job.status() is JobStatus.ERROR
    assert not job.result().success
    assert backend.jobs(job_tags=["a"]) == [job]


# --- documentation -------------------------------------------------------------


def test_module_docstring_example_runs() -> None:
    failures, tried = doctest.testmod(managedjob.testing, raise_on_error=False)
    assert tried > 0
    assert failures == 0


def test_public_names() -> None:
    assert managedjob.testing.__all__ == [
        "BareJob",
        "FakeClock",
        "FakeRuntimeBackend",
        "FakeRuntimeBatch",
        "FakeRuntimeJob",
        "FakeRuntimeSampler",
        "FakeRuntimeService",
        "FakeRuntimeSession",
        "ScriptedBackend",
        "ScriptedJob",
    ]
    for name in managedjob.testing.__all__:
        assert getattr(managedjob.testing, name).__doc__
