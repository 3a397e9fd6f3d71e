"""Rebuilding a job set from the journal, and finding its jobs again on a provider.

A set is rebuilt per slice from its latest journaled submission: a
journaled result or final state becomes a :class:`~managedjob.JournaledJob`
that never contacts the target; a journaled submit error becomes
``submit_error`` again; a job id without a final state is re-attached
through the provider; the rest are *lost* (or, with no provider, *not
attached*) and say why in ``error_message()``. Only the journal's readers
are used; later records go through the set's recorder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus, JobV1

from managedjob._job_set._workload import Workload, workload_of
from managedjob._journal import (
    Journal,
    JournaledJob,
    JournalError,
    JournalPolicy,
    SliceObserver,
)
from managedjob._managed_job import ManagedJob
from managedjob._watch import watch_job
from managedjob.exceptions import SubmitError
from managedjob.targets import Target, resolve_job_finder, resolve_target

if TYPE_CHECKING:
    from managedjob._job_set import ManagedJobSet

__all__ = ["reattach", "restore_job_set", "runnable_target"]


def runnable_target(provider: Any, workload: Workload | None = None) -> Target | None:
    """Return the target for ``provider`` if ``workload`` (circuits) can run on it, or ``None``."""
    if provider is None:
        return None
    try:
        return resolve_target(provider) if workload is None else workload.target_for(provider)
    except Exception:
        return None


def _provider_name(provider: Any) -> str:
    name = getattr(provider, "name", None)
    if callable(name):
        try:
            name = name()
        except Exception:
            name = None
    return name if isinstance(name, str) else type(provider).__name__


def reattach(provider: Any, job_id: str) -> tuple[JobV1 | None, str]:
    """Find a job again by its id on ``provider``.

    Asked in turn, the first that applies: the target ``provider`` is (its
    ``retrieve_job``), the job finder registered for it (such as an IBM
    Quantum runtime service's), then its own ``retrieve_job`` or ``job``.

    Returns:
        The job and ``""``, or ``None`` and why it cannot be found.
    """
    target = runnable_target(provider)
    lookup: Any = None
    if target is not None:
        where, lookup = target.name, target.retrieve_job
    else:
        where = _provider_name(provider)
        try:
            finder: Any = resolve_job_finder(provider)
        except Exception:
            finder = None
        candidates = [getattr(finder, "retrieve_job", None)] if finder is not None else []
        candidates += [getattr(provider, "retrieve_job", None), getattr(provider, "job", None)]
        lookup = next((found for found in candidates if callable(found)), None)
    if lookup is None:
        return None, f"cannot be found: {where} cannot look jobs up by id"
    try:
        job = lookup(job_id)
    except Exception as err:
        return None, f"cannot be found on {where}: {err}"
    if job is None:
        return None, f"cannot be found on {where}: it does not know the job (any more)"
    if not isinstance(job, JobV1):
        return None, f"cannot be followed: {where} gave a {type(job).__name__}, not a JobV1"
    return job, ""


def restore_job_set(job_set: ManagedJobSet, journal: Journal, provider: Any) -> None:
    """Rebuild ``job_set`` (a new, empty set with the right id) from the journal.

    Journaled final states and results are served from the journal; jobs
    without one are re-attached through ``provider`` when it can find them;
    the others are lost (or, with no provider, not attached) and report
    status ``None`` with an error message saying why.

    Raises:
        IBMQJobManagerUnknownJobSet: If the set is not journaled.
        JournalError: If the journal cannot be read.
    """
    job_set_id = job_set.job_set_id()
    stored = journal.stored_job_set(job_set_id)
    recorder = journal.recording().reopen(stored, JournalPolicy(job_set._journal_required))
    workload = workload_of(stored.workload)
    target = runnable_target(provider, workload)
    jobs: list[ManagedJob] = []
    names: list[str | None] = []
    to_watch: list[ManagedJob] = []
    for item in stored.slices:
        count = item.end_index - item.start_index + 1
        span = f"{item.start_index}-{item.end_index}"
        mjob = job_set._new_managed_job(item.start_index, count)
        stored_attempt = item.attempt
        attempt = stored_attempt.attempt if stored_attempt is not None else 0
        mjob._attempt = attempt
        mjob.job_name = (
            stored_attempt.job_name
            if stored_attempt is not None and stored_attempt.job_name
            else f"{stored.record.name}_{item.index}_"
        )
        final = True
        detached: str | None = None
        if stored_attempt is None or (
            stored_attempt.job_id is None
            and stored_attempt.submit_error is None
            and stored_attempt.status is None
        ):
            final = False
            mjob._lost_reason = (
                f"Experiments {span} were never submitted: the process running job set "
                f"{job_set_id} stopped first, or is still submitting them. "
                + (
                    "Once it has stopped, use retry_failed() to run them."
                    if item.has_circuits
                    else "Their circuits are not in the journal either: run them again "
                    "from your own circuits."
                )
            )
        elif stored_attempt.submit_error is not None:
            mjob.submit_error = SubmitError(
                stored_attempt.submit_error, item.start_index, item.end_index
            )
        elif stored_attempt.job_id is None:
            mjob._cancelled_before_submit = True
        elif stored_attempt.has_result or stored_attempt.status in ("ERROR", "CANCELLED"):
            mjob.job = JournaledJob(
                journal,
                job_set_id,
                item.index,
                attempt,
                job_id=stored_attempt.job_id,
                job_name=stored_attempt.job_name,
                status=JobStatus[stored_attempt.status or "DONE"],
                error=stored_attempt.error,
                has_result=stored_attempt.has_result,
            )
        elif provider is None:
            final = False
            detached = stored_attempt.job_id
            mjob._lost_reason = (
                f"Job {detached} for experiments {span} is not attached to its target: pass "
                "the provider or backend to retrieve_job_set() to follow it, or call "
                "retry_failed(backend=...) to re-attach or rerun it."
            )
        else:
            final = False
            job, why = reattach(provider, stored_attempt.job_id)
            if job is None:
                mjob._lost_reason = (
                    f"Job {stored_attempt.job_id} for experiments {span} {why}. "
                    "Use retry_failed() to run these experiments again."
                )
            else:
                mjob.job = job
                to_watch.append(mjob)
        mjob._observer = SliceObserver(
            job_set,
            item.index,
            recorder.existing_attempt(item.index, attempt, final=final),
            detached_job_id=detached,
        )
        jobs.append(mjob)
        slice_names = item.names
        if len(slice_names) != count and item.has_circuits:
            try:
                slice_names = [c.name for c in journal.load_circuits(job_set_id, item.index)]
            except JournalError:
                slice_names = []
        names.extend(slice_names if len(slice_names) == count else [None] * count)
    job_set._adopt_restored(
        name=stored.record.name,
        tags=list(stored.record.tags),
        created_at=stored.record.created_at,
        jobs=jobs,
        names=names,
        backend=provider if target is not None else None,
        target=target,
        workload=workload,
        backend_name=stored.record.backend_name,
        max_resubmits=stored.max_resubmits,
        recorder=recorder,
    )
    for mjob in to_watch:
        watch_job(mjob)
