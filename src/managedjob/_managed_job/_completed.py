"""A finished job carried back from another process, with its result."""

from __future__ import annotations

from qiskit.providers import JobStatus, JobV1
from qiskit.providers.exceptions import JobError
from qiskit.result import Result

from managedjob._wait import wait_for_final_state

__all__ = ["CompletedJob"]


class CompletedJob(JobV1):
    """A finished job carried back from another process, with its result.

    When an executor runs a submission in another process (a
    ``ProcessPoolExecutor``, a Dask cluster), the job is waited for there and
    comes back as one of these: its status and result are those the job had,
    and it never contacts the target again.

    Args:
        job_id: The original job's id.
        status: Its final status.
        result: Its result, or ``None`` when fetching it failed.
        error: Why there is no result, if there is none.
        backend_name: Name of the backend it ran on.
    """

    #: Its result is in memory: reading it costs nothing.
    result_is_local = True

    def __init__(
        self,
        job_id: str,
        status: JobStatus,
        result: Result | None,
        error: str | None = None,
        backend_name: str | None = None,
    ) -> None:
        super().__init__(None, job_id)
        self._status = status
        self._result = result
        self._error = error
        self.backend_name = backend_name

    @classmethod
    def finish(cls, job: JobV1) -> CompletedJob:
        """Wait for ``job`` to finish and keep its final status and result."""
        try:
            wait_for_final_state(job)
            result = job.result()
            error = None
        except Exception as err:
            result, error = None, f"{type(err).__name__}: {err}"
        try:
            status = job.status()
        except Exception:
            status = JobStatus.ERROR if result is None else JobStatus.DONE
        backend = getattr(result, "backend_name", None)
        return CompletedJob(str(job.job_id()), status, result, error, backend)

    def submit(self) -> None:
        """Not supported: the job ran already.

        Raises:
            JobError: Always.
        """
        raise JobError(f"job {self.job_id()} has finished; it cannot be submitted again")

    def status(self) -> JobStatus:
        """Return the status the job ended in."""
        return self._status

    def result(self, timeout: float | None = None) -> Result:
        """Return the job's result.

        Args:
            timeout: Ignored: the job is finished.

        Raises:
            JobError: If the job has no result (it failed or was cancelled, or
                fetching its result failed).
        """
        if self._result is None:
            raise JobError(
                f"job {self.job_id()} has no result: {self._error or self._status.value}"
            )
        return self._result

    def cancel(self) -> bool:
        """Return ``False``: a finished job cannot be cancelled."""
        return False

    def error_message(self) -> str | None:
        """Return why the job failed, or ``None`` if it did not fail."""
        return None if self._status is JobStatus.DONE else self._error
