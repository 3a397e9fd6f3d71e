"""Errors of the right type: results without counts, damaged journals, bad timeouts."""

from __future__ import annotations

import json
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.exceptions import QiskitError
from qiskit.providers import Options
from qiskit.providers.basic_provider import BasicSimulator
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from helpers import basis_circuit, expected_key
from managedjob import (
    IBMQJobManagerInvalidStateError,
    IBMQManagedResultDataNotAvailable,
    InvalidInputError,
    JobManager,
)
from managedjob._journal import Journal, JournalError, JournalWarning
from managedjob._journal._schema import apply_migrations as _apply_migrations
from managedjob.testing import FakeClock, ScriptedBackend


def test_an_experiment_without_counts_is_result_data_not_available(tmp_path: Path) -> None:
    unmeasured = QuantumCircuit(2, name="unmeasured")
    unmeasured.h(0)
    with JobManager(journal=tmp_path / "journal.sqlite3") as manager:
        job_set = manager.run([basis_circuit(1), unmeasured], AerSimulator(), shots=5)
        results = job_set.results()
        assert results.get_counts(0) == {expected_key(1): 5}
        with pytest.raises(
            IBMQManagedResultDataNotAvailable, match="Experiment 1 has no counts"
        ) as caught:
            results.get_counts(1)
        assert isinstance(caught.value, QiskitError)  # legacy handlers still catch it
        assert isinstance(caught.value.__cause__, QiskitError)
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="'unmeasured' has no counts"):
            results.get_counts("unmeasured")
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="Experiment 1 has no counts"):
            results.get_counts()
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="has no memory"):
            results.get_memory(0)  # memory was not asked for


# ---------------------------------------------------------------- damaged journals


def _journal_with_one_set(path: Path) -> str:
    with JobManager(journal=path) as manager:
        job_set = manager.run([basis_circuit(0)], BasicSimulator(), shots=3)
        job_set.results()
        return job_set.job_set_id()


