"""Finding a set's jobs again: on a provider by the set's tag, or from the journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobV1

from managedjob._job_set._policy import ResubmitPolicy
from managedjob._job_set._pub_workload import PUBS
from managedjob._job_set._state import SetState
from managedjob._job_set._workload import CIRCUITS, Workload
from managedjob._journal import SetRecorder
from managedjob._managed_job import ManagedJob
from managedjob._naming import is_internal_tag, job_name, parse_job_name
from managedjob._pubs import PubItem
from managedjob.exceptions import JobManagerInvalidStateError, UnknownJobSetError
from managedjob.targets import FoundJob, Target, resolve_job_finder

__all__ = ["Retriever"]


def _circuits_of(job: JobV1) -> list[Any] | None:
    """Return the circuits a job ran, if it tells them (a method or a property).

    A job of PUBs found on a service tells its items (the PUB parts it ran)
    instead.
    """
    items = getattr(job, "items", None)
    if isinstance(items, tuple) and items and all(isinstance(i, PubItem) for i in items):
        return list(items)
    circuits = getattr(job, "circuits", None)
    if callable(circuits):
        circuits = circuits()
    if isinstance(circuits, (list, tuple)) and all(
        isinstance(circuit, QuantumCircuit) for circuit in circuits
    ):
        return list(circuits)
    return None


class Retriever:
    """Rebuilds a set's jobs from where they were submitted, or takes a rebuilt state.

    Args:
        state: The set's state.
    """

    def __init__(self, state: SetState) -> None:
        self._state = state

    def retrieve_jobs(self, provider: Any, refresh: bool) -> None:
        """Find the set's jobs on ``provider`` (see ``ManagedJobSet.retrieve_jobs``)."""
        state = self._state
        if state.managed_jobs and not refresh:
            return
        finder = resolve_job_finder(provider)
        found = (
            finder.find_job_set_jobs(state.id_long)
            if finder is not None
            else self._find_by_name(provider)
        )
        if not found:
            raise UnknownJobSetError(f"{state.id} is not a known job set on {provider!r}.")
        # Newest first: a slice that was retried has several jobs; keep the latest.
        by_index: dict[int, FoundJob] = {}
        for item in found:
            by_index.setdefault(item.index, item)
        order = sorted(by_index)
        if order != list(range(len(order))):
            raise JobManagerInvalidStateError(
                f"Unable to retrieve all jobs of job set {state.id}: found job indexes {order}."
            )
        set_name = next((item.set_name for item in found if item.set_name), None)
        jobs: list[ManagedJob] = []
        circuits: list[Any] | None = []
        start = 0
        for number in order:
            item = by_index[number]
            job_circuits = _circuits_of(item.job)
            count = item.experiments_count or (len(job_circuits) if job_circuits else None)
            if not count:
                raise JobManagerInvalidStateError(
                    f"Job {item.job.job_id()} of job set {state.id} does not tell how many "
                    "experiments it runs."
                )
            if item.start_index is not None and item.start_index != start:
                raise JobManagerInvalidStateError(
                    f"Job {item.job.job_id()} of job set {state.id} starts at experiment "
                    f"{item.start_index}, but the jobs before it end at {start - 1}."
                )
            mjob = state.new_managed_job(start, count, item.job)
            mjob.job_name = job_name(set_name or state.name, number)
            if job_circuits and isinstance(job_circuits[0], PubItem):
                # PUB parts carry their shots or precision: rerunnable as they are.
                mjob._circuits = job_circuits
            jobs.append(mjob)
            if circuits is not None and job_circuits:
                circuits.extend(job_circuits)
            else:
                circuits = None
            start += count
        first = by_index[order[0]]
        with state.lock:
            state.name = set_name or state.name
            state.tags = [
                tag for tag in first.tags if tag != state.id_long and not is_internal_tag(tag)
            ]
            backend = getattr(first.job, "backend", None)
            state.backend = backend() if callable(backend) else None
            state.target = None
            state.experiments = circuits
            if circuits and isinstance(circuits[0], PubItem):
                state.workload = PUBS
            state.adopt(jobs)

    def _find_by_name(self, provider: Any) -> list[FoundJob]:
        """Find the set's jobs the legacy way: by tag, placed by their names."""
        state = self._state
        lister = getattr(provider, "jobs", None)
        if not callable(lister):
            lister = getattr(getattr(provider, "backend", None), "jobs", None)
        if not callable(lister):
            raise UnknownJobSetError(
                f"{state.id} is not a known job set: {provider!r} cannot list jobs by tag."
            )
        jobs: list[JobV1] = []
        page = 1000
        while True:
            batch = list(lister(job_tags=[state.id_long], skip=len(jobs), limit=page))
            jobs.extend(batch)
            if len(batch) < page:
                break
        found: list[FoundJob] = []
        for job in jobs:
            name_fn = getattr(job, "name", None)
            parsed = parse_job_name(name_fn()) if callable(name_fn) else None
            if parsed is None:
                raise JobManagerInvalidStateError(
                    f"Job {job.job_id()} is tagged for job set {state.id} but its name "
                    "does not say its place in the set."
                )
            tags_fn = getattr(job, "tags", None)
            tags = tuple(tags_fn()) if callable(tags_fn) else ()
            found.append(FoundJob(index=parsed[1], job=job, set_name=parsed[0], tags=tags))
        return found

    def adopt_restored(
        self,
        *,
        name: str,
        tags: list[str],
        created_at: datetime,
        jobs: list[ManagedJob],
        names: list[str | None],
        backend: Any,
        target: Target | None,
        backend_name: str,
        max_resubmits: int,
        recorder: SetRecorder,
        workload: Workload = CIRCUITS,
    ) -> None:
        """Take the state of a set rebuilt from the journal."""
        state = self._state
        with state.lock:
            state.workload = workload
            state.name = name
            state.tags = tags
            state.created_at = created_at
            state.experiments = None
            state.names_hint = names
            state.backend = backend
            state.target = target
            state.backend_name_hint = backend_name
            state.resubmit = ResubmitPolicy(max_resubmits)
            state.recorder = recorder
            state.adopt(jobs)
