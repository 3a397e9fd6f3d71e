"""What the journal costs: time per job, and bytes per 1,000 experiments.

Runs the same job sets with the journal off and on, in this process, on a
scripted target that spends no time (so that only managedjob's own work is
timed), and prints:

* the wall time of ``run()`` + ``results()`` with the journal off and on,
  the ratio, and the overhead per job; then the same including
  ``Journal.flush()``, when every record is on disk;
* the size of the journal file per 1,000 experiments, for small circuits
  with their counts, and with per-shot memory as well.

The journal is written to a temporary directory, never the user's. It
asserts nothing. ``--quick`` runs a smaller case, for a smoke test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from qiskit import QuantumCircuit

from managedjob import JobManager
from managedjob._journal import Journal
from managedjob.testing import FakeClock, ScriptedBackend


def layered(count: int, width: int = 5) -> list[QuantumCircuit]:
    """Circuits of a typical sweep: a layer of rotations and entanglers, measured."""
    out = []
    for index in range(count):
        qc = QuantumCircuit(width, width, name=f"sweep_{index}")
        for qubit in range(width):
            qc.ry(0.1 * (index + qubit), qubit)
        for qubit in range(width - 1):
            qc.cx(qubit, qubit + 1)
        qc.measure(range(width), range(width))
        out.append(qc)
    return out


def timed_runs(
    work: list[QuantumCircuit], per_job: int, repeats: int, journal: Path | None
) -> tuple[float, float]:
    """Return the best time of run()+results(), and of that plus the journal's flush."""
    best, best_durable = float("inf"), float("inf")
    for _ in range(repeats):
        clock = FakeClock()
        backend = ScriptedBackend(clock=clock, simulate=False)
        with JobManager(clock=clock, journal=journal if journal else False) as manager:
            start = time.perf_counter()
            manager.run(work, backend, max_experiments_per_job=per_job, shots=1024).results()
            done = time.perf_counter() - start
            if manager.journal is not None:
                manager.journal.flush()
            durable = time.perf_counter() - start
        best, best_durable = min(best, done), min(best_durable, durable)
    return best, best_durable


def journal_bytes(directory: Path, experiments: int, memory: bool) -> float:
    """Return the journal's size per 1,000 experiments of simulated sweep circuits."""
    path = directory / f"size-{memory}.sqlite3"
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock)
    with JobManager(clock=clock, journal=path) as manager:
        job_set = manager.run(
            layered(experiments), backend, max_experiments_per_job=100, shots=1024, memory=memory
        )
        job_set.results()
    Journal(path).close()  # the last connection folds the write-ahead log into the file
    size = sum(file.stat().st_size for file in directory.glob(f"{path.name}*"))
    return size / experiments * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast case")
    args = parser.parse_args()
    jobs, per_job, repeats, sized = (40, 5, 2, 200) if args.quick else (400, 5, 3, 2000)
    work = layered(jobs * per_job)
    with tempfile.TemporaryDirectory(prefix="managedjob-bench-") as tmp:
        directory = Path(tmp)
        off, off_durable = timed_runs(work, per_job, repeats, None)
        on, on_durable = timed_runs(work, per_job, repeats, directory / "timing.sqlite3")
        counts_only = journal_bytes(directory, sized, memory=False)
        with_memory = journal_bytes(directory, sized, memory=True)

    print(f"{jobs} jobs of {per_job} experiments on a target that takes no time")
    print(f"{'measure':<28}{'off s':>10}{'on s':>10}{'ratio':>8}{'per job ms':>12}")
    for label, base, ours in (
        ("run + results", off, on),
        ("run + results + flush", off_durable, on_durable),
    ):
        per_job_ms = (ours - base) / jobs * 1000
        print(f"{label:<28}{base:>10.3f}{ours:>10.3f}{ours / base:>7.2f}x{per_job_ms:>12.3f}")
    print(f"journal size per 1,000 experiments ({sized} 5-qubit circuits, 1024 shots):")
    print(f"  circuits + counts          {counts_only / 1024:>10.1f} KiB")
    print(f"  circuits + counts + memory {with_memory / 1024:>10.1f} KiB")


if __name__ == "__main__":
    main()
