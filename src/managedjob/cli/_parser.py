"""The command's argument parser: its options, commands and what runs each command."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from managedjob._journal import ENV_VAR
from managedjob.cli._backends import backend_choices
from managedjob.cli._commands import (
    cancel_command,
    list_command,
    parse_age,
    prune_command,
    report_command,
    results_command,
    retry_command,
    status_command,
)
from managedjob.cli._plot import plot_command
from managedjob.cli._run import DEFAULT_PER_JOB, run_command

__all__ = ["build_parser"]


def _version() -> str:
    try:
        return version("managedjob")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    choices = backend_choices()
    parser = argparse.ArgumentParser(
        prog="managedjob",
        description="Run circuit files as one managed set of jobs, and follow job sets.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    parser.add_argument("-q", "--quiet", action="store_true", help=QUIET_HELP)
    parser.add_argument("--version", action="version", version=f"managedjob {_version()}")
    journal_help = (
        f"the journal file (default: ${ENV_VAR}, else journal.sqlite3 in the user data directory)"
    )
    parser.add_argument("--journal", metavar="PATH", help=journal_help)
    # Also accepted after the command; left unset there so that it does not
    # override a --journal given before the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--journal", metavar="PATH", default=argparse.SUPPRESS, help=journal_help)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=QUIET_HELP
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        parents=[common],
        help="run circuit files as one job set",
        description="Run the circuits of OpenQASM 2/3 and QPY files as one job set.",
    )
    run.add_argument(
        "files", nargs="+", metavar="FILE", help="circuit files, directories or globs"
    )
    run.add_argument("-b", "--backend", help=f"where to run: {choices} (default: aer, else basic)")
    run.add_argument("-s", "--shots", type=_positive_int, help="shots per circuit")
    run.add_argument("--seed", type=int, help="seed for the simulator and the transpiler")
    run.add_argument(
        "--max-experiments-per-job",
        type=_positive_int,
        metavar="K",
        default=DEFAULT_PER_JOB,
        help=f"circuits per job at most (default: {DEFAULT_PER_JOB}, or the backend's limit)",
    )
    run.add_argument("-n", "--name", help="name of the job set")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print the jobs the run would make (and, on IBM Quantum, its QPU time); "
        "submit and record nothing",
    )
    run.add_argument(
        "--tag", action="append", metavar="T", help="a tag for the job set (repeatable)"
    )
    run.add_argument("--workers", type=_non_negative_int, metavar="N", help=WORKERS_HELP)
    _add_output_options(run)
    run.set_defaults(func=run_command)

    listing = commands.add_parser(
        "list",
        parents=[common],
        help="list the job sets in the journal, newest first",
        description="List the job sets in the journal, newest first.",
    )
    listing.add_argument("-n", "--name", help="only the sets of this name")
    listing.add_argument(
        "--tag", action="append", metavar="T", help="only the sets with this tag (repeatable)"
    )
    listing.add_argument(
        "--limit", type=_non_negative_int, metavar="N", help="only the newest N sets"
    )
    listing.add_argument("--json", action="store_true", help=JSON_HELP)
    listing.set_defaults(func=list_command)

    prune = commands.add_parser(
        "prune",
        parents=[common],
        help="delete old job sets from the journal",
        description="Delete the job sets created longer ago than --older-than from the "
        "journal. Sets with unfinished jobs are kept unless --include-unfinished.",
    )
    prune.add_argument(
        "--older-than",
        type=parse_age,
        required=True,
        metavar="AGE",
        help="sets created longer ago than this: 30d, 12h, 90m, 2w, 45s",
    )
    prune.add_argument(
        "--include-unfinished",
        action="store_true",
        help="delete sets whose jobs are not all finished too",
    )
    prune.add_argument("--dry-run", action="store_true", help="say what would be deleted")
    prune.set_defaults(func=prune_command)

    id_help = "the job set's id (or the start of it)"
    backend_lookup = "look the set's unfinished jobs up on this backend"

    status = commands.add_parser(
        "status",
        parents=[common],
        help="how many jobs of a set are in each state",
        description="Show how many jobs of a job set are in each state, from the journal.",
    )
    status.add_argument("id", metavar="ID", help=id_help)
    status.add_argument("-b", "--backend", metavar="SPEC", help=backend_lookup)
    status.add_argument("--json", action="store_true", help=JSON_HELP)
    status.set_defaults(func=status_command)

    report = commands.add_parser(
        "report",
        parents=[common],
        help="the job set's report, as ManagedJobSet.report() writes it",
        description="Print the job set's report, as ManagedJobSet.report() writes it.",
    )
    report.add_argument("id", metavar="ID", help=id_help)
    report.add_argument("-b", "--backend", metavar="SPEC", help=backend_lookup)
    report.add_argument("--summary", action="store_true", help="the summary only")
    report.add_argument("--json", action="store_true", help=JSON_HELP)
    report.set_defaults(func=report_command)

    results = commands.add_parser(
        "results",
        parents=[common],
        help="print the counts of a job set, from the journal",
        description=(
            "Print the counts of every experiment of a job set (or the data of every PUB), "
            "from the journal: a table, or JSON or CSV; -o writes them to a file."
        ),
    )
    results.add_argument("id", metavar="ID", help=id_help)
    results.add_argument(
        "--experiment",
        metavar="NAME",
        help="only this experiment (its name or index; a PUB's index), every outcome",
    )
    _add_output_options(results)
    results.set_defaults(func=results_command)

    retry = commands.add_parser(
        "retry",
        parents=[common],
        help="rerun the failed and lost jobs of a set, and show its counts",
        description=(
            "Rerun the jobs of a job set that failed, were cancelled or are lost, wait for "
            "them, and show the counts as run does."
        ),
    )
    retry.add_argument("id", metavar="ID", help=id_help)
    retry.add_argument("--workers", type=_non_negative_int, metavar="N", help=WORKERS_HELP)
    retry.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help=(
            "the set's circuit files again, as given to run: used for jobs whose circuits "
            "the journal lacks"
        ),
    )
    retry.add_argument(
        "--backend",
        metavar="SPEC",
        help=f"where to rerun: {choices} (default: the backend the set ran on)",
    )
    _add_output_options(retry)
    retry.set_defaults(func=retry_command)

    cancel = commands.add_parser(
        "cancel",
        parents=[common],
        help="cancel the jobs of a set that still run",
        description="Cancel the jobs of a job set that still run, where they can be reached.",
    )
    cancel.add_argument("id", metavar="ID", help=id_help)
    cancel.add_argument(
        "--backend",
        metavar="SPEC",
        help="where the jobs run (default: the backend the set ran on)",
    )
    cancel.set_defaults(func=cancel_command)

    plot = commands.add_parser(
        "plot",
        parents=[common],
        help="draw a timeline of a set's jobs, or an experiment's counts",
        description=(
            "Draw a timeline of a job set's jobs (one bar per job, from submission to its "
            "final state), or with --experiment a histogram of one experiment's counts. "
            "Needs matplotlib (pip install 'managedjob[plot]')."
        ),
    )
    plot.add_argument("id", metavar="ID", help=id_help)
    plot.add_argument(
        "-o",
        "--out",
        metavar="F",
        help="the image file (.png, .svg, .pdf, ...; default: managedjob-<id>-timeline.png, "
        "or managedjob-<id>-experiment-<index>.png, in the current directory)",
    )
    plot.add_argument(
        "--experiment", metavar="NAME", help="an experiment's name or index: plot its counts"
    )
    plot.set_defaults(func=plot_command)
    return parser


def _add_output_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-o",
        "--out",
        metavar="F",
        help="write the counts to the file F (.json or .csv; - for standard output)",
    )
    formats = command.add_mutually_exclusive_group()
    formats.add_argument(
        "--json", action="store_true", help="the counts as JSON (on standard output unless -o)"
    )
    formats.add_argument(
        "--csv", action="store_true", help="the counts as CSV (on standard output unless -o)"
    )
    formats.add_argument("--format", choices=("json", "csv"), help="the same as --json or --csv")


#: The help of ``--workers``.
WORKERS_HELP = (
    "processes that run Aer's (and fake devices') jobs, so that Ctrl-C works at once "
    "(default: one per core, at most 4; 0 runs them in this process)"
)
#: The help of ``--verbose``.
VERBOSE_HELP = "log what happens (submissions, retries, waits) on standard error"
#: The help of ``--quiet``.
QUIET_HELP = "print no progress, summary or hints: only the data asked for, and errors"
#: The help of every ``--json`` option.
JSON_HELP = "print a JSON document instead (its shape is in docs/cli.rst)"


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"{value} is not positive" if minimum == 1 else f"{value} is below {minimum}"
            )
        return value

    return parse


_positive_int = _whole_number(1)
_non_negative_int = _whole_number(0)
