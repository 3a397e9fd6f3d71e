"""The ``managedjob`` command: run circuit files as one job set, and follow job sets.

``run`` records each set in the journal (``--journal PATH``, else
``$MANAGEDJOB_JOURNAL``, else the library's default file); ``list``,
``status``, ``report``, ``results``, ``retry``, ``cancel`` and ``plot`` work
on the sets kept there, from this process or another.

Exit codes: 0 on success, 1 when some experiments have no results (or some
jobs could not be cancelled), 2 for bad usage or input (an unknown job set
included), 130 when interrupted. Errors are one line on stderr; ``--debug``
shows the traceback too.
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import json
import logging
import signal
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, TextIO

from qiskit import QuantumCircuit, transpile
from qiskit.providers import JobStatus

from managedjob._job_set import ManagedJobSet
from managedjob._journal import (
    ENV_VAR,
    AttemptRecord,
    JobSetRecord,
    Journal,
    default_journal_path,
)
from managedjob._managed_job import ManagedJob
from managedjob._manager import JobManager
from managedjob._results import ManagedResults
from managedjob._wait import wait_for_final_state
from managedjob.exceptions import JobManagerError, JournalError, UnknownJobSetError

__all__ = ["main"]

logger = logging.getLogger(__name__)

CIRCUIT_SUFFIXES = (".qasm", ".qasm2", ".qasm3", ".qpy")
BACKEND_CHOICES = "aer, basic, fake:<name> (e.g. fake:manila), ibm:<name>"
DEFAULT_PER_JOB = 100


class CliError(Exception):
    """Bad usage or input; the message is shown as one line and the exit code is 2."""


# --------------------------------------------------------------------- input


def _expand(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        if any(char in raw for char in "*?["):
            matches = sorted(glob.glob(raw))
            if not matches:
                raise CliError(f"{raw}: no file matches this pattern")
            candidates = [Path(match) for match in matches]
        else:
            candidates = [Path(raw)]
        for path in candidates:
            if path.is_dir():
                inside = sorted(p for p in path.iterdir() if p.suffix in CIRCUIT_SUFFIXES)
                if not inside:
                    raise CliError(f"{path}: no circuit files ({', '.join(CIRCUIT_SUFFIXES)})")
                files.extend(inside)
            elif path.is_file():
                files.append(path)
            else:
                raise CliError(f"{path}: no such file or directory")
    return files


def _load_qasm(path: Path) -> QuantumCircuit:
    text = path.read_text(encoding="utf-8")
    head = "\n".join(
        line for line in text.splitlines() if line.strip() and not line.strip().startswith("//")
    )
    if head.lstrip().startswith("OPENQASM 3"):
        try:
            from qiskit import qasm3

            circuit = qasm3.loads(text)
        except ImportError as err:
            raise CliError(
                f"{path}: reading OpenQASM 3 needs the qiskit-qasm3-import package "
                "(pip install qiskit-qasm3-import)"
            ) from err
        except Exception as err:
            raise CliError(f"{path}: {_one_line(err)}") from err
    else:
        from qiskit import qasm2

        try:
            circuit = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
        except Exception as err:
            # The parser says "<input>:LINE,COL: ..."; name the file instead.
            raise CliError(f"{path}: {_one_line(err).replace('<input>:', 'line ', 1)}") from err
    circuit.name = path.stem
    return circuit


def _load_qpy(path: Path) -> list[QuantumCircuit]:
    from qiskit import qpy

    try:
        with path.open("rb") as handle:
            loaded = qpy.load(handle)
    except Exception as err:
        raise CliError(f"{path}: not a readable QPY file: {_one_line(err)}") from err
    circuits = [item for item in loaded if isinstance(item, QuantumCircuit)]
    if len(circuits) != len(loaded):
        raise CliError(f"{path}: holds something other than circuits")
    return circuits


def load_circuits(paths: Sequence[str]) -> list[QuantumCircuit]:
    """Read every circuit from OpenQASM 2, OpenQASM 3 and QPY files, in order.

    Args:
        paths: Files, directories (their circuit files, sorted) or glob patterns.

    Returns:
        The circuits; a circuit from an OpenQASM file is named after the file.

    Raises:
        CliError: Naming the file (and line) that cannot be read.
    """
    circuits: list[QuantumCircuit] = []
    for path in _expand(paths):
        if path.suffix == ".qpy":
            circuits.extend(_load_qpy(path))
        elif path.suffix in (".qasm", ".qasm2", ".qasm3"):
            circuits.append(_load_qasm(path))
        else:
            raise CliError(f"{path}: not a circuit file ({', '.join(CIRCUIT_SUFFIXES)})")
    if not circuits:
        raise CliError("the files hold no circuits")
    return circuits


# --------------------------------------------------------------------- backends


def _aer() -> Any:
    try:
        from qiskit_aer import AerSimulator
    except ImportError as err:
        raise CliError(
            f"backend 'aer' needs qiskit-aer (pip install qiskit-aer); choose from: "
            f"{BACKEND_CHOICES}"
        ) from err
    return AerSimulator()


def _fake(name: str) -> Any:
    try:
        from qiskit_ibm_runtime import fake_provider
    except ImportError as err:
        raise CliError(
            "fake backends need qiskit-ibm-runtime (pip install qiskit-ibm-runtime)"
        ) from err
    classes = {
        attr[4:-2].lower(): getattr(fake_provider, attr)
        for attr in dir(fake_provider)
        if attr.startswith("Fake") and attr.endswith("V2") and attr != "FakeBackendV2"
    }
    wanted = name.lower().removeprefix("fake_").removeprefix("fake").removesuffix("v2")
    if wanted not in classes:
        raise CliError(f"unknown fake backend {name!r}; known: {', '.join(sorted(classes))}")
    return classes[wanted]()


def _ibm(name: str) -> Any:
    try:
        from qiskit_ibm_runtime import QiskitRuntimeService
    except ImportError as err:
        raise CliError(
            "ibm backends need qiskit-ibm-runtime (pip install qiskit-ibm-runtime)"
        ) from err
    try:
        return QiskitRuntimeService().backend(name)
    except Exception as err:
        raise CliError(f"cannot reach IBM Quantum backend {name!r}: {_one_line(err)}") from err


def _scripted(spec: str) -> Any:
    from managedjob._wait import SystemClock
    from managedjob.testing import ScriptedBackend

    try:
        run_time = float(spec) if spec else 0.0
    except ValueError as err:
        raise CliError(f"scripted:<seconds> takes a number of seconds, not {spec!r}") from err
    return ScriptedBackend(clock=SystemClock(), run_time=run_time, num_qubits=32)


def make_backend(spec: str | None) -> Any:
    """Return the backend named by ``--backend``.

    ``aer`` (the default when qiskit-aer is installed), ``basic``
    (Qiskit's ``BasicSimulator``, the default otherwise), ``fake:<name>`` (a
    fake backend of qiskit-ibm-runtime), ``ibm:<name>`` (through the saved
    IBM Quantum account) and ``scripted:<seconds>`` (a scripted test backend
    whose jobs take that long, for trying the command out).

    Raises:
        CliError: For an unknown or unavailable backend, naming the alternatives.
    """
    if spec is None:
        try:
            return _aer()
        except CliError:
            from qiskit.providers.basic_provider import BasicSimulator

            return BasicSimulator()
    kind, _, rest = spec.partition(":")
    if kind == "aer" and not rest:
        return _aer()
    if kind == "basic" and not rest:
        from qiskit.providers.basic_provider import BasicSimulator

        return BasicSimulator()
    if kind == "fake" and rest:
        return _fake(rest)
    if kind == "ibm" and rest:
        return _ibm(rest)
    if kind == "scripted":
        return _scripted(rest)
    raise CliError(f"unknown backend {spec!r}; choose from: {BACKEND_CHOICES}")


def prepare(
    circuits: list[QuantumCircuit], backend: Any, seed: int | None
) -> list[QuantumCircuit]:
    """Transpile the circuits when the backend cannot run them as they are.

    Backends with a coupling map always get transpiled circuits; simulators
    only when a circuit uses an operation they do not support.
    """
    target = getattr(backend, "target", None)
    if target is None:
        return circuits
    coupling = target.build_coupling_map()
    names = set(target.operation_names)
    unsupported = any(
        instruction.operation.name not in names
        and instruction.operation.name not in ("barrier", "measure")
        for circuit in circuits
        for instruction in circuit.data
    )
    if coupling is None and not unsupported:
        return circuits
    transpiled = transpile(circuits, backend=backend, seed_transpiler=seed)
    out = transpiled if isinstance(transpiled, list) else [transpiled]
    for original, new in zip(circuits, out, strict=True):
        new.name = original.name
    return out


# --------------------------------------------------------------------- output


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
            row["error"] = _one_line(err)
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


def _write_results_file(
    job_set: ManagedJobSet,
    results: ManagedResults,
    names: Sequence[str],
    out: str | None,
    fmt: str | None,
) -> Path:
    """Write the counts to ``out`` (``managedjob-<id>.<format>`` by default)."""
    chosen = _format_for(out, fmt)
    out_path = Path(out or f"managedjob-{job_set.job_set_id()[:8]}.{chosen}")
    buffer = io.StringIO()
    write_results(job_set, results, names, buffer, chosen)
    out_path.write_text(buffer.getvalue(), encoding="utf-8")
    return out_path


def _format_for(out: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "csv" if out and out.endswith(".csv") else "json"


def _one_line(err: BaseException | Warning | str) -> str:
    # Qiskit's errors show their message as a repr; their ``message`` is the text.
    message = getattr(err, "message", None)
    text = message if isinstance(message, str) else str(err)
    text = " ".join(text.split()).strip("'\"")
    return text or type(err).__name__


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --------------------------------------------------------------------- job states

#: What the commands call the state of a job, in the order they are listed.
STATES = (
    "done",
    "failed",
    "cancelled",
    "submit failed",
    "running",
    "queued",
    "unfinished",
    "lost",
    "unknown",
)
_RUNNING = (JobStatus.RUNNING,)
_QUEUED = (JobStatus.INITIALIZING, JobStatus.VALIDATING, JobStatus.QUEUED)
_NOT_FINAL = ("running", "queued", "unfinished", "lost", "unknown")


def job_state(mjob: ManagedJob, attached: bool = True) -> str:
    """Name the state of a job as the commands show it.

    Args:
        mjob: The job.
        attached: Whether the set's unfinished jobs were looked up on their
            target. A job of a set rebuilt from the journal alone that has no
            final state there is ``"unfinished"`` (still running, or lost with
            the process that ran it); once looked up and not found, ``"lost"``.

    Returns:
        One of :data:`STATES`.
    """
    if mjob.submit_error is not None:
        return "submit failed"
    status = mjob.status()
    if status is JobStatus.DONE:
        return "done"
    if status is JobStatus.ERROR:
        return "failed"
    if status is JobStatus.CANCELLED:
        return "cancelled"
    if status in _RUNNING:
        return "running"
    if status in _QUEUED:
        return "queued"
    if mjob.job is None:
        return "lost" if attached else "unfinished"
    return "unknown"


def _state_counts(states: Sequence[str]) -> str:
    counts = Counter(states)
    return ", ".join(f"{counts[state]} {state}" for state in STATES if counts[state])


def _jobs_row(states: Sequence[str]) -> str:
    """The ``jobs`` row of a summary: done, failed and cancelled, then any other."""
    counts = Counter(states)
    failed = sum(counts[state] for state in ("failed", "submit failed", "lost", "unknown"))
    parts = [f"{counts['done']} done", f"{failed} failed", f"{counts['cancelled']} cancelled"]
    parts += [f"{counts[state]} {state}" for state in ("running", "queued", "unfinished")]
    shown = parts[:3] + [part for part in parts[3:] if not part.startswith("0 ")]
    return f"{len(states)} ({', '.join(shown)})"


# --------------------------------------------------------------------- progress


def _wait_with_progress(job_set: ManagedJobSet, stream: TextIO, show: bool) -> None:
    total = len(job_set.managed_jobs())
    counts = {"done": 0, "failed": 0}

    def settled(mjob: ManagedJob) -> None:
        counts["done"] += 1
        counts["failed"] += mjob.status() in (JobStatus.ERROR, None)
        if show:
            failed = f" ({counts['failed']} failed)" if counts["failed"] else ""
            stream.write(f"\rjobs finished: {counts['done']}/{total}{failed}")
            stream.flush()

    job_set.wait(callback=settled)
    if show:
        stream.write("\n")
        stream.flush()


def _interrupted(job_set: ManagedJobSet) -> int:
    try:
        # Inside the try: a second Ctrl-C may land as soon as the line is out.
        print(
            f"\ninterrupted: job set {job_set.job_set_id()} was submitted and its jobs go on; "
            "press Ctrl-C again within 3 s to cancel them",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(3)
    except KeyboardInterrupt:
        job_set.cancel()
        _settle(job_set.managed_jobs(), CANCEL_SETTLE_SECONDS)
        cancelled = sum(status is JobStatus.CANCELLED for status in job_set.statuses())
        print(f"cancelled {cancelled} jobs of job set {job_set.job_set_id()}", file=sys.stderr)
    else:
        print(
            f"the job set is kept in the journal: managedjob status {job_set.job_set_id()}",
            file=sys.stderr,
        )
    return 130


#: How long ``cancel`` waits for cancelled jobs to say so, to journal their state.
CANCEL_SETTLE_SECONDS = 5.0


def _settle(mjobs: Sequence[ManagedJob], seconds: float) -> None:
    """Wait (a little) for jobs to be final, and read them so that the journal records it."""
    deadline = time.monotonic() + seconds
    for mjob in mjobs:
        if mjob.job is None:
            continue
        left = max(0.0, deadline - time.monotonic())
        try:
            final = wait_for_final_state(mjob.job, left, poll=mjob.poll_policy)
        except Exception:  # the job cannot say; nothing to journal
            continue
        if final:
            # Reading a final job journals its state (and result) at once;
            # that a cancelled job has no result goes without saying.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mjob.result(timeout=0, partial=True)


# --------------------------------------------------------------------- summaries


def _print_rows(rows: Sequence[tuple[str, str]], stream: TextIO | None = None) -> None:
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}", file=stream or sys.stdout)


def _journal_row(journal: Journal | None) -> tuple[str, str]:
    return ("journal", str(journal.path) if journal is not None else "off")


def _print_summary(
    job_set: ManagedJobSet,
    results: ManagedResults,
    experiments: int,
    out_path: Path,
    journal: Journal | None,
    elapsed: float | None = None,
    *,
    attached: bool = True,
) -> None:
    states = [job_state(mjob, attached) for mjob in job_set.managed_jobs()]
    rows = [
        ("job set", f"{job_set.name()} ({job_set.job_set_id()})"),
        ("backend", results.backend_name),
        ("jobs", _jobs_row(states)),
        ("experiments", str(experiments)),
    ]
    if elapsed is not None:
        rows.append(("time", f"{elapsed:.2f} s"))
    rows += [("results", str(out_path)), _journal_row(journal)]
    _print_rows(rows)


# --------------------------------------------------------------------- the journal


def journal_path(args: argparse.Namespace) -> Path:
    """Return the journal the command uses: ``--journal``, else the library's default.

    The default is the file named by ``MANAGEDJOB_JOURNAL``, else
    ``journal.sqlite3`` in the user data directory.
    """
    given: str | None = getattr(args, "journal", None)
    return Path(given).expanduser() if given else default_journal_path()


def _open_journal(args: argparse.Namespace) -> Journal:
    """Open the journal for reading a job set; a journal that does not exist is not made."""
    path = journal_path(args)
    if not path.exists():
        raise UnknownJobSetError(
            f"{args.id} is not a known job set: there is no journal at {path} "
            f"(set {ENV_VAR} or pass --journal PATH)"
        )
    return Journal(path)


def resolve_job_set_id(journal: Journal, text: str) -> JobSetRecord:
    """Return the journaled set whose id is ``text``, or the only one that starts with it.

    Raises:
        IBMQJobManagerUnknownJobSet: If no journaled set matches.
        CliError: If several do.
    """
    record = journal.job_set(text)
    if record is not None:
        return record
    matches = [r for r in journal.job_sets() if r.job_set_id.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(r.job_set_id for r in matches[:3])
        raise CliError(
            f"{text!r} is the start of {len(matches)} job set ids ({shown}"
            f"{', ...' if len(matches) > 3 else ''}); give more of it"
        )
    raise UnknownJobSetError(
        f"{text} is not a known job set: it is not in the journal {journal.path} "
        "(managedjob list shows the sets it has)"
    )


def backend_spec_for(backend_name: str) -> str | None:
    """Return the ``--backend`` spec that makes a backend of this name, if there is one."""
    if backend_name == "aer_simulator":
        return "aer"
    if backend_name == "basic_simulator":
        return "basic"
    if backend_name == "scripted_backend":
        return "scripted:0"
    if backend_name.startswith("fake_"):
        return "fake:" + backend_name.removeprefix("fake_")
    if backend_name.startswith("ibm"):
        return "ibm:" + backend_name
    return None


def _backend_for(record: JobSetRecord, spec: str | None) -> tuple[Any, str]:
    """Return the backend of ``--backend``, else the one the set ran on, and its spec."""
    if spec is None:
        spec = backend_spec_for(record.backend_name)
        if spec is None:
            raise CliError(
                f"job set {record.job_set_id} ran on {record.backend_name!r}, which the "
                f"command cannot make; pass --backend ({BACKEND_CHOICES})"
            )
    return make_backend(spec), spec


def _experiment_names(journal: Journal, job_set: ManagedJobSet) -> list[str]:
    """The names of the set's experiments, from the journal ("" where it has none)."""
    try:
        names = journal.experiment_names(job_set.job_set_id())
    except JournalError as err:
        logger.debug("No experiment names for job set %s: %s", job_set.job_set_id(), err)
        count = sum(mjob.experiments_count for mjob in job_set.managed_jobs())
        return [""] * count
    return [name or "" for name in names]


