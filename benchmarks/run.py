"""The performance targets of managedjob, each beside a baseline run in this process.

Prints one table: what is measured, the baseline, managedjob, and the ratio
or the figure the target is stated in. It asserts nothing; the figures of
the latest run are recorded in ``benchmarks/README.md``.

Run ``python benchmarks/run.py`` (a few minutes on two cores) or
``python benchmarks/run.py --quick`` (a smaller case of each, a few seconds).
"""

from __future__ import annotations

import argparse
import functools
import gc
import io
import itertools
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from qiskit import QuantumCircuit, qpy, transpile

import bench_ibm_loopback
import bench_pubs
from managedjob import JobManager, SystemClock
from managedjob._journal import ENV_VAR
from managedjob.testing import ScriptedBackend

#: measure, baseline, managedjob, ratio, and the target with PASS/FAIL
#: ("reported" for figures without a target).
Row = tuple[str, ...]


def circuits(count: int, width: int = 1, superpose: bool = False) -> list[QuantumCircuit]:
    """Circuits flipping qubit 0 of every other one, or putting all qubits in superposition."""
    out = []
    for index in range(count):
        qc = QuantumCircuit(width, width, name=f"exp_{index}")
        if superpose:
            qc.h(range(width))
        elif index % 2:
            qc.x(0)
        qc.measure(range(width), range(width))
        out.append(qc)
    return out


def manager(**settings: Any) -> JobManager:
    """A job manager without a journal where the installed version has one."""
    try:
        return JobManager(journal=False, **settings)
    except TypeError:  # a version without the journal setting
        return JobManager(**settings)


def verdict(value: float, limit: float, text: str) -> str:
    """``text`` with PASS if ``value`` is at most ``limit``, else FAIL."""
    return f"{text}: {'PASS' if value <= limit else 'FAIL'}"


def remote_backend(clock: SystemClock, rate: float | None = None) -> ScriptedBackend:
    """The remote-like model: 50 ms submit, 200 ms run, 50 ms download, 5 ms status."""
    return ScriptedBackend(
        clock=clock,
        simulate=False,
        submit_latency=0.05,
        run_time=0.2,
        result_latency=0.05,
        status_latency=0.005,
        max_submits_per_second=rate,
    )


def latency_bound(quick: bool) -> list[Row]:
    """2,000 circuits in 100 jobs on a remote-like target: 50/200/50/5 ms.

    The serial baseline submits and fetches one job after another. The
    floor is one submission, one run and one download (0.30 s): what the set
    would take if every job went at once. The rate-limited model refuses
    (429) submissions beyond 20 per second; its floor is the time to submit
    every job at that rate, then one run and one download.
    """
    jobs = 20 if quick else 100
    per_job = 20
    work = circuits(jobs * per_job)
    clock = SystemClock()

    serial_backend = remote_backend(clock)
    start = time.perf_counter()
    for first in range(0, len(work), per_job):
        serial_backend.run(work[first : first + per_job], shots=16).result()
    serial = time.perf_counter() - start

    def managed(rate: float | None, **settings: Any) -> tuple[float, ScriptedBackend, Any]:
        backend = remote_backend(clock, rate)
        with manager(clock=clock, **settings) as jm:
            start = time.perf_counter()
            job_set = jm.run(work, backend, max_experiments_per_job=per_job, shots=16)
            results = job_set.results()
            spent = time.perf_counter() - start
        assert results.success
        return spent, backend, job_set

    managed(None)  # warm up: the first threads, imports, the target's first run
    ours, _, _ = managed(None)
    fixed, _, _ = managed(None, max_parallel_submits=16, max_parallel_fetches=16)
    floor = 0.05 + 0.2 + 0.05
    rate = 20.0
    limited, limited_backend, limited_set = managed(rate)
    failed = sum(1 for mjob in limited_set.managed_jobs() if mjob.submit_error is not None)
    rate_floor = (jobs - 1) / rate + floor
    label = f"remote-like, {len(work)} circuits / {jobs} jobs"
    return [
        (
            f"{label}: vs serial",
            f"{serial:.2f} s",
            f"{ours:.2f} s",
            f"{serial / ours:.1f}x faster",
            verdict(-serial / ours, -10, ">= 10x"),
        ),
        (
            f"{label}: adaptive, vs floor {floor:.2f} s",
            f"{floor:.2f} s",
            f"{ours:.2f} s",
            f"{ours / floor:.2f}x floor",
            verdict(ours / floor, 2.0, "<= 2x"),
        ),
        (
            "  the same with fixed 16 submissions and 16 downloads at once",
            f"{floor:.2f} s",
            f"{fixed:.2f} s",
            f"{fixed / floor:.2f}x floor",
            "reported",
        ),
        (
            f"  rate-limited to {rate:.0f} submissions/s (429 beyond), vs its floor",
            f"{rate_floor:.2f} s",
            f"{limited:.2f} s",
            f"{limited / rate_floor:.2f}x floor, {limited_backend.throttled_calls} 429s, "
            f"{failed} failed jobs",
            verdict(limited / rate_floor + (failed > 0), 1.2, "<= 1.2x, 0 failed"),
        ),
    ]