@pytest.mark.parametrize(
    ("column", "value"),
    [("tags", "not json"), ("target", "[1, 2]"), ("created_at", "soon"), ("tags", "{")],
)
def test_a_damaged_row_is_a_journal_error_naming_its_set(
    tmp_path: Path, column: str, value: str
) -> None:
    path = tmp_path / "journal.sqlite3"
    job_set_id = _journal_with_one_set(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE job_sets SET {column} = ?", (value,))
    conn.close()
    journal = Journal(path)
    with pytest.raises(JournalError, match=f"job set {job_set_id} .* is damaged"):
        journal.job_sets()
    with pytest.raises(JournalError, match=f"job set {job_set_id} .* is damaged"):
        journal.job_set(job_set_id)
    damaged = pytest.raises(JournalError, match=f"job set {job_set_id} .* is damaged")
    with JobManager(journal=path) as manager, damaged:
        manager.retrieve_job_set(job_set_id)
    assert journal.delete_job_set(job_set_id)
    assert journal.job_sets() == []


def test_a_damaged_slice_row_is_a_journal_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    job_set_id = _journal_with_one_set(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE slices SET names = 'garbage'")
    conn.close()
    damaged = pytest.raises(JournalError, match=f"job set {job_set_id} .* is damaged")
    with JobManager(journal=path) as manager, damaged:
        manager.retrieve_job_set(job_set_id)


def test_damaged_pages_are_not_called_another_application(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    _journal_with_one_set(path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'meta'").fetchone()
    conn.close()
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    start = (root - 1) * page_size
    data[start : start + page_size] = bytes([0xA5]) * page_size  # the meta table's page
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError) as caught:
        Journal(path).job_sets()
    assert "another application" not in str(caught.value)
    assert "cannot be read as a managedjob journal" in str(caught.value)


def test_a_shut_down_executor_raises_what_the_legacy_code_let_through() -> None:
    executor = ThreadPoolExecutor(max_workers=1)
    executor.shutdown()
    refused = pytest.raises(RuntimeError, match="cannot schedule new futures")
    with JobManager(executor=executor, journal=False) as manager, refused as caught:
        manager.run([basis_circuit(0)], BasicSimulator(), shots=3)
    assert isinstance(caught.value, IBMQJobManagerInvalidStateError)
    assert "experiments 0-0" in str(caught.value)


# ---------------------------------------------------------------- values checked first


@pytest.mark.parametrize("shots", ["100", 1.5, -5, 0, True, float("nan")])
def test_bad_shots_are_refused_before_anything_is_submitted(tmp_path: Path, shots: Any) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock)
    path = tmp_path / "journal.sqlite3"
    with JobManager(journal=path, clock=clock) as manager:
        with pytest.raises(InvalidInputError, match=f"'shots' must be .* not {shots!r}"):
            manager.run([basis_circuit(0)], backend, shots=shots)
        assert manager.journal is not None and manager.journal.job_sets() == []
    assert backend.run_calls == 0


def test_circuits_wider_than_the_device_are_refused_by_index(tmp_path: Path) -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock)  # five qubits
    wide = QuantumCircuit(6, 6, name="wide")
    wide.measure(range(6), range(6))
    with JobManager(journal=tmp_path / "journal.sqlite3", clock=clock) as manager:
        with pytest.raises(InvalidInputError, match=r"circuit 2 \('wide'\) has 6 qubits"):
            manager.run([basis_circuit(0), basis_circuit(1), wide], backend)
        with pytest.raises(InvalidInputError, match="backend 'fake_manila' has 5"):
            manager.run([wide], FakeManilaV2())
    assert backend.run_calls == 0


def test_aer_picking_its_method_still_runs_wide_clifford_circuits(tmp_path: Path) -> None:
    wide = QuantumCircuit(40, 40, name="wide")
    wide.x(39)
    wide.measure(range(40), range(40))
    with JobManager(journal=tmp_path / "journal.sqlite3") as manager:
        counts = manager.run([wide], AerSimulator(), shots=4).results().get_counts(0)
    assert counts == {"1" + "0" * 39: 4}


# ---------------------------------------------------------------- secrets


class KeyedBackend(ScriptedBackend):
    """A backend whose run options include credentials."""

    @classmethod
    def _default_options(cls) -> Options:
        return Options(
            shots=1024, memory=False, seed_simulator=None, api_key=None, user_token=None
        )


def test_run_options_that_look_like_secrets_are_never_journaled(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    backend = KeyedBackend(clock=clock)
    secret = "s3cr3t-value-4711"
    with JobManager(journal=path, clock=clock) as manager:
        with pytest.warns(
            JournalWarning, match=r"'api_key', 'user_token' .* look like credentials"
        ):
            job_set = manager.run(
                [basis_circuit(0), basis_circuit(1)],
                backend,
                max_experiments_per_job=1,
                shots=9,
                api_key=secret,
                user_token=secret,
            )
        assert job_set.results().get_counts() == [{expected_key(i): 9} for i in range(2)]
        job_set_id = job_set.job_set_id()
        assert manager.journal is not None and manager.journal.flush(30)
    assert secret.encode() not in path.read_bytes()
    for companion in tmp_path.glob("journal.sqlite3-*"):
        assert secret.encode() not in companion.read_bytes()
    with sqlite3.connect(path) as conn:
        (config,) = conn.execute("SELECT run_config FROM job_sets").fetchone()
    conn.close()
    assert "shots" in config and "api_key" not in config and "user_token" not in config

    with sqlite3.connect(path) as conn:  # slice 1 never ran: something to retry
        conn.execute(
            "UPDATE attempts SET job_id = NULL, submitted_at = NULL, status = NULL, "
            "result = NULL, finished_at = NULL WHERE idx = 1"
        )
    conn.close()
    backend = KeyedBackend(clock=clock)  # knows none of the jobs
    with JobManager(journal=path, clock=clock) as later:
        found = later.retrieve_job_set(job_set_id, provider=backend)
        with pytest.raises(
            IBMQJobManagerInvalidStateError, match=r"'api_key', 'user_token' .* pass them"
        ):
            found.retry_failed(backend=backend)
        assert backend.run_calls == 0
        (retried,) = found.retry_failed(api_key=secret, user_token=secret)
        assert retried.start_index == 1
        assert found.results().get_counts(1) == {expected_key(1): 9}
        assert backend.run_calls == 1


# ---------------------------------------------------------------- odd journal files


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and FIFOs")
def test_a_dangling_symlink_is_refused_not_followed(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.symlink_to(tmp_path / "elsewhere.sqlite3")
    with pytest.raises(JournalError, match="symbolic link to a missing file"):
        Journal(path)
    refused = pytest.raises(JournalError, match="symbolic link to a missing file")
    with JobManager(journal=path) as manager, refused:
        manager.run([basis_circuit(0)], BasicSimulator())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journal.sqlite3"]


@pytest.mark.skipif(os.name != "posix", reason="symbolic links and FIFOs")
def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    os.mkfifo(path)
    with pytest.raises(JournalError, match="is not a regular file"):
        Journal(path)  # used to block forever on the first read


def test_a_migrated_journal_is_compacted(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    blob = os.urandom(2_000_000)  # incompressible: the size of the file is the data's
    with sqlite3.connect(path) as conn:
        _apply_migrations(conn, 0, 1)
        conn.execute("INSERT INTO meta VALUES ('application', 'managedjob-journal')")
        conn.execute(
            "INSERT INTO job_sets VALUES ('old', 'legacy', '[]', 0, ?, '{}', 1)",
            (json.dumps({"name": "x"}),),
        )
        conn.execute(
            "INSERT INTO slices VALUES ('old', 0, 0, 0, ?, 'legacy_0_', NULL, NULL, NULL)",
            (blob,),
        )
    conn.close()
    before = path.stat().st_size
    Journal(path).close()
    after = sum(p.stat().st_size for p in tmp_path.glob("old.sqlite3*"))
    assert after < 1.3 * before, (before, after)


def test_a_failed_refresh_keeps_the_set_the_manager_had(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with JobManager(journal=path) as manager:
        job_set = manager.run([basis_circuit(0)], BasicSimulator(), shots=3)
        job_set.results()
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE slices SET names = 'garbage'")
        conn.close()
        with pytest.raises(JournalError, match="is damaged"):
            manager.retrieve_job_set(job_set.job_set_id(), refresh=True)
        assert manager.retrieve_job_set(job_set.job_set_id()) is job_set
        assert job_set.results().get_counts(0) == {expected_key(0): 3}


# ---------------------------------------------------------------- write failures


def _refuse_results(path: Path) -> None:
    """Make the journal refuse every result from now on, as a full disk would."""
    with sqlite3.connect(path, timeout=30) as conn:
        conn.execute(
            "CREATE TRIGGER full_disk BEFORE UPDATE ON attempts WHEN NEW.result IS NOT NULL "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        )
    conn.close()


def _slow_set(manager: JobManager, clock: FakeClock) -> Any:
    backend = ScriptedBackend(clock=clock, run_time=10.0)
    job_set = manager.run(
        [basis_circuit(i) for i in range(4)], backend, max_experiments_per_job=1, shots=3
    )
    assert manager.journal is not None and manager.journal.flush(30)
    return job_set


def test_a_result_that_cannot_be_journaled_raises_when_the_journal_is_required(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    with JobManager(journal=path, clock=clock) as manager:
        job_set = _slow_set(manager, clock)
        _refuse_results(path)
        with pytest.raises(JournalError, match=r"could not be journaled: .*disk is full"):
            job_set.results()
        # Reported once; no result is lost: they are all in memory.
        counts = job_set.results().get_counts()
        assert counts == [{expected_key(i): 3} for i in range(4)]


def test_a_result_that_cannot_be_journaled_warns_when_the_journal_is_optional(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    clock = FakeClock()
    with JobManager(journal=path, clock=clock, journal_required=False) as manager:
        job_set = _slow_set(manager, clock)
        _refuse_results(path)
        with pytest.warns(JournalWarning, match=r"runs on without its journal: .*disk is full"):
            counts = job_set.results().get_counts()
            assert manager.journal is not None and manager.journal.flush(30)
        assert counts == [{expected_key(i): 3} for i in range(4)]
