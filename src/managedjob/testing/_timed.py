"""What every scripted job shares: a submission time and a phase that follows the clock."""

from __future__ import annotations

from qiskit.providers import JobStatus

__all__ = ["FINAL_STATES", "TimedRun"]


FINAL_STATES = frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED})


class TimedRun:
    """What the scripted jobs share: a place, a submission time, a clock-driven phase.

    A job is queued for the first half of its run time, running for the
    second half, then done (or failed, if scripted to fail); cancelled at
    once when cancelled.
    """

    _index: int
    _submitted_at: float
    _run_time: float
    _failure: str | None
    _cancelled: bool

    @property
    def index(self) -> int:
        """Place of this job among its backend's (or service's) jobs, counting from 0."""
        return self._index

    @property
    def submitted_at(self) -> float:
        """The clock's time when the job was accepted."""
        return self._submitted_at

    @property
    def finish_time(self) -> float:
        """The clock's time at which the job ends, unless it is cancelled first."""
        return self._submitted_at + self._run_time

    def _phase_at(self, now: float) -> str:
        # Callers hold the job's lock, or accept a status that is a moment old.
        if self._cancelled:
            return "CANCELLED"
        elapsed = now - self._submitted_at
        if elapsed >= self._run_time:
            return "ERROR" if self._failure is not None else "DONE"
        return "QUEUED" if elapsed < self._run_time / 2 else "RUNNING"
