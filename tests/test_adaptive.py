"""Adaptive concurrency of a set's submissions and fetches, and "too many requests"."""

from __future__ import annotations

import pickle
import threading
import time
from typing import Any, ClassVar

import pytest
from qiskit import QuantumCircuit

from helpers import basis_circuit, expected_key
from managedjob import (
    JobManager,
    ManagedJobSet,
    PollPolicy,
    RetryPolicy,
    SystemClock,
    TooManyRequestsError,
)
from managedjob._limits import ADAPTIVE_INITIAL, ADAPTIVE_MAXIMUM, AdaptiveLimit, adaptive_limit
from managedjob._managed_job._submission import SliceSubmission
from managedjob._naming import job_name
from managedjob._retry import retry_after, too_many_requests
from managedjob.targets import TargetLimits
from managedjob.targets.backend import BackendTarget
from managedjob.testing import FakeClock, ScriptedBackend


def circuits(count: int) -> list[QuantumCircuit]:
    return [basis_circuit(index) for index in range(count)]


class DeclaredTarget(BackendTarget):
    """A backend target that documents how many requests it takes at once."""

    def __init__(self, backend: Any, most: int) -> None:
        super().__init__(backend)
        self._most = most

    def limits(self) -> TargetLimits:
        return TargetLimits(max_concurrent_requests=self._most)


def slow_run(call: int) -> None:
    time.sleep(0.02)  # long enough for the other submissions to pile up


# ------------------------------------------------------------------ the limit


def test_adaptive_limit_never_above_a_declared_limit() -> None:
    assert adaptive_limit(None).maximum == ADAPTIVE_MAXIMUM
    assert adaptive_limit(None).limit == ADAPTIVE_INITIAL
    declared = adaptive_limit(3)
    assert (declared.maximum, declared.limit) == (3, 3)
    for _ in range(50):
        declared.record(0.01)
    assert declared.limit == 3
    assert adaptive_limit(1000).maximum == ADAPTIVE_MAXIMUM


def test_adaptive_limit_travels_as_a_fresh_limit_with_its_settings() -> None:
    limit = AdaptiveLimit(5, minimum=2, maximum=9, decrease=0.25)
    assert limit.acquire()
    limit.record(0.1, "throttled")
    copy = pickle.loads(pickle.dumps(limit))
    assert isinstance(copy, AdaptiveLimit)
    assert (copy.limit, copy.maximum, copy.in_flight) == (5, 9, 0)
    copy.record(0.1, "throttled")
    assert copy.limit == 2  # 5 * 0.25, raised to its minimum


# ------------------------------------------------------------------ 429s


def test_too_many_requests_is_recognised_on_foreign_errors() -> None:
    class Response:
        status_code = 429
        headers: ClassVar[dict[str, str]] = {"Retry-After": "2.5"}

    class HTTPError(OSError):
        response = Response()

    assert too_many_requests(TooManyRequestsError("slow down", retry_after=1.0))
    assert retry_after(TooManyRequestsError("slow down", retry_after=1.0)) == 1.0
    assert retry_after(TooManyRequestsError("slow down")) is None
    assert too_many_requests(HTTPError("429"))
    assert retry_after(HTTPError("429")) == 2.5
    assert not too_many_requests(ConnectionError("reset"))
    Response.status_code = 500
    assert not too_many_requests(HTTPError("500"))


def test_scripted_rate_limit_refuses_calls_too_close_together() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, max_submits_per_second=10, simulate=False)
    backend.run(basis_circuit(0))
    with pytest.raises(TooManyRequestsError, match="429") as refused:
        backend.run(basis_circuit(1))
    assert refused.value.retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    backend.run(basis_circuit(2))
    assert (backend.throttled_calls, len(backend.submitted), backend.run_calls) == (1, 2, 3)
    with pytest.raises(ValueError, match="max_submits_per_second"):
        ScriptedBackend(max_submits_per_second=0)


def test_refused_submissions_wait_and_all_jobs_run() -> None:
    # 200 submissions per second at most, 5 ms each: the set starts with 16 at
    # once, is refused, backs off, and still runs every job, none failed.
    clock = SystemClock()
    backend = ScriptedBackend(
        clock=clock, submit_latency=0.005, max_submits_per_second=200, simulate=False
    )
    with JobManager(clock=clock, journal=False) as jm:
        job_set = jm.run(circuits(30), backend, max_experiments_per_job=1, shots=4)
        results = job_set.results()
        limit = job_set._state.submit_lock
    assert results.success
    assert all(mjob.submit_error is None for mjob in job_set.managed_jobs())
    assert backend.throttled_calls > 0
    assert len(backend.submitted) == 30
    assert isinstance(limit, AdaptiveLimit)
    assert limit.limit < ADAPTIVE_INITIAL  # it backed off


