"""How a manager finds a job set again: in memory, in the journal, or on a provider."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qiskit.providers import JobV1

from managedjob._checks import check_positive_int
from managedjob._job_set import ManagedJobSet
from managedjob._journal import Journal, JournalPolicy
from managedjob._restore import restore_job_set
from managedjob.exceptions import InvalidInputError, JournalError, UnknownJobSetError

__all__ = [
    "JobSetFilter",
    "check_manager_settings",
    "flush_journal",
    "followed_jobs",
    "full_job_set_id",
    "rebuild_job_set",
    "select_job_sets",
]


def followed_jobs(job_set: ManagedJobSet) -> dict[str, JobV1]:
    """Return the jobs this process follows for ``job_set``, by id, once its submissions are over.

    A refresh re-attaches them rather than asking the target (which may not
    know in-process jobs at all), so a job still running is kept.
    """
    job_set._submitter.wait_for_submissions()
    followed: dict[str, JobV1] = {}
    for mjob in job_set.managed_jobs():
        job = mjob.job
        if job is not None:
            try:
                followed[job.job_id()] = job
            except Exception:  # a job that cannot tell its id is not re-attached
                continue
    return followed


def flush_journal(journal: Journal | None, required: bool) -> None:
    """Write what ``journal`` has queued, so that a rebuild reads all of it."""
    if journal is None:
        return
    try:
        journal.flush()
    except JournalError as err:
        JournalPolicy(required).failed(err, "Cannot write what the journal has queued")


def rebuild_job_set(
    job_set_id: str,
    new_set: Callable[[], ManagedJobSet],
    journal: Journal | None,
    journal_required: bool,
    provider: Any,
    refresh: bool,
    known_jobs: Mapping[str, JobV1] | None = None,
) -> ManagedJobSet:
    """Rebuild a set from the journal, else from ``provider`` by its tag.

    Args:
        job_set_id: The set's id.
        new_set: Makes the empty set to rebuild, with that id.
        journal: The manager's journal, if any.
        journal_required: What a journal failure does (see ``JobManager``).
        provider: Where the set's jobs were submitted, if known.
        refresh: Passed on to ``retrieve_jobs`` for a set found by tag.
        known_jobs: Jobs this process follows, by id, re-attached as they are.

    Raises:
        IBMQJobManagerUnknownJobSet: If the set is found nowhere.
    """
    job_set = new_set()
    journaled = False
    if journal is not None:
        try:
            journaled = journal.job_set(job_set_id) is not None
        except JournalError as err:
            JournalPolicy(journal_required).failed(
                err, f"Cannot look job set {job_set_id} up in the journal"
            )
    if journal is not None and journaled:
        restore_job_set(job_set, journal, provider, known_jobs)
    elif provider is None:
        where = f"in the journal {journal.path}" if journal is not None else "(no journal)"
        raise UnknownJobSetError(
            f"{job_set_id} is not a known job set: it is not {where}, and no provider was "
            "given to look it up by tag."
        )
    else:
        job_set.retrieve_jobs(provider=provider, refresh=refresh)
    return job_set


@dataclass(frozen=True)
class JobSetFilter:
    """Which sets ``JobManager.job_sets`` returns (see there)."""

    name: str | None = None
    tags: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def keeps(self, job_set: ManagedJobSet) -> bool:
        """Whether ``job_set`` passes the filter."""
        moment = job_set._created_at.timestamp()
        return (
            (self.name is None or job_set.name() == self.name)
            and set(self.tags).issubset(job_set.tags())
            and (self.since is None or moment >= self.since.timestamp())
            and (self.until is None or moment <= self.until.timestamp())
        )


def select_job_sets(
    mine: Sequence[ManagedJobSet],
    wanted: JobSetFilter,
    journal: Journal | None,
    journal_required: bool,
    new_set: Callable[[str], ManagedJobSet],
) -> list[ManagedJobSet]:
    """Return the manager's sets that pass ``wanted``, and the journal's if a journal is given.

    A journaled set the manager does not hold is rebuilt from the journal
    without a provider (``new_set(job_set_id)`` makes it empty first).
    """
    job_sets = [job_set for job_set in mine if wanted.keeps(job_set)]
    if journal is None:
        return job_sets
    known = {job_set.job_set_id() for job_set in mine}
    flush_journal(journal, journal_required)
    try:
        records = journal.job_sets(
            name=wanted.name,
            tags=list(wanted.tags) or None,
            since=wanted.since,
            until=wanted.until,
        )
    except JournalError as err:
        JournalPolicy(journal_required).failed(err, "Cannot list the journaled job sets")
        return job_sets
    for record in records:
        if record.job_set_id in known:
            continue
        job_set = new_set(record.job_set_id)
        try:
            restore_job_set(job_set, journal, provider=None)
        except UnknownJobSetError:  # deleted meanwhile
            continue
        job_sets.append(job_set)
    return sorted(job_sets, key=lambda job_set: job_set._created_at)


def full_job_set_id(
    text: str, known: Sequence[str], journal: Journal | None, journal_required: bool
) -> str:
    """Return the id ``text`` names: itself, or the one id (known here or journaled) it starts.

    The command line shows ids cut short (``c746f333``); the library takes
    them too when they name one set.

    Raises:
        InvalidInputError: If ``text`` starts several ids.
    """
    if text in known:
        return text
    journaled: list[str] = []
    if journal is not None:
        try:
            if journal.job_set(text) is not None:
                return text
            journaled = [record.job_set_id for record in journal.job_sets()]
        except JournalError as err:
            JournalPolicy(journal_required).failed(err, "Cannot look job set ids up")
    matches = sorted({i for i in (*known, *journaled) if i.startswith(text)})
    if len(matches) > 1:
        shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
        raise InvalidInputError(
            f"{text!r} is the start of {len(matches)} job set ids ({shown}); give more of it"
        )
    return matches[0] if matches else text


def check_manager_settings(
    executor: object,
    max_parallel_submits: object,
    max_parallel_fetches: object,
    journal: object,
    journal_required: object,
) -> None:
    """Check ``JobManager``'s settings, naming the first bad one.

    Raises:
        InvalidInputError: If a setting is not valid.
    """
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise InvalidInputError(
            f"executor must be a concurrent.futures.Executor, not {executor!r}"
        )
    for label, value in (
        ("max_parallel_submits", max_parallel_submits),
        ("max_parallel_fetches", max_parallel_fetches),
    ):
        if value is not None:
            check_positive_int(label, value)
    if not isinstance(journal, (bool, str, os.PathLike, Journal)):
        raise InvalidInputError(
            f"journal must be True, False, a path or a Journal, not {journal!r}"
        )
    if not isinstance(journal_required, bool):
        raise InvalidInputError(f"journal_required must be a bool, not {journal_required!r}")
