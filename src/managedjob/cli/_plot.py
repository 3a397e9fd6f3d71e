"""The ``plot`` command: a timeline of a set's jobs, or a histogram of an experiment's counts.

matplotlib is imported only when a plot is drawn; without it, the command
says which extra to install.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from managedjob._journal import AttemptRecord, JobSetRecord
from managedjob._manager import JobManager
from managedjob.cli._errors import CliError, one_line
from managedjob.cli._output import plural
from managedjob.cli._sets import (
    experiment_index,
    experiment_names,
    open_journal,
    resolve_job_set_id,
)
from managedjob.exceptions import JobManagerError

__all__ = ["MAX_OUTCOMES", "plot_command", "plot_counts", "plot_timeline"]

_COLOURS = {
    "DONE": "#2e7d32",
    "ERROR": "#c62828",
    "CANCELLED": "#757575",
    "unfinished": "#f9a825",
    "lost": "#8d6e63",
}
_LABELS = {
    "DONE": "done",
    "ERROR": "failed",
    "CANCELLED": "cancelled",
    "unfinished": "no final state in the journal",
    "lost": "no final state, retried",
}
#: Most outcomes a counts histogram shows (the most frequent ones).
MAX_OUTCOMES = 64


def _seconds(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _matplotlib() -> tuple[Any, Any]:
    """Import matplotlib's ``Figure`` and the Agg canvas, or say which extra to install."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise CliError(
            "plot needs matplotlib: pip install 'managedjob[plot]' (or pip install matplotlib)"
        ) from err
    return Figure, FigureCanvasAgg


def _new_figure(width: float, height: float) -> Any:
    figure_class, canvas_class = _matplotlib()
    figure = figure_class(figsize=(width, height), layout="constrained")
    canvas_class(figure)
    return figure


def _save(figure: Any, out: Path) -> None:
    kinds = figure.canvas.get_supported_filetypes()
    kind = out.suffix.lstrip(".").lower() or "png"
    if kind not in kinds:
        raise CliError(
            f"{out}: cannot write .{kind} images; use one of: {', '.join(sorted(kinds))}"
        )
    figure.savefig(out, format=kind, dpi=110)