def test_a_refused_submission_gives_its_place_back_while_it_waits() -> None:
    limit = AdaptiveLimit(1, maximum=1)
    seen: list[int] = []

    class Clock(FakeClock):
        def sleep(self, seconds: float) -> None:
            seen.append(limit.in_flight)
            super().sleep(seconds)

    clock = Clock()
    refused = TooManyRequestsError("busy", retry_after=1.5)
    backend = ScriptedBackend(clock=clock, submit_failures=[refused])
    submission = SliceSubmission(
        BackendTarget(backend),
        circuits(1),
        "job",
        [],
        {"shots": 3},
        0,
        0,
        RetryPolicy(),
        PollPolicy(),
        clock,
        called_off=lambda: False,
        limit=limit,
    )
    assert limit.acquire(blocking=False)  # as the job's submission does
    job = submission.run()
    assert job.result().get_counts() == {expected_key(0): 3}
    assert seen == [0]  # out of its place during the wait
    assert limit.in_flight == 1  # and back in it afterwards
    assert clock.monotonic() == pytest.approx(1.5)


def test_a_refusal_never_counts_as_a_try_and_a_timeout_bounds_it() -> None:
    clock = FakeClock()
    refusals = [TooManyRequestsError("busy", retry_after=2.0)] * 10
    backend = ScriptedBackend(clock=clock, submit_failures=refusals)
    policy = RetryPolicy(max_attempts=1)
    with JobManager(clock=clock, journal=False, retry_policy=policy) as jm:
        assert jm.run(circuits(1), backend, shots=3).results().success
    assert backend.run_calls == 11
    assert clock.monotonic() == pytest.approx(20.0)

    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, submit_failures=refusals)
    policy = RetryPolicy(job_limit_timeout=5.0)
    with (
        JobManager(clock=clock, journal=False, retry_policy=policy) as jm,
        pytest.warns(UserWarning, match="busy"),
    ):
        job_set = jm.run(circuits(1), backend, shots=3)
        job_set.statuses()
    [mjob] = job_set.managed_jobs()
    assert isinstance(mjob.submit_error, TooManyRequestsError)
    assert clock.monotonic() == pytest.approx(5.0)


# ------------------------------------------------------------------ the set


def test_default_submissions_adapt_up_to_the_declared_limit() -> None:
    for most in (3, None):
        backend = ScriptedBackend(clock=SystemClock(), on_run=slow_run, simulate=False)
        target = BackendTarget(backend) if most is None else DeclaredTarget(backend, most)
        with JobManager(clock=SystemClock(), journal=False) as jm:
            job_set = jm.run(circuits(24), target, max_experiments_per_job=1, shots=2)
            assert job_set.results().success
        if most is None:
            assert backend.max_concurrent_runs > 3  # undeclared: many at once
        else:
            assert 1 <= backend.max_concurrent_runs <= most
            assert job_set._state.submit_lock.maximum == most  # type: ignore[union-attr]
            assert job_set._state.fetch_limit is not None
            assert job_set._state.fetch_limit.maximum == most


def test_an_explicit_bound_stays_fixed() -> None:
    backend = ScriptedBackend(clock=SystemClock(), on_run=slow_run, simulate=False)
    with JobManager(
        clock=SystemClock(), journal=False, max_parallel_submits=2, max_parallel_fetches=3
    ) as jm:
        job_set = jm.run(circuits(12), backend, max_experiments_per_job=1, shots=2)
        assert job_set.results().success
    assert backend.max_concurrent_runs == 2
    assert not isinstance(job_set._state.submit_lock, AdaptiveLimit)
    assert job_set._state.fetch_limit is None


def test_adaptive_fetches_give_every_result_and_survive_a_failed_one() -> None:
    clock = FakeClock()
    # The job of experiment 2, by name: submissions run in parallel, in any order.
    backend = ScriptedBackend(
        clock=clock,
        run_time=3.0,
        result_latency=0.5,
        failing_jobs=[job_name("adaptive", 2)],
        failed_result="raise",
    )
    with JobManager(clock=clock, journal=False) as jm:
        job_set = jm.run(circuits(6), backend, max_experiments_per_job=1, shots=5, name="adaptive")
        with pytest.warns(UserWarning, match="scripted failure"):
            results = job_set.results()
    assert not results.success
    for index in (0, 1, 3, 4, 5):
        assert results.get_counts(index) == {expected_key(index): 5}
    limit = job_set._state.fetch_limit
    assert limit is not None and limit.in_flight == 0


def test_the_legacy_set_constructor_takes_none_and_numbers() -> None:
    assert isinstance(ManagedJobSet()._state.submit_lock, AdaptiveLimit)
    assert not isinstance(ManagedJobSet(max_parallel_submits=1)._state.submit_lock, AdaptiveLimit)
    with pytest.raises(ValueError, match="max_parallel_fetches"):
        ManagedJobSet(max_parallel_fetches=0)


def test_adaptive_submissions_from_many_threads_hold_no_place_at_the_end() -> None:
    clock = SystemClock()
    backend = ScriptedBackend(clock=clock, submit_latency=0.002, simulate=False)
    sets: list[ManagedJobSet] = []
    with JobManager(clock=clock, journal=False) as jm:
        threads = [
            threading.Thread(
                target=lambda: sets.append(jm.run(circuits(8), backend, max_experiments_per_job=1))
            )
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert all(job_set.results().success for job_set in sets)
    for job_set in sets:
        limit = job_set._state.submit_lock
        assert isinstance(limit, AdaptiveLimit) and limit.in_flight == 0
