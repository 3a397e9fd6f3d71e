"""Waiting for a job set: wait(), progress, done callbacks, the async twins, polling cost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from qiskit import QuantumCircuit
from qiskit.providers import JobError, JobStatus, JobV1
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.result import Result
from qiskit_aer import AerSimulator

from helpers import basis_circuit, expected_key, in_order, wait_until
from managedjob import (
    IBMQJobManagerTimeoutError,
    JobManager,
    ManagedJob,
    ManagedJobSet,
    PollPolicy,
)
from managedjob.testing import FakeClock, ScriptedBackend

T = TypeVar("T")


def test_wait_reports_each_job_once_and_returns_statuses() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=lambda i: 10.0 * (i + 1), failing_jobs={1})
    seen: list[int] = []
    with in_order(clock=clock, journal=False) as jm:
        job_set = jm.run([basis_circuit(i) for i in range(3)], backend, max_experiments_per_job=1)
        statuses = job_set.wait(callback=lambda mjob: seen.append(mjob.start_index))
    assert statuses == [JobStatus.DONE, JobStatus.ERROR, JobStatus.DONE]
    assert seen == [0, 1, 2]  # in the order they finished
    assert 30.0 <= clock.monotonic() < 40.0


def test_wait_times_out_naming_the_running_jobs() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=lambda i: 5.0 if i == 0 else 500.0)
    with in_order(clock=clock, journal=False) as jm:
        job_set = jm.run([basis_circuit(i) for i in range(2)], backend, max_experiments_per_job=1)
        with pytest.raises(IBMQJobManagerTimeoutError, match="experiments 1-1 did not finish"):
            job_set.wait(timeout=60)
        assert clock.monotonic() == pytest.approx(60.0)


def test_wait_counts_failed_submissions() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, submit_failures={0: ValueError("no")})
    with (
        in_order(clock=clock, journal=False) as jm,
        pytest.warns(UserWarning, match="no"),
    ):
        job_set = jm.run([basis_circuit(i) for i in range(2)], backend, max_experiments_per_job=1)
        statuses = job_set.wait()
    assert statuses == [None, JobStatus.DONE]


def test_progress_bar_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=1.0)
    with JobManager(clock=clock, journal=False) as jm:
        job_set = jm.run(
            [basis_circuit(i) for i in range(4)], backend, name="bar", max_experiments_per_job=1
        )
        job_set.wait(progress=True)
    err = capsys.readouterr().err
    assert "bar" in err and "4/4" in err


def test_done_callback_runs_without_anyone_asking() -> None:
    done = threading.Event()
    settled: list[ManagedJob] = []

    def note(mjob: ManagedJob) -> None:
        settled.append(mjob)
        if len(settled) == 3:
            done.set()

    with JobManager(journal=False) as jm:
        job_set = jm.run(
            [basis_circuit(i) for i in range(3)],
            AerSimulator(),
            max_experiments_per_job=1,
            shots=5,
        )
        for mjob in job_set.managed_jobs():
            mjob.add_done_callback(note)
        assert done.wait(timeout=60), "every job's callback ran"
        # The results were fetched by the watcher; reading them asks nothing more.
        assert all(mjob._raw_result is not None for mjob in settled)
        assert job_set.results().get_counts(2) == {expected_key(2): 5}
        # A callback added to a settled job runs at once.
        late: list[ManagedJob] = []
        job_set.managed_jobs()[0].add_done_callback(late.append)
        assert late == [job_set.managed_jobs()[0]]


def test_done_callback_on_failed_submission_and_errors_are_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, submit_failures={0: ValueError("nope")})
    calls: list[str] = []

    def boom(mjob: ManagedJob) -> None:
        calls.append("boom")
        raise RuntimeError("callback bug")

    with JobManager(clock=clock, journal=False) as jm:
        with pytest.warns(UserWarning, match="nope"):
            job_set = jm.run([basis_circuit(0)], backend)
            job_set.jobs()
        mjob = job_set.managed_jobs()[0]
        mjob.add_done_callback(boom)
        mjob.add_done_callback(lambda m: calls.append("after"))
    assert calls == ["boom", "after"]
    assert "callback bug" in caplog.text


def test_async_twins_do_not_block_the_event_loop() -> None:
    clock_backend = ScriptedBackend(clock=FakeClock(), run_time=0.0)

    async def main() -> tuple[int, dict[str, int], list[JobStatus | None]]:
        ticks = 0
        gate = threading.Event()

        with JobManager(journal=False) as jm:
            job_set = jm.run(
                [basis_circuit(i) for i in range(4)],
                clock_backend,
                max_experiments_per_job=2,
                shots=3,
            )
            job_set.managed_jobs()[0].add_done_callback(lambda m: gate.set())

            async def ticker() -> None:
                nonlocal ticks
                while not gate.is_set() or ticks < 3:
                    ticks += 1
                    await asyncio.sleep(0)

            results, statuses, _ = await asyncio.gather(
                job_set.results_async(), job_set.wait_async(), ticker()
            )
        return ticks, results.get_counts(3), statuses

    ticks, counts, statuses = asyncio.run(main())
    assert ticks >= 3
    assert counts == {expected_key(3): 3}
    assert statuses == [JobStatus.DONE, JobStatus.DONE]


# ------------------------------------------------------------ polling budget


def test_waiting_for_long_jobs_polls_a_few_times_a_second_at_most() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=lambda i: 10.0 if i < 20 else 100.0)
    with in_order(clock=clock, journal=False) as jm:
        job_set = jm.run([basis_circuit(i) for i in range(20)], backend, max_experiments_per_job=1)
        job_set.wait()
        long_job = jm.run([basis_circuit(0)], backend).results()
    assert long_job.get_counts(0) == {expected_key(0): 1024}
    tens, hundred = backend.submitted[:20], backend.submitted[20]
    # Polling starts at milliseconds and backs off to once a second: a job of
    # 10 s is asked about two dozen times, and each later second costs one call.
    assert all(5 <= job.status_calls <= 30 for job in tens), [j.status_calls for j in tens]
    assert 5 <= hundred.status_calls <= 120
    # Once settled, a job is asked nothing more, whoever reads the results.
    before = [job.status_calls for job in tens]
    assert job_set.results().get_counts(3) == {expected_key(3): 1024}
    assert [job.status_calls for job in tens] == before


class HeldSimulator(BasicSimulator):
    """A BasicSimulator whose jobs wait in a future until the test releases them.

    Like Aer's, a job's future is pending until it runs, and cancelling the job
    cancels the future; unlike Aer's, the jobs count their status calls. Jobs
    whose index is in ``failing`` fail when released.
    """

    def __init__(self, failing: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.jobs: list[FutureJob] = []
        self._failing = failing
        self._lock = threading.Lock()

    def run(self, run_input: Any, **options: Any) -> FutureJob:
        with self._lock:
            job = FutureJob(self, f"held-{len(self.jobs)}", list(run_input), options)
            self.jobs.append(job)
        return job

    def release(self) -> None:
        """Run every job that is still held (cancelled ones stay cancelled)."""
        with self._lock:
            jobs = list(enumerate(self.jobs))
        for index, job in jobs:
            if job._future.done() or not job._future.set_running_or_notify_cancel():
                continue
            if index in self._failing:
                job._future.set_exception(RuntimeError(f"job {index} failed as scripted"))
            else:
                job._future.set_result(
                    BasicSimulator.run(self, job.circuits, **job.options).result()
                )


class FutureJob(JobV1):
    def __init__(
        self,
        backend: HeldSimulator,
        job_id: str,
        circuits: list[QuantumCircuit],
        options: dict[str, Any],
    ) -> None:
        super().__init__(backend, job_id)
        self.circuits = circuits
        self.options = options
        self._future: Future[Result] = Future()
        self.status_calls = 0

    def submit(self) -> None:
        raise JobError("submitted by run()")

    def status(self) -> JobStatus:
        self.status_calls += 1
        future = self._future
        if future.cancelled():
            return JobStatus.CANCELLED
        if not future.done():
            return JobStatus.RUNNING if future.running() else JobStatus.QUEUED
        return JobStatus.DONE if future.exception() is None else JobStatus.ERROR

    def cancel(self) -> bool:
        return self._future.cancel()

    def result(self, timeout: float | None = None) -> Result:
        return self._future.result(timeout)


@contextmanager
def while_held(call: Callable[[], T], backend: HeldSimulator, jobs: int) -> Iterator[Future[T]]:
    """Start ``call`` in a thread; once ``jobs`` jobs are held, run the block, then release."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(call)
        try:
            wait_until(lambda: len(backend.jobs) == jobs, "the submissions")
            yield pending
        finally:
            backend.release()


