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

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qiskit.providers import JobStatus, JobV1

from managedjob._job_set._workload import Workload, workload_of
from managedjob._journal import (
    Journal,
    JournaledJob,
    JournalError,
    JournalPolicy,
    JournalRecorder,
    SliceObserver,
)
from managedjob._managed_job import ManagedJob
from managedjob._naming import JOB_SET_ID_PREFIX, parse_job_name
from managedjob._watch import watch_job
from managedjob.exceptions import SubmitError
from managedjob.targets import Target, TargetBase, resolve_job_finder, resolve_target

if TYPE_CHECKING:
    from managedjob._job_set import ManagedJobSet

__all__ = ["find_unrecorded", "reattach", "restore_job_set", "runnable_target"]

# Jobs asked for per page when a provider's jobs are listed by tag.
_PAGE = 1000


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


def _listed_by_tag(provider: Any, tag: str) -> list[tuple[int, JobV1]] | str:
    """List the jobs tagged ``tag`` on a provider with ``jobs(job_tags=...)``, by index."""
    owners = [provider]
    if isinstance(provider, TargetBase):
        owners.append(provider.wrapped)
    owners.append(getattr(provider, "backend", None))
    lister = next(
        (found for owner in owners if callable(found := getattr(owner, "jobs", None))), None
    )
    if lister is None:
        return "it cannot list jobs by tag"
    jobs: list[JobV1] = []
    while True:
        batch = list(lister(job_tags=[tag], skip=len(jobs), limit=_PAGE))
        jobs.extend(batch)
        if len(batch) < _PAGE:
            break
    placed: list[tuple[int, JobV1]] = []
    for job in jobs:
        name = getattr(job, "name", None)
        parsed = parse_job_name(name()) if callable(name) else None
        if parsed is not None and isinstance(job, JobV1):
            placed.append((parsed[1], job))
    return placed


def find_unrecorded(
    provider: Any, job_set_id: str, indexes: set[int], known_ids: set[str]
) -> tuple[dict[int, JobV1], str]:
    """Look for jobs of a set that were submitted but whose ids were never journaled.

    A process can stop between a target accepting a job and the journal
    recording its id. Such a job still carries the set's id tag and its
    slice's index (in its name, or managedjob's slice tag), so a target that
    lists jobs by tag (an IBM Quantum runtime service, or any provider with
    ``jobs(job_tags=...)``) can be asked for it.

    Args:
        provider: Where the set ran (a provider, backend, service or target).
        job_set_id: The set's id.
        indexes: The slices whose latest submission has no journaled id.
        known_ids: Every job id journaled for the set (earlier attempts
            included): those jobs are not the missing ones.

    Returns:
        The job found for each slice of ``indexes`` that has one (the newest
        when there are several), and ``""``; or no jobs and why ``provider``
        cannot be asked.
    """
    tag = f"{JOB_SET_ID_PREFIX}{job_set_id}_"  # the set's long id, as SetState makes it
    where = runnable_target(provider)
    name = where.name if where is not None else _provider_name(provider)
    try:
        finder: Any = resolve_job_finder(provider)
    except Exception:
        finder = None
    try:
        if finder is not None:
            listed: list[tuple[int, JobV1]] | str = [
                (item.index, item.job) for item in finder.find_job_set_jobs(tag)
            ]
        else:
            listed = _listed_by_tag(provider, tag)
    except Exception as err:
        return {}, f"{name} could not be asked for them ({type(err).__name__}: {err})"
    if isinstance(listed, str):
        return {}, f"{name} cannot be asked for them: {listed}"
    found: dict[int, JobV1] = {}
    for index, job in listed:  # newest first
        if index not in indexes or index in found:
            continue
        try:
            job_id = str(job.job_id())
        except Exception:
            continue
        if job_id not in known_ids:
            found[index] = job
    return found, ""


def _unrecorded_reason(span: str, job_set_id: str, has_circuits: bool, asked: str | None) -> str:
    """Say why a slice without a journaled job id is not attached to a job."""
    if asked is None:
        text = (
            f"Experiments {span} may have been submitted: the process running job set "
            f"{job_set_id} stopped before their job id was journaled (or is still submitting "
            "them), and their target was not asked. Pass the provider or backend to "
            "retrieve_job_set() or retry_failed(backend=...) to look them up by the set's tags. "
        )
    elif asked:
        text = (
            f"Experiments {span} may have been submitted: the process running job set "
            f"{job_set_id} stopped before their job id was journaled, and {asked}. "
            "retry_failed() runs them again, which may run them twice. "
        )
    else:
        text = (
            f"Experiments {span} were never submitted: the process running job set "
            f"{job_set_id} stopped first, or is still submitting them. "
        )
    if has_circuits:
        return text + "Once it has stopped, use retry_failed() to run them."
    return (
        text + "Their circuits are not in the journal either: pass them to "
        "retry_failed(circuits=...)."
    )


def restore_job_set(
    job_set: ManagedJobSet,
    journal: Journal,
    provider: Any,
    known_jobs: Mapping[str, JobV1] | None = None,
) -> None:
    """Rebuild ``job_set`` (a new, empty set with the right id) from the journal.

    Journaled final states and results are served from the journal; jobs
    without one are re-attached from ``known_jobs`` (the jobs this process
    follows, by id), else through ``provider`` when it can find them; the
    others are lost (or, with no provider, not attached) and report status
    ``None`` with an error message saying why.

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
    unrecorded: list[tuple[ManagedJob, int, str, bool]] = []
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
            unrecorded.append((mjob, item.index, span, item.has_circuits))
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
        elif known_jobs and stored_attempt.job_id in known_jobs:
            final = False
            mjob.job = known_jobs[stored_attempt.job_id]
            to_watch.append(mjob)
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
    if unrecorded:
        to_watch += settle_unrecorded(recorder.journal, job_set_id, provider, unrecorded)
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


def settle_unrecorded(
    journal: JournalRecorder,
    job_set_id: str,
    provider: Any,
    unrecorded: list[tuple[ManagedJob, int, str, bool]],
) -> list[ManagedJob]:
    """Attach the slices without a journaled job id to their jobs, where they can be found.

    ``unrecorded`` holds, per slice, its managed job, index, experiment span
    and whether the journal has its circuits; ``journal`` is the set's
    journal's write side.

    A job found on ``provider`` by the set's tags is attached and its id
    journaled; the others are marked lost, as never submitted when the
    provider was asked, or as maybe submitted when it could not be. Their
    observers must be set.

    Returns:
        The slices now attached to a job (to be watched).
    """
    if provider is None:
        found: dict[int, JobV1] = {}
        why: str | None = None
    else:
        found, why = find_unrecorded(
            provider,
            job_set_id,
            {index for _, index, _, _ in unrecorded},
            journal.job_ids(job_set_id),
        )
    attached: list[ManagedJob] = []
    for mjob, index, span, has_circuits in unrecorded:
        observer = mjob._observer
        job = found.get(index)
        if job is None:
            mjob._lost_reason = _unrecorded_reason(span, job_set_id, has_circuits, why)
            if isinstance(observer, SliceObserver):
                observer.unrecorded = why is None or bool(why)
            continue
        mjob.job = job
        mjob._lost_reason = None
        if isinstance(observer, SliceObserver):
            observer.unrecorded = False
            if observer.recorder is not None:
                observer.recorder.record_submission(mjob)
        attached.append(mjob)
    return attached
