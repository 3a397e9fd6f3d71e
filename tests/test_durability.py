"""Durability: a killed process, two processes at once, broken and read-only journals."""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus

from helpers import LookupBackend, basis_circuit, expected_key, wait_until
from managedjob import (
    IBMQJobManagerInvalidStateError,
    IBMQManagedResultDataNotAvailable,
    InvalidInputError,
    JobManager,
)
from managedjob._journal import (
    SCHEMA_VERSION,
    Journal,
    JournaledJob,
    JournalError,
    JournalPolicy,
    JournalWarning,
)
from managedjob.testing import FakeClock, ScriptedBackend

POSIX = os.name == "posix"
IS_ROOT = POSIX and os.geteuid() == 0

# Run by the child processes: a crash victim, and a busy writer.
CHILD = textwrap.dedent(
    """
    import sys
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from qiskit import QuantumCircuit

    from managedjob import JobManager, SystemClock
    from managedjob.testing import FakeClock, ScriptedBackend


    def basis_circuit(index, width=3):
        circuit = QuantumCircuit(width, width, name=f"basis_{index}")
        for bit in range(width):
            if (index >> bit) & 1:
                circuit.x(bit)
        circuit.measure(range(width), range(width))
        return circuit


    mode = sys.argv[1]
    if mode == "crash":
        # Jobs 0-2 finish within a second; the others would take an hour. One
        # submitting thread, so that job i is the backend's job i.
        backend = ScriptedBackend(
            clock=SystemClock(),
            run_time=lambda index: 0.2 + 0.2 * index if index < 3 else 3600.0,
        )
        manager = JobManager(executor=ThreadPoolExecutor(max_workers=1))
        job_set = manager.run(
            [basis_circuit(i) for i in range(12)],
            backend,
            name="crash",
            max_experiments_per_job=2,
            shots=10,
        )
        print(job_set.job_set_id(), flush=True)
        threading.Event().wait()  # until killed
    elif mode == "busy":
        label, start_file = sys.argv[2], Path(sys.argv[3])
        Path(f"{start_file}.{label}").touch()
        deadline = time.monotonic() + 60
        while not start_file.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        clock = FakeClock()
        backend = ScriptedBackend(clock=clock)
        with JobManager(clock=clock) as manager:
            for number in range(8):
                job_set = manager.run(
                    [basis_circuit(i) for i in range(number, number + 6)],
                    backend,
                    name=f"{label}-{number}",
                    job_tags=[label],
                    max_experiments_per_job=2,
                    shots=number + 1,
                )
                job_set.results()
    """
)


@pytest.fixture
def child(tmp_path: Path) -> Path:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    return script


