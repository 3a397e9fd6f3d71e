"""At most one runtime job per slice: a lost answer looked up, duplicates cancelled.

A job creation whose answer is lost (a dropped connection, a timeout, a 5xx
after the service created the job) may still have made the job; and
qiskit-ibm-runtime posts again by itself after a 502, leaving the first job
running, billed, and unknown to the caller. Each job carries its set's id
tag and its slice tag (see ``_tags``), so the slice's jobs can be listed:

* after a failed creation that the service did not refuse in words, the
  slice is looked up before the error is believed: a job made since the
  call began is the slice's job, and nothing is submitted again;
* after a creation, the slice's other jobs made since the call began are
  duplicates of the client's own retries: they are cancelled (the newest
  job is kept, as retrieval by tag keeps the newest of a slice), and the
  kept job says so (:attr:`~managedjob.targets.PrimitiveJobV1.cancelled_duplicates`).

"Since the call began" is the job's ``creation_date`` at or after the
moment the call began, less :data:`CLOCK_SLACK_SECONDS` for the difference
between this machine's clock and the service's; a slice's earlier attempts,
made before, are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from managedjob._naming import JOB_SET_ID_PREFIX, SLICE_TAG_PREFIX

__all__ = [
    "CLOCK_SLACK_SECONDS",
    "SliceCreation",
    "cancel_duplicates",
    "jobs_of_slice",
    "now",
]

logger = logging.getLogger("managedjob.targets.ibm_runtime")

#: How far this machine's clock and the service's may differ, in seconds.
CLOCK_SLACK_SECONDS = 5.0


def now() -> datetime:
    """The time, to compare with a runtime job's ``creation_date``."""
    return datetime.now(timezone.utc)


def _created(runtime_job: Any) -> datetime | None:
    try:
        created = runtime_job.creation_date
    except Exception:  # a job that cannot tell
        return None
    if not isinstance(created, datetime):
        return None
    return created if created.tzinfo is not None else created.replace(tzinfo=timezone.utc)


def jobs_of_slice(service: Any, tags: Sequence[str], since: datetime) -> list[Any]:
    """Return the slice's runtime jobs made since ``since``, oldest first.

    The slice is named by the set's id tag and the slice tag among ``tags``;
    an empty list if either is missing or the service cannot list jobs.
    """
    lister = getattr(service, "jobs", None)
    set_tag = next((t for t in tags if t.startswith(JOB_SET_ID_PREFIX)), None)
    slice_tag = next((t for t in tags if t.startswith(SLICE_TAG_PREFIX)), None)
    if not callable(lister) or set_tag is None or slice_tag is None:
        return []
    try:
        listed = list(lister(job_tags=[set_tag, slice_tag], limit=100, descending=False))
    except Exception as err:
        logger.warning("Could not look up the jobs of slice %s: %s", slice_tag, err)
        return []
    earliest = since - timedelta(seconds=CLOCK_SLACK_SECONDS)
    found = []
    for runtime_job in listed:
        created = _created(runtime_job)
        if created is not None and created >= earliest:
            found.append(runtime_job)
    return sorted(found, key=lambda job: _created(job) or earliest)


def cancel_duplicates(kept_id: str, found: Sequence[Any]) -> list[str]:
    """Cancel every job in ``found`` but ``kept_id``; return the ids cancelled or tried."""
    cancelled: list[str] = []
    for runtime_job in found:
        job_id = str(runtime_job.job_id())
        if job_id == kept_id:
            continue
        try:
            runtime_job.cancel()
        except Exception as err:  # already finished, or the service refused
            logger.warning("Could not cancel duplicate job %s: %s", job_id, err)
        else:
            logger.warning(
                "Job %s duplicated job %s (the client posted it again after a lost "
                "answer); it was cancelled.",
                job_id,
                kept_id,
            )
        cancelled.append(job_id)
    return cancelled


class SliceCreation:
    """One job creation for a slice, as both runtime targets make it (see the module).

    Made just before the creation call, which fixes "since the call began".

    Args:
        service: The runtime service, or ``None`` where there is none
            (local testing mode): then nothing is looked up.
        tags: The job's tags, its set's id tag and slice tag among them.
    """

    def __init__(self, service: Any, tags: Sequence[str]) -> None:
        self._service = service
        self._tags = list(tags)
        self._started = now()
        self._found: list[Any] | None = None

    def made_despite(self, error: BaseException, job_name: str) -> Any | None:
        """After a creation failed, not refused in words: the job the service made anyway.

        Returns:
            The slice's newest runtime job made since the call began, or
            ``None`` (then the error stands).
        """
        if self._service is None:
            return None
        self._found = jobs_of_slice(self._service, self._tags, self._started)
        if not self._found:
            return None
        kept = self._found[-1]
        logger.warning(
            "Creating job %s failed (%s), but the service had made it: job %s is followed.",
            job_name,
            error,
            kept.job_id(),
        )
        return kept

    def cancel_duplicates(self, kept_id: str) -> list[str]:
        """Cancel the slice's other jobs made since the call began; return their ids."""
        if self._service is None:
            return []
        found = self._found
        if found is None:
            found = jobs_of_slice(self._service, self._tags, self._started)
        return cancel_duplicates(kept_id, found)
