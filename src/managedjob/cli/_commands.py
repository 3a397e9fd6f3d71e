"""The commands on journaled job sets: list, status, report, results, retry, cancel."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from typing import Any

from managedjob._checks import hide_account_details
from managedjob._job_set import ManagedJobSet, PartialRetryError
from managedjob._journal import JobSetRecord
from managedjob._managed_job import ManagedJob
from managedjob._manager import JobManager
from managedjob.cli._backends import make_backend
from managedjob.cli._errors import CliError, one_line
from managedjob.cli._input import load_circuits
from managedjob.cli._interrupt import (
    CANCEL_SETTLE_SECONDS,
    CtrlC,
    settle,
    wait_or_interrupt,
)
from managedjob.cli._output import (
    check_out,
    choose_output,
    journal_row,
    local_time,
    plural,
    print_next_steps,
    print_rows,
    print_summary,
    show_results,
)
from managedjob.cli._pubs import (
    is_pub_record,
    is_pub_set,
    primitive_for,
    print_pub_summary,
    show_pub_results,
)
from managedjob.cli._run import in_workers, local_workers
from managedjob.cli._sets import (
    backend_for,
    command_line,
    experiment_index,
    experiment_names,
    journal_path,
    open_for_listing,
    open_journal,
    resolve_job_set_id,
    retrieve,
)
from managedjob.cli._states import (
    MAX_JOB_LINES,
    NOT_FINAL,
    STATES,
    job_state,
    lost_attempts,
    print_job_lines,
    set_states,
    state_counts,
)
from managedjob.cli._view import SHORT_VIEW_EXPERIMENTS, table_lines

__all__ = [
    "LOST",
    "MAX_JOB_LINES",
    "cancel_command",
    "list_command",
    "parse_age",
    "prune_command",
    "report_command",
    "results_command",
    "retry_command",
    "status_command",
]


#: The error ``cancel`` journals for jobs whose process ended before they did.
LOST = "lost: the process that ran it ended before it finished"


def list_command(args: argparse.Namespace) -> int:
    """Run ``managedjob list``; return the exit code."""
    path = journal_path(args)
    if not path.exists():
        print(f"no job sets: there is no journal at {path}", file=sys.stderr)
        return 0
    with open_for_listing(path) as journal, JobManager(journal=journal) as manager:
        tags = args.tag or None
        found = journal.job_sets(name=args.name, tags=tags)  # oldest first
        if args.limit is not None:
            found = found[-args.limit :] if args.limit else []
        records = {r.job_set_id: r for r in found}
        job_sets = [manager.retrieve_job_set(r.job_set_id) for r in found]
        if not job_sets:
            filters = " matching" if args.name or args.tag else ""
            print(f"no{filters} job sets in the journal {path}", file=sys.stderr)
            return 0
        if args.json:
            documents = [
                set_document(
                    records[s.job_set_id()],
                    s,
                    set_states(journal, s.job_set_id(), s.managed_jobs(), attached=False),
                    with_jobs=False,
                )
                for s in reversed(job_sets)  # newest first
            ]
            print(json.dumps(documents, indent=2))
            return 0
        rows = [("ID", "NAME", "CREATED", "BACKEND", "JOBS", "STATE")]
        for job_set in reversed(job_sets):  # newest first
            record = records[job_set.job_set_id()]
            states = set_states(journal, record.job_set_id, job_set.managed_jobs(), attached=False)
            rows.append(
                (
                    record.job_set_id,
                    job_set.name(),
                    local_time(record.created_at),
                    record.backend_name,
                    str(len(states)),
                    state_counts(states),
                )
            )
    print("\n".join(table_lines(rows, sys.stdout, right=(4,))))
    return 0


def status_command(args: argparse.Namespace) -> int:
    """Run ``managedjob status``; return the exit code."""
    with open_journal(args) as journal, JobManager(journal=journal) as manager:
        record, job_set, spec = retrieve(manager, journal, args, need_backend=False)
        mjobs = job_set.managed_jobs()
        states = set_states(journal, record.job_set_id, mjobs, attached=spec is not None)
        if args.json:
            print(json.dumps(set_document(record, job_set, states), indent=2))
            return 0
        rows = [
            ("job set", f"{job_set.name()} ({job_set.job_set_id()})"),
            ("backend", record.backend_name),
            ("created", local_time(record.created_at)),
        ]
        if job_set.tags():
            rows.append(("tags", ", ".join(job_set.tags())))
        rows += [
            ("experiments", str(record.experiments)),
            ("jobs", f"{len(states)}: {state_counts(states)}"),
            journal_row(journal),
        ]
        print_rows(rows)
        print_job_lines(mjobs, states)
        if "lost" in states and spec is None:
            print(
                "lost jobs have no final state in the journal, and the process that ran them "
                f"has ended; {command_line(args, 'retry', job_set.job_set_id())} reruns them",
                file=sys.stderr,
            )
        if any(state == "unfinished" for state in states):
            print(
                "unfinished jobs have no final state in the journal: they still run, or were "
                "lost with the process that ran them (pass --backend to look them up; "
                f"{command_line(args, 'retry', job_set.job_set_id())} reruns lost ones)",
                file=sys.stderr,
            )
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Run ``managedjob report``; return the exit code."""
    with open_journal(args) as journal, JobManager(journal=journal) as manager:
        record, job_set, spec = retrieve(manager, journal, args, need_backend=False)
        if args.json:
            states = set_states(
                journal, record.job_set_id, job_set.managed_jobs(), attached=spec is not None
            )
            document = set_document(record, job_set, states, with_jobs=not args.summary)
            print(json.dumps(document, indent=2))
            return 0
        print(job_set.report(detailed=not args.summary))
    return 0


