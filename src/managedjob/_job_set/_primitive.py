"""The results of a PUB set's jobs merged back into one ``PrimitiveResult``."""

from __future__ import annotations

from typing import Any

from qiskit.primitives import PrimitiveResult

from managedjob._job_set._fetching import Fetcher
from managedjob._job_set._pub_workload import PUBS
from managedjob._job_set._state import SetState
from managedjob._pubs import PubItem, PubJobResult, PubPlan, merge_pub_results, plan_of_items
from managedjob.exceptions import JobManagerInvalidStateError

__all__ = ["PrimitiveResults"]


class PrimitiveResults:
    """Merges a PUB set's job results (see ``ManagedJobSet.primitive_result``).

    The plan (which part of which input PUB each job runs) is read from the
    jobs' items: those the set was run with, or, for a set rebuilt from the
    journal, the journaled ones.

    Args:
        state: The set's state.
        fetcher: Fetches the jobs' results.
    """

    def __init__(self, state: SetState, fetcher: Fetcher) -> None:
        self._state = state
        self._fetcher = fetcher
        self._plan: PubPlan | None = None

    def plan(self) -> PubPlan:
        """Return the set's plan.

        Raises:
            IBMQJobManagerInvalidStateError: If the set does not run PUBs.
            JournalError: If a rebuilt set's items cannot be read from the journal.
        """
        state = self._state
        if state.workload is not PUBS:
            raise JobManagerInvalidStateError(
                f"Job set {state.id} runs circuits, not PUBs: use results() for its results."
            )
        if self._plan is not None:
            return self._plan
        jobs = state.jobs()
        items = state.experiments
        slices: list[list[PubItem]]
        if items is not None:
            slices = [items[mjob.start_index : mjob.end_index + 1] for mjob in jobs]
        elif state.journal is not None:
            slices = [state.journal.load_circuits(state.id, number) for number in range(len(jobs))]
        else:
            raise JobManagerInvalidStateError(
                f"The PUBs of job set {state.id} are not known: it has no journal to read "
                "them from."
            )
        self._plan = plan_of_items(slices)
        return self._plan

    def primitive_result(self, timeout: float | None, partial: bool) -> PrimitiveResult[Any]:
        """Fetch every job's result and merge them (see ``ManagedJobSet.primitive_result``)."""
        plan = self.plan()
        results = self._fetcher.job_results(timeout, partial=False)
        jobs = self._state.jobs()
        primitive = [
            result.primitive_result if isinstance(result, PubJobResult) else None
            for result in results
        ]
        reasons = {
            number: jobs[number].error_message() or "no result"
            for number, result in enumerate(primitive)
            if result is None
        }
        return merge_pub_results(plan, primitive, partial, reasons)
