"""The journal: what it records and when, retrieval, retry and resubmission."""

from __future__ import annotations

import ast
import json
import os
import sqlite3
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import platformdirs
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.primitives import StatevectorSampler
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.providers.exceptions import JobError
from qiskit.providers.options import Options
from qiskit.quantum_info import Statevector
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData
from qiskit_aer import AerSimulator

import managedjob
from helpers import LookupBackend, basis_circuit, expected_key, in_order, wait_until
from managedjob import (
    CompletedJob,
    IBMQJobManagerInvalidStateError,
    IBMQJobManagerUnknownJobSet,
    IBMQManagedResultDataNotAvailable,
    JobManager,
    RetryPolicy,
    SystemClock,
)
from managedjob._journal import (
    CIRCUITS,
    SCHEMA_VERSION,
    Journal,
    JournaledJob,
    JournalError,
    JournalWarning,
    decode_circuits,
    decode_result,
    decode_run_config,
    default_journal_path,
    encode_circuits,
    encode_result,
    encode_run_config,
    workload_codec,
)
from managedjob._journal._circuits import MAGIC as CIRCUITS_MAGIC
from managedjob._journal._codec import _encode, stored_result_dict
from managedjob._journal._results import MAGIC as RESULT_COLUMNS
from managedjob._journal._schema import apply_migrations as _apply_migrations
from managedjob._journal._writer import _BATCH_PREPARE_SECONDS
from managedjob.testing import FakeClock, FakeRuntimeService, ScriptedBackend

SRC = Path(managedjob.__file__).parent


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def circuits(count: int, start: int = 0) -> list[QuantumCircuit]:
    return [basis_circuit(i) for i in range(start, start + count)]


def reopen(path: Path, clock: FakeClock, **kwargs: Any) -> JobManager:
    """A manager as a new process would make it: it knows nothing but the journal."""
    return JobManager(journal=path, clock=clock, **kwargs)


class RefusingBackend(ScriptedBackend):
    """Refuses the first submission of each named job."""

    def __init__(self, refuse: set[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refuse = set(refuse)

    def run(
        self, run_input: Any, job_name: str | None = None, job_tags: Any = None, **options: Any
    ) -> Any:
        if job_name in self.refuse:
            self.refuse.discard(job_name)
            raise ValueError(f"refused {job_name}")
        return super().run(run_input, job_name=job_name, job_tags=job_tags, **options)


class CalibratedBackend(ScriptedBackend):
    """A backend with a run option whose value has no JSON form."""

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, memory=False, seed_simulator=None, calibration=None)


# ---------------------------------------------------------------- where and how


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MANAGEDJOB_JOURNAL", str(tmp_path / "here.db"))
    assert default_journal_path() == tmp_path / "here.db"
    monkeypatch.delenv("MANAGEDJOB_JOURNAL")
    expected = platformdirs.user_data_path("managedjob", appauthor=False) / "journal.sqlite3"
    assert default_journal_path() == expected


def test_manager_journals_to_the_default_path(journal_path: Path, clock: FakeClock) -> None:
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(2), ScriptedBackend(clock=clock))
        assert manager.journal is not None
        assert manager.journal.path == journal_path
    record = Journal(journal_path).job_set(job_set.job_set_id())
    assert record is not None
    assert (record.experiments, record.jobs) == (2, 1)


def test_journal_false_keeps_nothing(journal_path: Path, clock: FakeClock) -> None:
    with JobManager(journal=False, clock=clock) as manager:
        job_set = manager.run(circuits(2), ScriptedBackend(clock=clock))
        assert job_set.results().success
        assert manager.journal is None
    assert not journal_path.exists()


def test_bad_journal_setting(clock: FakeClock) -> None:
    with pytest.raises(managedjob.InvalidInputError, match="journal must be"):
        JobManager(journal=3)  # type: ignore[arg-type]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_files_are_user_only(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "new" / "dir" / "journal.sqlite3"
    with JobManager(journal=path, clock=clock) as manager:
        job_set = manager.run(circuits(2), ScriptedBackend(clock=clock))
        job_set.results()
        for file in path.parent.iterdir():  # the journal, its -wal and -shm files
            assert file.stat().st_mode & 0o777 == 0o600, file
    assert path.parent.stat().st_mode & 0o777 == 0o700


# ---------------------------------------------------------------- what, and when


def test_set_and_circuits_are_journaled_before_submission(
    journal_path: Path, clock: FakeClock
) -> None:
    seen: list[tuple[int, list[str]]] = []

    def look(call: int) -> None:
        journal = Journal(journal_path)
        (record,) = journal.job_sets()
        assert (record.name, record.tags, record.jobs) == ("early", ("t",), 3)
        # The circuits of the job being submitted are there already.
        loaded = journal.load_circuits(record.job_set_id, call)
        seen.append((call, [circuit.name for circuit in loaded]))

    backend = ScriptedBackend(clock=clock, on_run=look)
    with in_order(clock=clock) as manager:
        manager.run(circuits(6), backend, name="early", job_tags=["t"], max_experiments_per_job=2)
    assert sorted(seen) == [
        (call, [f"basis_{2 * call}", f"basis_{2 * call + 1}"]) for call in range(3)
    ]