# --------------------------------------------------------------------- commands


def _cmd_run(args: argparse.Namespace) -> int:
    circuits = load_circuits(args.files)
    backend = make_backend(args.backend)
    circuits = prepare(circuits, backend, args.seed)
    run_config: dict[str, Any] = {}
    if args.shots is not None:
        run_config["shots"] = args.shots
    if args.seed is not None:
        run_config["seed_simulator"] = args.seed
    names = [circuit.name for circuit in circuits]
    started = time.monotonic()
    with JobManager(journal=journal_path(args)) as manager:
        job_set = manager.run(
            circuits,
            backend=backend,
            name=args.name,
            max_experiments_per_job=args.max_experiments_per_job,
            job_tags=args.tag or None,
            **run_config,
        )
        print(
            f"submitting job set {job_set.job_set_id()}: {len(circuits)} experiments in "
            f"{len(job_set.managed_jobs())} jobs",
            file=sys.stderr,
            flush=True,
        )
        try:
            _wait_with_progress(job_set, sys.stderr, show=sys.stderr.isatty())
        except KeyboardInterrupt:
            return _interrupted(job_set)
        results = job_set.results(partial=True)
        elapsed = time.monotonic() - started
        out_path = _write_results_file(job_set, results, names, args.out, args.format)
        _print_summary(job_set, results, len(circuits), out_path, manager.journal, elapsed)
        return 0 if results.success else 1


