"""The managedjob command, driven as a user would: a subprocess, real files, exit codes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def managedjob(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "managedjob", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_run_qasm2_and_qasm3_to_json(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    proc = managedjob(
        "run",
        str(EXAMPLES / "ghz.qasm"),
        str(EXAMPLES / "bell.qasm3"),
        "--backend",
        "basic",
        "--shots",
        "200",
        "--seed",
        "5",
        "--out",
        str(out),
        "--name",
        "demo",
        "--tag",
        "cli",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"results      {out}" in proc.stdout
    assert "jobs         1 (1 done, 0 failed, 0 cancelled)" in proc.stdout
    document = json.loads(out.read_text())
    assert document["name"] == "demo" and document["success"] is True
    ghz, bell = document["experiments"]
    assert (ghz["index"], ghz["name"], bell["name"]) == (0, "ghz", "bell")
    assert set(ghz["counts"]) == {"00000", "11111"} and sum(ghz["counts"].values()) == 200
    assert set(bell["counts"]) == {"00", "11"} and sum(bell["counts"].values()) == 200


def test_run_directory_to_csv_split_into_jobs(tmp_path: Path) -> None:
    circuits = tmp_path / "circuits"
    circuits.mkdir()
    for index in range(5):
        (circuits / f"x{index}.qasm").write_text(
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
            + ("x q[0];\n" if index % 2 else "")
            + "measure q -> c;\n"
        )
    out = tmp_path / "counts.csv"
    proc = managedjob(
        "run",
        str(circuits),
        "--backend",
        "basic",
        "--shots",
        "10",
        "--max-experiments-per-job",
        "2",
        "--out",
        str(out),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "jobs         3 (3 done" in proc.stdout
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["index"], r["name"], r["outcome"], r["count"]) for r in rows] == [
        ("0", "x0", "00", "10"),
        ("1", "x1", "01", "10"),
        ("2", "x2", "00", "10"),
        ("3", "x3", "01", "10"),
        ("4", "x4", "00", "10"),
    ]


def test_the_2000_circuit_example_on_the_default_backend(tmp_path: Path) -> None:
    proc = managedjob("run", str(EXAMPLES / "random_sweep.qpy"), "--shots", "20", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "experiments  2000" in proc.stdout
    assert "jobs         20 (20 done, 0 failed, 0 cancelled)" in proc.stdout
    written = next(tmp_path.glob("managedjob-*.json"))
    document = json.loads(written.read_text())
    names = [row["name"] for row in document["experiments"]]
    assert names == [f"random_{i:04d}" for i in range(2000)]
    assert all(sum(row["counts"].values()) == 20 for row in document["experiments"])


def test_failed_experiments_exit_1(tmp_path: Path) -> None:
    too_wide = tmp_path / "wide.qasm"
    too_wide.write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[40];\ncreg c[40];\nmeasure q -> c;\n'
    )
    proc = managedjob(
        "run",
        str(EXAMPLES / "ghz.qasm"),
        str(too_wide),
        "--backend",
        "basic",
        "--max-experiments-per-job",
        "1",
        "--out",
        "out.json",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    document = json.loads((tmp_path / "out.json").read_text())
    ok, failed = document["experiments"]
    assert ok["success"] is True and failed["success"] is False
    assert "not submitted" in failed["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.qasm"], "missing.qasm: no such file or directory"),
        (
            ["run", str(EXAMPLES / "ghz.qasm"), "--backend", "nope"],
            "unknown backend 'nope'; choose from: aer, basic, fake:<name>",
        ),
        (
            ["run", str(EXAMPLES / "ghz.qasm"), "--backend", "fake:nowhere"],
            "unknown fake backend 'nowhere'; known:",
        ),
        (["run", "*.nothing"], "no file matches"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    proc = managedjob(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_file_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.qasm"
    bad.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nfoo q[0];\n')
    proc = managedjob("run", str(bad), cwd=tmp_path)
    assert proc.returncode == 2
    assert f"{bad}: line 4" in proc.stderr and "foo" in proc.stderr
    assert "Traceback" not in proc.stderr
    debug = managedjob("--debug", "run", str(bad), cwd=tmp_path)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_usage_error_exit_2(tmp_path: Path) -> None:
    proc = managedjob("run", "--shots", "0", str(EXAMPLES / "ghz.qasm"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "0 is not positive" in proc.stderr


def _start_slow_run(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "managedjob",
            "run",
            str(EXAMPLES / "ghz.qasm"),
            str(EXAMPLES / "ghz.qasm"),
            "--backend",
            "scripted:60",
            "--max-experiments-per-job",
            "1",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("submitting job set "), line
    return proc, line.split()[3].rstrip(":")


def test_ctrl_c_leaves_jobs_running_and_says_so(tmp_path: Path) -> None:
    proc, job_set_id = _start_slow_run(tmp_path)
    time.sleep(0.3)  # let the waiting loop start; not a timing assertion
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"job set {job_set_id} was submitted" in err
    assert "cancelled" not in err.split("press Ctrl-C again")[-1]


def test_second_ctrl_c_cancels_submitted_jobs(tmp_path: Path) -> None:
    proc, job_set_id = _start_slow_run(tmp_path)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "press Ctrl-C again" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"cancelled 2 jobs of job set {job_set_id}" in err
