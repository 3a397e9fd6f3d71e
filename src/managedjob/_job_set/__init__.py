"""A set of managed jobs: the jobs of one run, handled as one.

:class:`ManagedJobSet` is the front; its parts share one
:class:`~managedjob._job_set._state.SetState` and each has one job:

* ``_plan``: :class:`RunPlan`, a run checked once (target, options, slices, tags);
* ``_workload``: what the slices hold and the jobs return (circuits and
  ``Result`` for the legacy API), asked by the parts instead of the items;
* ``_submission``: making the managed jobs and submitting each slice;
* ``_policy`` and ``_resubmission``: when a failed job is resubmitted by
  itself, applied in one place, and :meth:`ManagedJobSet.retry_failed`;
* ``_waiting``: :meth:`ManagedJobSet.wait`, with progress and callbacks;
* ``_fetching``: :meth:`ManagedJobSet.results`, a bounded pool and one deadline;
* ``_lookup``: experiment lookups, reports, names and tags;
* ``_display``: the set's HTML table in a notebook;
* ``_retrieval``: a set's jobs found again on a provider, or taken from the journal;
* ``_pub_workload``, ``_pub_run`` and ``_primitive``: sets of Sampler or
  Estimator PUBs: their workload, their run planned and checked, and their
  job results merged back into one ``PrimitiveResult``.
"""

from __future__ import annotations

from managedjob._job_set._plan import RunPlan
from managedjob._job_set._policy import ResubmitPolicy
from managedjob._job_set._pub_run import plan_pub_run, pub_target
from managedjob._job_set._pub_workload import PUBS, PubWorkload
from managedjob._job_set._resubmission import PartialRetryError
from managedjob._job_set._set import (
    DEFAULT_MAX_PARALLEL_FETCHES,
    DEFAULT_MAX_PARALLEL_SUBMITS,
    ManagedJobSet,
)
from managedjob._job_set._state import SubmitSemaphore, validate_tags
from managedjob._job_set._workload import CIRCUITS, CircuitWorkload, Workload
from managedjob._managed_job import install_watcher
from managedjob._watch import watch_job

__all__ = [
    "CIRCUITS",
    "DEFAULT_MAX_PARALLEL_FETCHES",
    "DEFAULT_MAX_PARALLEL_SUBMITS",
    "PUBS",
    "CircuitWorkload",
    "ManagedJobSet",
    "PubWorkload",
    "PartialRetryError",
    "ResubmitPolicy",
    "RunPlan",
    "SubmitSemaphore",
    "Workload",
    "plan_pub_run",
    "pub_target",
    "validate_tags",
]

# The journal's background watcher follows jobs for ManagedJob.add_done_callback.
install_watcher(watch_job)