def bookkeeping(quick: bool) -> list[Row]:
    """100,000 experiments in 1,000 jobs on an instant target, journal off."""
    experiments = 10_000 if quick else 100_000
    jobs = experiments // 100
    work = circuits(experiments)
    rows: list[Row] = []
    with manager(clock=SystemClock()) as jm:
        gc.collect()
        cpu = time.process_time()
        job_set = jm.run(
            work,
            ScriptedBackend(simulate=False, clock=SystemClock()),
            max_experiments_per_job=100,
            shots=4,
        )
        job_set.jobs()  # every submission done
        planning = time.process_time() - cpu
        rows.append(
            (
                f"plan + submit {experiments} exp / {jobs} jobs (CPU)",
                "-",
                f"{planning:.2f} s",
                "-",
                verdict(planning, 2.0, "< 2 s"),
            )
        )

        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        results = job_set.results()
        results_size = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        combined = results.combine_results()
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        assert len(combined.results) == experiments
        rows.append(
            (
                "combine_results() peak memory",
                f"{results_size / 1e6:.1f} MB results",
                f"{peak / 1e6:.2f} MB",
                f"{peak / results_size:.3f}x results",
                verdict(peak / results_size, 0.01, "<= 0.01x results"),
            )
        )

        names = [circuit.name for circuit in work]
        results.get_counts(0)  # build the index
        job_set.job(0)
        start = time.perf_counter()
        for name in names:
            job_set.job(name)
        by_name = (time.perf_counter() - start) / experiments
        start = time.perf_counter()
        for index in range(experiments):
            job_set.job(index)
        by_index = (time.perf_counter() - start) / experiments
        for label, seconds in (("job(name) per lookup", by_name), ("job(index)", by_index)):
            shown = f"{seconds * 1e6:.2f} us"
            rows.append((label, "-", shown, "-", verdict(seconds, 20e-6, "< 20 us")))
    return rows


