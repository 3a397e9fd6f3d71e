"""Crash windows: job ids journaled as submissions return, unrecorded jobs found by tag,
and a cancel that races a submission."""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from qiskit.providers import JobStatus

from helpers import basis_circuit, expected_key, wait_until
from managedjob import JobManager, SystemClock
from managedjob._journal import Journal
from managedjob.testing import FakeClock, FakeRuntimeService, ScriptedBackend


def _forget_ids(journal_file: Path, indexes: tuple[int, ...]) -> None:
    """What a process killed after the target accepted these jobs, before their ids
    were journaled, leaves behind."""
    with sqlite3.connect(journal_file) as conn:
        for index in indexes:
            conn.execute(
                "UPDATE attempts SET job_id = NULL, submitted_at = NULL, status = NULL, "
                "result = NULL, finished_at = NULL WHERE idx = ?",
                (index,),
            )
    conn.close()


def _run_and_forget(
    journal_file: Path, clock: FakeClock, backend: ScriptedBackend, forget: tuple[int, ...]
) -> str:
    with JobManager(journal=journal_file, clock=clock) as manager:
        job_set = manager.run(
            [basis_circuit(i) for i in range(6)], backend, max_experiments_per_job=2, shots=7
        )
        job_set.results()
        job_set_id = job_set.job_set_id()
    _forget_ids(journal_file, forget)
    return job_set_id


class NoListing(ScriptedBackend):
    """A backend that cannot list its jobs by tag (it only runs them)."""

    jobs = None  # type: ignore[assignment]


def test_each_job_id_is_journaled_before_the_next_submission(tmp_path: Path) -> None:
    journal_file = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    seen: list[list[str | None]] = []

    def on_run(call: int) -> None:
        if call:
            attempts = Journal(journal_file).attempts(set_ids[0])
            seen.append([record.job_id for record in attempts])

    set_ids: list[str] = []
    backend = ScriptedBackend(clock=clock, on_run=on_run)
    original_accept = backend._accept

    def accept(*args: Any, **kwargs: Any) -> Any:
        if not set_ids:
            (record,) = Journal(journal_file).job_sets()
            set_ids.append(record.job_set_id)
        return original_accept(*args, **kwargs)

    backend._accept = accept  # type: ignore[method-assign]
    executor = ThreadPoolExecutor(max_workers=1)
    with JobManager(journal=journal_file, clock=clock, executor=executor) as manager:
        work = [basis_circuit(i) for i in range(16)]
        job_set = manager.run(work, backend, max_experiments_per_job=1, shots=5)
        job_set.results()
        ids = [str(mjob.job.job_id()) for mjob in job_set.managed_jobs() if mjob.job]
    executor.shutdown()
    assert len(seen) == 15
    for call, journaled in enumerate(seen, start=1):
        # When the target is asked for job `call`, every job it accepted before
        # is in the journal with its id.
        assert journaled[:call] == ids[:call], call


def test_an_unrecorded_job_is_found_by_its_tags_and_not_run_again(tmp_path: Path) -> None:
    journal_file = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock)
    job_set_id = _run_and_forget(journal_file, clock, backend, (1, 2))
    runs_before = backend.run_calls
    with JobManager(journal=journal_file, clock=clock) as later:
        found = later.retrieve_job_set(job_set_id, provider=backend)
        assert found.statuses() == [JobStatus.DONE] * 3
        assert found.retry_failed() == []
        counts = found.results().get_counts()
        assert counts == [{expected_key(i): 7} for i in range(6)]
    assert backend.run_calls == runs_before
    # The ids found are journaled now.
    attempts = Journal(journal_file).attempts(job_set_id)
    assert all(record.job_id for record in attempts)


def test_retry_failed_asks_the_backend_before_resubmitting(tmp_path: Path) -> None:
    journal_file = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock)
    job_set_id = _run_and_forget(journal_file, clock, backend, (0,))
    runs_before = backend.run_calls
    with JobManager(journal=journal_file, clock=clock) as later:
        found = later.retrieve_job_set(job_set_id)  # no provider: not asked yet
        message = found.managed_jobs()[0].error_message()
        assert message is not None
        assert "Experiments 0-1 may have been submitted" in message
        assert "was not asked" in message.replace("were not asked", "was not asked")
        assert found.retry_failed(backend=backend) == []
        assert found.results().get_counts(0) == {expected_key(0): 7}
    assert backend.run_calls == runs_before


def test_a_slice_the_target_does_not_have_was_never_submitted(tmp_path: Path) -> None:
    journal_file = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    job_set_id = _run_and_forget(journal_file, clock, ScriptedBackend(clock=clock), (2,))
    other = ScriptedBackend(clock=clock)  # knows none of the jobs
    with JobManager(journal=journal_file, clock=clock) as later:
        found = later.retrieve_job_set(job_set_id, provider=other)
        message = found.managed_jobs()[2].error_message()
        assert message is not None
        assert "Experiments 4-5 were never submitted" in message
        retried = found.retry_failed()
        assert [(m.start_index, m.end_index) for m in retried] == [(4, 5)]
        assert found.results().get_counts(5) == {expected_key(5): 7}
    assert other.run_calls == 1


