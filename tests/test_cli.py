"""The managedjob command, driven as a user would: a subprocess, real files, exit codes."""

from __future__ import annotations

import csv
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _env(journal: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore", "MANAGEDJOB_JOURNAL": str(journal)}


def managedjob(
    *args: str, cwd: Path, journal: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the command as a user would; the journal is ``journal.sqlite3`` in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "managedjob", *args],
        cwd=cwd,
        env=_env(journal or cwd / "journal.sqlite3"),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def only_journal_in(where: Path) -> bool:
    """Whether the journal's files are all a command left in ``where``."""
    return all(path.name.startswith("journal.sqlite3") for path in where.iterdir())


def run_as_printed(
    command: str, cwd: Path, journal: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a ``managedjob ...`` line a command printed, as a user would paste it."""
    words = shlex.split(command)
    assert words[0] == "managedjob", command
    return managedjob(*words[1:], cwd=cwd, journal=journal)


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


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
    assert f"journal      {tmp_path / 'journal.sqlite3'}" in proc.stdout
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
    # Piped: the first experiments' counts on stdout, the summary on stderr.
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["#", "NAME", "SHOTS", "COUNTS", "(most", "frequent", "first)"]
    assert lines[1].split()[:3] == ["0", "random_0000", "20"]
    assert lines[-1] == "... and 1995 more experiments"
    assert "experiments  2000" in proc.stderr
    assert "jobs         20 (20 done, 0 failed, 0 cancelled)" in proc.stderr
    assert only_journal_in(tmp_path)
    hint = next(line for line in proc.stderr.splitlines() if line.startswith("all counts: "))
    every = run_as_printed(hint.removeprefix("all counts: ") + " --json", cwd=tmp_path)
    assert every.returncode == 0, every.stderr
    document = json.loads(every.stdout)
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
        (
            ["run", str(EXAMPLES / "ghz.qasm"), "--journal", ""],
            "--journal takes the path of a file, not ''",
        ),
        (
            ["run", str(EXAMPLES / "ghz.qasm"), "--out", "no/such/dir/counts.json"],
            "--out no/such/dir/counts.json cannot be written: there is no directory no/such/dir",
        ),
        (["run", str(EXAMPLES / "ghz.qasm"), "--out", "."], "--out . is a directory"),
        (
            ["run", str(EXAMPLES / "ghz.qasm"), "--backend", "scripted:nan"],
            "scripted:<seconds> takes a finite number of seconds, not 'nan'",
        ),
        (
            ["run", str(EXAMPLES / "ghz.qasm"), "--backend", "scripted:-1"],
            "scripted:<seconds> takes no negative time, not '-1'",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    proc = managedjob(*args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_values_are_checked_before_the_run(tmp_path: Path) -> None:
    """A bad --out is found before anything is submitted: the journal has no set."""
    proc = managedjob("run", str(EXAMPLES / "ghz.qasm"), "--out", "gone/c.json", cwd=tmp_path)
    assert_one_line_error(proc)
    assert "submitting" not in proc.stderr
    assert not (tmp_path / "journal.sqlite3").exists()


def test_a_blank_job_set_id_matches_nothing(journaled: Journaled) -> None:
    proc = managedjob("status", "", cwd=journaled.root, journal=journaled.journal)
    assert_one_line_error(proc)
    assert "a job set id is needed, not ''" in proc.stderr


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


def start_managedjob(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """Start the command as a user would, without waiting; the journal is in ``cwd``."""
    return subprocess.Popen(
        [sys.executable, "-m", "managedjob", *args],
        cwd=cwd,
        env=_env(cwd / "journal.sqlite3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def submitted(process: subprocess.Popen[str]) -> str:
    """Wait for a started ``run`` to say which set it submits; return the set's id."""
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("submitting job set "), line
    return line.split()[3].rstrip(":")


def interrupt_twice(process: subprocess.Popen[str], after: float) -> str:
    """Press Ctrl-C ``after`` seconds, and again once it says a second one cancels.

    Returns:
        What the command wrote on stderr after the first line.
    """
    time.sleep(after)  # a moment of the run; not a timing assertion
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    for line in process.stderr:
        if "press Ctrl-C again" in line:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    return err


def _start_slow_run(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    ghz = str(EXAMPLES / "ghz.qasm")
    args = ("run", ghz, ghz, "--backend", "scripted:60", "--max-experiments-per-job", "1")
    proc = start_managedjob(*args, cwd=tmp_path)
    return proc, submitted(proc)


def test_ctrl_c_leaves_jobs_running_and_says_so(tmp_path: Path) -> None:
    proc, job_set_id = _start_slow_run(tmp_path)
    time.sleep(0.3)  # let the waiting loop start; not a timing assertion
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"job set {job_set_id} was submitted" in err
    assert "cancelled" not in err.split("press Ctrl-C again")[-1]

    # The set is in the journal; its jobs died with the process (a local
    # simulator's jobs live in the process that ran them).
    status = managedjob("status", job_set_id, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "jobs         2: 2 unfinished" in status.stdout
    assert "job 1 (experiments 1-1): unfinished" in status.stdout
    cancel = managedjob("cancel", job_set_id, cwd=tmp_path)
    assert cancel.returncode == 1, cancel.stderr
    assert "cancelled 0 jobs" in cancel.stdout
    assert "2 jobs could not be reached: scripted_backend does not know them" in cancel.stdout

    # retry looks the jobs up on the backend the set ran on, finds them lost, reruns them.
    retry = managedjob("retry", job_set_id, "--out", "retried.json", cwd=tmp_path)
    assert retry.returncode == 0, retry.stderr
    assert f"retrying 2 jobs of job set {job_set_id} on scripted:0" in retry.stderr
    assert "jobs         2 (2 done, 0 failed, 0 cancelled)" in retry.stdout
    document = json.loads((tmp_path / "retried.json").read_text())
    assert document["job_set_id"] == job_set_id and document["success"] is True
    assert [row["name"] for row in document["experiments"]] == ["ghz", "ghz"]
    assert all(set(row["counts"]) <= {"00000", "11111"} for row in document["experiments"])


def test_second_ctrl_c_cancels_submitted_jobs(tmp_path: Path) -> None:
    proc, job_set_id = _start_slow_run(tmp_path)
    err = interrupt_twice(proc, after=0.3)
    assert proc.returncode == 130
    assert f"cancelled 2 jobs of job set {job_set_id}" in err
    status = managedjob("status", job_set_id, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "jobs         2: 2 cancelled" in status.stdout


# --------------------------------------------------------------------- journal commands


@dataclass(frozen=True)
class Journaled:
    """Two sets run into one journal: ``first``, then ``demo`` (one job fails to submit)."""

    root: Path
    journal: Path
    first_id: str
    demo_id: str
    demo_counts: dict[str, dict[str, int]]


def _submitted_id(proc: subprocess.CompletedProcess[str]) -> str:
    line = next(line for line in proc.stderr.splitlines() if line.startswith("submitting"))
    return line.split()[3].rstrip(":")


@pytest.fixture(scope="module")
def journaled(tmp_path_factory: pytest.TempPathFactory) -> Journaled:
    root = tmp_path_factory.mktemp("journaled")
    journal = root / "journal.sqlite3"
    first = managedjob(
        "run", str(EXAMPLES / "bell.qasm3"), "--backend", "basic", "--name", "first", cwd=root
    )
    assert first.returncode == 0, first.stderr
    wide = root / "wide.qasm"
    wide.write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[40];\ncreg c[40];\nmeasure q -> c;\n'
    )
    demo = managedjob(
        "run",
        str(EXAMPLES / "ghz.qasm"),
        str(EXAMPLES / "bell.qasm3"),
        str(wide),
        "--backend",
        "basic",
        "--shots",
        "100",
        "--max-experiments-per-job",
        "1",
        "--name",
        "demo",
        "--tag",
        "cli",
        "--out",
        "demo.json",
        cwd=root,
    )
    assert demo.returncode == 1, demo.stderr
    assert f"journal      {journal}" in demo.stdout
    document = json.loads((root / "demo.json").read_text())
    counts = {row["name"]: row["counts"] for row in document["experiments"] if row["success"]}
    return Journaled(root, journal, _submitted_id(first), _submitted_id(demo), counts)


def test_list_shows_the_journaled_sets_newest_first(journaled: Journaled) -> None:
    proc = managedjob("list", cwd=journaled.root)
    assert proc.returncode == 0, proc.stderr
    header, *rows = proc.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "CREATED", "BACKEND", "JOBS", "STATE"]
    assert [row.split()[:2] for row in rows] == [
        [journaled.demo_id, "demo"],
        [journaled.first_id, "first"],
    ]
    demo = rows[0].split()
    assert demo[4:] == ["basic_simulator", "3", "2", "done,", "1", "submit", "failed"]
    assert rows[1].split()[4:] == ["basic_simulator", "1", "1", "done"]

    # --journal (here after the command) wins over MANAGEDJOB_JOURNAL.
    tagged = managedjob(
        "list",
        "--tag",
        "cli",
        "--journal",
        str(journaled.journal),
        cwd=journaled.root,
        journal=journaled.root / "elsewhere.sqlite3",
    )
    assert tagged.returncode == 0, tagged.stderr
    assert [row.split()[0] for row in tagged.stdout.splitlines()[1:]] == [journaled.demo_id]
    assert not (journaled.root / "elsewhere.sqlite3").exists()


def test_status_counts_the_states_from_the_journal(journaled: Journaled) -> None:
    proc = managedjob("status", journaled.demo_id[:8], cwd=journaled.root)
    assert proc.returncode == 0, proc.stderr
    assert f"job set      demo ({journaled.demo_id})" in proc.stdout
    assert "tags         cli" in proc.stdout
    assert "experiments  3" in proc.stdout
    assert "jobs         3: 2 done, 1 submit failed" in proc.stdout
    failed = next(line for line in proc.stdout.splitlines() if line.startswith("job 2 "))
    assert failed.startswith("job 2 (experiments 2-2): submit failed: ")
    assert "Number of qubits 40 is greater than maximum" in failed


def test_report_is_the_legacy_report(journaled: Journaled) -> None:
    proc = managedjob("report", journaled.demo_id, cwd=journaled.root)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:3] == [
        "Job set name: demo",
        f"          ID: {journaled.demo_id}",
        "        tags: ['cli']",
    ]
    assert "  Successful jobs: 2" in lines and "      Failed jobs: 0" in lines
    assert "    name: demo_1_" in lines
    assert any(line.startswith("    status: job submit failed: ") for line in lines)


def test_results_are_served_from_the_journal(journaled: Journaled, tmp_path: Path) -> None:
    out = tmp_path / "again.csv"
    proc = managedjob("results", journaled.demo_id, "--out", str(out), cwd=journaled.root)
    assert proc.returncode == 1, proc.stderr  # the wide circuit has no result
    assert "jobs         3 (2 done, 1 failed, 0 cancelled)" in proc.stdout
    assert f"results      {out}" in proc.stdout
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    read: dict[str, dict[str, int]] = {}
    for row in rows:
        if row["success"] == "true":
            read.setdefault(row["name"], {})[row["outcome"]] = int(row["count"])
    assert read == journaled.demo_counts  # the counts the run wrote, read back
    assert [(r["index"], r["name"], r["success"]) for r in rows if r["success"] == "false"] == [
        ("2", "wide", "false")
    ]


def test_plot_timeline_and_counts(journaled: Journaled, tmp_path: Path) -> None:
    timeline = tmp_path / "timeline.png"
    proc = managedjob("plot", journaled.demo_id, "--out", str(timeline), cwd=journaled.root)
    assert proc.returncode == 0, proc.stderr
    assert_png(timeline)

    histogram = tmp_path / "ghz.png"
    proc = managedjob(
        "plot",
        journaled.demo_id,
        "--experiment",
        "ghz",
        "--out",
        str(histogram),
        cwd=journaled.root,
    )
    assert proc.returncode == 0, proc.stderr
    assert "counts of experiment 0 (ghz)" in proc.stdout
    assert_png(histogram)


def test_plot_without_matplotlib_names_the_extra(journaled: Journaled) -> None:
    # A Python where importing matplotlib fails, as where it is not installed.
    script = (
        "import sys; sys.modules['matplotlib'] = None; "
        "from managedjob.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, "plot", journaled.demo_id, "--out", "never.png"],
        cwd=journaled.root,
        env=_env(journaled.journal),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert_one_line_error(proc)
    assert "plot needs matplotlib: pip install 'managedjob[plot]'" in proc.stderr
    assert not (journaled.root / "never.png").exists()


def test_unknown_job_set_is_one_line_exit_2(journaled: Journaled) -> None:
    proc = managedjob("status", "nope", cwd=journaled.root)
    assert_one_line_error(proc)
    assert f"nope is not a known job set: it is not in the journal {journaled.journal}" in (
        proc.stderr
    )


def test_a_missing_journal_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"
    proc = managedjob("--journal", str(missing), "results", "abc", cwd=tmp_path)
    assert_one_line_error(proc)
    assert f"there is no journal at {missing}" in proc.stderr
    assert not missing.exists()


# --------------------------------------------------------------------- backend plug-ins

PLUGIN = '''
from managedjob._wait import SystemClock
from managedjob.testing import ScriptedBackend


class AcmeBackends:
    """``acme:<device>`` is a scripted backend named ``acme_<device>``."""

    def __call__(self, argument):
        if not argument:
            raise ValueError("acme:<device> needs a device name")
        if argument == "broken":
            raise RuntimeError("the device is down")
        return ScriptedBackend(clock=SystemClock(), name=f"acme_{argument}", num_qubits=8)

    def argument_for(self, backend_name):
        return backend_name.removeprefix("acme_") if backend_name.startswith("acme_") else None


make_backend = AcmeBackends()
'''


def _install_plugin(site: Path, entries: str) -> dict[str, str]:
    """A package registering ``entries`` in ``managedjob.backends``, found through PYTHONPATH."""
    site.mkdir()
    (site / "acme_backends.py").write_text(PLUGIN)
    dist = site / "acme_backends-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-backends\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[managedjob.backends]\n{entries}\n")
    return {"PYTHONPATH": str(site)}


def managedjob_with(
    env: dict[str, str], *args: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "managedjob", *args],
        cwd=cwd,
        env={**_env(cwd / "journal.sqlite3"), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_scripted_backends_are_registered_as_a_plugin() -> None:
    from importlib.metadata import entry_points

    import managedjob.testing

    (entry,) = entry_points(group="managedjob.backends").select(name="scripted")
    factory = entry.load()
    assert factory is managedjob.testing.scripted_backend_spec
    backend = factory("2.5")
    assert isinstance(backend, managedjob.testing.ScriptedBackend)
    assert factory.argument_for(backend.name) == "0"
    assert factory.argument_for("aer_simulator") is None
    with pytest.raises(ValueError, match="takes a number of seconds, not 'soon'"):
        factory("soon")


def test_unknown_backend_lists_the_plugins_too(tmp_path: Path) -> None:
    proc = managedjob("run", str(EXAMPLES / "ghz.qasm"), "--backend", "nope:1", cwd=tmp_path)
    assert_one_line_error(proc)
    assert "unknown backend 'nope:1'; choose from: aer, basic, fake:<name>" in proc.stderr
    assert "scripted:<...>" in proc.stderr


def test_a_plugin_argument_error_is_a_usage_error(tmp_path: Path) -> None:
    proc = managedjob(
        "run", str(EXAMPLES / "ghz.qasm"), "--backend", "scripted:soon", cwd=tmp_path
    )
    assert_one_line_error(proc)
    assert "scripted:<seconds> takes a number of seconds, not 'soon'" in proc.stderr


def test_a_package_plugs_its_backends_in(tmp_path: Path) -> None:
    env = _install_plugin(tmp_path / "site", "acme = acme_backends:make_backend")
    proc = managedjob_with(
        env, "run", str(EXAMPLES / "bell.qasm3"), "--backend", "acme:falcon", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "backend      acme_falcon" in proc.stderr
    job_set_id = _submitted_id(proc)

    # Without --backend, the plug-in names the spec that makes acme_falcon again.
    cancel = managedjob_with(env, "cancel", job_set_id, cwd=tmp_path)
    assert cancel.returncode == 0, cancel.stderr
    assert "1 job had finished already" in cancel.stdout
    retry = managedjob_with(env, "retry", job_set_id, cwd=tmp_path)
    assert retry.returncode == 0, retry.stderr
    assert "no job of job set" in retry.stderr

    unknown = managedjob_with(
        env, "run", str(EXAMPLES / "ghz.qasm"), "--backend", "x", cwd=tmp_path
    )
    assert_one_line_error(unknown)
    assert "acme:<...>, scripted:<...>" in unknown.stderr

    for spec, message in [
        ("acme", "acme:<device> needs a device name"),
        ("acme:broken", "cannot make backend 'acme:broken': the device is down"),
    ]:
        failed = managedjob_with(
            env, "run", str(EXAMPLES / "ghz.qasm"), "--backend", spec, cwd=tmp_path
        )
        assert_one_line_error(failed)
        assert message in failed.stderr


def test_a_plugin_that_cannot_be_loaded_is_named(tmp_path: Path) -> None:
    env = _install_plugin(tmp_path / "site", "gone = acme_missing:make_backend")
    proc = managedjob_with(
        env, "run", str(EXAMPLES / "ghz.qasm"), "--backend", "gone:1", cwd=tmp_path
    )
    assert_one_line_error(proc)
    assert "the backend plug-in 'gone' (acme_missing:make_backend) cannot be loaded" in (
        proc.stderr
    )


def test_retry_takes_the_circuit_files_the_journal_lacks(tmp_path: Path) -> None:
    circuits = tmp_path / "circuits"
    circuits.mkdir()
    for index in range(6):
        (circuits / f"x{index}.qasm").write_text(
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
            + ("x q[0];\n" if index % 2 else "")
            + "measure q -> c;\n"
        )
    run = managedjob(
        "run", str(circuits), "--backend", "basic", "--shots", "10",
        "--max-experiments-per-job", "2", "--out", "first.json", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    job_set_id = _submitted_id(run)
    # What a process killed while submitting leaves: slices 1 and 2 not run,
    # and the circuits of slice 2 not written.
    with sqlite3.connect(tmp_path / "journal.sqlite3") as conn:
        conn.execute("UPDATE slices SET circuits = NULL, names = '[]' WHERE idx = 2")
        conn.execute(
            "UPDATE attempts SET job_id = NULL, submitted_at = NULL, status = NULL, "
            "result = NULL, finished_at = NULL WHERE idx > 0"
        )
    conn.close()

    partial = managedjob("retry", job_set_id, "--out", "partial.json", cwd=tmp_path)
    assert partial.returncode == 1, partial.stderr
    assert "Traceback" not in partial.stderr
    assert "Experiments 4-5 of job set" in partial.stderr
    assert f"managedjob retry {job_set_id} FILE..." in partial.stderr
    assert "jobs         3 (2 done" in partial.stdout  # slice 1 ran again

    whole = managedjob("retry", job_set_id, str(circuits), "--out", "all.json", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    assert "jobs         3 (3 done" in whole.stdout
    written = json.loads((tmp_path / "all.json").read_text())["experiments"]
    first = json.loads((tmp_path / "first.json").read_text())["experiments"]
    assert [(e["index"], e["counts"]) for e in written] == [
        (e["index"], e["counts"]) for e in first
    ]


def test_a_job_done_with_a_failed_result_counts_as_failed(tmp_path: Path) -> None:
    """Aer reports DONE for a job whose result failed: the summary says failed."""
    heavy = tmp_path / "heavy.qasm"  # too big for a statevector: Aer's result fails
    heavy.write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[40];\ncreg c[40];\n'
        "h q;\nt q[0];\nmeasure q -> c;\n"
    )
    proc = managedjob(
        "run",
        str(EXAMPLES / "ghz.qasm"),
        str(heavy),
        "--backend",
        "aer",
        "--max-experiments-per-job",
        "1",
        "--out",
        "out.json",
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "1 done, 1 failed" in proc.stdout, proc.stdout
    # The summary says why: one line for the failed job, with its text.
    assert "job 1 (experiments 1-1): failed: " in proc.stdout, proc.stdout
    assert proc.stdout.count("Insufficient memory") == 1, proc.stdout
    job_set_id = json.loads((tmp_path / "out.json").read_text())["job_set_id"]
    status = managedjob("status", job_set_id, cwd=tmp_path)
    assert "1 done, 1 failed" in status.stdout, status.stdout
    report = managedjob("report", job_set_id, cwd=tmp_path)
    assert "Failed jobs: 1" in report.stdout
    # The failure is said once, not once for the job and again for its experiment.
    assert report.stdout.count("Insufficient memory") == 1, report.stdout


@pytest.mark.parametrize(
    ("content", "backend", "message"),
    [
        (
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[10];\ncreg c[10];\n'
            "h q[0];\nmeasure q -> c;\n",
            "fake:manila",
            "circuit 'case' (number 0) has 10 qubits, but fake_manila has 5",
        ),
        ("", "aer", "case.qasm: the file is empty: it holds no circuit"),
        (
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\n',
            "aer",
            "circuit 'case' (number 0) has no measurements, so it would give no counts",
        ),
    ],
)
def test_a_users_mistake_is_one_line_before_anything_is_submitted(
    tmp_path: Path, content: str, backend: str, message: str
) -> None:
    (tmp_path / "case.qasm").write_text(content)
    proc = managedjob("run", "case.qasm", "--backend", backend, cwd=tmp_path)
    assert_one_line_error(proc)
    assert message in proc.stderr
    assert "submitting" not in proc.stderr
    assert not (tmp_path / "journal.sqlite3").exists()  # nothing was run
    with_debug = managedjob("--debug", "run", "case.qasm", "--backend", backend, cwd=tmp_path)
    assert with_debug.returncode != 0 and "Traceback" in with_debug.stderr


def test_version_and_the_fake_devices_qiskit_ibm_runtime_ships(tmp_path: Path) -> None:
    from importlib.metadata import version

    shown = managedjob("--version", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout.strip() == f"managedjob {version('managedjob')}"
    unknown = managedjob(
        "run", str(EXAMPLES / "ghz.qasm"), "--backend", "fake:nowhere", cwd=tmp_path
    )
    assert_one_line_error(unknown)
    assert "sherbrooke" in unknown.stderr and "torino" in unknown.stderr
    assert "providerforbackend" not in unknown.stderr
    ran = managedjob(
        "run", str(EXAMPLES / "ghz.qasm"), "--backend", "fake:sherbrooke", "--shots", "64",
        "--out", "c.json", cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "1 experiment in 1 job" in ran.stderr  # not "1 experiments in 1 jobs"
    assert json.loads((tmp_path / "c.json").read_text())["backend"] == "fake_sherbrooke"


def test_output_cut_short_by_the_reader_ends_quietly(
    journaled: Journaled, monkeypatch: pytest.MonkeyPatch
) -> None:
    from managedjob.cli import main

    monkeypatch.setenv("MANAGEDJOB_JOURNAL", str(journaled.journal))
    read, write = os.pipe()
    os.close(read)  # the reader went away, as `| head -1` does
    closed = os.fdopen(write, "w")
    monkeypatch.setattr(sys, "stdout", closed)
    assert main(["list"]) == 0
    closed.close()  # what was left is dropped, with no error


def test_messages_keep_their_quotes() -> None:
    from managedjob.cli._errors import one_line

    assert one_line(ValueError("'4' is the start of '7'")) == "'4' is the start of '7'"
    assert one_line(KeyError("missing")) == "missing"


def test_list_limit_and_prune(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from managedjob import JobManager, Journal, SystemClock
    from managedjob.cli import main
    from managedjob.testing import ScriptedBackend

    journal = tmp_path / "journal.sqlite3"
    done = []
    with JobManager(journal=journal) as manager:
        for name in ("old", "middle", "new"):
            job_set = manager.run([bell_circuit()], ScriptedBackend(), name=name)
            job_set.results()
            done.append(job_set.job_set_id())
        # A set whose job never finishes (a remote job still queued).
        waiting = manager.run(
            [bell_circuit()], ScriptedBackend(clock=SystemClock(), run_time=3600.0), name="queued"
        )
        waiting.managed_jobs()[0].future.result(timeout=30)
    assert main(["list", "--journal", str(journal), "--limit", "2"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 3 and "queued" in listed[1] and "new" in listed[2]

    assert main(["prune", "--journal", str(journal), "--older-than", "0s", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete 3 job sets" in out and "kept 1 older set with unfinished jobs" in out
    assert len(Journal(journal, read_only=True).job_sets()) == 4

    assert main(["prune", "--journal", str(journal), "--older-than", "0s"]) == 0
    assert "deleted 3 job sets" in capsys.readouterr().out
    (left,) = Journal(journal, read_only=True).job_sets()
    assert left.job_set_id == waiting.job_set_id()

    with pytest.raises(SystemExit):
        main(["prune", "--journal", str(journal), "--older-than", "soon"])
    assert "an age is a whole number and a unit" in capsys.readouterr().err


def bell_circuit() -> Any:
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def test_list_status_and_report_as_json(
    journaled: Journaled, capsys: pytest.CaptureFixture[str]
) -> None:
    from managedjob.cli import main

    where = ["--journal", str(journaled.journal)]
    assert main(["list", *where, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in listed] == ["demo", "first"]  # newest first
    demo = listed[0]
    assert set(demo) == {"id", "name", "backend", "created", "tags", "experiments", "states"}
    assert demo["id"] == journaled.demo_id and demo["tags"] == ["cli"]
    assert demo["experiments"] == 3 and demo["backend"] == "basic_simulator"
    assert demo["created"].endswith("+00:00")

    assert main(["status", journaled.demo_id[:8], *where, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["states"] == {"done": 2, "submit failed": 1}
    assert [job["state"] for job in status["jobs"]] == ["done", "done", "submit failed"]
    assert status["jobs"][2]["experiments"] == [2, 2] and status["jobs"][2]["job_id"] is None
    assert "qubits" in status["jobs"][2]["error"]
    assert status["jobs"][0]["error"] is None and status["jobs"][0]["job_id"]

    assert main(["report", journaled.demo_id, *where, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == status
    assert main(["report", journaled.demo_id, *where, "--json", "--summary"]) == 0
    assert "jobs" not in json.loads(capsys.readouterr().out)


def test_short_options(tmp_path: Path) -> None:
    ran = managedjob(
        "run", str(EXAMPLES / "ghz.qasm"), "-b", "basic", "-s", "32", "-n", "short",
        "-o", "c.json", cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    document = json.loads((tmp_path / "c.json").read_text())
    assert document["name"] == "short" and document["backend"] == "basic_simulator"
    assert sum(document["experiments"][0]["counts"].values()) == 32
    listed = managedjob("list", "-n", "short", cwd=tmp_path)
    assert listed.returncode == 0 and "short" in listed.stdout
    verbose = managedjob("-v", "status", document["job_set_id"], cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