def test_writes_a_submission_waits_for_go_first(journal_path: Path) -> None:
    """A slice's circuits are written ahead of results queued before them, and
    a large one is committed without waiting for the next to be prepared."""
    journal = Journal(journal_path)
    order: list[str] = []
    gate, entered = threading.Event(), threading.Event()

    def step(name: str, wait: threading.Event | None = None) -> Any:
        def prepare() -> Any:
            entered.set()
            if wait is not None:
                assert wait.wait(10)
            order.append(name)
            return lambda conn: None

        return prepare

    def slow(prepare: Any) -> Any:
        def wrapped() -> Any:
            time.sleep(2 * _BATCH_PREPARE_SECONDS)  # a large slice's QPY
            return prepare()

        return wrapped

    busy = journal.recording().write(step("busy", gate))  # holds the writer in its preparation
    assert entered.wait(10)
    result = journal.recording().write(step("result"))
    first = journal.recording().write(slow(step("slice 0")), urgent=True)
    checked = threading.Event()
    second = journal.recording().write(step("slice 1", checked), urgent=True)
    gate.set()
    # The first slice is committed while the second is still being prepared.
    first.result(10)
    assert not second.done()
    checked.set()
    for future in (busy, result, second):
        future.result(10)
    assert order == ["busy", "slice 0", "slice 1", "result"]
    journal.close()


def test_job_ids_are_journaled_once_they_exist(journal_path: Path, clock: FakeClock) -> None:
    backend = LookupBackend(clock=clock, run_time=100.0)
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(3), backend, max_experiments_per_job=1, shots=3)
        ids = [job.job_id() for job in job_set.jobs()]
    record = Journal(journal_path).job_set(job_set.job_set_id())
    assert record is not None
    assert (record.jobs, record.submitted_jobs, record.finished_jobs) == (3, 3, 0)
    with reopen(journal_path, clock) as other:
        detached = other.retrieve_job_set(job_set.job_set_id())
        assert detached.statuses() == [None, None, None]
        for job_id, mjob in zip(ids, detached.managed_jobs(), strict=True):
            message = mjob.error_message()
            assert message is not None
            assert f"Job {job_id} for experiments" in message and "not attached" in message
    with reopen(journal_path, clock) as other:
        attached = other.retrieve_job_set(job_set.job_set_id(), provider=backend)
        assert backend.looked_up == ids
        assert attached.statuses() == [JobStatus.QUEUED] * 3
        clock.advance(100.0)
        results = attached.results()
        assert [results.get_counts(i) for i in range(3)] == [
            {expected_key(i): 3} for i in range(3)
        ]


def test_results_are_journaled_in_the_background(journal_path: Path) -> None:
    # Real time, short jobs: nobody calls results(), yet the journal gets them.
    backend = ScriptedBackend(clock=SystemClock(), run_time=lambda index: 0.02 * (index + 1))
    with JobManager() as manager:
        job_set = manager.run(circuits(4), backend, max_experiments_per_job=1, shots=2)
        journal = manager.journal
        assert journal is not None
        record_id = job_set.job_set_id()

        def all_finished() -> bool:
            record = journal.job_set(record_id)
            return record is not None and record.finished_jobs == 4

        wait_until(all_finished, "the journal")
        fetched = [m._raw_result for m in job_set.managed_jobs()]
        assert all(result is not None for result in fetched)
        # results() uses what the watcher fetched: it does not fetch again.
        results = job_set.results()
        again = [m._raw_result for m in job_set.managed_jobs()]
        assert all(a is b for a, b in zip(again, fetched, strict=True))
        assert results.get_counts(3) == {expected_key(3): 2}


def test_futures_of_aer_jobs_journal_their_results(journal_path: Path) -> None:
    with JobManager() as manager:
        job_set = manager.run(circuits(4), AerSimulator(), max_experiments_per_job=2, shots=4)
        journal = manager.journal
        assert journal is not None

        def all_finished() -> bool:
            record = journal.job_set(job_set.job_set_id())
            return record is not None and record.finished_jobs == 2

        wait_until(all_finished, "the journal")


# ---------------------------------------------------------------- retrieval


