"""The ``managedjob`` command: run circuit files as one job set, and follow job sets.

Exit codes: 0 when every experiment has results, 1 when some experiments
failed, 2 for bad usage or input, 130 when interrupted. Errors are one line on
stderr; ``--debug`` shows the traceback too.
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from qiskit import QuantumCircuit, transpile
from qiskit.providers import JobStatus

from managedjob._job_set import ManagedJobSet
from managedjob._manager import JobManager
from managedjob._results import ManagedResults
from managedjob.exceptions import JobManagerError

__all__ = ["main"]

logger = logging.getLogger(__name__)

CIRCUIT_SUFFIXES = (".qasm", ".qasm2", ".qasm3", ".qpy")
BACKEND_CHOICES = "aer, basic, fake:<name> (e.g. fake:manila), ibm:<name>"
DEFAULT_PER_JOB = 100
_FINAL = (JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)


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


def _format_for(out: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "csv" if out and out.endswith(".csv") else "json"


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()).strip("'\"")
    return text or type(err).__name__


# --------------------------------------------------------------------- progress


def _wait_with_progress(job_set: ManagedJobSet, stream: TextIO, show: bool) -> None:
    total = len(job_set.managed_jobs())
    interval = 0.05
    last = ""
    while True:
        statuses = job_set.statuses()
        done = sum(status in _FINAL or status is None for status in statuses)
        if show:
            failed = sum(status in (JobStatus.ERROR, None) for status in statuses)
            line = f"\rjobs finished: {done}/{total}" + (f" ({failed} failed)" if failed else "")
            if line != last:
                stream.write(line)
                stream.flush()
                last = line
        if done == total:
            break
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)
    if show:
        stream.write("\n")
        stream.flush()


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
    with JobManager() as manager:
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
        fmt = _format_for(args.out, args.format)
        out_path = Path(args.out or f"managedjob-{job_set.job_set_id()[:8]}.{fmt}")
        buffer = io.StringIO()
        write_results(job_set, results, names, buffer, fmt)
        out_path.write_text(buffer.getvalue(), encoding="utf-8")
        _print_summary(job_set, results, len(circuits), elapsed, out_path)
        return 0 if results.success else 1


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
        cancelled = sum(status is JobStatus.CANCELLED for status in job_set.statuses())
        print(f"cancelled {cancelled} jobs of job set {job_set.job_set_id()}", file=sys.stderr)
    return 130


def _print_summary(
    job_set: ManagedJobSet,
    results: ManagedResults,
    experiments: int,
    elapsed: float,
    out_path: Path,
) -> None:
    statuses = job_set.statuses()
    done = sum(status is JobStatus.DONE for status in statuses)
    failed = sum(status in (JobStatus.ERROR, None) for status in statuses)
    cancelled = sum(status is JobStatus.CANCELLED for status in statuses)
    rows = [
        ("job set", f"{job_set.name()} ({job_set.job_set_id()})"),
        ("backend", results.backend_name),
        ("jobs", f"{len(statuses)} ({done} done, {failed} failed, {cancelled} cancelled)"),
        ("experiments", str(experiments)),
        ("time", f"{elapsed:.2f} s"),
        ("results", str(out_path)),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


def build_parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="managedjob",
        description="Run circuit files as one managed set of jobs, and follow job sets.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
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
    run.add_argument("--out", metavar="F", help="where to write the counts (.json or .csv)")
    run.add_argument(
        "--format", choices=("json", "csv"), help="output format (default: from --out)"
    )
    run.set_defaults(func=_cmd_run)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


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


if __name__ == "__main__":  # pragma: no cover
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(main())