def child_env(journal: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MANAGEDJOB_JOURNAL"] = str(journal)
    env.pop("PYTHONWARNINGS", None)
    return env


# ---------------------------------------------------------------- crash


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
def test_killed_process_set_is_retrieved_and_retried(tmp_path: Path, child: Path) -> None:
    journal_file = tmp_path / "crash" / "journal.sqlite3"
    process = subprocess.Popen(
        [sys.executable, str(child), "crash"],
        env=child_env(journal_file),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def three_finished() -> bool:
            assert process.poll() is None, process.communicate()[1]
            if not journal_file.exists():
                return False
            records = Journal(journal_file).job_sets()
            if not records:
                return False
            return records[0].submitted_jobs == 6 and records[0].finished_jobs >= 3

        wait_until(
            three_finished,
            "every job id and three results of the child in the journal",
            timeout=60.0,
            interval=0.05,
        )
    finally:
        process.send_signal(signal.SIGKILL)
        stdout, _ = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL
    job_set_id = stdout.strip()
    (record,) = Journal(journal_file).job_sets()
    assert record.job_set_id == job_set_id
    assert (record.name, record.jobs, record.submitted_jobs, record.finished_jobs) == (
        "crash",
        6,
        6,
        3,
    )

    clock = FakeClock()
    provider = LookupBackend(clock=clock)
    with JobManager(journal=journal_file, clock=clock) as manager:
        job_set = manager.retrieve_job_set(job_set_id, provider=provider)
        assert job_set.name() == "crash"
        assert job_set.statuses() == [JobStatus.DONE] * 3 + [None] * 3
        assert all(isinstance(job, JournaledJob) for job in job_set.jobs()[:3])
        assert len(provider.looked_up) == 3  # only the unfinished jobs were looked up
        for job_id, mjob in zip(provider.looked_up, job_set.managed_jobs()[3:], strict=True):
            message = mjob.error_message()
            assert message is not None
            assert f"Job {job_id} for experiments {mjob.start_index}-{mjob.end_index}" in message
            assert "cannot be found on scripted_backend" in message

        partial = job_set.results()
        assert not partial.success
        for index in range(6):  # read from the journal: the target never ran them
            assert partial.get_counts(index) == {expected_key(index): 10}
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="cannot be found"):
            partial.get_counts(6)

        retried = job_set.retry_failed()
        assert [(m.start_index, m.end_index) for m in retried] == [(6, 7), (8, 9), (10, 11)]
        results = job_set.results()
        assert results.success
        assert results.get_counts() == [{expected_key(i): 10} for i in range(12)]
        assert provider.run_calls == 3

    with JobManager(journal=journal_file, clock=clock) as later:
        final = later.retrieve_job_set(job_set_id)
        assert final.statuses() == [JobStatus.DONE] * 6
        assert final.results().get_counts() == [{expected_key(i): 10} for i in range(12)]


# ---------------------------------------------------------------- two writers


def test_two_processes_share_one_journal(tmp_path: Path, child: Path) -> None:
    journal_file = tmp_path / "shared" / "journal.sqlite3"
    start = tmp_path / "start"
    labels = ("first", "second")
    processes = [
        subprocess.Popen(
            [sys.executable, str(child), "busy", label, str(start)],
            env=child_env(journal_file),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label in labels
    ]
    try:
        wait_until(
            lambda: all(Path(f"{start}.{label}").exists() for label in labels),
            "both writers to be ready",
            timeout=60.0,
            interval=0.05,
        )
        start.touch()  # both write at once from here
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()

    with sqlite3.connect(journal_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    records = Journal(journal_file).job_sets()
    assert sorted(record.name for record in records) == sorted(
        f"{label}-{number}" for label in labels for number in range(8)
    )
    assert all(record.finished_jobs == record.jobs == 3 for record in records)
    with JobManager(journal=journal_file, clock=FakeClock()) as manager:
        for label in labels:
            for job_set in manager.job_sets(tags=[label], from_journal=True):
                number = int(job_set.name().rsplit("-", 1)[1])
                counts = job_set.results().get_counts()
                assert counts == [{expected_key(number + i): number + 1} for i in range(6)]


def test_set_stopped_before_its_circuits_were_written(tmp_path: Path) -> None:
    """A set's shape is written with its row; circuits come per slice, before
    each submission. A process that stops in between leaves slices with no
    circuits: retrieval says so, and retry_failed() names what it cannot run."""
    journal_file = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    with JobManager(journal=journal_file, clock=clock) as manager:
        work = [basis_circuit(i) for i in range(6)]
        job_set = manager.run(work, ScriptedBackend(clock=clock), max_experiments_per_job=2)
        job_set.results()
    # What a process stopped after the first slice's write leaves behind.
    with sqlite3.connect(journal_file) as conn:
        conn.execute("UPDATE slices SET circuits = NULL, names = '[]' WHERE idx > 0")
        conn.execute(
            "UPDATE attempts SET job_id = NULL, submitted_at = NULL, status = NULL, "
            "result = NULL, finished_at = NULL WHERE idx > 0"
        )
    conn.close()
    (record,) = Journal(journal_file).job_sets()
    assert (record.jobs, record.submitted_jobs, record.finished_jobs) == (3, 1, 1)
    names = Journal(journal_file).experiment_names(record.job_set_id)
    assert names == ["basis_0", "basis_1", None, None, None, None]
    with JobManager(journal=journal_file, clock=clock) as later:
        # A backend that does not have the jobs: asked by tag, it says they never ran.
        found = later.retrieve_job_set(job_set.job_set_id(), provider=ScriptedBackend(clock=clock))
        assert found.statuses() == [JobStatus.DONE, None, None]
        message = found.managed_jobs()[1].error_message()
        assert message is not None
        assert "Experiments 2-3 were never submitted" in message
        assert "Their circuits are not in the journal either" in message
        assert found.results().get_counts(1) == {expected_key(1): 1024}
        other = ScriptedBackend(clock=clock)
        with pytest.raises(
            IBMQJobManagerInvalidStateError,
            match=r"Experiments 2-3, 4-5 of job set .* were not resubmitted: .*circuits of job 1 "
            r".* are not in the journal.*retry_failed\(circuits=\.\.\.\)",
        ):
            found.retry_failed(backend=other)
        assert other.run_calls == 0  # no other slice could be retried
        with pytest.raises(InvalidInputError, match=r"circuits\[3\] must be a QuantumCircuit"):
            found.retry_failed(circuits=[*work[:3], "basis_3", *work[4:]])
        with pytest.raises(InvalidInputError, match="the set's 6 circuits, as given to run"):
            found.retry_failed(circuits=work[:4])
        retried = found.retry_failed(circuits=work)
        assert [(m.start_index, m.end_index) for m in retried] == [(2, 3), (4, 5)]
        assert found.results().get_counts() == [{expected_key(i): 1024} for i in range(6)]
        assert other.run_calls == 2


def test_retry_failed_resubmits_every_slice_it_can(tmp_path: Path) -> None:
    """Slices whose circuits are journaled are resubmitted even when others' are not."""
    journal_file = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    with JobManager(journal=journal_file, clock=clock) as manager:
        work = [basis_circuit(i) for i in range(8)]
        job_set = manager.run(work, ScriptedBackend(clock=clock), max_experiments_per_job=2)
        job_set.results()
    with sqlite3.connect(journal_file) as conn:  # slices 1-3 never ran; 2 lacks its circuits
        conn.execute("UPDATE slices SET circuits = NULL, names = '[]' WHERE idx = 2")
        conn.execute(
            "UPDATE attempts SET job_id = NULL, submitted_at = NULL, status = NULL, "
            "result = NULL, finished_at = NULL WHERE idx > 0"
        )
    conn.close()
    backend = ScriptedBackend(clock=clock)
    with JobManager(journal=journal_file, clock=clock) as later:
        found = later.retrieve_job_set(job_set.job_set_id(), provider=backend)
        with pytest.raises(IBMQJobManagerInvalidStateError, match=r"Experiments 4-5 of job set"):
            found.retry_failed()
        wait_until(lambda: backend.run_calls == 2, "slices 1 and 3 to be resubmitted")
        assert found.statuses()[2] is None
        assert found.managed_jobs()[2].error_message() is not None
        retried = found.retry_failed(circuits=work)
        assert [(m.start_index, m.end_index) for m in retried] == [(4, 5)]
        assert found.results().get_counts() == [{expected_key(i): 1024} for i in range(8)]
        assert backend.run_calls == 3
        # The circuits passed again are journaled now, for a later retry.
        assert later.journal is not None and later.journal.flush(30)
        assert Journal(journal_file).circuits(job_set.job_set_id()) == work


# ---------------------------------------------------------------- broken files


def _real_journal(path: Path) -> None:
    clock = FakeClock()
    with JobManager(journal=path, clock=clock) as manager:
        manager.run([basis_circuit(0)], ScriptedBackend(clock=clock)).results()
        journal = manager.journal
    assert journal is not None
    journal.close()


def _not_sqlite(path: Path) -> None:
    path.write_text("my lab notes, not a database\n", encoding="utf-8")


def _foreign_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.close()


def _newer_schema(path: Path) -> None:
    _real_journal(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()


def _corrupted(path: Path) -> None:
    _real_journal(path)
    data = bytearray(path.read_bytes())
    noise = random.Random(7)
    for index in range(100, len(data)):  # keep the 100-byte header, garble the rest
        data[index] = noise.randrange(256)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_not_sqlite, "not an SQLite database"),
        (_foreign_sqlite, "another application"),
        (_newer_schema, "newer managedjob"),
        (_corrupted, "cannot be read as a managedjob journal"),
    ],
    ids=["not-sqlite", "foreign", "newer", "corrupted"],
)
def test_broken_journal_is_refused_and_left_alone(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    path = tmp_path / "journal.sqlite3"
    make(path)
    before = path.read_bytes()
    with pytest.raises(JournalError, match=message) as info:
        Journal(path)
    assert info.value.path == path
    assert str(path) in str(info.value)

    clock = FakeClock()
    backend = ScriptedBackend(clock=clock)
    circuits = [basis_circuit(i) for i in range(3)]
    with JobManager(journal=path, clock=clock) as manager:
        with pytest.raises(JournalError, match=message):
            manager.run(circuits, backend)
        with pytest.raises(JournalError, match=message):
            manager.retrieve_job_set("anything")
    assert backend.run_calls == 0
    with JobManager(journal=path, clock=clock, journal_required=False) as manager:
        with pytest.warns(JournalWarning, match="Running without a journal"):
            job_set = manager.run(circuits, backend, shots=2)
        assert job_set.results().get_counts() == [{expected_key(i): 2} for i in range(3)]
    assert path.read_bytes() == before


# ---------------------------------------------------------------- the failure policy


def test_a_required_journal_raises_the_failure(tmp_path: Path) -> None:
    error = JournalError("disk full", tmp_path)
    with pytest.raises(JournalError) as info:
        JournalPolicy(True).failed(error, "Running without a journal")
    assert info.value is error


def test_a_required_journal_raises_the_error_that_names_the_consequence(tmp_path: Path) -> None:
    error = JournalError("disk full", tmp_path)
    wrapped = JournalError("experiments 0-1 were not submitted", tmp_path)
    with pytest.raises(JournalError) as info:
        JournalPolicy(True).failed(error, "runs on", raise_as=wrapped)
    assert info.value is wrapped and info.value.__cause__ is error


def test_an_optional_journal_warns_and_goes_on(tmp_path: Path) -> None:
    policy = JournalPolicy(False)
    for _ in range(2):
        with pytest.warns(JournalWarning, match="^Running without a journal: disk full$"):
            policy.failed(JournalError("disk full", tmp_path), "Running without a journal")


def test_a_policy_for_one_set_warns_once(tmp_path: Path) -> None:
    policy = JournalPolicy(False).once()
    with pytest.warns(JournalWarning, match="not fully journaled"):
        policy.failed(
            JournalError("disk full", tmp_path), "Job set x runs on, not fully journaled"
        )
    policy.failed(JournalError("disk full", tmp_path), "Job set x runs on, not fully journaled")
    with pytest.raises(JournalError):  # a required journal raises every time
        JournalPolicy(True).once().failed(JournalError("disk full", tmp_path), "once")


# ---------------------------------------------------------------- read-only


def _refused_then_run_without(path: Path) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock)
    circuits = [basis_circuit(i) for i in range(4)]
    with JobManager(journal=path, clock=clock) as manager:
        with pytest.raises(JournalError) as info:
            manager.run(circuits, backend, max_experiments_per_job=2)
        assert str(path) in str(info.value)
        assert "journal=False" in str(info.value)  # says what to do
    assert backend.run_calls == 0
    with JobManager(journal=path, clock=clock, journal_required=False) as manager:
        with pytest.warns(JournalWarning, match="without a journal"):
            job_set = manager.run(circuits, backend, max_experiments_per_job=2, shots=3)
        assert job_set.results().get_counts() == [{expected_key(i): 3} for i in range(4)]
    assert backend.run_calls == 2


def test_journal_path_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    _refused_then_run_without(blocker / "journal.sqlite3")


@pytest.mark.skipif(not POSIX or IS_ROOT, reason="needs POSIX permissions that bind the user")
def test_read_only_directory(tmp_path: Path) -> None:
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        _refused_then_run_without(directory / "journal.sqlite3")
    finally:
        directory.chmod(0o700)


@pytest.mark.skipif(not POSIX or IS_ROOT, reason="needs POSIX permissions that bind the user")
def test_read_only_journal_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    _real_journal(path)
    path.chmod(0o400)
    try:
        (record,) = Journal(path).job_sets()  # reading still works
        assert record.finished_jobs == 1
        _refused_then_run_without(path)
    finally:
        path.chmod(0o600)


def test_circuits_without_qpy_form_still_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    odd = QuantumCircuit(1, 1, name="odd", metadata={"handle": object()})
    odd.measure(0, 0)
    with (
        caplog.at_level(logging.WARNING, logger="managedjob"),
        JobManager(journal=path, clock=clock) as manager,
    ):
        job_set = manager.run([odd], ScriptedBackend(clock=clock), shots=2)
        assert job_set.results().get_counts(0) == {"0": 2}
    assert "cannot be stored as QPY" in caplog.text
    with pytest.raises(JournalError, match="not in the journal"):
        Journal(path).circuits(job_set.job_set_id())
    with JobManager(journal=path, clock=clock) as other:  # the results are there
        assert other.retrieve_job_set(job_set.job_set_id()).results().get_counts(0) == {"0": 2}


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_read_only_file_system() -> None:
    # No one, root included, can create a file in /proc: a read-only place
    # that holds also where permissions do not bind (as for root in CI).
    _refused_then_run_without(Path("/proc/self/managedjob-journal.sqlite3"))


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in directory.iterdir()
    }