def held_set(jm: JobManager, backend: HeldSimulator, count: int, **options: Any) -> ManagedJobSet:
    """Run ``count`` basis circuits on ``backend``, one per job unless told otherwise."""
    options.setdefault("max_experiments_per_job", 1)
    return jm.run([basis_circuit(i) for i in range(count)], backend, **options)


def test_jobs_with_futures_are_waited_for_without_status_calls() -> None:
    backend = HeldSimulator()
    with JobManager(journal=False) as jm:
        job_set = held_set(jm, backend, 3, shots=10)
        with while_held(job_set.wait, backend, jobs=3) as waiting:
            # Polling would have asked each job several times by now.
            time.sleep(0.05)
            assert not waiting.done()
            assert [job.status_calls for job in backend.jobs] == [0, 0, 0]
        assert waiting.result(timeout=30) == [JobStatus.DONE] * 3
        # One call per job, to tell done from failed once its future is.
        assert [job.status_calls for job in backend.jobs] == [1, 1, 1]
        assert job_set.results().get_counts(2) == {expected_key(2): 10}
    assert [job.status_calls for job in backend.jobs] == [1, 1, 1]


def test_results_of_jobs_with_futures_make_no_status_call() -> None:
    backend = HeldSimulator()
    with JobManager(journal=False) as jm:
        job_set = held_set(jm, backend, 4, max_experiments_per_job=2, shots=10)
        with while_held(job_set.results, backend, jobs=2) as fetching:
            pass
        results = fetching.result(timeout=30)
    assert results.get_counts(3) == {expected_key(3): 10}
    assert [job.status_calls for job in backend.jobs] == [0, 0]


