"""How IBM Quantum's refusals of a job become managedjob errors."""

from __future__ import annotations

import re

from managedjob.exceptions import JobLimitError, JobManagerError

__all__ = ["IBMJobLimitError", "IBMRuntimeQuotaError", "translate_submit_error"]

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


def _error_chain(error: BaseException) -> list[BaseException]:
    # qiskit-ibm-runtime raises its errors ``from None``: the HTTP error is
    # still the __context__.
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def translate_submit_error(error: Exception, job_name: str, count: int) -> JobManagerError | None:
    """Return the managedjob error for a refusal the service explained, if it is one.

    Args:
        error: What submitting the job raised.
        job_name: The job's name, for the message.
        count: How many circuits the job has, for the message.

    Returns:
        An :class:`IBMRuntimeQuotaError` or an :class:`IBMJobLimitError`, or
        ``None`` when ``error`` is neither refusal.
    """
    text = "\n".join(str(item) for item in _error_chain(error))
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
