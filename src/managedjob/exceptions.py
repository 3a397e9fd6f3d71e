"""Errors raised by managedjob.

Every error derives from :class:`JobManagerError`, which is a
:class:`qiskit.exceptions.QiskitError`, so code that catches Qiskit errors
keeps catching these. The tree::

    JobManagerError (QiskitError)
    ├── JobManagerInvalidStateError
    │   └── InvalidInputError (also ValueError)
    │       └── UnsupportedRunOptionError
    ├── JobManagerTimeoutError
    ├── JobNotFoundError
    ├── ResultDataNotAvailableError
    ├── UnknownJobSetError
    ├── JobTimeoutError (also qiskit.providers.exceptions.JobTimeoutError)
    ├── JobLimitError
    ├── TooManyRequestsError
    ├── JournalError
    └── SubmitError

The names used by the legacy ``qiskit.providers.ibmq.managed`` package are
aliases of these classes, so ``except IBMQJobManagerJobNotFound`` and
``except JobNotFoundError`` catch the same thing.
"""

from __future__ import annotations

import os
from pathlib import Path

from qiskit.exceptions import QiskitError
from qiskit.providers.exceptions import JobTimeoutError as QiskitJobTimeoutError

__all__ = [
    "IBMQJobManagerError",
    "IBMQJobManagerInvalidStateError",
    "IBMQJobManagerJobNotFound",
    "IBMQJobManagerTimeoutError",
    "IBMQJobManagerUnknownJobSet",
    "IBMQJobTimeoutError",
    "IBMQManagedResultDataNotAvailable",
    "InvalidInputError",
    "JobLimitError",
    "JobManagerError",
    "JobManagerInvalidStateError",
    "JobManagerTimeoutError",
    "JobNotFoundError",
    "JobTimeoutError",
    "JournalError",
    "ResultDataNotAvailableError",
    "SubmitError",
    "TooManyRequestsError",
    "UnknownJobSetError",
    "UnsupportedRunOptionError",
    "UsageBudgetError",
    "error_text",
]


class JobManagerError(QiskitError):
    """Root of every error raised by managedjob."""

    def __str__(self) -> str:
        # QiskitError shows the repr of its message (quoted); show it plainly.
        return str(self.message)


def error_text(error: BaseException) -> str:
    """Return the message of ``error`` without the quotes ``QiskitError`` adds."""
    message = getattr(error, "message", None)
    if isinstance(error, QiskitError) and isinstance(message, str):
        return message
    return str(error)


class JobManagerInvalidStateError(JobManagerError):
    """An operation was asked for in a state that does not allow it.

    Examples: running a job set twice, updating tags with nothing to update,
    submitting to an executor that was shut down.
    """


class InvalidInputError(JobManagerInvalidStateError, ValueError):
    """A value passed in was rejected before anything was submitted.

    The message names the bad value and, for an item of a list, its index.
    It is also a :class:`ValueError`, and a
    :class:`JobManagerInvalidStateError` as the legacy manager raised for bad
    input.
    """


class UnsupportedRunOptionError(InvalidInputError):
    """A run option cannot be honoured by the target.

    Attributes:
        option: The name of the rejected option.
    """

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


class JobManagerTimeoutError(JobManagerError):
    """A job-set operation, such as collecting results, timed out."""


class JobNotFoundError(JobManagerError):
    """No job of the set holds the experiment asked for."""


class ResultDataNotAvailableError(JobManagerError):
    """The result data of an experiment cannot be had.

    The job that ran the experiment failed, was cancelled, or never got
    submitted; the message says which experiment and why.
    """


class UnknownJobSetError(JobManagerError):
    """No job set with the given id can be found."""


class JobTimeoutError(JobManagerError, QiskitJobTimeoutError):
    """One job did not finish within the time asked for.

    It is also a :class:`qiskit.providers.exceptions.JobTimeoutError`.
    """


class JobLimitError(JobManagerError):
    """The target refuses a job because too many of the user's jobs are pending.

    Target adapters raise it (or a subclass) so that a managed job waits for
    a pending job to finish and submits again, instead of failing.
    """


class UsageBudgetError(JobManagerError):
    """A job was not submitted: it would take the set past its ``max_usage_seconds``.

    It is the job's ``submit_error``; the job is not resubmitted by
    ``max_resubmits``, and :meth:`~managedjob.ManagedJobSet.retry_failed`
    submits it (the budget no longer applies once you ask).

    Attributes:
        estimate: The job's estimated usage, in seconds.
        committed: The usage of the set's jobs already submitted (actual
            where the service reported it, else estimated), in seconds.
        budget: The set's ``max_usage_seconds``.
    """

    def __init__(self, message: str, estimate: float, committed: float, budget: float) -> None:
        super().__init__(message)
        self.estimate = estimate
        self.committed = committed
        self.budget = budget


class TooManyRequestsError(JobManagerError):
    """The target refuses a call for now: too many requests (HTTP 429).

    Target adapters raise it so that a submission waits and tries again,
    without counting the refusal as a failed try, and so that the set's
    adaptive concurrency backs off.

    Attributes:
        retry_after: Seconds the target asked to wait (its ``Retry-After``),
            or ``None`` if it named none.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JournalError(JobManagerError):
    """The journal cannot be created, read or written.

    The message names the file and says what to do. A file that is not a
    journal is never written to.

    Attributes:
        path: The journal file.
    """

    def __init__(self, message: str, path: str | os.PathLike[str]) -> None:
        super().__init__(message)
        self.path = Path(path)


class SubmitError(JobManagerError):
    """A job could not be submitted; kept in ``ManagedJob.submit_error``.

    Attributes:
        start_index: First experiment of the slice that was not submitted.
        end_index: Last experiment of that slice.
    """

    def __init__(self, message: str, start_index: int, end_index: int) -> None:
        super().__init__(message)
        self.start_index = start_index
        self.end_index = end_index


# Legacy names, kept so that code written for qiskit-ibmq-provider runs as is.
IBMQJobManagerError = JobManagerError
IBMQJobManagerInvalidStateError = JobManagerInvalidStateError
IBMQJobManagerTimeoutError = JobManagerTimeoutError
IBMQJobManagerJobNotFound = JobNotFoundError
IBMQManagedResultDataNotAvailable = ResultDataNotAvailableError
IBMQJobManagerUnknownJobSet = UnknownJobSetError
IBMQJobTimeoutError = JobTimeoutError
