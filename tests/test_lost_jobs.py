"""Jobs of an in-process simulator whose process died: known lost, and marked so by cancel."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from managedjob._journal import SCHEMA_VERSION, Journal
from managedjob._journal._runner import runner_alive, this_runner
from managedjob._journal._schema import apply_migrations
from test_cli import _env, managedjob

pytest.importorskip("qiskit_aer")

DIE_AFTER_SUBMITTING = """
import os
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator
from managedjob import JobManager
from managedjob.targets import WorkerPool, WorkerTarget

slow = QuantumCircuit(12, 12, name="slow")
slow.h(range(12))
slow.measure(0, 0)  # measured mid-circuit: Aer runs it shot by shot
slow.cx(0, 1)
slow.measure(range(12), range(12))
manager = JobManager()
target = WorkerTarget(AerSimulator(), WorkerPool(1))  # the worker dies with this process
job_set = manager.run([slow, slow], target, max_experiments_per_job=1, shots=3_000_000)
job_set.jobs()  # both submitted, and their ids journaled
print(job_set.job_set_id(), flush=True)
os._exit(0)  # the process dies; its simulator's jobs with it
"""


def test_a_runner_is_this_host_s_process_while_it_runs() -> None:
    me = this_runner()
    host, pid, start = me.rsplit(":", 2)
    assert (host, int(pid)) == (socket.gethostname(), os.getpid())
    assert runner_alive(me) is True
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert runner_alive(f"{host}:{int(ended.stdout)}:{start}") is False
    assert runner_alive(f"elsewhere.example:{pid}:{start}") is None  # cannot tell
    assert runner_alive("not a runner") is None
    if start:  # the pid of this process, but a process that started at another time
        assert runner_alive(f"{host}:{pid}:{int(start) + 1}") is False


def test_status_says_lost_and_cancel_journals_them_as_failed(tmp_path: Path) -> None:
    died = subprocess.run(
        [sys.executable, "-c", DIE_AFTER_SUBMITTING],
        cwd=tmp_path,
        env=_env(tmp_path / "journal.sqlite3"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert died.returncode == 0, died.stderr
    job_set_id = died.stdout.strip()
    with Journal(tmp_path / "journal.sqlite3", read_only=True) as journal:
        attempts = journal.attempts(job_set_id)
    assert [a.lost for a in attempts] == [True, True] and all(a.runner for a in attempts)

    status = managedjob("status", job_set_id[:8], cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "jobs         2: 2 lost" in status.stdout
    assert f"managedjob retry {job_set_id} reruns them" in status.stderr
    listing = managedjob("list", "--json", cwd=tmp_path)
    assert '"lost": 2' in listing.stdout

    cancel = managedjob("cancel", job_set_id[:8], cwd=tmp_path)
    assert cancel.returncode == 0, cancel.stdout + cancel.stderr
    assert "2 jobs had no final state, and the process that ran them has ended" in cancel.stdout
    after = managedjob("status", job_set_id[:8], "--json", cwd=tmp_path)
    assert '"failed": 2' in after.stdout
    assert "lost: the process that ran it ended before it finished" in after.stdout
    again = managedjob("cancel", job_set_id[:8], cwd=tmp_path)
    assert "2 jobs had finished already" in again.stdout and again.returncode == 0


def test_list_migrates_a_journal_an_older_managedjob_wrote(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as conn:
        apply_migrations(conn, 0, 3)  # as managedjob wrote journals before schema 4
        conn.execute("INSERT INTO meta VALUES ('application', 'managedjob-journal')")
        conn.execute(
            "INSERT INTO job_sets (id, name, tags, created_at, target, run_config, experiments) "
            "VALUES ('old-set', 'before', '[]', ?, ?, '{}', 1)",
            (time.time(), json.dumps({"name": "basic_simulator"})),
        )
        conn.execute(
            "INSERT INTO slices (set_id, idx, start_index, end_index, names) "
            "VALUES ('old-set', 0, 0, 0, '[\"one\"]')"
        )
    conn.close()
    listing = managedjob("list", "--json", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert [entry["name"] for entry in json.loads(listing.stdout)] == ["before"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