def test_a_journal_opened_read_only_is_read_and_never_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.sqlite3"
    _real_journal(path)
    before = _snapshot(tmp_path)
    with Journal(path, read_only=True) as journal:
        assert journal.read_only and "read-only" in repr(journal)
        (record,) = journal.job_sets()
        assert record.finished_jobs == 1
        assert len(journal.attempts(record.job_set_id)) == 1
        clock = FakeClock()
        backend = ScriptedBackend(clock=clock)
        with (
            JobManager(journal=journal, clock=clock) as manager,
            pytest.raises(JournalError, match="read-only"),
        ):
            manager.run([basis_circuit(0)], backend)
        assert backend.run_calls == 0
    monkeypatch.setenv("MANAGEDJOB_JOURNAL", str(path))
    from managedjob.cli import main

    assert main(["list"]) == 0
    assert record.job_set_id in capsys.readouterr().out
    after = _snapshot(tmp_path)
    assert after["journal.sqlite3"] == before["journal.sqlite3"]  # not a byte, not a time
    # SQLite may make the WAL's index beside it to read; nothing goes into the log.
    assert set(after) <= {"journal.sqlite3", "journal.sqlite3-shm", "journal.sqlite3-wal"}
    assert not after.get("journal.sqlite3-wal", (b"", 0))[0]