def results_command(args: argparse.Namespace) -> int:
    """Run ``managedjob results``; return the exit code."""
    check_out(args.out)
    output = choose_output(args)
    with open_journal(args) as journal, JobManager(journal=journal) as manager:
        record, job_set, _ = retrieve(manager, journal, args, need_backend=False)
        job_set_id = job_set.job_set_id()
        retry_hint = command_line(args, "retry", job_set_id)
        if is_pub_set(job_set):
            merged = job_set.primitive_result(partial=True)
            only = None
            if args.experiment is not None:
                only = experiment_index(args.experiment, [""] * len(merged), job_set_id)
            show_pub_results(job_set, merged, output, only=only)
            return print_pub_summary(
                job_set,
                merged,
                record.backend_name,
                output,
                journal,
                attached=False,
                retry_hint=retry_hint,
            )
        results = job_set.results(partial=True)
        names = experiment_names(journal, job_set)
        only = None
        if args.experiment is not None:
            only = experiment_index(args.experiment, names, job_set_id)
        shown_whole = show_results(job_set, results, names, output, only=only)
        items = ("experiments", str(record.experiments))
        print_summary(job_set, results.backend_name, items, output, journal, attached=False)
        unfinished = [job_state(m, attached=False) for m in job_set.managed_jobs()].count(
            "unfinished"
        )
        if unfinished and output.info is not None:
            print(
                f"{plural(unfinished, 'job')} of the set {'has' if unfinished == 1 else 'have'} "
                f"no result in the journal yet; {retry_hint} reruns lost ones",
                file=sys.stderr,
            )
        elif not results.success:
            print_next_steps(args, job_set_id, output, more=False, failed=True)
        if only is not None:
            return 0 if shown_whole else 1
        return 0 if results.success else 1


