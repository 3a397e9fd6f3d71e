"""The benchmark scripts run (their quick cases); their figures are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("run.py", "AerSimulator, 1000 circuits"),
        ("bench_core.py", "lookup"),
        ("bench_convert.py", "PUB"),
        ("bench_journal.py", "per 1,000 experiments"),
        ("bench_pubs.py", "PubResults"),
        ("bench_ibm_loopback.py", "jobs beyond one per slice"),
        ("bench_phases.py", "wall time"),
    ],
)
def test_benchmark_runs(script: str, expected: str, journal_path: Path) -> None:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        cwd=BENCHMARKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
    assert not journal_path.exists()  # run.py journals into a scratch directory
