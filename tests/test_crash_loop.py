"""A process killed (SIGKILL) at many seeded moments of a run on a remote-like target loses
no experiment and runs no slice twice, once the set is retrieved and retried."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers import basis_circuit, expected_key, wait_until
from managedjob import JobManager
from managedjob._job_set import PartialRetryError
from managedjob._journal import Journal
from shared_target import SharedBackend

TESTS = Path(__file__).resolve().parent
EXPERIMENTS = 24
SHOTS = 5
KILLS = 20
_ARGS = [str(EXPERIMENTS), str(SHOTS)]

CHILD = textwrap.dedent(
    """
    import sys
    import threading
    from pathlib import Path

    from helpers import basis_circuit
    from managedjob import JobManager
    from shared_target import SharedBackend

    journal, shared, ready, count, shots = sys.argv[1:6]
    backend = SharedBackend(shared)
    work = [basis_circuit(i) for i in range(int(count))]
    Path(ready).touch()
    with JobManager(journal=journal) as manager:
        job_set = manager.run(work, backend, max_experiments_per_job=1, shots=int(shots))
        job_set.results()
    threading.Event().wait()  # until killed
    """
)


def _killed_run(root: Path, delay: float) -> tuple[Path, Path]:
    """Start a run in a child process and kill it ``delay`` seconds after it starts."""
    script = root / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    journal, shared, ready = root / "journal.sqlite3", root / "jobs.sqlite3", root / "ready"
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    env.pop("PYTHONWARNINGS", None)
    process = subprocess.Popen(
        [sys.executable, str(script), str(journal), str(shared), str(ready), *_ARGS],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(
            lambda: ready.exists() or process.poll() is not None,
            "the child to start",
            timeout=60.0,
        )
        assert process.poll() is None, process.communicate()[1]
        time.sleep(delay)
    finally:
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, stderr
    return journal, shared


def _complete(journal: Path, shared: Path) -> None:
    """Retrieve and retry the set, then check that nothing is lost or run twice."""
    backend = SharedBackend(shared)
    records = Journal(journal).job_sets() if journal.exists() else []
    if not records:  # killed before run() journaled the set: nothing may have run
        assert sum(backend.runs().values()) == 0
        return
    (record,) = records
    work = [basis_circuit(i) for i in range(EXPERIMENTS)]
    with JobManager(journal=journal) as manager:
        job_set = manager.retrieve_job_set(record.job_set_id, provider=backend)
        try:
            job_set.retry_failed()
        except PartialRetryError:  # some circuits never reached the journal
            job_set.retry_failed(circuits=work)
        results = job_set.results(timeout=60)
        assert results.success, job_set.error_messages()
        assert results.get_counts() == [{expected_key(i): SHOTS} for i in range(EXPERIMENTS)]
    runs = backend.runs()
    assert sorted(runs) == sorted(f"{record.name}_{index}_" for index in range(EXPERIMENTS))
    twice = {name: count for name, count in runs.items() if count > 1}
    assert twice == {}, f"slices run twice: {twice}"


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_runs_lose_nothing_and_run_nothing_twice(tmp_path: Path) -> None:
    noise = random.Random(13)
    started = time.monotonic()
    for kill in range(KILLS):
        root = tmp_path / f"kill{kill}"
        root.mkdir()
        delay = noise.uniform(0.0, 1.5)
        journal, shared = _killed_run(root, delay)
        try:
            _complete(journal, shared)
        except AssertionError as err:
            raise AssertionError(f"kill {kill} at {delay:.3f} s: {err}") from err
    assert time.monotonic() - started < 600
