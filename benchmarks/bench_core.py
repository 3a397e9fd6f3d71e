"""Collecting results and looking experiments up: managedjob against the legacy way.

Runs 10,000 experiments in 100 jobs on a scripted target that spends real
time on each result download, then measures, in the same process:

* collecting every job's result: ``ManagedJobSet.results()`` (concurrent)
  against fetching one job after another, as the legacy manager did;
* looking up every experiment by name: ``ManagedResults.get_counts(name)``
  (an index built once) against scanning every job's circuits for the name,
  as the legacy ``ManagedJobSet.job()`` did.

It prints times and ratios; it asserts nothing. ``--quick`` runs a smaller
case for a smoke test.
"""

from __future__ import annotations

import argparse
import time

from qiskit import QuantumCircuit

from managedjob import JobManager, SystemClock
from managedjob.testing import ScriptedBackend


def circuits(count: int) -> list[QuantumCircuit]:
    out = []
    for index in range(count):
        qc = QuantumCircuit(1, 1, name=f"exp_{index}")
        qc.measure(0, 0)
        out.append(qc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast case")
    args = parser.parse_args()
    experiments, jobs, latency = (1_000, 20, 0.005) if args.quick else (10_000, 100, 0.02)
    per_job = experiments // jobs
    clock = SystemClock()
    work = circuits(experiments)

    def backend() -> ScriptedBackend:
        return ScriptedBackend(clock=clock, simulate=False, result_latency=latency)

    rows: list[tuple[str, float, float]] = []
    with JobManager(clock=clock, journal=False) as manager:
        # Baseline: submit the same way, then fetch one job after another.
        baseline_set = manager.run(work, backend(), max_experiments_per_job=per_job, shots=16)
        native_jobs = baseline_set.jobs()
        start = time.perf_counter()
        native_results = [job.result() for job in native_jobs]
        serial = time.perf_counter() - start

        job_set = manager.run(work, backend(), max_experiments_per_job=per_job, shots=16)
        job_set.jobs()  # submissions done; time only the collection
        start = time.perf_counter()
        results = job_set.results()
        concurrent = time.perf_counter() - start
        rows.append((f"collect {jobs} results", serial, concurrent))

        names = [circuit.name for circuit in work]
        start = time.perf_counter()
        for name in names:
            for job, result in zip(native_jobs, native_results, strict=True):
                found = next((i for i, c in enumerate(job.circuits()) if c.name == name), None)
                if found is not None:
                    result.get_counts(found)
                    break
        scanning = time.perf_counter() - start

        start = time.perf_counter()
        for name in names:
            results.get_counts(name)
        indexed = time.perf_counter() - start
        rows.append((f"get_counts by name x{experiments}", scanning, indexed))

    print(f"{experiments} experiments in {jobs} jobs, {latency * 1000:.0f} ms per result download")
    print(f"{'measure':<32}{'baseline s':>12}{'managedjob s':>14}{'speed-up':>10}")
    for label, base, ours in rows:
        print(f"{label:<32}{base:>12.4f}{ours:>14.4f}{base / ours:>9.1f}x")
    print(
        f"per lookup by name: {indexed / experiments * 1e6:.1f} us (index) "
        f"vs {scanning / experiments * 1e6:.1f} us (scan)"
    )


if __name__ == "__main__":
    main()