def _cmd_list(args: argparse.Namespace) -> int:
    path = journal_path(args)
    if not path.exists():
        print(f"no job sets: there is no journal at {path}", file=sys.stderr)
        return 0
    with Journal(path) as journal, JobManager(journal=journal) as manager:
        tags = args.tag or None
        records = {r.job_set_id: r for r in journal.job_sets(name=args.name, tags=tags)}
        job_sets = [
            job_set
            for job_set in manager.job_sets(name=args.name, tags=tags)
            if job_set.job_set_id() in records
        ]
        if not job_sets:
            filters = " matching" if args.name or args.tag else ""
            print(f"no{filters} job sets in the journal {path}", file=sys.stderr)
            return 0
        rows = [("ID", "NAME", "CREATED", "BACKEND", "JOBS", "STATE")]
        for job_set in reversed(job_sets):  # newest first
            record = records[job_set.job_set_id()]
            states = [job_state(mjob, attached=False) for mjob in job_set.managed_jobs()]
            rows.append(
                (
                    record.job_set_id,
                    job_set.name(),
                    _local_time(record.created_at),
                    record.backend_name,
                    str(len(states)),
                    _state_counts(states),
                )
            )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.rjust(width) if column == 4 else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
    return 0


def _local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _retrieve(
    manager: JobManager, journal: Journal, args: argparse.Namespace, *, need_backend: bool
) -> tuple[JobSetRecord, ManagedJobSet, str | None]:
    """Rebuild the set named by ``args.id``; with a backend, its unfinished jobs are looked up.

    Returns:
        The set's record, the set, and the spec of the backend its unfinished
        jobs were looked up on (``None`` if they were not).
    """
    record = resolve_job_set_id(journal, args.id)
    spec: str | None = getattr(args, "backend", None)
    backend = None
    if spec is not None or need_backend:
        backend, spec = _backend_for(record, spec)
    job_set = manager.retrieve_job_set(record.job_set_id, provider=backend)
    return record, job_set, spec if backend is not None else None