def journal_at_scale(quick: bool) -> list[Row]:
    """100,000 experiments in 1,000 jobs on an instant target: journal off vs on.

    Wall time from ``run()`` to the manager closed (closing waits for the
    journal's last write). The circuits of each run are new (made before
    the clock starts), as a user's are the first time they run: three pairs
    of runs, off and on in alternating order, and the median of the pairs'
    ratios (the machine's speed drifts between pairs far more than within
    one). The same is reported for circuits run before (the better of two
    runs each): what was read of them then is still there. Then, with the
    journal on and ``tracemalloc`` tracing, managedjob's own peak memory:
    the traced peak of the run, less what was traced before it (the
    circuits) and the results it leaves (measured by keeping only them once
    the set, the manager and the target are dropped).
    """
    experiments = 10_000 if quick else 100_000
    jobs = experiments // 100

    def wall(journal: bool, work: list[QuantumCircuit]) -> float:
        backend = ScriptedBackend(simulate=False, clock=SystemClock())
        gc.collect()
        start = time.perf_counter()
        with JobManager(clock=SystemClock(), journal=journal) as jm:
            assert jm.run(work, backend, max_experiments_per_job=100, shots=4).results().success
        return time.perf_counter() - start

    wall(True, circuits(100))  # the journal file exists before anything is timed
    pairs: list[dict[bool, float]] = []
    for index in range(3):
        timing: dict[bool, float] = {}
        for journal in (False, True) if index % 2 == 0 else (True, False):
            timing[journal] = wall(journal, circuits(experiments))
        pairs.append(timing)
    ratios = [pair[True] / pair[False] for pair in pairs]
    fresh = statistics.median(ratios)
    off = statistics.median(pair[False] for pair in pairs)
    on = statistics.median(pair[True] for pair in pairs)
    # The part no journal that keeps the guarantee can avoid: QPY of new
    # circuits, which holds the interpreter as the rest of the run does.
    floor = qpy_floor(experiments)

    work = circuits(experiments)
    again: dict[bool, list[float]] = {False: [], True: []}
    for journal in (False, True, True, False):
        again[journal].append(wall(journal, work))
    again_off, again_on = min(again[False]), min(again[True])

    backend = ScriptedBackend(simulate=False, clock=SystemClock())
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    with JobManager(clock=SystemClock()) as jm:
        job_set = jm.run(work, backend, max_experiments_per_job=100, shots=4)
        kept = [mjob.result() for mjob in job_set.managed_jobs()]
        assert job_set.results().success
    peak = tracemalloc.get_traced_memory()[1]
    del jm, job_set, backend
    gc.collect()
    results_size = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    own = peak - before - results_size
    assert len(kept) == jobs
    return [
        (
            f"journal cost, {experiments} experiments / {jobs} jobs, instant target, "
            "run() to closed, new circuits, median of 3 pairs",
            f"{off:.2f} s off",
            f"{on:.2f} s on",
            f"{fresh:.2f}x ({min(ratios):.2f}-{max(ratios):.2f})",
            verdict(fresh, 1.3, "<= 1.3x"),
        ),
        (
            "  Qiskit's QPY of new circuits alone (the floor with the journal)",
            f"{off:.2f} s off",
            f"{floor:.2f} s QPY",
            f"{(off + floor) / off:.2f}x floor",
        ),
        (
            "  the same circuits run again (better of two each)",
            f"{again_off:.2f} s off",
            f"{again_on:.2f} s on",
            f"{again_on / again_off:.2f}x",
        ),
        (
            f"managedjob's own peak memory, {experiments} experiments, journal on "
            "(beyond circuits and results)",
            f"{results_size / 1e6:.0f} MB results",
            f"{own / 1e6:.0f} MB",
            "-",
            verdict(own / 1e6, 100 * experiments / 100_000, f"<= {experiments // 1000} MB"),
        ),
    ]


def million(quick: bool) -> list[Row]:
    """1,000,000 one-qubit experiments in 10,000 jobs, journal on, in a fresh process.

    Each size runs in a process of its own (``--scale N``), so that its peak
    resident memory is its own; the time is from ``run()`` to the manager
    closed, circuits made beforehand. The ratio of the time per experiment
    at 1,000,000 to that at 100,000 shows whether anything grows faster than
    the work.
    """
    sizes = (2_000, 20_000) if quick else (100_000, 1_000_000)
    figures = {}
    for size in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--scale", str(size)],
            capture_output=True,
            text=True,
            check=True,
            timeout=3600,
        )
        figures[size] = json.loads(done.stdout.strip().splitlines()[-1])
    small, large = sizes
    per = {size: figures[size]["seconds"] / size for size in sizes}
    growth = per[large] / per[small]
    return [
        (
            f"{large} one-qubit experiments / {large // 100} jobs, journal on",
            f"{figures[small]['seconds']:.1f} s at {small}",
            f"{figures[large]['seconds']:.1f} s, peak {figures[large]['peak_mb']:.0f} MB RSS",
            f"{growth:.2f}x the time per experiment",
            verdict(growth, 1.5, "completes, <= 1.5x per experiment"),
        )
    ]


def scale_run(size: int) -> None:
    """Run ``size`` one-qubit experiments in jobs of 100, journal on; print JSON figures."""
    work = circuits(size)
    with JobManager(clock=SystemClock()) as jm:  # the journal file, the first threads
        warm = ScriptedBackend(simulate=False, clock=SystemClock())
        jm.run(work[:500], warm, max_experiments_per_job=100, shots=4).results()
    backend = ScriptedBackend(simulate=False, clock=SystemClock())
    gc.collect()
    start = time.perf_counter()
    with JobManager(clock=SystemClock()) as jm:
        results = jm.run(work, backend, max_experiments_per_job=100, shots=4).results()
        assert results.success
        assert results.get_counts(size - 1) == {"0": 4}
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024}))