def test_a_target_that_cannot_be_asked_says_may_have_been_submitted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal_file = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    job_set_id = _run_and_forget(journal_file, clock, ScriptedBackend(clock=clock), (1,))
    blind = NoListing(clock=clock)
    with JobManager(journal=journal_file, clock=clock) as later:
        found = later.retrieve_job_set(job_set_id, provider=blind)
        message = found.managed_jobs()[1].error_message()
        assert message is not None
        assert "Experiments 2-3 may have been submitted" in message
        assert "cannot list jobs by tag" in message
        with caplog.at_level(logging.WARNING, logger="managedjob._job_set"):
            retried = found.retry_failed()
        assert [(m.start_index, m.end_index) for m in retried] == [(2, 3)]
        assert "may have been submitted" in caplog.text
        assert found.results().get_counts(3) == {expected_key(3): 7}
    assert blind.run_calls == 1


# ---------------------------------------------------------------- cancel races


class _RacingFuture(Future[Any]):
    """A future whose submission completes while ``cancel()`` is on its way."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self._work = work

    def cancel(self) -> bool:
        if self.set_running_or_notify_cancel():
            try:
                self.set_result(self._work())
            except BaseException as err:
                self.set_exception(err)
        return super().cancel()


class _RacingExecutor(Executor):
    """Runs each submission only when its future is asked to cancel (or waited on)."""

    def __init__(self) -> None:
        self.futures: list[_RacingFuture] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future = _RacingFuture(functools.partial(fn, *args, **kwargs))
        self.futures.append(future)
        return future


def test_a_cancel_that_loses_the_race_cancels_the_job_the_submission_made(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=100.0)
    executor = _RacingExecutor()
    with JobManager(journal=tmp_path / "journal.sqlite3", clock=clock, executor=executor) as m:
        job_set = m.run(
            [basis_circuit(i) for i in range(4)], backend, max_experiments_per_job=2, shots=3
        )
        job_set.cancel()
        assert len(backend.submitted) == 2  # both submissions won the race
        assert [job.status() for job in backend.submitted] == [JobStatus.CANCELLED] * 2
        assert job_set.statuses() == [JobStatus.CANCELLED] * 2


def test_an_unrecorded_runtime_job_is_found_through_the_service(tmp_path: Path) -> None:
    journal_file = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    service = FakeRuntimeService(clock=clock, run_time=5.0)
    with JobManager(journal=journal_file, clock=clock) as manager:
        job_set = manager.run(
            [basis_circuit(i) for i in range(6)],
            service.backend(),
            max_experiments_per_job=2,
            shots=7,
        )
        job_set.results()
        ids = [mjob.job.job_id() for mjob in job_set.managed_jobs() if mjob.job is not None]
        job_set_id = job_set.job_set_id()
    assert len(ids) == 3
    _forget_ids(journal_file, (1,))
    with JobManager(journal=journal_file, clock=clock) as later:
        found = later.retrieve_job_set(job_set_id, provider=service)
        assert [mjob.job.job_id() for mjob in found.managed_jobs() if mjob.job] == ids
        assert found.retry_failed() == []
        assert found.results().get_counts() == [{expected_key(i): 7} for i in range(6)]
    assert service.submit_calls == 3


# ---------------------------------------------------------------- threads


def test_concurrent_results_callers_share_one_bounded_fetch_pool(tmp_path: Path) -> None:
    backend = ScriptedBackend(clock=SystemClock(), run_time=0.3)
    peak = 0
    stop = threading.Event()

    def fetchers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("managedjob-fetch")]

    wait_until(lambda: not fetchers(), "fetch threads of earlier tests to end")

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, len(fetchers()))
            stop.wait(0.002)

    with JobManager(journal=tmp_path / "journal.sqlite3", max_parallel_fetches=3) as manager:
        job_set = manager.run(
            [basis_circuit(i) for i in range(8)], backend, max_experiments_per_job=1, shots=4
        )
        sampler = threading.Thread(target=sample)
        sampler.start()
        with ThreadPoolExecutor(max_workers=20) as callers:
            counts = list(
                callers.map(lambda _: job_set.results(timeout=60).get_counts(), range(20))
            )
        stop.set()
        sampler.join(10)
        assert counts == [[{expected_key(i): 4} for i in range(8)]] * 20
        assert 1 <= peak <= 3
        # The last caller out shuts the pool down: no idle threads stay with the set.
        wait_until(lambda: not fetchers(), "the fetch threads to end")


def test_job_id_writes_go_ahead_of_queued_circuits(tmp_path: Path) -> None:
    """A thread waiting for its job id to be committed does not wait for the circuits
    of every slice queued before it."""
    recorder = Journal(tmp_path / "journal.sqlite3").recording()
    order: list[str] = []
    release = threading.Event()

    def write(label: str, gate: threading.Event | None = None) -> Callable[[], Any]:
        def prepare() -> Callable[[sqlite3.Connection], None]:
            if gate is not None:
                assert gate.wait(30)
            return lambda conn: order.append(label)

        return prepare

    busy = recorder.write(write("busy", release), urgent=True)  # the writer is on it
    circuits = [recorder.write(write(f"circuits {n}"), urgent=True) for n in range(3)]
    job_id = recorder.write(write("job id"), first=True)
    release.set()
    for future in [busy, *circuits, job_id]:
        future.result(timeout=30)
    assert order.index("job id") < order.index("circuits 0")
