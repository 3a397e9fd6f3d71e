"""What the commands write: the counts (a file, a document or a table) and the summaries."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from managedjob._job_set import ManagedJobSet
from managedjob._journal import Journal
from managedjob._results import ManagedResults
from managedjob.cli._errors import CliError, one_line
from managedjob.cli._sets import command_line
from managedjob.cli._states import job_state, jobs_row, print_job_lines
from managedjob.cli._view import counts_lines, experiment_lines
from managedjob.exceptions import JobManagerError

__all__ = [
    "Output",
    "check_out",
    "choose_output",
    "emit_document",
    "journal_row",
    "local_time",
    "plural",
    "print_next_steps",
    "print_rows",
    "print_summary",
    "show_results",
    "write_results",
]


def plural(count: int, word: str) -> str:
    """Return ``"1 job"``, ``"2 jobs"``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def local_time(moment: datetime) -> str:
    """Return ``moment`` in local time, to the second."""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _experiment_rows(
    results: ManagedResults, indexes: Iterable[int], names: Sequence[str]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index in indexes:
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
    _write_rows(job_set, results, _experiment_rows(results, range(len(names)), names), out, fmt)


def _write_rows(
    job_set: ManagedJobSet,
    results: ManagedResults,
    rows: Sequence[dict[str, Any]],
    out: TextIO,
    fmt: str,
) -> None:
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


@dataclasses.dataclass(frozen=True)
class Output:
    """Where a command's counts and its summary go (docs/cli.rst, "Output").

    Attributes:
        file: The file ``-o FILE`` asked for, if any.
        fmt: The counts' format in ``file``, or on standard output when
            ``stdout`` is set: ``"json"`` or ``"csv"``.
        stdout: Whether the counts are printed on standard output in ``fmt``
            (``-o -``, ``--json``, ``--csv``), for a program to read.
        info: Where the summary and the hints go: standard output on a
            terminal that shows a table, else standard error; ``None`` with
            ``--quiet``.
    """

    file: Path | None
    fmt: str
    stdout: bool
    info: TextIO | None

    @property
    def table(self) -> bool:
        """Whether standard output shows the counts as a table."""
        return self.file is None and not self.stdout


def choose_output(args: argparse.Namespace) -> Output:
    """Decide where the counts and the summary go, from ``-o``, ``--json``, ``--csv``, ``-q``."""
    out: str | None = getattr(args, "out", None)
    asked: str | None = (
        "json" if getattr(args, "json", False) else "csv" if getattr(args, "csv", False) else None
    )
    asked = asked or getattr(args, "format", None)
    file = Path(out).expanduser() if out and out != "-" else None
    stdout = out == "-" or (file is None and asked is not None)
    fmt = asked or ("csv" if out and out.endswith(".csv") else "json")
    output = Output(file, fmt, stdout, None)
    if getattr(args, "quiet", False):
        return output
    # Standard output takes the summary when it shows nothing else (the
    # counts went to a file), or a table on a terminal; else standard error.
    shows_summary = file is not None or (output.table and sys.stdout.isatty())
    return dataclasses.replace(output, info=sys.stdout if shows_summary else sys.stderr)


def check_out(out: str | None) -> None:
    """Check, before anything runs, that ``--out`` can be written (``-`` is standard output).

    Raises:
        CliError: If it is a directory, or its directory is missing or not
            writable.
    """
    if out is None or out == "-":
        return
    if not out.strip():
        raise CliError(f"--out takes the path of a file (or - for standard output), not {out!r}")
    path = Path(out).expanduser()
    if path.is_dir():
        raise CliError(f"--out {out} is a directory; give a file in it")
    parent = path.parent
    if not parent.is_dir():
        raise CliError(f"--out {out} cannot be written: there is no directory {parent}")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CliError(f"--out {out} cannot be written: permission denied")


def emit_document(output: Output, write: Callable[[TextIO], None]) -> None:
    """Write the counts document where ``output`` says: its file, or standard output."""
    if output.file is not None:
        buffer = io.StringIO()
        write(buffer)
        output.file.write_text(buffer.getvalue(), encoding="utf-8")
    elif output.stdout:
        write(sys.stdout)


def show_results(
    job_set: ManagedJobSet,
    results: ManagedResults,
    names: Sequence[str],
    output: Output,
    *,
    limit: int | None = None,
    only: int | None = None,
) -> bool:
    """Write or show the counts: a document, or a table on standard output.

    Only the experiments shown are read: ``only``, or the first ``limit`` of
    a table.

    Args:
        job_set: The set.
        results: Its results.
        names: Its experiments' names, in order.
        output: Where they go.
        limit: Show the first ``limit`` experiments of the table only.
        only: The one experiment to write or show (``--experiment``).

    Returns:
        Whether every experiment written or shown has counts.
    """
    count = len(names)
    if only is not None:
        indexes: range | list[int] = [only]
    elif output.table and limit is not None:
        indexes = range(min(limit, count))
    else:
        indexes = range(count)
    rows = _experiment_rows(results, indexes, names)
    if not output.table:
        emit_document(output, lambda out: _write_rows(job_set, results, rows, out, output.fmt))
    elif only is not None:
        print("\n".join(experiment_lines(rows[0], sys.stdout)))
    else:
        print("\n".join(counts_lines(rows, sys.stdout, total=count)))
    return all(row["success"] for row in rows)


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
    backend_name: str,
    items: tuple[str, str],
    output: Output,
    journal: Journal | None,
    elapsed: float | None = None,
    *,
    attached: bool = True,
) -> None:
    """Print the summary that ``run``, ``results`` and ``retry`` end with (unless quiet).

    Args:
        job_set: The set.
        backend_name: Where it ran.
        items: The row that counts its items: ``("experiments", "2000")``,
            ``("PUBs", "50")``.
        output: Where it goes (nowhere with ``--quiet``).
        journal: The journal it is in, if any.
        elapsed: The command's time, for ``run`` and ``retry``.
        attached: As for :func:`~managedjob.cli._states.job_state`.
    """
    if output.info is None:
        return
    states = [job_state(mjob, attached) for mjob in job_set.managed_jobs()]
    rows = [
        ("job set", f"{job_set.name()} ({job_set.job_set_id()})"),
        ("backend", backend_name),
        ("jobs", jobs_row(states)),
        items,
    ]
    if elapsed is not None:
        rows.append(("time", f"{elapsed:.2f} s"))
    if output.file is not None:
        rows.append(("results", str(output.file)))
    rows.append(journal_row(journal))
    print_rows(rows, output.info)
    # Why jobs failed; cancelled and unfinished ones need no explanation.
    print_job_lines(
        job_set.managed_jobs(),
        states,
        skip=("done", "cancelled", "running", "queued", "unfinished"),
        stream=output.info,
    )


def print_next_steps(
    args: argparse.Namespace, job_set_id: str, output: Output, *, more: bool, failed: bool
) -> None:
    """Say which command shows every count (``more``) and which reruns failed jobs."""
    if output.info is None:
        return
    if more and output.table:
        print(f"all counts: {command_line(args, 'results', job_set_id)}", file=output.info)
    if failed:
        print(
            f"rerun the failed jobs: {command_line(args, 'retry', job_set_id)}", file=output.info
        )