def journal_cost(quick: bool) -> list[Row]:
    """What the journal adds on an instant target: CPU per 1,000 experiments,
    and how long the first submission waits for its slice to be written.

    The journal file is made before anything is timed (making it is a cost
    once per file, not per run), and the runs with and without it alternate,
    over a few rounds; the figures are medians.
    """
    experiments, rounds = (4_000, 2) if quick else (20_000, 4)
    work = circuits(experiments)
    with JobManager(clock=SystemClock()) as jm:  # makes the journal file
        jm.run(work[:10], ScriptedBackend(simulate=False, clock=SystemClock())).results()
    cpu: dict[bool, list[float]] = {False: [], True: []}
    first: dict[bool, list[float]] = {False: [], True: []}
    for round_ in range(rounds):
        for journal in (False, True) if round_ % 2 else (True, False):

            class Timed(ScriptedBackend):
                first_run: float | None = None

                def run(self, *args: Any, **kwargs: Any) -> Any:
                    if Timed.first_run is None:
                        Timed.first_run = time.perf_counter()
                    return super().run(*args, **kwargs)

            backend = Timed(simulate=False, clock=SystemClock())
            with JobManager(clock=SystemClock(), journal=journal) as jm:
                gc.collect()
                start, started = time.process_time(), time.perf_counter()
                jm.run(work, backend, max_experiments_per_job=100, shots=4).results()
                if jm.journal is not None:
                    jm.journal.flush()
                cpu[journal].append(time.process_time() - start)
                assert Timed.first_run is not None
                first[journal].append(Timed.first_run - started)
    cpu_off, cpu_on = statistics.median(cpu[False]), statistics.median(cpu[True])
    first_off, first_on = statistics.median(first[False]), statistics.median(first[True])
    per_thousand = (cpu_on - cpu_off) / experiments * 1000
    return [
        (
            f"journal CPU per 1,000 experiments ({experiments} in jobs of 100, with flush)",
            f"{cpu_off:.2f} s off",
            f"{cpu_on:.2f} s on",
            f"+{per_thousand * 1e3:.0f} ms per 1,000",
        ),
        (
            "  first job submitted after run() starts",
            f"{first_off * 1e3:.0f} ms off",
            f"{first_on * 1e3:.0f} ms on",
            f"+{(first_on - first_off) * 1e3:.0f} ms",
        ),
    ]