def plot_timeline(record: JobSetRecord, times: Sequence[AttemptRecord], out: Path) -> None:
    """Draw one bar per job of a set, from its submission to its final state.

    Retried jobs show each submission on the job's row, earlier ones thinner.
    The journal keeps no time a job started running, so a bar spans submitted
    to finished. A job without a final state in the journal reaches to the
    set's last journaled time, hatched; a failed submission is a cross.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    origin = record.created_at.timestamp()
    submitted = {id(item): _seconds(item.submitted_at) for item in times}
    finished = {id(item): _seconds(item.finished_at) for item in times}
    moments = [moment for moment in (*submitted.values(), *finished.values()) if moment]
    latest = max(moments, default=origin)
    span = max(latest - origin, 1e-3)
    units = (("ms", 1e-3, 1.0), ("s", 1.0, 120.0), ("min", 60.0, 7200.0), ("h", 3600.0, None))
    unit, scale = next(
        (name, size) for name, size, below in units if below is None or span < below
    )
    last_attempt = {item.index: item.attempt for item in times}
    # A submission without a final state that was retried ended, for the plot,
    # when the next submission of the same job was made.
    retried_at = {
        (before.index, before.attempt): submitted[id(after)]
        for before, after in pairwise(times)
        if before.index == after.index
    }
    jobs = record.jobs
    figure = _new_figure(9.0, min(2.0 + 0.28 * jobs, 24.0))
    axes = figure.add_subplot()
    used: set[str] = set()
    for item in times:
        submitted_at = submitted[id(item)]
        if submitted_at is None:
            continue
        start = (submitted_at - origin) / scale
        submit_failed = item.submit_error is not None
        if submit_failed or item.job_id is None:
            kind = "submit" if submit_failed else "CANCELLED"
            colour = _COLOURS["ERROR" if submit_failed else "CANCELLED"]
            axes.plot([start], [item.index], marker="x", markersize=8, color=colour, ls="none")
            used.add(kind)
            continue
        latest_try = item.attempt == last_attempt[item.index]
        end = finished[id(item)]
        status = None if item.status is None else item.status.name
        if status in _COLOURS and end is not None:
            kind = str(status)
        elif latest_try:
            kind, end = "unfinished", latest
        else:
            kind, end = "lost", retried_at.get((item.index, item.attempt)) or latest
        width = max((end - submitted_at) / scale, span / scale / 400)
        axes.barh(
            item.index,
            width,
            left=start,
            height=0.7 if latest_try else 0.3,
            color=_COLOURS[kind],
            alpha=1.0 if latest_try else 0.5,
            hatch="//" if kind == "unfinished" else None,
            edgecolor="white" if kind == "unfinished" else _COLOURS[kind],
            linewidth=0.5,
        )
        used.add(kind)
    axes.set_ylim(jobs - 0.5, -0.5)
    if jobs <= 40:
        spans = {item.index: (item.start_index, item.end_index) for item in times}
        axes.set_yticks(range(jobs))
        axes.set_yticklabels(
            [
                f"job {n} ({spans[n][0]}-{spans[n][1]})" if n in spans else str(n)
                for n in range(jobs)
            ]
        )
    else:
        axes.set_ylabel("job")
    axes.set_xlim(left=0)
    axes.set_xlabel(f"time since the job set was run ({unit})")
    axes.grid(axis="x", alpha=0.3)
    axes.set_title(
        f"{record.name} ({record.job_set_id[:8]}) on {record.backend_name}: "
        f"{plural(jobs, 'job')}, {plural(record.experiments, 'experiment')}",
        fontsize=10,
    )
    handles: list[Any] = [
        Patch(facecolor=_COLOURS[kind], label=_LABELS[kind], hatch="//" * (kind == "unfinished"))
        for kind in _COLOURS
        if kind in used
    ]
    if "submit" in used:
        handles.append(
            Line2D([], [], marker="x", color=_COLOURS["ERROR"], ls="none", label="submit failed")
        )
    if handles:
        axes.legend(handles=handles, loc="best", fontsize=8)
    _save(figure, out)


def plot_counts(title: str, counts: dict[str, int], out: Path) -> None:
    """Draw a histogram of one experiment's counts, outcomes in order.

    With more than :data:`MAX_OUTCOMES` outcomes, the most frequent ones are shown.
    """
    total = sum(counts.values())
    kept = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_OUTCOMES]
    kept.sort()
    figure = _new_figure(max(5.0, min(0.3 * len(kept) + 2.0, 20.0)), 4.5)
    axes = figure.add_subplot()
    axes.bar(range(len(kept)), [value for _, value in kept], color="#1565c0")
    axes.set_xticks(range(len(kept)))
    long_labels = len(kept) > 8 or any(len(outcome) > 6 for outcome, _ in kept)
    axes.set_xticklabels(
        [outcome for outcome, _ in kept], rotation=90 if long_labels else 0, fontsize=8
    )
    axes.set_xlabel("outcome")
    axes.set_ylabel("counts")
    note = f" ({MAX_OUTCOMES} most frequent of {len(counts)})" if len(counts) > len(kept) else ""
    axes.set_title(f"{title}: {total} shots{note}", fontsize=10)
    axes.grid(axis="y", alpha=0.3)
    _save(figure, out)


def plot_command(args: argparse.Namespace) -> int:
    """Run ``managedjob plot``; return the exit code."""
    _matplotlib()  # say what to install before anything else
    with open_journal(args) as journal:
        record = resolve_job_set_id(journal, args.id)
        short = record.job_set_id[:8]
        if args.experiment is None:
            out = Path(args.out or f"managedjob-{short}-timeline.png")
            times = journal.attempts(record.job_set_id)
            plot_timeline(record, times, out)
            print(f"wrote the timeline of job set {record.job_set_id} to {out}")
            return 0
        with JobManager(journal=journal) as manager:
            job_set = manager.retrieve_job_set(record.job_set_id)
            names = experiment_names(journal, job_set)
            index = experiment_index(args.experiment, names, record.job_set_id)
            try:
                counts = job_set.results(partial=True).get_counts(index)
            except JobManagerError as err:
                print(
                    f"managedjob: error: experiment {args.experiment!r} has no counts: "
                    f"{one_line(err)}",
                    file=sys.stderr,
                )
                return 1
        label = names[index] or f"experiment {index}"
        out = Path(args.out or f"managedjob-{short}-experiment-{index}.png")
        plot_counts(f"{label} (experiment {index}) of {record.name}", dict(counts), out)
        print(f"wrote the counts of experiment {index} ({label}) to {out}")
        return 0