def _cmd_status(args: argparse.Namespace) -> int:
    with _open_journal(args) as journal, JobManager(journal=journal) as manager:
        record, job_set, spec = _retrieve(manager, journal, args, need_backend=False)
        mjobs = job_set.managed_jobs()
        states = [job_state(mjob, attached=spec is not None) for mjob in mjobs]
        rows = [
            ("job set", f"{job_set.name()} ({job_set.job_set_id()})"),
            ("backend", record.backend_name),
            ("created", _local_time(record.created_at)),
        ]
        if job_set.tags():
            rows.append(("tags", ", ".join(job_set.tags())))
        rows += [
            ("experiments", str(record.experiments)),
            ("jobs", f"{len(states)}: {_state_counts(states)}"),
            _journal_row(journal),
        ]
        _print_rows(rows)
        shown = 0
        for number, (mjob, state) in enumerate(zip(mjobs, states, strict=True)):
            if state == "done":
                continue
            if shown == MAX_JOB_LINES:
                print(f"... and {sum(s != 'done' for s in states) - shown} more jobs")
                break
            print(
                f"job {number} (experiments {mjob.start_index}-{mjob.end_index}): "
                f"{state}{_why(mjob, state)}"
            )
            shown += 1
        if any(state == "unfinished" for state in states):
            print(
                "unfinished jobs have no final state in the journal: they still run, or were "
                "lost with the process that ran them (pass --backend to look them up; "
                f"managedjob retry {job_set.job_set_id()} reruns lost ones)",
                file=sys.stderr,
            )
    return 0


