"""The ``run`` command: circuit files in, one job set run, counts and a summary out."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from qiskit import QuantumCircuit, transpile

from managedjob._manager import JobManager
from managedjob.cli._backends import make_backend
from managedjob.cli._errors import CliError
from managedjob.cli._input import load_circuits
from managedjob.cli._interrupt import STOPPED, CtrlC, wait_or_interrupt
from managedjob.cli._output import (
    check_out,
    choose_output,
    plural,
    print_next_steps,
    print_summary,
    show_results,
)
from managedjob.cli._sets import journal_path
from managedjob.cli._view import SHORT_VIEW_EXPERIMENTS
from managedjob.targets._workers import WorkerPool, WorkerTarget
from managedjob.targets.primitives import holds_the_interpreter

__all__ = ["DEFAULT_PER_JOB", "in_workers", "local_workers", "prepare", "run_command"]

logger = logging.getLogger(__name__)

#: Circuits per job at most, unless ``--max-experiments-per-job`` says otherwise.
DEFAULT_PER_JOB = 100


def prepare(
    circuits: list[QuantumCircuit], backend: Any, seed: int | None
) -> list[QuantumCircuit]:
    """Transpile the circuits when the backend cannot run them as they are.

    Backends with a coupling map always get transpiled circuits; simulators
    only when a circuit uses an operation they do not support.

    Raises:
        CliError: If a circuit has more qubits than a device (a backend with
            a coupling map), naming the circuit.
    """
    target = getattr(backend, "target", None)
    width = getattr(backend, "num_qubits", None)
    # A device (it has a coupling map) has so many qubits; simulators such as
    # Aer pick a method per circuit and may run wider ones.
    if target is not None and target.build_coupling_map() is not None and width:
        for index, circuit in enumerate(circuits):
            if circuit.num_qubits > width:
                raise CliError(
                    f"circuit {circuit.name!r} (number {index}) has {circuit.num_qubits} "
                    f"qubits, but {getattr(backend, 'name', type(backend).__name__)} has {width}"
                )
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


@contextmanager
def local_workers(backend: Any, workers: int | None) -> Iterator[WorkerPool | None]:
    """Worker processes for the jobs of a simulator that holds the interpreter lock.

    Aer (and the fake devices built on it) holds the lock while it
    simulates: with its jobs in this process, a Ctrl-C would wait for them.
    In worker processes they leave this process free to answer at once, and
    stop when the command ends. ``None`` for other backends (remote ones,
    ``BasicSimulator``, which lets Ctrl-C through), and with ``workers`` 0.
    """
    if backend is None or workers == 0 or not holds_the_interpreter(backend):
        yield None
        return
    pool = WorkerPool(workers)
    try:
        yield pool
    finally:
        pool.shutdown(STOPPED)


def in_workers(backend: Any, pool: WorkerPool | None) -> Any:
    """``backend`` as a target whose jobs run in ``pool``; ``backend`` itself without one."""
    if pool is None:
        return backend
    try:
        return WorkerTarget(backend, pool)
    except TypeError as err:  # it cannot be sent to a worker: run it here
        logger.info("Running the jobs in this process: %s", err)
        return backend


def run_command(args: argparse.Namespace) -> int:
    """Run ``managedjob run``; return the exit code."""
    if args.dry_run and (args.csv or args.out):
        raise CliError("--dry-run prints the plan (--json for a JSON document); it writes no file")
    check_out(args.out)
    output = choose_output(args)
    journal = journal_path(args)
    circuits = load_circuits(args.files)
    backend = make_backend(args.backend)
    circuits = prepare(circuits, backend, args.seed)
    run_config: dict[str, Any] = {}
    if args.shots is not None:
        run_config["shots"] = args.shots
    if args.seed is not None:
        run_config["seed_simulator"] = args.seed
    if args.dry_run:
        with JobManager(journal=False) as planner:
            estimate = planner.plan(
                circuits,
                backend,
                max_experiments_per_job=args.max_experiments_per_job,
                **run_config,
            )
        print(json.dumps(estimate.to_dict(), indent=2) if args.json else estimate)
        return 0
    names = [circuit.name for circuit in circuits]
    started = time.monotonic()
    # The workers stop before the manager closes the journal: how their jobs
    # ended is still journaled.
    with (
        JobManager(journal=journal) as manager,
        local_workers(backend, args.workers) as pool,
        CtrlC() as ctrl_c,  # from here, Ctrl-C is acted on where nothing is held
    ):
        job_set = manager.run(
            circuits,
            backend=in_workers(backend, pool),
            name=args.name,
            max_experiments_per_job=args.max_experiments_per_job,
            job_tags=args.tag or None,
            **run_config,
        )
        job_set_id = job_set.job_set_id()
        if output.info is not None:
            print(
                f"submitting job set {job_set_id}: {plural(len(circuits), 'experiment')} in "
                f"{plural(len(job_set.managed_jobs()), 'job')}",
                file=sys.stderr,
                flush=True,
            )
        show = output.info is not None and sys.stderr.isatty()
        code = wait_or_interrupt(job_set, args, pool, ctrl_c, show=show)
        if code is not None:
            return code
        results = job_set.results(partial=True)
        elapsed = time.monotonic() - started
        if output.info is None and output.table:
            print(job_set_id)  # --quiet: the id, for the next command
        else:
            show_results(job_set, results, names, output, limit=SHORT_VIEW_EXPERIMENTS)
        items = ("experiments", str(len(circuits)))
        print_summary(job_set, results.backend_name, items, output, manager.journal, elapsed)
        more = len(circuits) > SHORT_VIEW_EXPERIMENTS
        print_next_steps(args, job_set_id, output, more=more, failed=not results.success)
        return 0 if results.success else 1