def test_a_read_only_journal_must_exist(tmp_path: Path) -> None:
    path = tmp_path / "missing.sqlite3"
    with pytest.raises(JournalError, match="no journal at"):
        Journal(path, read_only=True)
    assert not path.exists()


def test_a_journal_of_an_older_schema_is_not_read_read_only(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    _real_journal(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    with pytest.raises(JournalError, match="older managedjob"):
        Journal(path, read_only=True)


@pytest.mark.skipif(not POSIX or IS_ROOT, reason="needs POSIX permissions that bind the user")
def test_a_journal_in_a_directory_nobody_may_write_can_be_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # As on a read-only mount: SQLite cannot make the WAL's shared-memory file.
    directory = tmp_path / "mounted"
    directory.mkdir()
    path = directory / "journal.sqlite3"
    _real_journal(path)
    for leftover in directory.glob("journal.sqlite3-*"):
        leftover.unlink()
    path.chmod(0o400)
    directory.chmod(0o500)
    try:
        (record,) = Journal(path, read_only=True).job_sets()
        monkeypatch.setenv("MANAGEDJOB_JOURNAL", str(path))
        from managedjob.cli import main

        assert main(["list"]) == 0
        assert record.job_set_id in capsys.readouterr().out
    finally:
        directory.chmod(0o700)
        path.chmod(0o600)