def test_wait_follows_a_failed_job_into_its_resubmission() -> None:
    backend = HeldSimulator(failing=frozenset({0}))
    with JobManager(journal=False) as jm:
        job_set = jm.run([basis_circuit(5)], backend, shots=10, max_resubmits=1)
        with while_held(lambda: job_set.wait(timeout=30), backend, jobs=1) as waiting:
            backend.release()  # the first job fails; its resubmission is held
            wait_until(lambda: len(backend.jobs) == 2 or waiting.done(), "the resubmission")
        assert waiting.result(timeout=30) == [JobStatus.DONE]
        assert job_set.results().get_counts(0) == {expected_key(5): 10}
    assert len(backend.jobs) == 2


def test_wait_sees_jobs_cancelled_while_their_futures_are_pending() -> None:
    backend = HeldSimulator()
    fast = PollPolicy(maximum=0.01)
    with JobManager(journal=False, poll_policy=fast) as jm:
        job_set = held_set(jm, backend, 2)
        # The futures are pending and nobody runs them: cancelling tells no
        # waiter, so wait() must look again by itself, long before its timeout.
        with while_held(lambda: job_set.wait(timeout=60), backend, jobs=2) as waiting:
            time.sleep(0.02)
            job_set.cancel()
            assert waiting.result(timeout=10) == [JobStatus.CANCELLED] * 2


def test_wait_times_out_on_jobs_with_futures() -> None:
    backend = HeldSimulator()
    with JobManager(journal=False) as jm:
        job_set = held_set(jm, backend, 2)
        with (
            while_held(lambda: job_set.wait(timeout=0.05), backend, jobs=2) as waiting,
            pytest.raises(IBMQJobManagerTimeoutError, match="experiments 0-0, 1-1"),
        ):
            waiting.result(timeout=30)
