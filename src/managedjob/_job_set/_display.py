"""How a job set and its results show in a notebook: a compact HTML table."""

from __future__ import annotations

from collections.abc import Sequence

from qiskit.providers import JobStatus

from managedjob._job_set._state import SetState
from managedjob._report import format_html_table, format_state_counts

__all__ = ["item_count", "set_html"]


def item_count(state: SetState) -> tuple[str, int]:
    """Return what the set runs and how many: ``("experiments", n)`` or ``("PUBs", n)``."""
    jobs = state.managed_jobs
    if state.workload.kind == "pubs" and state.experiments is not None:
        return "PUBs", len({item.part.pub for item in state.experiments})
    return "experiments", jobs[-1].end_index + 1 if jobs else 0


def set_html(state: SetState, statuses: Sequence[JobStatus | None], backend: str) -> str:
    """Return the HTML table of a job set (``ManagedJobSet._repr_html_``).

    Args:
        state: The set's state.
        statuses: The status of each job, as ``statuses()`` gives them.
        backend: The name of the set's target.
    """
    what, count = item_count(state)
    created = state.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    rows: list[tuple[str, object]] = [
        ("name", state.name),
        ("id", state.id),
        ("backend", backend),
        ("jobs", f"{len(statuses)}: {format_state_counts(statuses)}"),
        (what, count),
        ("created", created),
    ]
    if state.tags:
        rows.append(("tags", ", ".join(state.tags)))
    return format_html_table("ManagedJobSet", rows)