#: How many jobs that are not done ``status`` lists one by one.
MAX_JOB_LINES = 20


def _why(mjob: ManagedJob, state: str) -> str:
    if state in ("done", "cancelled", "running", "queued", "unfinished"):
        return ""
    message = str(mjob.submit_error) if state == "submit failed" else mjob.error_message()
    return f": {_one_line(message)}" if message else ""


def _cmd_report(args: argparse.Namespace) -> int:
    with _open_journal(args) as journal, JobManager(journal=journal) as manager:
        _, job_set, _ = _retrieve(manager, journal, args, need_backend=False)
        print(job_set.report(detailed=not args.summary))
    return 0


def _cmd_results(args: argparse.Namespace) -> int:
    with _open_journal(args) as journal, JobManager(journal=journal) as manager:
        record, job_set, _ = _retrieve(manager, journal, args, need_backend=False)
        results = job_set.results(partial=True)
        names = _experiment_names(journal, job_set)
        out_path = _write_results_file(job_set, results, names, args.out, args.format)
        _print_summary(job_set, results, record.experiments, out_path, journal, attached=False)
        unfinished = [job_state(m, attached=False) for m in job_set.managed_jobs()].count(
            "unfinished"
        )
        if unfinished:
            print(
                f"{_plural(unfinished, 'job')} of the set {'has' if unfinished == 1 else 'have'} "
                f"no result in the journal yet; managedjob retry {job_set.job_set_id()} reruns "
                "lost ones",
                file=sys.stderr,
            )
        return 0 if results.success else 1