def retry_command(args: argparse.Namespace) -> int:
    """Run ``managedjob retry``; return the exit code."""
    check_out(args.out)
    output = choose_output(args)
    with (
        open_journal(args) as journal,
        JobManager(journal=journal) as manager,
        ExitStack() as stack,
        CtrlC() as ctrl_c,  # from here, Ctrl-C is acted on where nothing is held
    ):
        started = time.monotonic()
        record = resolve_job_set_id(journal, args.id)
        pubs = is_pub_record(journal, record)
        spec: str | None
        if pubs:
            primitive, spec = primitive_for(journal, record, args.backend)
            job_set = manager.retrieve_job_set(record.job_set_id, provider=primitive)
        else:
            record, job_set, spec = retrieve(manager, journal, args, need_backend=True)
        job_set_id = job_set.job_set_id()
        circuits = load_circuits(args.files) if args.files and not pubs else None
        # A local simulator's jobs run in worker processes, stopped on the way out.
        local = None if pubs or spec is None else make_backend(spec)
        pool = stack.enter_context(local_workers(local, args.workers))
        left: PartialRetryError | None = None
        try:
            if pool is None:
                retried = job_set.retry_failed(circuits=circuits)
            else:
                target = in_workers(local, pool)
                retried = job_set.retry_failed(target, circuits=circuits)
        except PartialRetryError as err:
            # The others run: wait for them and write their counts, then say so.
            left, retried = err, err.resubmitted
        what = (
            f"retrying {plural(len(retried), 'job')} of job set {job_set_id} on {spec}"
            if retried
            else f"no job of job set {job_set_id} needs a retry"
        )
        if output.info is not None:
            print(what, file=sys.stderr, flush=True)
        show = output.info is not None and sys.stderr.isatty()
        code = wait_or_interrupt(job_set, args, pool, ctrl_c, show=show)
        if code is not None:
            return code
        elapsed = time.monotonic() - started
        if pubs:
            merged = job_set.primitive_result(partial=True)
            show_pub_results(job_set, merged, output, limit=SHORT_VIEW_EXPERIMENTS)
            return print_pub_summary(
                job_set,
                merged,
                record.backend_name,
                output,
                journal,
                elapsed,
                retry_hint=command_line(args, "retry", job_set_id),
            )
        results = job_set.results(partial=True)
        names = experiment_names(journal, job_set)
        show_results(job_set, results, names, output, limit=SHORT_VIEW_EXPERIMENTS)
        items = ("experiments", str(record.experiments))
        print_summary(job_set, results.backend_name, items, output, journal, elapsed)
        if left is not None:
            print(f"managedjob: {one_line(left)}", file=sys.stderr)
            print(
                "managedjob: to run them, pass the set's circuit files: "
                + command_line(args, "retry", job_set_id)
                + " FILE...",
                file=sys.stderr,
            )
            return 1
        more = record.experiments > SHORT_VIEW_EXPERIMENTS
        print_next_steps(args, job_set_id, output, more=more, failed=not results.success)
        return 0 if results.success else 1


def cancel_command(args: argparse.Namespace) -> int:
    """Run ``managedjob cancel``; return the exit code."""
    with open_journal(args) as journal, JobManager(journal=journal) as manager:
        record = resolve_job_set_id(journal, args.id)
        no_backend = "pass --backend to look them up"
        try:
            backend, _ = backend_for(record, args.backend)
        except CliError as err:
            if args.backend is not None:
                raise
            no_backend = one_line(err)
            backend = None
        job_set = manager.retrieve_job_set(record.job_set_id, provider=backend)
        mjobs = job_set.managed_jobs()
        states = [job_state(mjob, attached=backend is not None) for mjob in mjobs]
        reachable = [m for m, s in zip(mjobs, states, strict=True) if s in ("running", "queued")]
        # Jobs whose process has ended can never finish: journal them as failed.
        unknown = ("unfinished", "lost", "unknown")
        gone = {}
        if any(state in unknown for state in states):
            found = lost_attempts(journal, record.job_set_id)
            gone = {i: a for i, a in found.items() if states[i] in unknown}
        marked = journal.mark_lost(record.job_set_id, list(gone.values()), LOST) if gone else 0
        unreachable = [s for i, s in enumerate(states) if s in unknown and i not in gone]
        finished = len(states) - len(reachable) - len(unreachable) - len(gone)
        for mjob in reachable:
            mjob.cancel()
        settle(reachable, CANCEL_SETTLE_SECONDS)
        after = [job_state(mjob) for mjob in reachable]
        cancelled = after.count("cancelled")
        still = sum(state in NOT_FINAL for state in after)
        print(
            f"job set {job_set.name()} ({job_set.job_set_id()}): "
            f"cancelled {plural(cancelled, 'job')}"
        )
        if finished:
            print(f"{plural(finished, 'job')} had finished already")
        if reachable and len(after) - cancelled - still:
            print(f"{plural(len(after) - cancelled - still, 'job')} finished before the cancel")
        if still:
            print(f"{plural(still, 'job')} did not stop yet (the target was asked to cancel)")
        if marked:
            print(
                f"{plural(marked, 'job')} had no final state, and the process that ran "
                f"{'it' if marked == 1 else 'them'} has ended: journaled as failed; "
                f"{command_line(args, 'retry', record.job_set_id)} reruns "
                f"{'it' if marked == 1 else 'them'}"
            )
        if unreachable:
            where = record.backend_name
            print(
                f"{plural(len(unreachable), 'job')} could not be reached: {where} does not know "
                "them here (a local simulator's jobs live only in the process that ran them)"
                if backend is not None
                else f"{plural(len(unreachable), 'job')} could not be reached: {no_backend}"
            )
        return 1 if unreachable or still else 0


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_age(text: str) -> timedelta:
    """Read an age such as ``30d``, ``12h``, ``90m``, ``2w`` or ``45s``.

    Raises:
        argparse.ArgumentTypeError: Naming the text, if it is not one.
    """
    amount, unit = text[:-1], text[-1:].lower()
    if unit not in _DURATION_UNITS or not amount.isdigit():
        raise argparse.ArgumentTypeError(
            f"an age is a whole number and a unit (s, m, h, d, w), such as 30d, not {text!r}"
        )
    return timedelta(seconds=int(amount) * _DURATION_UNITS[unit])


