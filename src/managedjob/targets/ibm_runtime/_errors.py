"""How IBM Quantum's refusals of a job become managedjob errors."""

from __future__ import annotations

import re

from managedjob._throttle import error_chain, retry_after, too_many_requests
from managedjob.exceptions import JobLimitError, JobManagerError, TooManyRequestsError

__all__ = [
    "IBMJobLimitError",
    "IBMRuntimeQuotaError",
    "is_session_closed",
    "rate_limit_of",
    "translate_submit_error",
]

_JOB_LIMIT_CODE = 3458
_QUOTA_CODE = 4317
_ERROR_CODE_RE = re.compile(r"(?:error\s*code|\"code\")\W{0,3}(\d{4})\b", re.IGNORECASE)
_PENDING_LIMIT_RE = re.compile(
    r"limit of (\d+) pending jobs|maximum number \((\d+)\) of concurrent jobs|"
    r"maximum number of pending jobs",
    re.IGNORECASE,
)
_QUOTA_RE = re.compile(r"monthly quota", re.IGNORECASE)


class IBMJobLimitError(JobLimitError):
    """IBM Quantum refused a job: the instance has too many pending jobs (code 3458).

    A managed job that meets it waits for a pending job to finish and submits
    again.

    Attributes:
        code: The service's error code, 3458.
        limit: How many pending jobs the instance may have, when the service said.
    """

    code = _JOB_LIMIT_CODE

    def __init__(self, message: str, limit: int | None = None) -> None:
        super().__init__(message)
        self.limit = limit


class IBMRuntimeQuotaError(JobManagerError):
    """IBM Quantum refused a job: the instance's monthly quota is used up (code 4317).

    It is not retried: no job runs until the quota resets or more time is
    made available to the instance.

    Attributes:
        code: The service's error code, 4317.
    """

    code = _QUOTA_CODE


def rate_limit_of(error: BaseException) -> TooManyRequestsError | None:
    """Return a :class:`TooManyRequestsError` if ``error`` is an HTTP 429, else ``None``.

    qiskit-ibm-runtime does not retry a 429 on job creation (it raises
    ``IBMRuntimeError``) and gives up on status reads after a few; the HTTP
    response, and its ``Retry-After``, is in the exception chain.
    """
    if not too_many_requests(error):
        return None
    after = retry_after(error)
    wait = "" if after is None else f"; it asked to wait {after:g} s"
    return TooManyRequestsError(
        f"IBM Quantum refused the request: too many requests (HTTP 429){wait}",
        retry_after=after,
    )


_SESSION_CLOSED_CODE = 4001
_SESSION_CLOSED_RE = re.compile(
    r"session (?:that's |that has |is |has )?(?:been )?(?:closed|expired|ended)", re.IGNORECASE
)


def is_session_closed(error: BaseException) -> bool:
    """Whether ``error`` says the job's batch or session is closed (code 4001)."""
    text = "\n".join(str(item) for item in error_chain(error))
    codes = {int(code) for code in _ERROR_CODE_RE.findall(text)}
    return _SESSION_CLOSED_CODE in codes or _SESSION_CLOSED_RE.search(text) is not None


def translate_submit_error(error: Exception, job_name: str, count: int) -> JobManagerError | None:
    """Return the managedjob error for a refusal the service explained, if it is one.

    Args:
        error: What submitting the job raised.
        job_name: The job's name, for the message.
        count: How many circuits the job has, for the message.

    Returns:
        An :class:`IBMRuntimeQuotaError`, an :class:`IBMJobLimitError`, a
        :class:`~managedjob.exceptions.TooManyRequestsError` (HTTP 429, with
        the ``Retry-After`` the service gave), or ``None`` for any other error.
    """
    limited = rate_limit_of(error)
    if limited is not None:
        return TooManyRequestsError(
            f"IBM Quantum refused job {job_name} ({count} circuits) for now: {limited}",
            retry_after=limited.retry_after,
        )
    text = "\n".join(str(item) for item in error_chain(error))
    codes = {int(code) for code in _ERROR_CODE_RE.findall(text)}
    where = f"job {job_name} ({count} circuits)"
    if _QUOTA_CODE in codes or _QUOTA_RE.search(text):
        return IBMRuntimeQuotaError(
            f"IBM Quantum refused {where}: the instance's monthly quota is used up "
            f"(error code {_QUOTA_CODE}). The job is not retried; submit it again once "
            f"the quota resets or more time is made available. The service said: {error}"
        )
    pending = _PENDING_LIMIT_RE.search(text)
    if _JOB_LIMIT_CODE in codes or pending is not None:
        limit_text = None if pending is None else (pending.group(1) or pending.group(2))
        limit = int(limit_text) if limit_text else None
        reached = "its limit" if limit is None else f"its limit of {limit}"
        return IBMJobLimitError(
            f"IBM Quantum refused {where}: the instance has reached {reached} pending "
            f"jobs (error code {_JOB_LIMIT_CODE}); it is submitted again once a pending "
            f"job finishes. The service said: {error}",
            limit=limit,
        )
    return None