def test_journaled_results_are_served_without_the_target(
    journal_path: Path, clock: FakeClock
) -> None:
    backend = LookupBackend(clock=clock, run_time=5.0)
    with JobManager(clock=clock) as manager:
        job_set = manager.run(
            circuits(5), backend, name="kept", max_experiments_per_job=2, job_tags=["a"], shots=9
        )
        assert job_set.results().success
    with reopen(journal_path, clock) as other:
        found = other.retrieve_job_set(job_set.job_set_id(), provider=backend)
        assert backend.looked_up == []
        assert found is not job_set
        assert (found.name(), found.tags()) == ("kept", ["a"])
        assert [(m.start_index, m.end_index) for m in found.managed_jobs()] == [
            (0, 1),
            (2, 3),
            (4, 4),
        ]
        assert all(isinstance(job, JournaledJob) for job in found.jobs())
        assert [job.job_id() for job in found.jobs()] == [job.job_id() for job in job_set.jobs()]
        assert found.statuses() == [JobStatus.DONE] * 3
        results = found.results()
        assert results.success and results.backend_name == "scripted_backend"
        assert results.get_counts("basis_4") == {expected_key(4): 9}
        assert found.job(3)[1] == 1
        journaled = found.jobs()[0]
        assert isinstance(journaled, CompletedJob)  # a finished job, like those of other processes
        assert journaled.error_message() is None and not journaled.cancel()
        with pytest.raises(JobError, match="cannot be submitted again"):
            journaled.submit()
        qobj = found.qobjs()[2]
        assert qobj is not None and qobj.config.shots == 9
        assert qobj.experiments[0].header.name == "basis_4"
        assert other.retrieve_job_set(job_set.job_set_id()) is found
    assert backend.run_calls == 3


def test_unknown_job_set(journal_path: Path, clock: FakeClock) -> None:
    with reopen(journal_path, clock) as manager:
        with pytest.raises(IBMQJobManagerUnknownJobSet, match="nope"):
            manager.retrieve_job_set("nope")
        with pytest.raises(IBMQJobManagerUnknownJobSet, match="nope"):
            manager.retrieve_job_set("nope", provider=ScriptedBackend(clock=clock))


def test_job_sets_lists_journaled_sets(journal_path: Path, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock)
    with JobManager(clock=clock) as manager:
        first = manager.run(circuits(1), backend, name="a", job_tags=["x", "y"])
        second = manager.run(circuits(1), backend, name="b", job_tags=["x"])
        first.results()
        assert manager.job_sets() == [first, second]
    middle = second._created_at
    with reopen(journal_path, clock) as other:
        assert other.job_sets() == []  # the legacy meaning: this manager's sets only
        listed = other.job_sets(from_journal=True)
        assert [s.job_set_id() for s in listed] == [first.job_set_id(), second.job_set_id()]
        assert listed[0].results().get_counts(0) == {expected_key(0): 1024}
        assert [s.name() for s in other.job_sets(name="b", from_journal=True)] == ["b"]
        assert [s.name() for s in other.job_sets(tags=["x", "y"], from_journal=True)] == ["a"]
        assert [s.name() for s in other.job_sets(since=middle, from_journal=True)] == ["b"]
        assert [s.name() for s in other.job_sets(until=middle, from_journal=True)] == ["a", "b"]
        third = other.run(circuits(1), backend, name="c")
        assert other.job_sets() == [third]
        assert other.job_sets(from_journal=True)[-1] is third
    records = Journal(journal_path).job_sets(tags=["x"])
    assert [(r.name, r.jobs, r.experiments) for r in records] == [("a", 1, 1), ("b", 1, 1)]


def test_name_and_tag_updates_are_journaled(journal_path: Path, clock: FakeClock) -> None:
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(2), ScriptedBackend(clock=clock), job_tags=["a"])
        job_set.update_name("renamed")
        job_set.update_tags(additional_tags=["b"])
    record = Journal(journal_path).job_set(job_set.job_set_id())
    assert record is not None
    assert (record.name, record.tags) == ("renamed", ("a", "b"))


def test_delete_job_set(journal_path: Path, clock: FakeClock) -> None:
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(2), ScriptedBackend(clock=clock))
        job_set.results()
    journal = Journal(journal_path)
    assert journal.delete_job_set(job_set.job_set_id())
    assert not journal.delete_job_set(job_set.job_set_id())
    assert journal.job_sets() == []
    with sqlite3.connect(journal_path) as conn:
        assert conn.execute("SELECT count(*) FROM attempts").fetchone()[0] == 0
    journal.close()


# ---------------------------------------------------------------- retry


def test_retry_failed_reruns_only_what_failed(journal_path: Path, clock: FakeClock) -> None:
    backend = RefusingBackend(
        {"r_2_"}, clock=clock, run_time=10.0, failing_jobs={"r_1_"}, failure_message="warm"
    )
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(10), backend, name="r", max_experiments_per_job=2, shots=4)
        job_set.jobs()
        job_set.managed_jobs()[4].cancel()
        clock.advance(10.0)
        assert job_set.statuses() == [
            JobStatus.DONE,
            JobStatus.ERROR,
            None,
            JobStatus.DONE,
            JobStatus.CANCELLED,
        ]
        clean = ScriptedBackend(clock=clock)
        retried = job_set.retry_failed(backend=clean)
        assert [(m.start_index, m.end_index) for m in retried] == [(2, 3), (4, 5), (8, 9)]
        current = job_set.managed_jobs()
        assert [current[1], current[2], current[4]] == retried
        results = job_set.results()
        assert results.success
        assert results.get_counts() == [{expected_key(i): 4} for i in range(10)]
        assert clean.run_calls == 3
        assert sorted(job.name() for job in clean.submitted) == ["r_1_", "r_2_", "r_4_"]
        assert job_set.retry_failed() == []
    with reopen(journal_path, clock) as other:
        found = other.retrieve_job_set(job_set.job_set_id())
        assert found.statuses() == [JobStatus.DONE] * 5
        assert found.results().get_counts(9) == {expected_key(9): 4}