def prune_command(args: argparse.Namespace) -> int:
    """Run ``managedjob prune``; return the exit code."""
    path = journal_path(args)
    if not path.exists():
        print(f"nothing to prune: there is no journal at {path}", file=sys.stderr)
        return 0
    cutoff = datetime.now(timezone.utc) - args.older_than
    with open_for_listing(path, read_only=args.dry_run) as journal:
        old = [r for r in journal.job_sets() if r.created_at < cutoff]
        chosen = [r for r in old if args.include_unfinished or r.finished_jobs >= r.jobs]
        for record in chosen:
            if not args.dry_run:
                journal.delete_job_set(record.job_set_id)
        journal.flush()
    verb = "would delete" if args.dry_run else "deleted"
    print(
        f"{verb} {plural(len(chosen), 'job set')} created before {local_time(cutoff)} "
        f"from the journal {path}"
    )
    kept = len(old) - len(chosen)
    if kept:
        print(
            f"kept {plural(kept, 'older set')} with unfinished jobs "
            "(--include-unfinished deletes them too; their jobs are then no longer followed)"
        )
    return 0


def set_document(
    record: JobSetRecord, job_set: ManagedJobSet, states: Sequence[str], *, with_jobs: bool = True
) -> dict[str, Any]:
    """The ``--json`` document of a set (``list``, ``status``, ``report``); see docs/cli.rst.

    Keys: ``id``, ``name``, ``backend``, ``created`` (ISO 8601, UTC), ``tags``,
    ``experiments``, ``states`` (jobs by state) and, with ``with_jobs``,
    ``jobs``: per job its ``index``, ``experiments`` (first and last),
    ``state``, ``job_id`` and ``error`` (``null`` where there is none).
    """
    counts = Counter(states)
    document: dict[str, Any] = {
        "id": job_set.job_set_id(),
        "name": job_set.name(),
        "backend": record.backend_name,
        "created": record.created_at.astimezone(timezone.utc).isoformat(),
        "tags": list(job_set.tags()),
        "experiments": record.experiments,
        "states": {state: counts[state] for state in STATES if counts[state]},
    }
    if with_jobs:
        jobs = zip(job_set.managed_jobs(), states, strict=True)
        document["jobs"] = [
            {
                "index": number,
                "experiments": [mjob.start_index, mjob.end_index],
                "state": state,
                "job_id": _job_id(mjob),
                "error": None if state == "done" else _error(mjob),
            }
            for number, (mjob, state) in enumerate(jobs)
        ]
    return document


def _error(mjob: ManagedJob) -> str | None:
    message = mjob.error_message()
    return hide_account_details(message) if message else None


def _job_id(mjob: ManagedJob) -> str | None:
    job = mjob.job
    if job is None:
        return None
    try:
        return str(job.job_id())
    except Exception:  # a job that cannot tell
        return None