def _cmd_retry(args: argparse.Namespace) -> int:
    with _open_journal(args) as journal, JobManager(journal=journal) as manager:
        started = time.monotonic()
        record, job_set, spec = _retrieve(manager, journal, args, need_backend=True)
        retried = job_set.retry_failed()
        what = (
            f"retrying {_plural(len(retried), 'job')} of job set {job_set.job_set_id()} on {spec}"
            if retried
            else f"no job of job set {job_set.job_set_id()} needs a retry"
        )
        print(what, file=sys.stderr, flush=True)
        try:
            _wait_with_progress(job_set, sys.stderr, show=sys.stderr.isatty())
        except KeyboardInterrupt:
            return _interrupted(job_set)
        results = job_set.results(partial=True)
        names = _experiment_names(journal, job_set)
        out_path = _write_results_file(job_set, results, names, args.out, args.format)
        elapsed = time.monotonic() - started
        _print_summary(job_set, results, record.experiments, out_path, journal, elapsed)
        return 0 if results.success else 1


def _cmd_cancel(args: argparse.Namespace) -> int:
    with _open_journal(args) as journal, JobManager(journal=journal) as manager:
        record = resolve_job_set_id(journal, args.id)
        no_backend = "pass --backend to look them up"
        try:
            backend, _ = _backend_for(record, args.backend)
        except CliError as err:
            if args.backend is not None:
                raise
            no_backend = _one_line(err)
            backend = None
        job_set = manager.retrieve_job_set(record.job_set_id, provider=backend)
        mjobs = job_set.managed_jobs()
        states = [job_state(mjob, attached=backend is not None) for mjob in mjobs]
        reachable = [m for m, s in zip(mjobs, states, strict=True) if s in ("running", "queued")]
        unreachable = [s for s in states if s in ("unfinished", "lost", "unknown")]
        finished = len(states) - len(reachable) - len(unreachable)
        for mjob in reachable:
            mjob.cancel()
        _settle(reachable, CANCEL_SETTLE_SECONDS)
        after = [job_state(mjob) for mjob in reachable]
        cancelled = after.count("cancelled")
        still = sum(state in _NOT_FINAL for state in after)
        print(
            f"job set {job_set.name()} ({job_set.job_set_id()}): "
            f"cancelled {_plural(cancelled, 'job')}"
        )
        if finished:
            print(f"{_plural(finished, 'job')} had finished already")
        if reachable and len(after) - cancelled - still:
            print(f"{_plural(len(after) - cancelled - still, 'job')} finished before the cancel")
        if still:
            print(f"{_plural(still, 'job')} did not stop yet (the target was asked to cancel)")
        if unreachable:
            where = record.backend_name
            print(
                f"{_plural(len(unreachable), 'job')} could not be reached: {where} does not know "
                "them here (a local simulator's jobs live only in the process that ran them)"
                if backend is not None
                else f"{_plural(len(unreachable), 'job')} could not be reached: {no_backend}"
            )
        return 1 if unreachable or still else 0