def test_attempts_and_names_are_read_back(journal_path: Path, clock: FakeClock) -> None:
    backend = RefusingBackend({"a_2_"}, clock=clock, failing_jobs={"a_1_"}, failure_message="hot")
    with in_order(clock=clock) as manager:
        job_set = manager.run(circuits(6), backend, name="a", max_experiments_per_job=2)
        job_set.results()
        job_set.retry_failed(backend=ScriptedBackend(clock=clock))
        job_set.results()
        journal = manager.journal
        assert journal is not None
        journal.flush()
        attempts = journal.attempts(job_set.job_set_id())
        names = journal.experiment_names(job_set.job_set_id())
        first_job = job_set.managed_jobs()[0].job
        assert first_job is not None
    assert [(a.index, a.attempt, a.start_index, a.end_index) for a in attempts] == [
        (0, 0, 0, 1),
        (1, 0, 2, 3),
        (1, 1, 2, 3),
        (2, 0, 4, 5),
        (2, 1, 4, 5),
    ]
    first, failed, rerun, refused, resubmitted = attempts
    assert (first.status, first.job_name, first.submit_error) == (JobStatus.DONE, "a_0_", None)
    assert first.job_id == first_job.job_id()
    assert first.submitted_at is not None and first.finished_at is not None
    assert first.submitted_at <= first.finished_at
    assert (failed.status, rerun.status) == (JobStatus.ERROR, JobStatus.DONE)
    assert failed.error is not None and "hot" in failed.error
    assert refused.job_id is None and refused.status is None
    assert refused.submit_error is not None and "refused a_2_" in refused.submit_error
    assert resubmitted.status == JobStatus.DONE
    assert names == [f"basis_{i}" for i in range(6)]
    with pytest.raises(IBMQJobManagerUnknownJobSet, match="no-such-set"):
        Journal(journal_path).attempts("no-such-set")
    with pytest.raises(IBMQJobManagerUnknownJobSet, match="no-such-set"):
        Journal(journal_path).experiment_names("no-such-set")
    # A set whose jobs were never written (an older version committed them
    # apart from the set's row) is known, with nothing in it.
    with sqlite3.connect(journal_path) as conn:
        conn.execute("DELETE FROM slices WHERE set_id = ?", (job_set.job_set_id(),))
    conn.close()
    journal = Journal(journal_path)
    assert journal.attempts(job_set.job_set_id()) == []
    assert journal.experiment_names(job_set.job_set_id()) == []


def test_retry_leaves_running_and_done_jobs_alone(clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, run_time=lambda index: 0.0 if index == 0 else 9.0)
    with in_order(clock=clock) as manager:
        job_set = manager.run(circuits(3), backend, max_experiments_per_job=1)
        job_set.jobs()
        clock.advance(5.0)
        assert job_set.statuses() == [JobStatus.DONE, JobStatus.RUNNING, JobStatus.RUNNING]
        assert job_set.retry_failed() == []
        assert backend.run_calls == 3


def test_retry_on_the_same_backend(clock: FakeClock) -> None:
    backend = RefusingBackend({"s_0_"}, clock=clock)
    with JobManager(clock=clock, journal=False) as manager:
        job_set = manager.run(circuits(3), backend, name="s", max_experiments_per_job=1, shots=2)
        assert job_set.statuses()[0] is None
        (retried,) = job_set.retry_failed()
        assert retried.job_name == "s_0_"
        assert job_set.results().get_counts(0) == {expected_key(0): 2}


def test_retry_of_a_rebuilt_set_needs_a_backend(journal_path: Path, clock: FakeClock) -> None:
    with JobManager(clock=clock) as manager:
        job_set = manager.run(
            circuits(4), ScriptedBackend(clock=clock, run_time=50.0), max_experiments_per_job=2
        )
        job_set.jobs()
    with reopen(journal_path, clock) as other:
        found = other.retrieve_job_set(job_set.job_set_id())
        with pytest.raises(
            IBMQJobManagerInvalidStateError, match=r"retry_failed\(backend=\.\.\.\)"
        ):
            found.retry_failed()
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="not attached"):
            found.results().get_counts(0)
        stranger = LookupBackend(clock=clock)
        assert len(found.retry_failed(backend=stranger)) == 2
        assert len(stranger.looked_up) == 2  # asked first, did not know them
        assert found.results().success


