"""Ctrl-C on a large Aer run, as a user presses it: at several moments, once and twice."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_cli import EXAMPLES, interrupt_twice, managedjob, start_managedjob, submitted

pytest.importorskip("qiskit_aer")

#: Far more work than the tests wait for: 2,000 circuits of 200,000 shots each.
BIG_RUN = ("run", str(EXAMPLES / "random_sweep.qpy"), "-b", "aer", "-s", "200000")


def start(where: Path) -> tuple[subprocess.Popen[str], str]:
    """Start the big run; return it once it says which set it submits, with the set's id."""
    process = start_managedjob(*BIG_RUN, cwd=where)
    return process, submitted(process)


@pytest.mark.parametrize("after", [0.0, 1.0, 2.5])
def test_one_ctrl_c_ends_the_run_soon_and_journals_the_jobs_as_stopped(
    tmp_path: Path, after: float
) -> None:
    process, job_set_id = start(tmp_path)
    time.sleep(after)  # a moment of the run: submitting, running; not a timing assertion
    process.send_signal(signal.SIGINT)
    # Deaf to Ctrl-C, the run would go on for minutes; it ends after the
    # three seconds in which a second Ctrl-C would cancel.
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "runs on a local simulator" in err and "stop when this command ends" in err
    assert "was submitted and its jobs go on" not in err
    assert f"stopped 20 jobs of job set {job_set_id}" in err
    assert f"managedjob retry {job_set_id} runs them again" in err
    assert "Traceback" not in err

    status = managedjob("status", job_set_id[:8], cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "unfinished" not in status.stdout  # each job's end is journaled
    assert "stopped before it finished: the command that ran it was interrupted" in status.stdout


def test_a_second_ctrl_c_cancels_the_jobs(tmp_path: Path) -> None:
    process, job_set_id = start(tmp_path)
    err = interrupt_twice(process, after=1.0)
    assert process.returncode == 130, err
    assert f"cancelled 20 jobs of job set {job_set_id}" in err
    status = managedjob("status", job_set_id[:8], cwd=tmp_path)
    assert "jobs         20: 20 cancelled" in status.stdout, status.stdout


def test_retry_reruns_the_stopped_jobs_and_stops_on_ctrl_c_too(tmp_path: Path) -> None:
    process, job_set_id = start(tmp_path)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    retry = start_managedjob("retry", job_set_id[:8], cwd=tmp_path)
    assert retry.stderr is not None
    line = retry.stderr.readline()
    assert line.startswith(f"retrying 20 jobs of job set {job_set_id} on aer"), line
    retry.send_signal(signal.SIGINT)
    _, err = retry.communicate(timeout=60)
    assert retry.returncode == 130, err
    assert f"stopped 20 jobs of job set {job_set_id}" in err