# --------------------------------------------------------------------- plots

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
        f"{_plural(jobs, 'job')}, {_plural(record.experiments, 'experiment')}",
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


def _experiment_key(text: str, names: Sequence[str], job_set_id: str) -> str | int:
    if text in names:
        return text
    if text.isdigit() and int(text) < len(names):
        return int(text)
    known = ", ".join(repr(name) for name in list(dict.fromkeys(names))[:5] if name)
    raise CliError(
        f"job set {job_set_id} has no experiment {text!r} (give a name or an index below "
        f"{len(names)}" + (f"; its experiments include {known})" if known else ")")
    )


def _cmd_plot(args: argparse.Namespace) -> int:
    _matplotlib()  # say what to install before anything else
    out = Path(args.out)
    with _open_journal(args) as journal:
        record = resolve_job_set_id(journal, args.id)
        if args.experiment is None:
            times = journal.attempts(record.job_set_id)
            plot_timeline(record, times, out)
            print(f"timeline of job set {record.job_set_id}: {out}")
            return 0
        with JobManager(journal=journal) as manager:
            job_set = manager.retrieve_job_set(record.job_set_id)
            names = _experiment_names(journal, job_set)
            key = _experiment_key(args.experiment, names, record.job_set_id)
            try:
                counts = job_set.results(partial=True).get_counts(key)
            except JobManagerError as err:
                print(
                    f"managedjob: error: experiment {args.experiment!r} has no counts: "
                    f"{_one_line(err)}",
                    file=sys.stderr,
                )
                return 1
        index = key if isinstance(key, int) else names.index(key)
        label = names[index] or f"experiment {index}"
        plot_counts(f"{label} (experiment {index}) of {record.name}", dict(counts), out)
        print(f"counts of experiment {index} ({label}): {out}")
        return 0