def aer_overhead(quick: bool) -> list[Row]:
    """10,000 small circuits on AerSimulator: managed vs one direct run.

    Each round runs the direct case, managed with the journal and managed
    without, in an order that changes from round to round, and each managed
    run is compared with the direct run of its round: the machine's speed
    drifts by tens of percent over a minute, far more than the overhead
    measured, and runs that close in time see the same drift. The ratio
    reported is the median over the rounds.

    Apart from the ratio, the managed runs are split at the Aer job's
    submission and completion: what comes before and after is managedjob's
    own time on the critical path, which the machine's drift barely moves.
    """
    try:
        from qiskit_aer import AerSimulator
    except ImportError:
        return [("AerSimulator overhead", "-", "-", "qiskit-aer not installed")]
    count, rounds = (1_000, 3) if quick else (10_000, 6)
    work = circuits(count, width=2)
    backend = AerSimulator()
    backend.run(work[:10], shots=100).result()  # warm up
    marks: dict[str, float] = {}
    aer_run = backend.run

    def marked_run(*args: Any, **kwargs: Any) -> Any:
        marks["submitted"] = time.perf_counter()
        job = aer_run(*args, **kwargs)
        job._future.add_done_callback(lambda _: marks.update(finished=time.perf_counter()))
        return job

    backend.run = marked_run  # type: ignore[method-assign]

    def direct() -> None:
        backend.run(work, shots=100, seed_simulator=1).result()

    def managed(journal: bool) -> tuple[float, float, float]:
        """Return the time from run() to combine_results(), the part of it
        before the submission and after the job, and the time close() takes
        (it waits for the journal's last writes)."""
        jm = JobManager() if journal else manager()
        gc.collect()
        start = time.perf_counter()
        jm.run(work, backend, shots=100, seed_simulator=1).results().combine_results()
        end = time.perf_counter()
        own = (marks["submitted"] - start) + (end - marks["finished"])
        jm.close()
        return end - start, own, time.perf_counter() - end

    direct_times: list[float] = []
    ratios: dict[bool, list[float]] = {True: [], False: []}
    own: dict[bool, list[float]] = {True: [], False: []}
    flushes: list[float] = []
    orders = itertools.cycle(itertools.permutations(("direct", True, False)))
    for _, order in zip(range(rounds), orders, strict=False):
        # Each round runs the three in another order, so that none of them
        # always comes first (or right after a big free) in its round.
        timings: dict[str | bool, float] = {}
        for run in order:
            if run == "direct":
                timings[run] = timed(direct)
                continue
            journal = bool(run)
            timings[journal], ours, flush = managed(journal)
            own[journal].append(ours)
            if journal:
                flushes.append(flush)
        base = timings["direct"]
        direct_times.append(base)
        for journal in (True, False):
            ratios[journal].append(timings[journal] / base)
    base = statistics.median(direct_times)
    floor = qpy_floor(count, width=2)

    def summary(values: list[float]) -> str:
        return f"{statistics.median(values):.2f}x ({min(values):.2f}-{max(values):.2f})"

    def share(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} s", f"1 + {statistics.median(values) / base:.3f}"

    rows: list[Row] = [
        (
            f"AerSimulator, {count} circuits, defaults (journal on), median of {rounds} rounds",
            f"{base:.2f} s",
            f"{base * statistics.median(ratios[True]):.2f} s",
            summary(ratios[True]),
            verdict(statistics.median(ratios[True]), 1.05, "<= 1.05x"),
        ),
        (
            "  the same with journal=False",
            f"{base:.2f} s",
            f"{base * statistics.median(ratios[False]):.2f} s",
            summary(ratios[False]),
        ),
    ]
    for journal in (True, False):
        spent, ratio = share(own[journal])
        label = "on" if journal else "off"
        rows.append(
            (
                f"  managedjob's own time before and after the Aer job, journal {label}",
                "-",
                spent,
                ratio,
            )
        )
    rows.append(("  then closing the manager (journal flush)", "-", f"{min(flushes):.2f} s", "-"))
    rows.append(
        (
            "  Qiskit's QPY of the circuits alone (the floor with the journal)",
            f"{base:.2f} s",
            f"{floor:.2f} s QPY",
            f"{(base + floor) / base:.2f}x floor",
        )
    )
    return rows


def polling(quick: bool) -> list[Row]:
    """Status calls while waiting for 100 jobs that take 10 s."""
    jobs, run_time = (20, 2.0) if quick else (100, 10.0)
    clock = SystemClock()
    backend = ScriptedBackend(clock=clock, simulate=False, run_time=run_time)
    with manager(clock=clock, max_parallel_fetches=jobs) as jm:
        job_set = jm.run(circuits(jobs), backend, max_experiments_per_job=1, shots=1)
        start = time.perf_counter()
        job_set.results()
        waited = time.perf_counter() - start
    calls = sum(job.status_calls for job in backend.submitted)
    per_job_second = calls / jobs / waited
    return [
        (
            f"status calls, {jobs} jobs of {run_time:.0f} s",
            "-",
            f"{calls / jobs:.1f} per job",
            f"{per_job_second:.2f} per job per s",
        ),
        future_polling(jobs),
    ]


def future_polling(jobs: int) -> Row:
    """Status calls of wait() and results() on Aer jobs, which run in a future."""
    try:
        from qiskit_aer import AerSimulator
    except ImportError:
        return ("status calls, Aer jobs", "-", "-", "qiskit-aer not installed")
    backend = AerSimulator()
    aer_run = backend.run
    calls = [0]

    def counted_run(*args: Any, **kwargs: Any) -> Any:
        job = aer_run(*args, **kwargs)
        status = job.status

        def counted_status() -> Any:
            calls[0] += 1
            return status()

        job.status = counted_status
        return job

    backend.run = counted_run  # type: ignore[method-assign]
    # Some work in each, so that the jobs are still running as wait() starts.
    work = circuits(jobs * 10, width=12, superpose=True)
    with manager() as jm:
        job_set = jm.run(work, backend, max_experiments_per_job=10, shots=100)
        job_set.wait()
        job_set.results()
    return (
        f"status calls, {jobs} Aer jobs (in futures): wait() then results()",
        "-",
        f"{calls[0] / jobs:.1f} per job",
        "one each, to settle it",
    )


