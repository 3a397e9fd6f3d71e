"""What a process that ends right after ``run()`` still does for its job sets.

"Submit in one process, retrieve in another" is a common script. When the
first process ends, Python shuts its thread pools down before the normal
``atexit`` hooks run: a submission still under way could not start its job
("cannot schedule new futures after interpreter shutdown"), and a job of an
in-process simulator that had run never had its result journaled.

So a hook registered with :func:`threading._register_atexit` (it runs
before the thread pools are shut down, and before the non-daemon threads
are joined) finishes, for every live manager's sets and within
:data:`EXIT_TIMEOUT_SECONDS` (``MANAGEDJOB_EXIT_TIMEOUT``):

* the submissions already started, so that every job id is journaled;
* for targets that compute in this process (their jobs die with it), the
  jobs themselves, fetching their results so that they are journaled;

then writes what the journals have queued, and says on stderr what it
waited for and what it could not finish. Remote jobs are not waited for:
their ids are in the journal, and another process follows them.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import warnings
import weakref
from typing import TYPE_CHECKING, Any

from managedjob._job_set import ManagedJobSet
from managedjob._managed_job import CompletedJob, ManagedJob
from managedjob._manager_sets import flush_journal
from managedjob.targets.primitives import runs_in_process

if TYPE_CHECKING:
    from managedjob._manager import JobManager

__all__ = ["EXIT_TIMEOUT_SECONDS", "EXIT_TIMEOUT_VAR", "register_for_exit"]

logger = logging.getLogger("managedjob")

#: The environment variable that sets how long the exit hook waits, in seconds.
EXIT_TIMEOUT_VAR = "MANAGEDJOB_EXIT_TIMEOUT"
#: How long the exit hook waits at most by default, in seconds.
EXIT_TIMEOUT_SECONDS = 300.0

_LIVE_MANAGERS: weakref.WeakSet[JobManager] = weakref.WeakSet()
_registered = False
_register_lock = threading.Lock()


def register_for_exit(manager: JobManager) -> None:
    """Have ``manager``'s sets finished at interpreter exit (see the module)."""
    global _registered
    with _register_lock:
        _LIVE_MANAGERS.add(manager)
        if _registered:
            return
        register = getattr(threading, "_register_atexit", None)
        try:
            if register is not None:
                register(_finish_at_exit)
            else:  # pragma: no cover - every supported Python has it
                import atexit

                atexit.register(_finish_at_exit)
        except RuntimeError:  # the interpreter is shutting down already
            return
        _registered = True


def _timeout() -> float:
    text = os.environ.get(EXIT_TIMEOUT_VAR)
    if not text:
        return EXIT_TIMEOUT_SECONDS
    try:
        return max(0.0, float(text))
    except ValueError:
        return EXIT_TIMEOUT_SECONDS


def _in_process(job_set: ManagedJobSet) -> bool:
    target = job_set._target
    wrapped: Any = target.wrapped if target is not None else job_set._state.backend
    return wrapped is not None and runs_in_process(wrapped)


def _needs_fetching(mjob: ManagedJob) -> bool:
    """Whether a job is not settled yet: its result not fetched and handed to its journal."""
    return (
        mjob.job is not None
        and not isinstance(mjob.job, CompletedJob)  # served from memory or the journal
        and not mjob._done_fired
    )


def _settle(mjob: ManagedJob, timeout: float) -> bool:
    """Fetch a job's result and wait until its observers (the journal) have it."""
    settled = threading.Event()
    mjob.add_done_callback(lambda _: settled.set())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            mjob.result(timeout=timeout, partial=True)
        except Exception:  # a timeout; a failed job's record shows its failure
            return False
    return settled.wait(timeout)


def _unfinished(job_set: ManagedJobSet) -> tuple[int, int]:
    """Return how many of the set's submissions are under way, and in-process jobs running."""
    submitting = running = 0
    local = _in_process(job_set)
    for mjob in job_set.managed_jobs():
        if mjob.job is None:
            future = mjob._submission_future()
            submitting += future is not None and not future.done()
        elif local and _needs_fetching(mjob):
            running += 1
    return submitting, running


def _finish_at_exit() -> None:
    try:
        _finish()
    except Exception:  # never let the hook break the interpreter's exit
        logger.debug("Finishing the job sets at exit failed.", exc_info=True)


def _finish() -> None:
    job_sets: list[ManagedJobSet] = []
    journals: dict[int, Any] = {}
    for manager in list(_LIVE_MANAGERS):
        with manager._lock:
            job_sets.extend(manager._job_sets)
        journal = manager._journal  # only one already opened
        if journal is not None:
            journals[id(journal)] = (journal, manager._journal_required)
    counts = [_unfinished(job_set) for job_set in job_sets]
    submitting = sum(c[0] for c in counts)
    running = sum(c[1] for c in counts)
    if not submitting and not running:
        for journal, required in journals.values():
            flush_journal(journal, required)
        return
    timeout = _timeout()
    deadline = time.monotonic() + timeout
    parts = []
    if submitting:
        parts.append(f"{submitting} submission(s) to finish")
    if running:
        parts.append(f"{running} in-process job(s) to finish and their results to be journaled")
    print(
        f"managedjob: the process is ending; waiting up to {timeout:g} s for "
        f"{' and '.join(parts)} (set {EXIT_TIMEOUT_VAR} to change the wait)",
        file=sys.stderr,
        flush=True,
    )
    left: list[str] = []
    try:
        for job_set in job_sets:
            job_set._submitter.wait_for_submissions(max(0.0, deadline - time.monotonic()))
        for job_set in job_sets:
            local = _in_process(job_set)
            for mjob in job_set.managed_jobs():  # those just submitted too
                span = f"experiments {mjob.start_index}-{mjob.end_index}"
                if mjob.job is None:
                    future = mjob._submission_future()
                    if future is not None and not future.done():
                        left.append(span)  # still being submitted
                    continue
                left_time = max(0.0, deadline - time.monotonic())
                if local and _needs_fetching(mjob) and not _settle(mjob, left_time):
                    left.append(span)
        for journal, required in journals.values():
            flush_journal(journal, required)
    except KeyboardInterrupt:
        print("managedjob: stopped waiting (interrupted)", file=sys.stderr, flush=True)
        return
    if left:
        print(
            f"managedjob: {len(left)} job(s) did not finish in time and are lost "
            f"with this process ({', '.join(left[:5])}{', ...' if len(left) > 5 else ''}); "
            "retry_failed() reruns them",
            file=sys.stderr,
            flush=True,
        )
    else:
        print("managedjob: done; every job id and result is journaled", file=sys.stderr)