def test_retry_of_lost_jobs_with_a_provider(journal_path: Path, clock: FakeClock) -> None:
    with JobManager(clock=clock) as manager:
        job_set = manager.run(
            circuits(4), ScriptedBackend(clock=clock, run_time=50.0), max_experiments_per_job=2
        )
        ids = [job.job_id() for job in job_set.jobs()]
    stranger = ScriptedBackend(clock=clock, name="other_backend")
    with reopen(journal_path, clock) as other:
        found = other.retrieve_job_set(job_set.job_set_id(), provider=stranger)
        assert found.statuses() == [None, None]
        message = found.managed_jobs()[1].error_message()
        assert message is not None
        assert f"Job {ids[1]} for experiments 2-3 cannot be found on other_backend" in message
        errors = found.error_messages()
        assert errors is not None and "cannot be found on other_backend" in errors
        assert len(found.retry_failed()) == 2  # on the provider: it can run circuits
        assert found.results().get_counts(3) == {expected_key(3): 1024}


def test_unjournalable_option_must_be_given_again(journal_path: Path, clock: FakeClock) -> None:
    calibration = object()
    with JobManager(clock=clock) as manager:
        with pytest.warns(JournalWarning, match="'calibration'"):
            job_set = manager.run(
                circuits(2),
                CalibratedBackend(clock=clock, run_time=50.0),
                calibration=calibration,
                shots=3,
            )
        job_set.jobs()
    with reopen(journal_path, clock) as other:
        found = other.retrieve_job_set(
            job_set.job_set_id(), provider=CalibratedBackend(clock=clock)
        )
        with pytest.raises(IBMQJobManagerInvalidStateError, match="'calibration'"):
            found.retry_failed()
        (retried,) = found.retry_failed(calibration=calibration)
        assert retried._run_config == {"shots": 3, "calibration": calibration}
        assert found.results().get_counts(1) == {expected_key(1): 3}


# ---------------------------------------------------------------- resubmission


def test_max_resubmits_resubmits_a_failed_job(journal_path: Path, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, failing_jobs={1})
    # One submitting thread: the backend's job 1 is the set's job 1.
    with ThreadPoolExecutor(max_workers=1) as pool, JobManager(pool, clock=clock) as manager:
        job_set = manager.run(
            circuits(6), backend, name="m", max_experiments_per_job=2, shots=5, max_resubmits=1
        )
        results = job_set.results()
        assert results.success
        assert results.get_counts(3) == {expected_key(3): 5}
        assert backend.run_calls == 4
        assert [m._attempt for m in job_set.managed_jobs()] == [0, 1, 0]
    with reopen(journal_path, clock) as other:
        assert other.retrieve_job_set(job_set.job_set_id()).statuses() == [JobStatus.DONE] * 3


def test_max_resubmits_gives_up(clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, failing_jobs={"g_1_"}, failure_message="broken")
    with JobManager(clock=clock) as manager:
        job_set = manager.run(
            circuits(4), backend, name="g", max_experiments_per_job=2, max_resubmits=2
        )
        with pytest.warns(UserWarning, match="experiments 2-3 failed: broken") as caught:
            results = job_set.results()
        assert len(caught) == 1  # the jobs that were replaced do not warn
        assert not results.success
        assert [job.name() for job in backend.submitted].count("g_1_") == 3
        assert job_set.statuses() == [JobStatus.DONE, JobStatus.ERROR]


def test_max_resubmits_after_a_failed_submission(clock: FakeClock) -> None:
    backend = RefusingBackend({"f_0_"}, clock=clock)
    with JobManager(clock=clock, journal=False) as manager:
        job_set = manager.run(
            circuits(2), backend, name="f", max_experiments_per_job=1, max_resubmits=1
        )
        assert job_set.results().success
        assert job_set.statuses() == [JobStatus.DONE, JobStatus.DONE]


def test_cancel_stops_resubmission(clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, failing_jobs={"c_0_"}, run_time=5.0)
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(1), backend, name="c", max_resubmits=3)
        job_set.cancel()
        clock.advance(5.0)
        job_set.results(partial=True)
        assert backend.run_calls == 1


def test_bad_max_resubmits(clock: FakeClock) -> None:
    with JobManager(clock=clock) as manager:
        for bad in (-1, 1.5, True):
            with pytest.raises(managedjob.InvalidInputError, match="max_resubmits"):
                manager.run(circuits(1), ScriptedBackend(clock=clock), max_resubmits=bad)


# ---------------------------------------------------------------- cancel while submitting


