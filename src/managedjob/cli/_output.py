"""What the commands write: the counts files (JSON, CSV) and the summaries."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from managedjob._job_set import ManagedJobSet
from managedjob._journal import Journal
from managedjob._results import ManagedResults
from managedjob.cli._errors import CliError, one_line
from managedjob.cli._states import job_state, jobs_row
from managedjob.exceptions import JobManagerError

__all__ = [
    "check_out",
    "journal_row",
    "local_time",
    "plural",
    "print_rows",
    "print_summary",
    "write_results",
    "write_results_file",
]


def plural(count: int, word: str) -> str:
    """Return ``"1 job"``, ``"2 jobs"``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def local_time(moment: datetime) -> str:
    """Return ``moment`` in local time, to the second."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _experiment_rows(
    results: ManagedResults, count: int, names: Sequence[str]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index in range(count):
        row: dict[str, Any] = {"index": index, "name": names[index]}
        try:
            row["counts"] = results.get_counts(index)
            row["success"] = True
        except JobManagerError as err:
            row["success"] = False
            row["error"] = one_line(err)
        rows.append(row)
    return rows


def write_results(
    job_set: ManagedJobSet,
    results: ManagedResults,
    names: Sequence[str],
    out: TextIO,
    fmt: str,
) -> None:
    """Write the counts of every experiment, in input order, as JSON or CSV."""
    rows = _experiment_rows(results, len(names), names)
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(["index", "name", "success", "outcome", "count"])
        for row in rows:
            if row["success"]:
                for outcome, value in row["counts"].items():
                    writer.writerow([row["index"], row["name"], "true", outcome, value])
            else:
                writer.writerow([row["index"], row["name"], "false", "", ""])
        return
    document = {
        "job_set_id": job_set.job_set_id(),
        "name": job_set.name(),
        "backend": results.backend_name,
        "success": results.success,
        "experiments": rows,
    }
    json.dump(document, out, indent=1)
    out.write("\n")


def _format_for(out: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "csv" if out and out.endswith(".csv") else "json"


def check_out(out: str | None) -> None:
    """Check, before anything runs, that ``--out`` can be written.

    Raises:
        CliError: If it is a directory, or its directory is missing or not
            writable.
    """
    if out is None:
        return
    if not out.strip():
        raise CliError(f"--out takes the path of a file, not {out!r}")
    path = Path(out).expanduser()
    if path.is_dir():
        raise CliError(f"--out {out} is a directory; give a file in it")
    parent = path.parent
    if not parent.is_dir():
        raise CliError(f"--out {out} cannot be written: there is no directory {parent}")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CliError(f"--out {out} cannot be written: permission denied")


def write_results_file(
    job_set: ManagedJobSet,
    results: ManagedResults,
    names: Sequence[str],
    out: str | None,
    fmt: str | None,
) -> Path:
    """Write the counts to ``out`` (``managedjob-<id>.<format>`` by default).

    Args:
        job_set: The set.
        results: Its results.
        names: The names of its experiments, in order.
        out: The file given by ``--out``, if any.
        fmt: The format given by ``--format``; else the suffix of ``out`` says,
            else JSON.

    Returns:
        The file written.
    """
    chosen = _format_for(out, fmt)
    out_path = Path(out or f"managedjob-{job_set.job_set_id()[:8]}.{chosen}")
    buffer = io.StringIO()
    write_results(job_set, results, names, buffer, chosen)
    out_path.write_text(buffer.getvalue(), encoding="utf-8")
    return out_path


def print_rows(rows: Sequence[tuple[str, str]], stream: TextIO | None = None) -> None:
    """Print labelled rows, the values lined up."""
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}", file=stream or sys.stdout)


def journal_row(journal: Journal | None) -> tuple[str, str]:
    """The ``journal`` row of a summary: the journal's file, or ``off``."""
    return ("journal", str(journal.path) if journal is not None else "off")


def print_summary(
    job_set: ManagedJobSet,
    results: ManagedResults,
    experiments: int,
    out_path: Path,
    journal: Journal | None,
    elapsed: float | None = None,
    *,
    attached: bool = True,
) -> None:
    """Print the summary that ``run``, ``results`` and ``retry`` end with."""
    states = [job_state(mjob, attached) for mjob in job_set.managed_jobs()]
    rows = [
        ("job set", f"{job_set.name()} ({job_set.job_set_id()})"),
        ("backend", results.backend_name),
        ("jobs", jobs_row(states)),
        ("experiments", str(experiments)),
    ]
    if elapsed is not None:
        rows.append(("time", f"{elapsed:.2f} s"))
    rows += [("results", str(out_path)), journal_row(journal)]
    print_rows(rows)
