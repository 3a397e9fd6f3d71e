"""IBM Quantum over HTTP: a rate-limited service, and how close a set gets to the limit's floor.

200 small jobs (one circuit each) go through the real qiskit-ibm-runtime
client to the loopback IBM Quantum Platform service of the test suite
(``tests/ibm_loopback``, on 127.0.0.1), which accepts at most 5 job
creations a second and answers 429 with ``Retry-After`` beyond that, and
whose jobs finish at once. The floor is what the limit allows: 200 / 5 =
40 s. The row reports the wall time from ``run()`` to the last result
against that floor (target: at most 1.2x), how many 429s the service
answered, and how many jobs the service holds beyond one per slice (target:
0 duplicates).

Run ``python benchmarks/bench_ibm_loopback.py`` (``--quick``: 25 jobs).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from qiskit import QuantumCircuit, transpile

from managedjob import JobManager
from managedjob._journal import ENV_VAR

Row = tuple[str, str, str, str, str]

#: Job creations a second the loopback service accepts.
RATE = 5


def _loopback() -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from ibm_loopback import LoopbackService

    return LoopbackService


def rate_limited(quick: bool) -> list[Row]:
    """Wall time of a set of small jobs against the floor of the service's creation limit."""
    from qiskit_ibm_runtime import QiskitRuntimeService
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from managedjob.targets.ibm_runtime import IBMRuntimeTarget

    count = 25 if quick else 200
    loopback_service = _loopback()
    with loopback_service([FakeManilaV2()], lifetime=600.0, max_requests=50_000) as server:
        os.environ.update(server.environment())
        server.faults.limit_rate("POST", "/jobs", count=RATE, per=1.0)
        service = QiskitRuntimeService(**server.client_arguments())
        backend = service.backend("fake_manila")
        circuit = QuantumCircuit(1, 1)
        circuit.x(0)
        circuit.measure(0, 0)
        isa = transpile(circuit, backend, seed_transpiler=1)
        # The service's own limit, per second; the client-side one per minute is off.
        target = IBMRuntimeTarget(backend, max_jobs_per_minute=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            start = time.perf_counter()
            with JobManager() as manager:
                job_set = manager.run(
                    [isa] * count, backend=target, max_experiments_per_job=1, shots=16
                )
                results = job_set.results()
            elapsed = time.perf_counter() - start
            target.close()
        assert results.success, job_set.error_messages()
        refused = [status for *_, status in server.requests].count(429)
        slices: dict[str, int] = {}
        for job in server.jobs:
            key = next(tag for tag in job.tags if tag.startswith("managedjob:slice:"))
            slices[key] = slices.get(key, 0) + 1
        duplicates = sum(n - 1 for n in slices.values())
    floor = count / RATE
    ratio = elapsed / floor
    return [
        (
            f"IBM over HTTP: {count} jobs, {RATE} creations/s, {refused} answered 429",
            f"{floor:.1f} s (floor)",
            f"{elapsed:.1f} s",
            f"{ratio:.2f}x",
            f"<= 1.2x {'PASS' if ratio <= 1.2 else 'FAIL'}",
        ),
        (
            "IBM over HTTP: jobs beyond one per slice",
            "0",
            str(duplicates),
            "-",
            f"0 duplicates {'PASS' if duplicates == 0 else 'FAIL'}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="25 jobs instead of 200")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ[ENV_VAR] = os.path.join(scratch, "journal.sqlite3")
        rows = rate_limited(args.quick)
    for row in rows:
        print("  ".join(row))


if __name__ == "__main__":
    main()
