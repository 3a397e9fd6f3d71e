"""PUB workloads: a managed Estimator against one direct run, and merging PubResults.

* 2,000 Estimator PUBs of 10 parameter sets each through
  ``ManagedEstimator(StatevectorEstimator(), max_pubs_per_job=100)``, journal
  on, against one direct ``estimator.run(pubs)`` in the same process
  (target: at most 1.15x);
* merging 10,000 ``PubResult`` s of 100 jobs into one ``PrimitiveResult``
  (target: under 0.2 s).

Run ``python benchmarks/bench_pubs.py`` (``--quick``: a tenth of each).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.primitives import DataBin, PrimitiveResult, PubResult, StatevectorEstimator
from qiskit.quantum_info import SparsePauliOp

from managedjob import JobManager, ManagedEstimator
from managedjob._journal import ENV_VAR
from managedjob._pubs import PubCost, merge_pub_results, plan_pub_jobs

Row = tuple[str, str, str, str]


def estimator_pubs(count: int) -> list[Any]:
    """``count`` PUBs of a two-qubit ansatz, two observables, 10 parameter sets."""
    theta = Parameter("theta")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    observables = [[SparsePauliOp("ZZ")], [SparsePauliOp("XX")]]
    return [
        (circuit, observables, np.linspace(0, np.pi, 10)[None, :, None] + k / count)
        for k in range(count)
    ]


def managed_estimator(quick: bool) -> list[Row]:
    """Managed against direct, measured in one run, journal on."""
    pubs = estimator_pubs(200 if quick else 2000)
    rounds = 3
    direct_times, managed_times = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        direct = StatevectorEstimator().run(pubs).result()
        direct_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        with JobManager() as manager:
            estimator = ManagedEstimator(
                StatevectorEstimator(), max_pubs_per_job=100, manager=manager
            )
            managed = estimator.run(pubs).result()
        managed_times.append(time.perf_counter() - start)
    assert len(managed) == len(direct)
    assert np.allclose(managed[-1].data.evs, direct[-1].data.evs)
    baseline, ours = min(direct_times), min(managed_times)
    return [
        (
            f"ManagedEstimator, {len(pubs)} PUBs x 10 sets, 100 per job, journal on",
            f"{baseline:.2f} s",
            f"{ours:.2f} s",
            f"{ours / baseline:.2f}x (target <= 1.15x)",
        )
    ]


def merging(quick: bool) -> list[Row]:
    """Merging ``count`` PubResults of 100 jobs."""
    count = 1000 if quick else 10_000
    per_job = count // 100
    plan = plan_pub_jobs([PubCost((10,))] * count, max_pubs_per_job=per_job)
    job_results = [
        PrimitiveResult(
            [
                PubResult(DataBin(evs=np.zeros(10), stds=np.zeros(10), shape=(10,)))
                for _ in range(per_job)
            ],
            metadata={"version": 2},
        )
        for _ in range(plan.num_jobs)
    ]
    times = []
    for _ in range(5):
        start = time.perf_counter()
        merged = merge_pub_results(plan, job_results)
        times.append(time.perf_counter() - start)
    assert len(merged) == count
    return [
        (f"merging {count} PubResults of 100 jobs", "-", f"{min(times):.3f} s", "target < 0.2 s")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of each case")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ[ENV_VAR] = os.path.join(scratch, "journal.sqlite3")
        rows = managed_estimator(args.quick) + merging(args.quick)
    for row in rows:
        print("  ".join(row))


if __name__ == "__main__":
    main()