class HoldingClock(FakeClock):
    """A fake clock whose first sleep waits until the test lets it go."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.entered.set()
        assert self.release.wait(10)
        super().sleep(seconds)


def test_cancel_right_after_run_catches_every_job(clock: FakeClock) -> None:
    # The submissions are still waiting for the journal when cancel() comes.
    backend = ScriptedBackend(clock=clock, run_time=100.0)
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(6), backend, max_experiments_per_job=1)
        job_set.cancel()
        assert job_set.statuses() == [JobStatus.CANCELLED] * 6


def test_cancel_stops_a_submission_waiting_for_the_job_limit() -> None:
    clock = HoldingClock()
    backend = ScriptedBackend(run_time=1000.0, max_pending_jobs=1, cancellable=False)
    policy = RetryPolicy(job_limit_timeout=100.0)
    with (
        ThreadPoolExecutor(max_workers=1) as pool,  # job 0 is submitted first
        JobManager(pool, clock=clock, retry_policy=policy, journal=False) as manager,
    ):
        job_set = manager.run(circuits(2), backend, max_experiments_per_job=1)
        assert clock.entered.wait(10)  # job 1 waits for job 0 to leave the queue
        canceller = threading.Thread(target=job_set.cancel)
        canceller.start()
        wait_until(lambda: job_set.managed_jobs()[1]._cancel_requested, "the cancellation")
        clock.release.set()
        canceller.join(10)
        assert not canceller.is_alive()
        assert job_set.statuses() == [JobStatus.QUEUED, JobStatus.CANCELLED]
        assert len(backend.submitted) == 1


# ---------------------------------------------------------------- encoding


def _results_of_every_kind() -> list[Any]:
    measured = [basis_circuit(i) for i in range(3)]
    memory = BasicSimulator().run(measured, shots=5, memory=True, seed_simulator=3).result()
    sv = QuantumCircuit(2)
    sv.h(0)
    sv.cp(0.3, 0, 1)
    sv.save_statevector()
    statevector = AerSimulator(method="statevector").run(sv).result()
    un = QuantumCircuit(1)
    un.rx(0.7, 0)
    un.save_unitary()
    unitary = AerSimulator(method="unitary").run(un).result()
    dm = QuantumCircuit(1)
    dm.h(0)
    dm.save_density_matrix()
    density = AerSimulator(method="density_matrix").run(dm).result()
    return [memory, statevector, unitary, density]


def test_results_round_trip() -> None:
    memory, statevector, unitary, density = _results_of_every_kind()
    back = decode_result(encode_result(memory))
    assert [back.get_memory(i) for i in range(3)] == [memory.get_memory(i) for i in range(3)]
    assert back.get_counts() == memory.get_counts()
    assert back.results[0].header == memory.results[0].header
    back = decode_result(encode_result(statevector))
    restored = back.get_statevector(0)
    assert isinstance(restored, Statevector)
    assert restored.equiv(statevector.get_statevector(0))
    assert np.allclose(
        decode_result(encode_result(unitary)).get_unitary(0), unitary.get_unitary(0)
    )
    matrix = decode_result(encode_result(density)).data(0)["density_matrix"]
    assert np.allclose(matrix, density.data(0)["density_matrix"])


class _TaggedExperiment(ExperimentResult):
    """A subclass whose ``to_dict`` adds a field: the journal must ask it."""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "tag": "kept"}


def _optional_fields() -> Result:
    data = ExperimentResultData(counts={"0x1": 3})
    plain = ExperimentResult(
        3, True, data, header={"name": "a"}, status="DONE", seed=7, meas_return="avg", extra=1.5
    )
    bare = ExperimentResult(3, False, ExperimentResultData(counts={"0x0": 3}))
    bare.note = "set after construction: not a field to_dict() writes"
    tagged = _TaggedExperiment(3, True, ExperimentResultData(counts={"0x0": 3}))
    return Result(
        backend_name="b",
        backend_version="1",
        job_id="j",
        success=False,
        results=[plain, bare, tagged],
        date="today",
        status="partial",
        header={"k": 1},
        more={"x": [1, 2]},
    )


def test_results_are_journaled_as_their_to_dict() -> None:
    """The journal's fast reading of a result keeps every field to_dict() has."""
    for result in [*_results_of_every_kind(), _optional_fields()]:
        stored = stored_result_dict(encode_result(result))
        expected = json.loads(
            json.dumps(result.to_dict(), default=lambda value: _encode(value, strict=False))
        )
        assert stored == expected
    tagged = decode_result(encode_result(_optional_fields())).results[2]
    assert tagged.tag == "kept"


def test_sampler_results_are_journaled(journal_path: Path) -> None:
    with JobManager() as manager:
        job_set = manager.run(
            circuits(4), StatevectorSampler(seed=3), max_experiments_per_job=2, shots=6
        )
        expected = job_set.results().get_counts()
    with JobManager(journal=journal_path) as other:
        found = other.retrieve_job_set(job_set.job_set_id())
        assert found.results().get_counts() == expected


def test_run_options_round_trip() -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 1)
    circuit.rx(theta, 0)
    circuit.measure(0, 0)
    options = {
        "shots": 7,
        "seed_simulator": np.int64(3),
        "parameter_binds": [{theta: [0.1, 0.2]}],
        "qobj_header": {"backend": ("a", 1)},
        "noise_model": object(),
    }
    text, unsaved = encode_run_config(options)
    assert unsaved == ["noise_model"]
    (loaded,) = decode_circuits(encode_circuits([circuit]))  # new Parameter objects
    decoded = decode_run_config(text, [loaded])
    assert decoded["shots"] == 7 and decoded["seed_simulator"] == 3
    assert decoded["qobj_header"] == {"backend": ("a", 1)}
    ((key, values),) = decoded["parameter_binds"][0].items()
    assert key in set(loaded.parameters) and values == [0.1, 0.2]


