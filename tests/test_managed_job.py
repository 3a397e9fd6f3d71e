"""ManagedJob: the legacy contract, on scripted fakes and real simulators."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError

from helpers import basis_circuit
from managedjob import IBMQJobTimeoutError, ManagedJob, RetryPolicy
from managedjob.exceptions import (
    InvalidInputError,
    JobLimitError,
    JobManagerInvalidStateError,
    UnsupportedRunOptionError,
)
from managedjob.testing import FakeClock, ScriptedBackend


class CountingLock:
    """A lock that records how often it was taken and given back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.acquired = 0
        self.released = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        self.acquired += 1
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self.released += 1
        self._lock.release()


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


def make_job(clock: FakeClock, start: int = 0, count: int = 2) -> ManagedJob:
    mjob = ManagedJob(start, count)
    mjob.clock = clock
    return mjob


def test_constructor_contract() -> None:
    mjob = ManagedJob(start_index=10, experiments_count=5)
    assert (mjob.start_index, mjob.end_index) == (10, 14)
    assert mjob.future is None and mjob.job is None and mjob.submit_error is None
    assert mjob.status() is JobStatus.INITIALIZING
    assert mjob.result() is None
    assert mjob.qobj() is None
    assert mjob.error_message() is None


@pytest.mark.parametrize(
    ("start", "count", "message"),
    [
        (-1, 2, "start_index"),
        (0, 0, "experiments_count"),
        (0, 1.5, "experiments_count"),
        ("0", 1, "start_index"),
        (True, 1, "start_index"),
    ],
)
def test_constructor_rejects_bad_values(start: Any, count: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ManagedJob(start, count)


def test_submit_runs_in_executor_and_releases_lock(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=3.0)
    lock = CountingLock()
    mjob = make_job(clock)
    circuits = [basis_circuit(1), basis_circuit(2)]
    mjob.submit(
        circuits,
        job_name="set_0_",
        backend=backend,
        executor=pool,
        submit_lock=lock,
        job_tags=["a"],
        shots=10,
    )
    assert mjob.future is not None
    assert mjob.future.result() is mjob.job
    assert (lock.acquired, lock.released) == (1, 1)
    assert mjob.job.name() == "set_0_"
    assert mjob.job.tags() == ["a"]
    assert mjob.status() is JobStatus.QUEUED
    result = mjob.result()
    assert result.get_counts(1) == {"010": 10}
    assert clock.monotonic() >= 3.0  # waited in fake time, not real time


def test_lock_released_after_failure_and_error_kept(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, submit_failures={0: ValueError("bad payload")})
    lock = CountingLock()
    mjob = make_job(clock, start=4)
    with pytest.warns(UserWarning, match=r"experiments 4-5: bad payload"):
        mjob.submit([basis_circuit(1)] * 2, "s_0_", backend, pool, lock)
        error = mjob.future.result()  # the future does not raise
    assert isinstance(error, ValueError)
    assert mjob.submit_error is error
    assert (lock.acquired, lock.released) == (1, 1)
    assert mjob.status() is None
    assert mjob.result() is None
    assert mjob.error_message() == "Job submit failed: bad payload"
    assert backend.run_calls == 1  # a non-transient error is not retried


def test_transient_failures_retried_with_backoff(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(
        clock=clock, submit_failures=[ConnectionError("reset"), TimeoutError("slow")]
    )
    mjob = make_job(clock)
    mjob.retry_policy = RetryPolicy(initial_delay=0.5, multiplier=2.0)
    mjob.submit([basis_circuit(1)] * 2, "s_0_", backend, pool, threading.Lock(), shots=5)
    assert mjob.future.result() is mjob.job
    assert backend.run_calls == 3
    assert clock.sleeps == [0.5, 1.0]
    assert mjob.submit_error is None


def test_transient_failures_give_up_after_max_attempts(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, submit_failures=[ConnectionError("down")] * 10)
    mjob = make_job(clock)
    mjob.retry_policy = RetryPolicy(max_attempts=3, initial_delay=1.0, max_delay=1.5)
    with pytest.warns(UserWarning, match="experiments 0-1: down"):
        mjob.submit([basis_circuit(1)] * 2, "s_0_", backend, pool, threading.Lock())
        mjob.future.result()
    assert backend.run_calls == 3
    assert clock.sleeps == [1.0, 1.5]
    assert isinstance(mjob.submit_error, ConnectionError)


def test_job_limit_waits_for_oldest_pending_job(
    pool: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=100.0, max_pending_jobs=1)
    first = backend.run([basis_circuit(0)], shots=1)
    mjob = make_job(clock)
    with caplog.at_level(logging.WARNING, logger="managedjob"):
        mjob.submit([basis_circuit(1)] * 2, "s_0_", backend, pool, threading.Lock(), shots=3)
        assert mjob.future.result() is mjob.job
    assert mjob.job is not first
    assert clock.monotonic() >= first.finish_time
    assert first.status() is JobStatus.DONE
    limit_warnings = [r for r in caplog.records if "job limit" in r.getMessage()]
    assert len(limit_warnings) == 1
    assert mjob.result().get_counts(0) == {"001": 3}


def test_job_limit_backs_off_when_no_job_can_be_named(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()

    class NoListing(ScriptedBackend):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.refusals = 2

        def run(self, run_input: Any, **options: Any) -> Any:
            if self.refusals:
                self.refusals -= 1
                raise JobLimitError("limit of 1 pending jobs")
            return super().run(run_input, **options)

    backend = NoListing(clock=clock)
    mjob = make_job(clock)
    mjob.retry_policy = RetryPolicy(job_limit_backoff=7.0)
    mjob.submit([basis_circuit(1)] * 2, "s_0_", backend, pool, threading.Lock())
    assert mjob.future.result() is mjob.job
    assert clock.sleeps == [7.0, 7.0]


def test_job_limit_timeout_fails_submission(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=1000.0, max_pending_jobs=1)
    backend.run([basis_circuit(0)])
    mjob = make_job(clock)
    mjob.retry_policy = RetryPolicy(job_limit_timeout=60.0)
    with pytest.warns(UserWarning, match="experiments 0-1"):
        mjob.submit([basis_circuit(1)] * 2, "s_0_", backend, pool, threading.Lock())
        mjob.future.result()
    assert isinstance(mjob.submit_error, JobLimitError)
    assert 60.0 <= clock.monotonic() < 1000.0


def test_job_share_level_warns(pool: ThreadPoolExecutor) -> None:
    backend = BasicSimulator()
    mjob = ManagedJob(0, 1)
    with pytest.warns(DeprecationWarning, match="job_share_level"):
        mjob.submit(
            [basis_circuit(1)],
            "s_0_",
            backend,
            pool,
            threading.Lock(),
            job_share_level="project",
            shots=1,
        )
    assert mjob.result().get_counts(0) == {"001": 1}


def test_shut_down_executor_is_a_clear_error() -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    executor.shutdown()
    mjob = ManagedJob(0, 1)
    with pytest.raises(JobManagerInvalidStateError, match="does not take new work"):
        mjob.submit([basis_circuit(1)], "s_0_", BasicSimulator(), executor, threading.Lock())


def test_unsupported_option_rejected_before_submission(pool: ThreadPoolExecutor) -> None:
    backend = ScriptedBackend()
    mjob = ManagedJob(0, 1)
    with pytest.raises(UnsupportedRunOptionError, match="'shotz'") as info:
        mjob.submit([basis_circuit(1)], "s_0_", backend, pool, threading.Lock(), shotz=3)
    assert info.value.option == "shotz"
    assert backend.run_calls == 0 and mjob.future is None


def test_circuit_count_must_match(pool: ThreadPoolExecutor) -> None:
    with pytest.raises(InvalidInputError, match="need 2 circuits, got 1"):
        ManagedJob(0, 2).submit(
            [basis_circuit(1)], "s_0_", BasicSimulator(), pool, threading.Lock()
        )


def test_status_initializing_while_submitting(pool: ThreadPoolExecutor) -> None:
    gate = threading.Event()
    backend = ScriptedBackend(on_run=lambda call: gate.wait(timeout=10))
    mjob = ManagedJob(0, 1)
    mjob.clock = backend.clock
    mjob.submit([basis_circuit(1)], "s_0_", backend, pool, threading.Lock())
    assert mjob.status() is JobStatus.INITIALIZING
    gate.set()
    mjob.future.result()
    assert mjob.status() is JobStatus.DONE


def test_status_error_warns_and_returns_none(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, status_errors=1)
    mjob = make_job(clock, count=1)
    mjob.submit([basis_circuit(1)], "s_0_", backend, pool, threading.Lock())
    mjob.future.result()
    with pytest.warns(UserWarning, match=r"status for experiments 0-0, job ID="):
        assert mjob.status() is None
    assert mjob.status() is JobStatus.DONE


def test_result_is_cached_unless_refreshed(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, result_latency=1.0)
    mjob = make_job(clock, count=1)
    mjob.submit([basis_circuit(1)], "s_0_", backend, pool, threading.Lock(), shots=4)
    first = mjob.result()
    assert mjob.result() is first
    assert clock.sleeps.count(1.0) == 1
    assert mjob.result(refresh=True).get_counts(0) == {"001": 4}
    assert clock.sleeps.count(1.0) == 2


def test_result_timeout_raises_legacy_timeout_error(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=50.0)
    mjob = make_job(clock, count=1)
    mjob.submit([basis_circuit(1)], "s_0_", backend, pool, threading.Lock())
    mjob.future.result()
    with pytest.raises(IBMQJobTimeoutError, match=r"experiments 0-0\) after 10") as info:
        mjob.result(timeout=10)
    assert isinstance(info.value, QiskitJobTimeoutError)
    assert 10.0 <= clock.monotonic() < 50.0
    assert mjob.result(timeout=100).success


def test_negative_timeout_rejected() -> None:
    with pytest.raises(InvalidInputError, match="-1"):
        ManagedJob(0, 1).result(timeout=-1)


def test_failed_job_gives_none_unless_partial(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, failing_experiments={"bad"})
    mjob = make_job(clock, count=2)
    circuits = [basis_circuit(3), basis_circuit(2, name="bad")]
    mjob.submit(circuits, "s_0_", backend, pool, threading.Lock(), shots=6)
    with pytest.warns(UserWarning, match="partial=True"):
        assert mjob.result() is None
    partial = mjob.result(partial=True)
    assert partial is not None and not partial.success
    assert partial.get_counts(0) == {"011": 6}
    assert mjob.status() is JobStatus.ERROR
    assert "scripted failure" in mjob.error_message()


def test_error_message_derived_for_plain_jobs(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(
        clock=clock,
        legacy_api=False,
        failing_experiments={"bad"},
        failure_message="qubit 2 is broken",
    )
    assert not hasattr(backend.run([basis_circuit(1)]), "error_message")
    mjob = make_job(clock, count=2)
    mjob.submit(
        [basis_circuit(1), basis_circuit(1, name="bad")], "s_0_", backend, pool, threading.Lock()
    )
    mjob.future.result()
    message = mjob.error_message()
    assert message is not None
    assert "experiment 1 (bad)" in message and "qubit 2 is broken" in message

    ok = make_job(clock, count=1)
    ok.submit([basis_circuit(1)], "s_1_", backend, pool, threading.Lock())
    ok.future.result()
    assert ok.error_message() is None


def test_error_message_when_result_raises(pool: ThreadPoolExecutor) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(
        clock=clock,
        legacy_api=False,
        failing_jobs={0},
        failed_result="raise",
        failure_message="calibration lost",
    )
    mjob = make_job(clock, count=1)
    mjob.submit([basis_circuit(1)], "s_0_", backend, pool, threading.Lock())
    mjob.future.result()
    with pytest.warns(UserWarning, match="calibration lost"):
        message = mjob.error_message()
    assert message is not None and "calibration lost" in message


def test_cancel_never_raises(pool: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    with caplog.at_level(logging.WARNING, logger="managedjob"):
        ManagedJob(0, 1).cancel()
    assert "not submitted" in caplog.text

    backend = ScriptedBackend(clock=clock, run_time=10.0)
    mjob = make_job(clock, count=1)
    mjob.submit([basis_circuit(1)], "s_0_", backend, pool, threading.Lock())
    mjob.future.result()
    mjob.cancel()
    assert mjob.status() is JobStatus.CANCELLED

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="managedjob"):
        mjob.cancel()
    assert "already cancelled" in caplog.text

    stubborn = ScriptedBackend(clock=clock, run_time=10.0, cancellable=False)
    other = make_job(clock, count=1)
    other.submit([basis_circuit(1)], "s_1_", stubborn, pool, threading.Lock())
    other.future.result()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="managedjob"):
        other.cancel()
    assert "does not support cancellation" in caplog.text
    assert other.status() is JobStatus.QUEUED


def test_legacy_subclass_overrides_keep_working(pool: ThreadPoolExecutor) -> None:
    calls: list[str] = []

    class AuditedJob(ManagedJob):
        def _async_submit(
            self, circuits, job_name, backend, submit_lock, job_tags=None, **run_config
        ):  # type: ignore[no-untyped-def]
            calls.append(f"submit {job_name}")
            # Legacy style: side effects on self, no return value.
            submit_lock.acquire()
            try:
                self.job = backend.run(circuits, **run_config)
            finally:
                submit_lock.release()

        def status(self):  # type: ignore[no-untyped-def]
            calls.append("status")
            return super().status()

        def result(self, timeout=None, partial=False, refresh=False):  # type: ignore[no-untyped-def]
            calls.append("result")
            return super().result(timeout=timeout, partial=partial, refresh=refresh)

    mjob = AuditedJob(0, 1)
    mjob.submit([basis_circuit(6)], "s_0_", BasicSimulator(), pool, threading.Lock(), shots=2)
    mjob.future.result()
    assert mjob.status() is JobStatus.DONE
    assert mjob.result().get_counts(0) == {"110": 2}
    assert calls == ["submit s_0_", "status", "result"]


def test_qobj_view_of_submitted_job(pool: ThreadPoolExecutor) -> None:
    mjob = ManagedJob(0, 2)
    circuits = [basis_circuit(1), basis_circuit(5)]
    mjob.submit(
        circuits,
        "s_0_",
        BasicSimulator(),
        pool,
        threading.Lock(),
        shots=33,
        qobj_id="my-qobj",
        qobj_header={"owner": "lab"},
    )
    mjob.future.result()
    qobj = mjob.qobj()
    assert qobj is mjob.qobj()  # built once
    assert qobj.qobj_id == "my-qobj"
    assert qobj.type == "QASM"
    assert qobj.config.shots == 33
    assert qobj.header.owner == "lab"
    assert [exp.header.name for exp in qobj.experiments] == ["basis_1", "basis_5"]
    as_dict = qobj.to_dict()
    assert as_dict["experiments"][1]["header"]["creg_sizes"] == [["c", 3]]
    names = [inst["name"] for inst in as_dict["experiments"][1]["instructions"]]
    assert names == ["x", "x", "measure", "measure", "measure"]
    # The qobj-only options never reached the backend.
    assert mjob.result().get_counts(1) == {"101": 33}
