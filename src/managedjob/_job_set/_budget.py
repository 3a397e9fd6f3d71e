"""A set's usage budget: jobs are submitted while their usage fits in it.

``run(..., max_usage_seconds=...)`` gives the set a :class:`UsageBudget`
with each slice's estimated usage (``_estimate.estimate_usage_seconds``).
Just before a slice's first submission (its observer's ``before_submit``),
:meth:`UsageBudget.admit` adds up the usage of the slices admitted so far,
the service's figure for those that finished and reported one, the
estimate for the others, and refuses the slice if its estimate would take
the total past the budget: the slice is not submitted, and its
``submit_error`` is a :class:`~managedjob.exceptions.UsageBudgetError`
saying so. ``retry_failed()`` lifts the budget.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from managedjob._managed_job import ManagedJob
from managedjob.exceptions import UsageBudgetError

__all__ = ["UsageBudget", "reported_usage"]


def reported_usage(mjob: ManagedJob) -> float | None:
    """Return the usage the service reported for a finished job, in seconds, if it did.

    A runtime job reports it through ``usage()`` (quantum seconds) once it
    has finished; other jobs do not.
    """
    job = mjob.job
    if job is None or mjob.status() is None or not mjob._final:
        return None
    primitive: Any = getattr(job, "_primitive_job", job)
    usage = getattr(primitive, "usage", None)
    if not callable(usage):
        return None
    try:
        value = usage()
    except Exception:  # the service cannot say (yet)
        return None
    return float(value) if isinstance(value, (int, float)) else None


class UsageBudget:
    """At most ``limit`` seconds of usage for a set's slices.

    Args:
        limit: ``max_usage_seconds``.
        estimates: Each slice's estimated usage, in seconds.
    """

    def __init__(self, limit: float, estimates: Sequence[float]) -> None:
        self.limit = limit
        self.estimates = list(estimates)
        self._lock = threading.Lock()
        self._admitted: set[int] = set()
        self._reported: dict[int, float] = {}
        self._lifted = False

    def lift(self) -> None:
        """Stop refusing slices (``retry_failed`` was asked)."""
        with self._lock:
            self._lifted = True

    def admit(self, index: int, jobs: Sequence[ManagedJob]) -> None:
        """Let slice ``index`` be submitted, or refuse it.

        Args:
            index: The slice.
            jobs: The set's managed jobs, in slice order.

        Raises:
            UsageBudgetError: If its estimate would take the set past the budget.
        """
        with self._lock:
            if index in self._admitted or self._lifted:
                self._admitted.add(index)
                return
            estimate = self.estimates[index]
            committed = self._committed()
            if committed + estimate > self.limit:
                # Over by the estimates: ask the finished jobs what they really used.
                for other in sorted(self._admitted - self._reported.keys()):
                    if other < len(jobs):
                        reported = reported_usage(jobs[other])
                        if reported is not None:
                            self._reported[other] = reported
                committed = self._committed()
            if committed + estimate > self.limit:
                raise UsageBudgetError(
                    f"not submitted: about {estimate:.1f} s of usage would take the set past "
                    f"its max_usage_seconds={self.limit:g} (its jobs already submitted use "
                    f"{committed:.1f} s); retry_failed() submits it",
                    estimate,
                    committed,
                    self.limit,
                )
            self._admitted.add(index)

    def _committed(self) -> float:
        return sum(self._reported.get(i, self.estimates[i]) for i in self._admitted)