def test_parameter_binds_of_a_rebuilt_set(journal_path: Path, clock: FakeClock) -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(1, 1, name="rot")
    circuit.rx(theta, 0)
    circuit.measure(0, 0)
    with JobManager() as manager:
        job_set = manager.run(
            [circuit], AerSimulator(), parameter_binds=[{theta: [np.pi]}], shots=8
        )
        assert job_set.results().get_counts(0) == {"1": 8}
    with JobManager(journal=journal_path) as other:
        mjob = other.retrieve_job_set(job_set.job_set_id()).managed_jobs()[0]
        qobj = mjob.qobj()
        assert qobj is not None
        ((key, values),) = qobj.config.parameter_binds[0].items()
        assert key.name == "theta" and key in mjob._circuits[0].parameters
        assert values == [np.pi]


# ---------------------------------------------------------------- schema


def test_schema_1_journal_is_migrated(tmp_path: Path, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock)
    first, second = circuits(2), circuits(2, start=2)
    done = backend.run(first, shots=3)
    pending = backend.run(second, shots=3)
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        _apply_migrations(conn, 0, 1)
        conn.execute("INSERT INTO meta VALUES ('application', 'managedjob-journal')")
        conn.execute(
            "INSERT INTO job_sets VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "old",
                "legacy",
                '["v1"]',
                time.time(),
                json.dumps({"name": "scripted_backend"}),
                '{"shots": 3}',
                4,
            ),
        )
        conn.execute(
            "INSERT INTO slices VALUES ('old', 0, 0, 1, ?, 'legacy_0_', ?, 'DONE', ?)",
            (encode_circuits(first), done.job_id(), encode_result(done.result())),
        )
        conn.execute(
            "INSERT INTO slices VALUES ('old', 1, 2, 3, ?, 'legacy_1_', ?, NULL, NULL)",
            (encode_circuits(second), pending.job_id()),
        )
    conn.close()
    with reopen(path, clock) as manager:
        found = manager.retrieve_job_set("old", provider=backend)
        assert (found.name(), found.tags()) == ("legacy", ["v1"])
        assert isinstance(found.jobs()[0], JournaledJob)
        assert found.jobs()[1] is pending
        assert found.results().get_counts() == [{expected_key(i): 3} for i in range(4)]
        assert found.job("basis_3")[1] == 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_schema_2_journal_is_migrated_to_a_set_of_circuits(
    tmp_path: Path, clock: FakeClock
) -> None:
    backend = ScriptedBackend(clock=clock)
    done = backend.run(circuits(2), shots=3)
    path = tmp_path / "v2.sqlite3"
    with sqlite3.connect(path) as conn:
        _apply_migrations(conn, 0, 2)
        conn.execute("INSERT INTO meta VALUES ('application', 'managedjob-journal')")
        conn.execute(
            "INSERT INTO job_sets (id, name, tags, created_at, target, run_config, experiments) "
            "VALUES ('v2', 'two', '[]', ?, ?, '{}', 2)",
            (time.time(), json.dumps({"name": "scripted_backend"})),
        )
        conn.execute(
            "INSERT INTO slices (set_id, idx, start_index, end_index, names, circuits) "
            "VALUES ('v2', 0, 0, 1, '[\"basis_0\", \"basis_1\"]', ?)",
            (encode_circuits(circuits(2)),),
        )
        conn.execute(
            "INSERT INTO attempts (set_id, idx, attempt, job_name, job_id, status, result) "
            "VALUES ('v2', 0, 0, 'two_0_', ?, 'DONE', ?)",
            (done.job_id(), encode_result(done.result())),
        )
    conn.close()
    with reopen(path, clock) as manager:
        found = manager.retrieve_job_set("v2")
        assert found.results().get_counts() == [{expected_key(i): 3} for i in range(2)]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert conn.execute("SELECT workload FROM job_sets").fetchall() == [("circuits",)]
    conn.close()


def test_a_set_records_its_workload(journal_path: Path, clock: FakeClock) -> None:
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(2), ScriptedBackend(clock=clock), shots=3)
        job_set.results()
    stored = Journal(journal_path).stored_job_set(job_set.job_set_id())
    assert stored.workload == CIRCUITS
    assert workload_codec(CIRCUITS).kind == CIRCUITS


def test_a_set_of_an_unknown_workload_is_refused(journal_path: Path, clock: FakeClock) -> None:
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(2), ScriptedBackend(clock=clock), shots=3)
        job_set.results()
    set_id = job_set.job_set_id()
    with sqlite3.connect(journal_path) as conn:
        conn.execute("UPDATE job_sets SET workload = 'later' WHERE id = ?", (set_id,))
    conn.close()
    journal = Journal(journal_path)
    with pytest.raises(JournalError, match="workload 'later'"):
        journal.circuits(set_id)
    with pytest.raises(JournalError, match="workload 'later'"):
        journal.load_result(set_id, 0, 0)
    with reopen(journal_path, clock) as other, pytest.raises(JournalError, match="'later'"):
        other.retrieve_job_set(set_id)
    (record,) = journal.job_sets()  # listing does not need the codec
    assert record.job_set_id == set_id


