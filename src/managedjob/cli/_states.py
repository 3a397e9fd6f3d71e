"""The state of a job as the commands name it, and counts of those states."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from typing import TextIO

from qiskit.providers import JobStatus

from managedjob._checks import hide_account_details
from managedjob._journal import AttemptRecord, Journal
from managedjob._journal._runner import runner_alive
from managedjob._managed_job import ManagedJob
from managedjob.cli._errors import one_line

__all__ = [
    "MAX_JOB_LINES",
    "NOT_FINAL",
    "STATES",
    "job_state",
    "jobs_row",
    "lost_attempts",
    "print_job_lines",
    "set_states",
    "state_counts",
]

#: Jobs listed one per line at most, by ``status`` and the ends of ``run``/``retry``.
MAX_JOB_LINES = 20

#: What the commands call the state of a job, in the order they are listed.
STATES = (
    "done",
    "failed",
    "cancelled",
    "submit failed",
    "running",
    "queued",
    "unfinished",
    "lost",
    "unknown",
)
#: The states of a job that may still change.
NOT_FINAL = ("running", "queued", "unfinished", "lost", "unknown")

_RUNNING = (JobStatus.RUNNING,)
_QUEUED = (JobStatus.INITIALIZING, JobStatus.VALIDATING, JobStatus.QUEUED)


def lost_attempts(journal: Journal, job_set_id: str) -> dict[int, AttemptRecord]:
    """The set's jobs whose latest submission can never finish, by job index.

    Those of an in-process simulator without a final state in the journal,
    whose process (recorded with the submission) has ended on this host.
    """
    latest: dict[int, AttemptRecord] = {}
    for attempt in journal.attempts(job_set_id):  # by job, then submission
        latest[attempt.index] = attempt
    alive: dict[str, bool | None] = {}  # a set's jobs mostly share one process
    lost: dict[int, AttemptRecord] = {}
    for index, attempt in latest.items():
        runner = attempt.runner
        if not attempt.awaited_in_a_process or runner is None:
            continue
        if runner not in alive:
            alive[runner] = runner_alive(runner)
        if alive[runner] is False:
            lost[index] = attempt
    return lost


def set_states(
    journal: Journal, job_set_id: str, mjobs: Sequence[ManagedJob], attached: bool
) -> list[str]:
    """Each job's state (:func:`job_state`); unfinished jobs whose process ended are lost."""
    states = [job_state(mjob, attached) for mjob in mjobs]
    if "unfinished" in states:
        lost = lost_attempts(journal, job_set_id)
        states = [
            "lost" if state == "unfinished" and index in lost else state
            for index, state in enumerate(states)
        ]
    return states


def job_state(mjob: ManagedJob, attached: bool = True) -> str:
    """Name the state of a job as the commands show it.

    Args:
        mjob: The job.
        attached: Whether the set's unfinished jobs were looked up on their
            target. A job of a set rebuilt from the journal alone that has no
            final state there is ``"unfinished"`` (still running, or lost with
            the process that ran it); once looked up and not found, ``"lost"``.

    Returns:
        One of :data:`STATES`.
    """
    if mjob.submit_error is not None:
        return "submit failed"
    status = mjob.status()
    if status is JobStatus.DONE:
        return "done"
    if status is JobStatus.ERROR:
        return "failed"
    if status is JobStatus.CANCELLED:
        return "cancelled"
    if status in _RUNNING:
        return "running"
    if status in _QUEUED:
        return "queued"
    if mjob.job is None:
        return "lost" if attached else "unfinished"
    return "unknown"


def state_counts(states: Sequence[str]) -> str:
    """Count the jobs in each state, in the order of :data:`STATES`: ``"2 done, 1 lost"``."""
    counts = Counter(states)
    return ", ".join(f"{counts[state]} {state}" for state in STATES if counts[state])


def jobs_row(states: Sequence[str]) -> str:
    """The ``jobs`` row of a summary: done, failed and cancelled, then any other."""
    counts = Counter(states)
    failed = sum(counts[state] for state in ("failed", "submit failed", "lost", "unknown"))
    parts = [f"{counts['done']} done", f"{failed} failed", f"{counts['cancelled']} cancelled"]
    parts += [f"{counts[state]} {state}" for state in ("running", "queued", "unfinished")]
    shown = parts[:3] + [part for part in parts[3:] if not part.startswith("0 ")]
    return f"{len(states)} ({', '.join(shown)})"


def _why(mjob: ManagedJob, state: str) -> str:
    if state in ("done", "cancelled", "running", "queued", "unfinished"):
        return ""
    message = str(mjob.submit_error) if state == "submit failed" else mjob.error_message()
    return f": {one_line(hide_account_details(message))}" if message else ""


def print_job_lines(
    mjobs: Sequence[ManagedJob],
    states: Sequence[str],
    skip: Sequence[str] = ("done",),
    stream: TextIO | None = None,
) -> None:
    """Print a line for each job not in a ``skip`` state: its experiments, state and why.

    At most :data:`MAX_JOB_LINES` jobs are listed; a last line counts the others.
    """
    out = stream or sys.stdout
    listed = [
        (number, mjob, state)
        for number, (mjob, state) in enumerate(zip(mjobs, states, strict=True))
        if state not in skip
    ]
    for number, mjob, state in listed[:MAX_JOB_LINES]:
        print(
            f"job {number} (experiments {mjob.start_index}-{mjob.end_index}): "
            f"{state}{_why(mjob, state)}",
            file=out,
        )
    if len(listed) > MAX_JOB_LINES:
        print(f"... and {len(listed) - MAX_JOB_LINES} more jobs", file=out)