def dask_scaling(quick: bool) -> list[Row]:
    """A simulation sweep on a Dask LocalCluster: 1 vs 2 worker processes."""
    try:
        import distributed
        from qiskit_aer import AerSimulator
    except ImportError:
        return [("Dask scaling", "-", "-", "distributed or qiskit-aer not installed")]
    from qiskit.circuit.random import random_circuit

    count, width = (16, 12) if quick else (64, 16)
    backend = AerSimulator(max_parallel_threads=1)
    work = transpile(
        [random_circuit(width, 6, measure=True, seed=i) for i in range(count)],
        backend,
        seed_transpiler=1,
    )
    tiny = circuits(200 if quick else 1000)

    def sweep(executor: Any, jobs: list[QuantumCircuit], per_job: int) -> float:
        with JobManager(executor=executor, journal=False) as jm:
            start = time.perf_counter()
            results = jm.run(
                jobs, backend, max_experiments_per_job=per_job, shots=100, seed_simulator=1
            ).results()
            assert results.success, "every job of the sweep must succeed"
            return time.perf_counter() - start

    rows: list[Row] = []
    times: dict[int, float] = {}
    overhead: dict[str, float] = {}
    for workers in (1, 2):
        with (
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # Workers losing their scheduler as the cluster closes is not news.
                silence_logs=logging.CRITICAL,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            executor = client.get_executor()
            sweep(executor, work[:2], 1)  # warm the workers up
            times[workers] = sweep(executor, work, 2)
            if workers == 1:
                overhead["dask"] = sweep(executor, tiny, 1) / len(tiny)
    overhead["threads"] = sweep(None, tiny, 1) / len(tiny)
    rows.append(
        (
            f"Dask, {count} circuits of {width} qubits: 1 vs 2 workers",
            f"{times[1]:.2f} s",
            f"{times[2]:.2f} s",
            f"{times[1] / times[2]:.2f}x speed-up",
        )
    )
    rows.append(
        (
            "Dask overhead per tiny job (vs threads)",
            f"{overhead['threads'] * 1e3:.1f} ms",
            f"{overhead['dask'] * 1e3:.1f} ms",
            f"+{(overhead['dask'] - overhead['threads']) * 1e3:.1f} ms per job",
        )
    )
    return rows


def dump_qpy(work: list[QuantumCircuit]) -> None:
    """Write ``work`` as QPY in slices of 100, as the journal writes a set's circuits."""
    for first in range(0, len(work), 100):
        qpy.dump(work[first : first + 100], io.BytesIO())


def qpy_floor(count: int, width: int = 1) -> float:
    """Seconds :func:`dump_qpy` takes for ``count`` new circuits (median of three)."""
    return statistics.median(
        timed(functools.partial(dump_qpy, circuits(count, width))) for _ in range(3)
    )


def timed(fn: Callable[[], None]) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller case of each")
    parser.add_argument("--scale", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows: list[Row] = []
    sections = (
        latency_bound,
        bookkeeping,
        journal_at_scale,
        million,
        journal_cost,
        aer_overhead,
        polling,
        dask_scaling,
        bench_pubs.managed_estimator,
        bench_pubs.merging,
        bench_ibm_loopback.rate_limited,
    )
    with tempfile.TemporaryDirectory() as scratch:
        if args.scale:
            os.environ[ENV_VAR] = os.path.join(scratch, "journal.sqlite3")
            scale_run(args.scale)
            return
        # The runs with the journal on write to a scratch file, never the user's.
        os.environ[ENV_VAR] = os.path.join(scratch, "journal.sqlite3")
        for section in sections:
            rows.extend(section(args.quick))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}{' (quick)' if args.quick else ''}"
    )
    rows = [(*row, "reported") if len(row) == 4 else row for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    header = ("measure", "baseline", "managedjob", "ratio", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
