"""How a managed job words what went wrong: warnings, job ids, failed results."""

from __future__ import annotations

import logging
import warnings

from qiskit.providers import JobV1
from qiskit.result import Result

from managedjob.exceptions import JobManagerInvalidStateError

__all__ = [
    "ExecutorShutDownError",
    "check_count",
    "describe_failure",
    "experiment_name",
    "job_id",
    "warn",
]


class ExecutorShutDownError(JobManagerInvalidStateError, RuntimeError):
    """The executor takes no new work (it was shut down).

    Also a :class:`RuntimeError`, the type the executor raises, which the
    legacy job manager let through: scripts that catch it keep working.
    """


logger = logging.getLogger("managedjob._managed_job")


def warn(message: str) -> None:
    """Warn as the legacy manager did, even from a worker thread.

    A warnings filter that turns warnings into errors must not make a
    submission future raise, so such an error is logged instead.
    """
    try:
        warnings.warn(message, UserWarning, stacklevel=3)
    except Warning:
        logger.warning(message)


def check_count(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an int of at least ``minimum``.

    Raises:
        ValueError: Naming the value.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value}")
    return value


def job_id(job: JobV1 | None) -> str | None:
    """Return the job's id, or ``None`` if there is no job or it cannot tell."""
    if job is None:
        return None
    try:
        return str(job.job_id())
    except Exception:
        return None


def experiment_name(experiment: object) -> str | None:
    """Return the name in an experiment result's header, if it has one."""
    header = getattr(experiment, "header", None)
    name = header.get("name") if isinstance(header, dict) else getattr(header, "name", None)
    return name if isinstance(name, str) else None


def _said(text: str) -> str:
    """The words of a failure, without the ``ERROR:`` prefix simulators put before them."""
    text = text.strip()
    return text[len("ERROR:") :].strip() if text.upper().startswith("ERROR:") else text


def describe_failure(result: Result) -> str:
    """Return what a failed result says: its status, then each failed experiment.

    Each text is said once: a job status that only repeats what its failed
    experiments say (as Aer's does) is left out.
    """
    status = str(result.status or "").strip()
    failed: list[str] = []
    texts: list[str] = []
    for index, experiment in enumerate(result.results):
        if not experiment.success:
            name = experiment_name(experiment)
            label = f"experiment {index}" + (f" ({name})" if name else "")
            text = str(getattr(experiment, "status", None) or "failed")
            failed.append(f"{label}: {text}")
            texts.append(_said(text))
    repeats = bool(texts) and all(text and text in status for text in texts)
    header = "Job failed." if not status or repeats else f"Job failed: {status}"
    return "\n".join([header, *failed])