# --------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="managedjob",
        description="Run circuit files as one managed set of jobs, and follow job sets.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    journal_help = (
        f"the journal file (default: ${ENV_VAR}, else journal.sqlite3 in the user data directory)"
    )
    parser.add_argument("--journal", metavar="PATH", help=journal_help)
    # Also accepted after the command; left unset there so that it does not
    # override a --journal given before the command.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--journal", metavar="PATH", default=argparse.SUPPRESS, help=journal_help)
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
    run.add_argument(
        "--backend", help=f"where to run: {BACKEND_CHOICES} (default: aer, else basic)"
    )
    run.add_argument("--shots", type=_positive_int, help="shots per circuit")
    run.add_argument("--seed", type=int, help="seed for the simulator and the transpiler")
    run.add_argument(
        "--max-experiments-per-job",
        type=_positive_int,
        metavar="K",
        default=DEFAULT_PER_JOB,
        help=f"circuits per job at most (default: {DEFAULT_PER_JOB}, or the backend's limit)",
    )
    run.add_argument("--name", help="name of the job set")
    run.add_argument(
        "--tag", action="append", metavar="T", help="a tag for the job set (repeatable)"
    )
    _add_output_options(run)
    run.set_defaults(func=_cmd_run)

    listing = commands.add_parser(
        "list",
        parents=[common],
        help="list the job sets in the journal, newest first",
        description="List the job sets in the journal, newest first.",
    )
    listing.add_argument("--name", help="only the sets of this name")
    listing.add_argument(
        "--tag", action="append", metavar="T", help="only the sets with this tag (repeatable)"
    )
    listing.set_defaults(func=_cmd_list)

    id_help = "the job set's id (or the start of it)"
    backend_lookup = "look the set's unfinished jobs up on this backend"

    status = commands.add_parser(
        "status",
        parents=[common],
        help="how many jobs of a set are in each state",
        description="Show how many jobs of a job set are in each state, from the journal.",
    )
    status.add_argument("id", metavar="ID", help=id_help)
    status.add_argument("--backend", metavar="SPEC", help=backend_lookup)
    status.set_defaults(func=_cmd_status)

    report = commands.add_parser(
        "report",
        parents=[common],
        help="the job set's report, as ManagedJobSet.report() writes it",
        description="Print the job set's report, as ManagedJobSet.report() writes it.",
    )
    report.add_argument("id", metavar="ID", help=id_help)
    report.add_argument("--backend", metavar="SPEC", help=backend_lookup)
    report.add_argument("--summary", action="store_true", help="the summary only")
    report.set_defaults(func=_cmd_report)

    results = commands.add_parser(
        "results",
        parents=[common],
        help="write the counts of a job set from the journal",
        description="Write the counts of every experiment of a job set, from the journal.",
    )
    results.add_argument("id", metavar="ID", help=id_help)
    _add_output_options(results)
    results.set_defaults(func=_cmd_results)

    retry = commands.add_parser(
        "retry",
        parents=[common],
        help="rerun the failed and lost jobs of a set, and write its counts",
        description=(
            "Rerun the jobs of a job set that failed, were cancelled or are lost, wait for "
            "them, and write the counts of every experiment."
        ),
    )
    retry.add_argument("id", metavar="ID", help=id_help)
    retry.add_argument(
        "--backend",
        metavar="SPEC",
        help=f"where to rerun: {BACKEND_CHOICES} (default: the backend the set ran on)",
    )
    _add_output_options(retry)
    retry.set_defaults(func=_cmd_retry)

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
    cancel.set_defaults(func=_cmd_cancel)

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
    plot.add_argument("--out", metavar="F", required=True, help="the image file (.png, ...)")
    plot.add_argument(
        "--experiment", metavar="NAME", help="an experiment's name or index: plot its counts"
    )
    plot.set_defaults(func=_cmd_plot)
    return parser


def _add_output_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--out", metavar="F", help="where to write the counts (.json or .csv)")
    command.add_argument(
        "--format", choices=("json", "csv"), help="output format (default: from --out)"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"managedjob: warning: {_one_line(message)}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``managedjob`` command.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` if not given.

    Returns:
        The exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="managedjob: %(levelname)s: %(message)s",
    )
    command: Callable[[argparse.Namespace], int] = args.func
    shown = warnings.showwarning
    if not args.debug:
        warnings.showwarning = _show_warning
    try:
        return command(args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (CliError, JobManagerError, OSError) as err:
        if args.debug:
            raise
        print(f"managedjob: error: {_one_line(err)}", file=sys.stderr)
        return 2
    finally:
        warnings.showwarning = shown


if __name__ == "__main__":  # pragma: no cover
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
