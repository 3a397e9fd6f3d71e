"""Waiting for a set with a progress line, and what Ctrl-C does meanwhile.

The first Ctrl-C stops waiting; a second one within three seconds cancels
the jobs. Without it, a remote target's jobs go on (the journal has their
ids), and a local simulator's jobs, which run in worker processes of this
command, are stopped and journaled as failed, for ``managedjob retry``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

from qiskit.providers import JobStatus

from managedjob._job_set import ManagedJobSet
from managedjob._managed_job import ManagedJob
from managedjob._wait import FINAL_STATES, wait_for_final_state
from managedjob.cli._sets import command_line
from managedjob.targets._workers import WorkerPool

__all__ = [
    "CANCEL_SETTLE_SECONDS",
    "STOPPED",
    "CtrlC",
    "interrupted",
    "settle",
    "wait_or_interrupt",
    "wait_with_progress",
]

#: How often the main thread looks at the Ctrl-C count while it waits.
_POLL_SECONDS = 0.1

#: Why the jobs of a local simulator that a Ctrl-C stopped did not finish.
STOPPED = "stopped before it finished: the command that ran it was interrupted"

#: How long ``cancel`` waits for cancelled jobs to say so, to journal their state.
CANCEL_SETTLE_SECONDS = 5.0

#: How long a second Ctrl-C may follow the first to cancel the jobs.
_SECOND_INTERRUPT_SECONDS = 3


class CtrlC:
    """Counts Ctrl-C presses instead of raising where the main thread happens to be.

    Python raises ``KeyboardInterrupt`` wherever the main thread is when the
    signal comes. While it waits for a set, that may be halfway into taking
    a lock the set's own threads need (a submission's future): they then
    block for ever, and so does the command's exit. While a ``CtrlC`` is
    entered (in the main thread), a Ctrl-C only counts, and the waits of
    this module act on the count at points where they hold nothing.
    """

    def __init__(self) -> None:
        self.presses = 0
        self._previous: Any = None

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _count(self, signum: int, frame: Any) -> None:
        self.presses += 1

    def wait(self, done: threading.Event, presses: int, seconds: float | None = None) -> bool:
        """Wait until ``done`` is set, ``presses`` Ctrl-C were counted, or ``seconds`` passed.

        Returns:
            Whether the presses were counted.
        """
        deadline = None if seconds is None else time.monotonic() + seconds
        while self.presses < presses and not done.is_set():
            left = _POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if left <= 0:
                break
            done.wait(min(left, _POLL_SECONDS))
        return self.presses >= presses


def wait_or_interrupt(
    job_set: ManagedJobSet,
    args: argparse.Namespace,
    workers: WorkerPool | None,
    ctrl_c: CtrlC,
    *,
    show: bool,
) -> int | None:
    """Wait for the set (a progress line on stderr with ``show``); handle Ctrl-C meanwhile.

    Args:
        job_set: The set.
        args: The command's arguments (for the commands it suggests).
        workers: The worker processes running its jobs, if any.
        ctrl_c: Entered before the set was made: a Ctrl-C since then counts.
        show: Whether to show the progress line.

    Returns:
        ``None`` once every job is final; 130 if Ctrl-C stopped the wait
        (see :func:`interrupted`).
    """
    done = threading.Event()
    failure: list[BaseException] = []

    def wait() -> None:
        try:
            wait_with_progress(job_set, sys.stderr, show)
        except BaseException as err:  # handed to the main thread
            failure.append(err)
        finally:
            done.set()

    threading.Thread(target=wait, name="managedjob-cli-wait", daemon=True).start()
    if ctrl_c.wait(done, presses=1):
        return interrupted(job_set, args, ctrl_c, workers)
    if failure:
        raise failure[0]
    return None


def wait_with_progress(job_set: ManagedJobSet, stream: TextIO, show: bool) -> None:
    """Wait for every job of the set; with ``show``, count the finished ones on ``stream``."""
    total = len(job_set.managed_jobs())
    counts = {"done": 0, "failed": 0}

    def settled(mjob: ManagedJob) -> None:
        counts["done"] += 1
        counts["failed"] += mjob.status() in (JobStatus.ERROR, None)
        if show:
            failed = f" ({counts['failed']} failed)" if counts["failed"] else ""
            stream.write(f"\rjobs finished: {counts['done']}/{total}{failed}")
            stream.flush()

    job_set.wait(callback=settled)
    if show:
        stream.write("\n")
        stream.flush()


def _unfinished(job_set: ManagedJobSet) -> int:
    return sum(
        mjob.submit_error is None and mjob.status() not in FINAL_STATES
        for mjob in job_set.managed_jobs()
    )


def interrupted(
    job_set: ManagedJobSet,
    args: argparse.Namespace,
    ctrl_c: CtrlC,
    workers: WorkerPool | None = None,
) -> int:
    """Say what happens to the set's jobs after a Ctrl-C; cancel them after a second one.

    Args:
        job_set: The set being waited for.
        args: The command's arguments (for the commands it suggests).
        ctrl_c: The presses counted so far (one).
        workers: The worker processes running its jobs, for a local
            simulator: its jobs stop with them, when the command ends.

    Returns:
        The exit code, 130.
    """
    set_id = job_set.job_set_id()
    if workers is None:
        what = "was submitted and its jobs go on"
    else:
        left = _unfinished(job_set)
        what = (
            f"runs on a local simulator: its {left} unfinished "
            f"{'job stops' if left == 1 else 'jobs stop'} when this command ends"
        )
    print(
        f"\ninterrupted: job set {set_id} {what}; press Ctrl-C again within "
        f"{_SECOND_INTERRUPT_SECONDS} s to cancel them",
        file=sys.stderr,
        flush=True,
    )
    if ctrl_c.wait(threading.Event(), presses=2, seconds=_SECOND_INTERRUPT_SECONDS):
        job_set.cancel()
        settle(job_set.managed_jobs(), CANCEL_SETTLE_SECONDS)
        cancelled = sum(status is JobStatus.CANCELLED for status in job_set.statuses())
        print(f"cancelled {cancelled} jobs of job set {set_id}", file=sys.stderr)
        return 130
    if workers is None:
        print(
            "the job set is kept in the journal: " + command_line(args, "status", set_id),
            file=sys.stderr,
        )
        return 130
    workers.shutdown(STOPPED)
    settle(job_set.managed_jobs(), CANCEL_SETTLE_SECONDS)  # journal how each ended
    stopped = sum(mjob.error_message() == STOPPED for mjob in job_set.managed_jobs())
    print(
        f"stopped {stopped} jobs of job set {set_id}; the set is kept in the journal: "
        f"{command_line(args, 'retry', set_id)} runs them again",
        file=sys.stderr,
    )
    return 130


def settle(mjobs: Sequence[ManagedJob], seconds: float) -> None:
    """Wait (a little) for jobs to be final, and read them so that the journal records it."""
    deadline = time.monotonic() + seconds
    for mjob in mjobs:
        if mjob.job is None:
            continue
        left = max(0.0, deadline - time.monotonic())
        try:
            final = wait_for_final_state(mjob.job, left, poll=mjob.poll_policy)
        except Exception:  # the job cannot say; nothing to journal
            continue
        if final:
            # Reading a final job journals its state (and result) at once;
            # that a cancelled job has no result goes without saying.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mjob.result(timeout=0, partial=True)
