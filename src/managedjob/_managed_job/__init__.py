"""One slice of a job set's experiments and the target job that runs it.

The parts, each with one job:

* ``_job``: :class:`ManagedJob`, the legacy class users subclass;
* ``_core``: the bookkeeping under it (hand-back, fetching, done-callbacks);
* ``_submission``: one submission to a target, retries and job limits included;
* ``_completed``: :class:`CompletedJob`, a finished job carried back from
  another process;
* ``_hooks``: what a job is given from outside (its observer, its submit
  lock, the run options its set checked already);
* ``_errors``: how failures are worded and warned about.
"""

from __future__ import annotations

from managedjob._managed_job._completed import CompletedJob
from managedjob._managed_job._core import install_watcher
from managedjob._managed_job._errors import describe_failure, experiment_name
from managedjob._managed_job._hooks import (
    QOBJ_ONLY_OPTIONS,
    CheckedRun,
    JobObserver,
    SubmitLock,
    split_qobj_options,
)
from managedjob._managed_job._job import ManagedJob

# The name the journal reads a failed result's description under.
_describe_failure = describe_failure

__all__ = [
    "QOBJ_ONLY_OPTIONS",
    "CheckedRun",
    "CompletedJob",
    "JobObserver",
    "ManagedJob",
    "SubmitLock",
    "_describe_failure",
    "describe_failure",
    "experiment_name",
    "install_watcher",
    "split_qobj_options",
]
