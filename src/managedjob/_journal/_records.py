"""What the journal's rows say: the records it lists, and the stored state of a set."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from qiskit.providers import JobStatus

from managedjob._journal._runner import runner_alive

__all__ = [
    "RECORD_QUERY",
    "AttemptRecord",
    "JobSetRecord",
    "StoredAttempt",
    "StoredSet",
    "StoredSlice",
    "moment",
    "record_from_row",
    "timestamp",
]


@dataclass(frozen=True)
class JobSetRecord:
    """What the journal holds about one job set, for listing.

    Attributes:
        job_set_id: The set's id (:meth:`ManagedJobSet.job_set_id`).
        name: The set's name.
        tags: The set's tags.
        created_at: When the set was run (UTC).
        backend_name: The name of the target it ran on.
        experiments: How many experiments it has.
        jobs: How many jobs (slices) it has.
        submitted_jobs: How many of them have a job id (in their latest
            submission).
        finished_jobs: How many of them reached a final state: done,
            failed, cancelled, or failed to submit.
    """

    job_set_id: str
    name: str
    tags: tuple[str, ...]
    created_at: datetime
    backend_name: str
    experiments: int
    jobs: int
    submitted_jobs: int
    finished_jobs: int


@dataclass(frozen=True)
class AttemptRecord:
    """What the journal holds about one submission of one job of a set.

    A job that was resubmitted (:meth:`ManagedJobSet.retry_failed`,
    ``max_resubmits``) has one record per submission, the first with
    ``attempt`` 0.

    Attributes:
        index: The job's place in its set.
        attempt: Which submission of the job this is (0 for the first).
        start_index: The job's first experiment.
        end_index: The job's last experiment.
        job_name: The name it was submitted with, if it was.
        job_id: The id the target gave the job, if any.
        submitted_at: When it was submitted, or its submission failed.
        finished_at: When its final state was journaled.
        status: Its journaled final status (``DONE``, ``ERROR`` or
            ``CANCELLED``), ``None`` while it has none.
        submit_error: Why the submission failed, if it did.
        error: Why the job failed, if it did.
        runner: For a job that computes in the process that submitted it
            (an in-process simulator), that process as ``host:pid:start``;
            ``None`` for jobs that outlive it.
    """

    index: int
    attempt: int
    start_index: int
    end_index: int
    job_name: str | None
    job_id: str | None
    submitted_at: datetime | None
    finished_at: datetime | None
    status: JobStatus | None
    submit_error: str | None
    error: str | None
    runner: str | None = None

    @property
    def awaited_in_a_process(self) -> bool:
        """Whether the job has no final state and computes in the process :attr:`runner`."""
        return self.status is None and self.submit_error is None and self.runner is not None

    @property
    def lost(self) -> bool:
        """Whether the job has no final state and the process it computed in has ended."""
        return (
            self.awaited_in_a_process
            and self.runner is not None
            and runner_alive(self.runner) is False
        )


@dataclass(frozen=True)
class StoredAttempt:
    """The latest submission of a slice, as a rebuilt set needs it."""

    attempt: int
    job_name: str | None
    job_id: str | None
    submit_error: str | None
    status: str | None
    error: str | None
    has_result: bool


@dataclass(frozen=True)
class StoredSlice:
    """One slice of a stored set, with its latest attempt (``None`` if it has none)."""

    index: int
    start_index: int
    end_index: int
    names: list[str | None]
    has_circuits: bool
    attempt: StoredAttempt | None


@dataclass(frozen=True)
class StoredSet:
    """What a set needs to be rebuilt from the journal; ``run_config`` is its JSON."""

    record: JobSetRecord
    run_config: str
    unsaved_options: list[str]
    max_resubmits: int
    slices: list[StoredSlice]
    workload: str = "circuits"


# Only a slice's latest attempt counts.
_LATEST = (
    "a.attempt = (SELECT max(b.attempt) FROM attempts b "
    "WHERE b.set_id = a.set_id AND b.idx = a.idx)"
)
# One row per set, in the order record_from_row reads; callers add the WHERE.
RECORD_QUERY = f"""
SELECT s.id, s.name, s.tags, s.created_at, s.target, s.experiments,
    (SELECT count(*) FROM slices c WHERE c.set_id = s.id),
    (SELECT count(*) FROM attempts a
        WHERE a.set_id = s.id AND a.job_id IS NOT NULL AND {_LATEST}),
    (SELECT count(*) FROM attempts a
        WHERE a.set_id = s.id AND (a.status IS NOT NULL OR a.submit_error IS NOT NULL)
        AND {_LATEST})
FROM job_sets s
"""


def record_from_row(row: Sequence[Any]) -> JobSetRecord:
    """Return the record of a row of :data:`RECORD_QUERY`."""
    target = json.loads(row[4])
    return JobSetRecord(
        job_set_id=row[0],
        name=row[1],
        tags=tuple(json.loads(row[2])),
        created_at=datetime.fromtimestamp(row[3], tz=timezone.utc),
        backend_name=str(target.get("name", "unknown")),
        experiments=int(row[5]),
        jobs=int(row[6]),
        submitted_jobs=int(row[7]),
        finished_jobs=int(row[8]),
    )


def moment(timestamp: float | None) -> datetime | None:
    """Return a stored time (seconds since the epoch) as a UTC datetime."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, tz=timezone.utc)


def timestamp(moment: datetime | None, what: str) -> float | None:
    """Return ``moment`` as seconds since the epoch; ``what`` names it in the error.

    Raises:
        TypeError: If ``moment`` is not a datetime.
    """
    if moment is None:
        return None
    if not isinstance(moment, datetime):
        raise TypeError(f"{what} must be a datetime, not {moment!r}")
    return moment.timestamp()