# ---------------------------------------------------------------- security


TOKEN = "tok-7c1e9a58d2b44f0e9b6d3a1f0c8e2d4b"


class TokenBackend(ScriptedBackend):
    """A backend whose service holds credentials, as IBM's do."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = TOKEN
        self.service = SimpleNamespace(
            token=TOKEN, channel="ibm_quantum_platform", _account={"token": TOKEN}
        )

    def __repr__(self) -> str:
        return f"<TokenBackend token={TOKEN}>"


def _every_payload(path: Path) -> list[bytes]:
    """The journal's files, and every compressed value in it, decompressed."""
    payloads = [file.read_bytes() for file in path.parent.iterdir()]
    with sqlite3.connect(path) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                for value in row:
                    if isinstance(value, bytes):
                        # Repeated circuit bodies and result columns start with a tag.
                        tagged = value[:4] in (CIRCUITS_MAGIC, RESULT_COLUMNS)
                        payloads.append(zlib.decompress(value[4:] if tagged else value))
                    elif isinstance(value, str):
                        payloads.append(value.encode())
    conn.close()
    return payloads


def test_journal_holds_no_credentials(journal_path: Path, clock: FakeClock) -> None:
    backend = TokenBackend(clock=clock, run_time=1.0)
    with JobManager(clock=clock) as manager:
        job_set = manager.run(
            circuits(4), backend, max_experiments_per_job=2, job_tags=["sec"], shots=3
        )
        assert job_set.results().success
        job_set.retry_failed()
    with reopen(journal_path, clock) as other:
        other.retrieve_job_set(job_set.job_set_id(), provider=backend).results()
    Journal(journal_path).close()
    payloads = _every_payload(journal_path)
    assert any(b"scripted_backend" in payload for payload in payloads)  # the search works
    assert not any(TOKEN.encode() in payload for payload in payloads)


def test_runtime_service_token_stays_out(journal_path: Path) -> None:
    service = FakeRuntimeService(token=TOKEN, run_time=5.0)
    clock = service.clock
    assert isinstance(clock, FakeClock)
    with JobManager(clock=clock) as manager:
        job_set = manager.run(circuits(4), service.backend(), max_experiments_per_job=2, shots=3)
        job_set.jobs()
    with reopen(journal_path, clock) as other:
        found = other.retrieve_job_set(job_set.job_set_id(), provider=service)
        assert [job.job_id() for job in found.jobs()] == [job.job_id() for job in job_set.jobs()]
        clock.advance(5.0)
        assert found.results().get_counts() == [{expected_key(i): 3} for i in range(4)]
    Journal(journal_path).close()
    payloads = _every_payload(journal_path)
    assert any(b"fake_runtime_backend" in payload for payload in payloads)
    assert not any(TOKEN.encode() in payload for payload in payloads)


# The pipe between a command and the worker processes it starts carries
# pickles (a backend, its results); nothing stored in a file is unpickled.
PICKLE_PIPE = {"_workers.py", "_worker_main.py"}


def test_nothing_is_unpickled() -> None:
    banned = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "shelve", "joblib"}
    for module in sorted(SRC.rglob("*.py")):
        if module.name in PICKLE_PIPE and module.parent.name == "targets":
            continue
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = {alias.name.split(".")[0] for alias in node.names}
                assert all(alias.asname is None for alias in node.names if alias.name == "marshal")
            elif isinstance(node, ast.ImportFrom):
                imported = {(node.module or "").split(".")[0]}
                banned_here = banned | {"marshal"}  # only ``marshal.dumps``, below
                assert not imported & banned_here, f"{module.name} imports {imported}"
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                # marshal only writes bytes to compare values (result columns):
                # nothing is ever read back with it.
                if node.value.id == "marshal":
                    assert node.attr == "dumps", f"{module.name} uses marshal.{node.attr}"
                continue
            else:
                continue
            assert not imported & banned, f"{module.name} imports {imported & banned}"


def test_closing_the_manager_leaves_the_journal_file_alone_complete(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "alone" / "journal.sqlite3"
    with JobManager(journal=path, clock=clock) as manager:
        job_set = manager.run(circuits(2), ScriptedBackend(clock=clock))
        job_set.results()
        assert {p.name for p in path.parent.iterdir()} >= {"journal.sqlite3-wal"}
    assert [p.name for p in path.parent.iterdir()] == ["journal.sqlite3"]
    copy = tmp_path / "copy.sqlite3"
    copy.write_bytes(path.read_bytes())  # the file alone holds everything
    with JobManager(journal=copy, clock=clock) as other:
        results = other.retrieve_job_set(job_set.job_set_id()).results()
    assert results.get_counts(1) == {expected_key(1): 1024}
