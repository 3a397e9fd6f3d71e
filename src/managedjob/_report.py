"""Text reports on the jobs of job sets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape

from qiskit.providers import JobStatus

from managedjob._managed_job import ManagedJob
from managedjob.exceptions import error_text

__all__ = [
    "format_html_table",
    "format_job_details",
    "format_manager_report",
    "format_status_counts",
    "format_state_counts",
]

_PENDING = (JobStatus.INITIALIZING, JobStatus.VALIDATING, JobStatus.QUEUED)


def format_status_counts(statuses: Sequence[JobStatus | None]) -> list[str]:
    """Return the summary lines: how many jobs are in each state."""
    counts = Counter(statuses)
    return [
        f"       Total jobs: {len(statuses)}",
        f"  Successful jobs: {counts[JobStatus.DONE]}",
        f"      Failed jobs: {counts[JobStatus.ERROR]}",
        f"   Cancelled jobs: {counts[JobStatus.CANCELLED]}",
        f"     Running jobs: {counts[JobStatus.RUNNING]}",
        f"     Pending jobs: {sum(counts[status] for status in _PENDING)}",
    ]


def _indented(text: str, spaces: int) -> list[str]:
    return [" " * spaces + line for line in text.split("\n")]


def format_job_details(
    statuses: Sequence[JobStatus | None], managed_jobs: Sequence[ManagedJob]
) -> list[str]:
    """Return the detail lines: one block per job."""
    report: list[str] = []
    for index, (status, mjob) in enumerate(zip(statuses, managed_jobs, strict=True)):
        report.append(f"  experiments: {mjob.start_index}-{mjob.end_index}")
        report.append(f"    job index: {index}")
        if mjob.submit_error is not None:
            report.append(f"    status: job submit failed: {error_text(mjob.submit_error)}")
            continue
        job = mjob.job
        if job is None:
            state = status.value if status is not None else "Unknown"
            report.append(f"    status: {state}")
            reason = mjob.error_message() if status is None else None
            if reason:
                report.append("    error_message:")
                report.extend(_indented(reason, 6))
            continue
        report.append(f"    job ID: {job.job_id()}")
        name = getattr(job, "name", None)
        shown = name() if callable(name) else mjob.job_name
        report.append(f"    name: {shown}")
        report.append(f"    status: {status.value if status is not None else 'Unknown'}")
        duplicates = getattr(job, "cancelled_duplicates", None)
        if duplicates:
            report.append(f"    cancelled duplicate jobs: {', '.join(duplicates)}")
        if status is JobStatus.QUEUED:
            position = getattr(job, "queue_position", None)
            if callable(position):
                report.append(f"    queue position: {position()}")
        elif status is JobStatus.ERROR:
            message = mjob.error_message()
            if message:
                report.append("    error_message:")
                report.extend(_indented(message, 6))
    return report


def format_manager_report(
    job_sets: Sequence[tuple[str | None, str, Sequence[JobStatus | None], Sequence[ManagedJob]]],
    detailed: bool,
) -> str:
    """Return a manager's report: one summary, then one block per set.

    Args:
        job_sets: ``(name, job set ID, statuses, managed jobs)`` per set.
        detailed: Add the per-job blocks.
    """
    lines = ["Summary report:", *format_status_counts([s for row in job_sets for s in row[2]])]
    if detailed:
        lines.append("\nDetail report:")
        for name, job_set_id, statuses, managed_jobs in job_sets:
            lines.append(f"  Job set name: {name}, ID: {job_set_id}")
            lines.extend(format_job_details(statuses, managed_jobs))
    return "\n".join(lines)


def format_state_counts(statuses: Sequence[JobStatus | None]) -> str:
    """Return the jobs by state on one line, such as ``"3 done, 1 running"``."""
    counts = Counter("unknown" if s is None else s.name.lower() for s in statuses)
    return ", ".join(f"{count} {state}" for state, count in counts.items()) or "no jobs"


def format_html_table(title: str, rows: Sequence[tuple[str, object]]) -> str:
    """Return a small two-column HTML table, every text escaped.

    Args:
        title: The table's caption, such as the class name.
        rows: ``(label, value)`` pairs, shown in order.
    """
    cells = "".join(
        f"<tr><th style='text-align:left'>{escape(label)}</th>"
        f"<td style='text-align:left'>{escape(str(value))}</td></tr>"
        for label, value in rows
    )
    return f"<table><caption>{escape(title)}</caption>{cells}</table>"
