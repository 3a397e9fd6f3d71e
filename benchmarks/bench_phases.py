"""Where the time of a large run goes, phase by phase, with the journal off and on.

Runs ``JobManager.run(...).results()`` and closes the manager, on an instant
scripted target (``simulate=False``: every result has the right shape at no
simulation cost), and adds up the CPU time each thread spends in each phase:

* plan: splitting the circuits and checking the run (``JobManager.run``
  up to the set's start, less the journal's part of it);
* journal the set: the set's rows and those of every slice, in ``run()``;
* QPY: the circuits of each slice, compressed, for the journal;
* submit: the target's ``run()`` calls;
* results: fetching each job's result;
* JSON: each result, encoded for the journal;
* combine: ``combine_results()`` at the end.

The phases are timed with ``time.thread_time`` around the functions named,
in whichever thread runs them; the wall time is that of the whole run. Run
``python benchmarks/bench_phases.py`` (100,000 experiments in 1,000 jobs),
``--experiments N`` or ``--quick`` (10,000).
"""

from __future__ import annotations

import argparse
import functools
import gc
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qiskit import QuantumCircuit

from managedjob import JobManager, SystemClock
from managedjob._job_set._submission import Submitter
from managedjob._journal._codec import CircuitsCodec
from managedjob._journal._recorder import JournalRecorder
from managedjob.testing import ScriptedBackend
from managedjob.testing._jobs import BareJob

PHASES = ("plan", "journal the set", "QPY", "submit", "results", "JSON", "combine")


def circuits(count: int) -> list[QuantumCircuit]:
    """One-qubit circuits, every other one flipping its qubit."""
    out = []
    for index in range(count):
        qc = QuantumCircuit(1, 1, name=f"exp_{index}")
        if index % 2:
            qc.x(0)
        qc.measure(0, 0)
        out.append(qc)
    return out


class PhaseTimer:
    """CPU seconds per phase, summed over threads."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._local = threading.local()

    def add(self, phase: str, seconds: float) -> None:
        with self._lock:
            self.seconds[phase] += seconds

    def wrap(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, its CPU time counted to ``phase`` (the outermost phase of a thread wins)."""

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._local, "inside", False):
                return fn(*args, **kwargs)
            self._local.inside = True
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(phase, time.thread_time() - start)
                self._local.inside = False

        return timed


@contextmanager
def instrumented(timer: PhaseTimer) -> Iterator[None]:
    """Count the phases' functions to ``timer`` for the time of the block."""
    patched = [
        (JobManager, "run", "plan"),
        (JournalRecorder, "record_job_set", "journal the set"),
        (CircuitsCodec, "encode_slice", "QPY"),
        (ScriptedBackend, "run", "submit"),
        (BareJob, "result", "results"),
        (CircuitsCodec, "encode_result", "JSON"),
    ]
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in patched]
    for owner, name, phase in patched:
        setattr(owner, name, timer.wrap(phase, owner.__dict__[name]))
    # The set's rows are written inside run(): count them to their own phase.
    start = Submitter.__dict__["_start_journal"]

    def journal_set(self: Submitter, *args: Any, **kwargs: Any) -> Any:
        began = time.thread_time()
        try:
            return start(self, *args, **kwargs)
        finally:
            spent = time.thread_time() - began
            timer.add("journal the set", spent)
            timer.add("plan", -spent)

    Submitter._start_journal = journal_set  # type: ignore[method-assign]
    try:
        yield
    finally:
        Submitter._start_journal = start  # type: ignore[method-assign]
        for owner, name, fn in saved:
            setattr(owner, name, fn)


def measure(work: list[QuantumCircuit], per_job: int, journal: Path | None) -> dict[str, float]:
    """One run; the CPU seconds of each phase, and its wall time as ``"wall"``."""
    timer = PhaseTimer()
    backend = ScriptedBackend(simulate=False, clock=SystemClock())
    gc.collect()
    with instrumented(timer):
        start = time.perf_counter()
        with JobManager(journal=journal if journal is not None else False) as jm:
            results = jm.run(work, backend, max_experiments_per_job=per_job, shots=4).results()
            assert results.success
            began = time.thread_time()
            combined = results.combine_results()
            timer.add("combine", time.thread_time() - began)
            assert len(combined.results) == len(work)
        wall = time.perf_counter() - start  # closing waits for the journal's last write
    return {**timer.seconds, "wall": wall}


def table(experiments: int, per_job: int) -> list[tuple[str, str, str]]:
    """The phases of one run with the journal off and one with it on."""
    work = circuits(experiments)
    measure(work[: 10 * per_job], per_job, None)  # imports and first calls
    off = measure(work, per_job, None)
    with tempfile.TemporaryDirectory() as tmp:
        on = measure(work, per_job, Path(tmp) / "journal.sqlite")
    rows = [(phase, f"{off.get(phase, 0.0):.2f}", f"{on.get(phase, 0.0):.2f}") for phase in PHASES]
    rows.append(("wall time, run() to closed", f"{off['wall']:.2f}", f"{on['wall']:.2f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=100_000)
    parser.add_argument("--per-job", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="10,000 experiments")
    args = parser.parse_args()
    if args.quick:
        args.experiments = 10_000
    print(
        f"{args.experiments} experiments in jobs of {args.per_job}, instant target "
        "(CPU seconds per phase, all threads)"
    )
    print(f"{'phase':<28} {'journal off':>12} {'journal on':>12}")
    for phase, off, on in table(args.experiments, args.per_job):
        print(f"{phase:<28} {off:>12} {on:>12}")


if __name__ == "__main__":
    main()
