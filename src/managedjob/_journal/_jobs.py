"""Jobs rebuilt from the journal: finished jobs that never contact a target."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from qiskit.providers import JobStatus
from qiskit.result import Result

from managedjob._managed_job import CompletedJob

if TYPE_CHECKING:
    from managedjob._journal._front import Journal

__all__ = ["JournaledJob"]


class JournaledJob(CompletedJob):
    """A finished job as the journal recorded it; it never contacts a target.

    A job set rebuilt from the journal holds one for each job whose final
    state was journaled: its :meth:`status` is that state, and its
    :meth:`result` is read from the journal (once, then cached).

    Do not build these yourself; :meth:`JobManager.retrieve_job_set` does.
    """

    def __init__(
        self,
        journal: Journal,
        job_set_id: str,
        index: int,
        attempt: int,
        *,
        job_id: str,
        job_name: str | None,
        status: JobStatus,
        error: str | None,
        has_result: bool,
    ) -> None:
        super().__init__(job_id, status, None, error)
        self._journal = journal
        self._key = (job_set_id, index, attempt)
        self._job_name = job_name
        self._has_result = has_result
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<JournaledJob {self.job_id()!r} {self._status.name}>"

    def result(self, timeout: float | None = None) -> Result:
        """Return the journaled result.

        Args:
            timeout: Ignored: the job is finished.

        Raises:
            JobError: If no result was journaled (the job was cancelled, or
                fetching its result failed).
            JournalError: If the journal cannot be read.
        """
        with self._lock:
            if self._result is None and self._has_result:
                self._result = self._journal.load_result(*self._key)
        return super().result(timeout)

    def name(self) -> str | None:
        """Return the job's name."""
        return self._job_name
