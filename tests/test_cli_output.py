"""Where the command's output goes, typed as a user types it: stdout, files, terminals, hints."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_cli import EXAMPLES, managedjob, only_journal_in, run_as_printed

WIDE = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[40];\ncreg c[40];\nmeasure q -> c;\n'


def on_terminal(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    """Run the command with a terminal as its stdout and stderr; return its code and text."""
    leader, follower = pty.openpty()
    journal = str(cwd / "journal.sqlite3")
    environ = {**os.environ, "PYTHONWARNINGS": "ignore", "TERM": "xterm", **env}
    environ["MANAGEDJOB_JOURNAL"] = journal
    if "NO_COLOR" not in env:
        environ.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "managedjob", *args],
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=30)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    return code, b"".join(chunks).decode().replace("\r\n", "\n")


def run_ghz_and_bell(where: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return managedjob(
        "run",
        str(EXAMPLES / "ghz.qasm"),
        str(EXAMPLES / "bell.qasm3"),
        "-b",
        "basic",
        "-s",
        "100",
        "--seed",
        "11",
        *extra,
        cwd=where,
    )


def test_results_print_to_stdout_and_write_a_file_only_when_asked(tmp_path: Path) -> None:
    done = run_ghz_and_bell(tmp_path, "-q")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    job_set_id = done.stdout.strip()  # --quiet: the id alone
    assert len(done.stdout.splitlines()) == 1 and "-" in job_set_id
    short = job_set_id[:8]

    table = managedjob("results", short, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["#", "NAME", "SHOTS"]
    assert [line.split()[:3] for line in lines[1:]] == [["0", "ghz", "100"], ["1", "bell", "100"]]
    assert "experiments  2" in table.stderr  # piped: the summary goes aside

    as_json = managedjob("results", short, "--json", cwd=tmp_path)
    document = json.loads(as_json.stdout)
    assert document["job_set_id"] == job_set_id and document["success"] is True
    ghz_counts = document["experiments"][0]["counts"]
    assert set(ghz_counts) == {"00000", "11111"} and sum(ghz_counts.values()) == 100
    assert json.loads(managedjob("results", short, "-o", "-", cwd=tmp_path).stdout) == document

    as_csv = managedjob("results", short, "--csv", cwd=tmp_path)
    assert as_csv.stdout.splitlines()[0] == "index,name,success,outcome,count"
    assert as_csv.stdout == managedjob("results", short, "-o", "-", "--csv", cwd=tmp_path).stdout
    assert only_journal_in(tmp_path)  # no file named "-", no managedjob-<id>.json

    one = managedjob("results", short, "--experiment", "ghz", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    shares = {line.split()[0]: line.split()[1:] for line in one.stdout.splitlines()[2:]}
    assert {k: int(v[0]) for k, v in shares.items()} == ghz_counts
    assert one.stdout.splitlines()[0] == "experiment 0 (ghz): 100 shots"
    by_index = managedjob("results", short, "--experiment", "1", "--json", cwd=tmp_path)
    assert [row["name"] for row in json.loads(by_index.stdout)["experiments"]] == ["bell"]
    unknown = managedjob("results", short, "--experiment", "teleport", cwd=tmp_path)
    assert unknown.returncode == 2 and "no experiment 'teleport'" in unknown.stderr

    for command in (["status", short], ["report", short], ["list"]):
        assert managedjob(*command, cwd=tmp_path).returncode == 0
    assert only_journal_in(tmp_path)

    written = managedjob("results", short, "-o", "counts.csv", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert "results      counts.csv" in written.stdout  # nothing else on stdout: the summary
    assert (tmp_path / "counts.csv").read_text() == as_csv.stdout


def test_run_prints_a_short_view_and_writes_counts_only_with_out(tmp_path: Path) -> None:
    done = run_ghz_and_bell(tmp_path)
    assert done.returncode == 0, done.stderr
    assert [line.split()[:2] for line in done.stdout.splitlines()[1:]] == [
        ["0", "ghz"],
        ["1", "bell"],
    ]
    assert "jobs         1 (1 done, 0 failed, 0 cancelled)" in done.stderr
    assert only_journal_in(tmp_path)

    machine = run_ghz_and_bell(tmp_path, "--json")
    assert [row["name"] for row in json.loads(machine.stdout)["experiments"]] == ["ghz", "bell"]
    assert "experiments  2" in machine.stderr
    assert only_journal_in(tmp_path)

    filed = run_ghz_and_bell(tmp_path, "-o", "counts.json")
    assert filed.returncode == 0, filed.stderr
    assert "results      counts.json" in filed.stdout and "COUNTS" not in filed.stdout
    assert json.loads((tmp_path / "counts.json").read_text())["success"] is True


def test_a_terminal_gets_the_table_and_summary_in_colour_unless_no_color(tmp_path: Path) -> None:
    code, shown = on_terminal(
        "run", str(EXAMPLES / "ghz.qasm"), "-b", "basic", "-s", "10", cwd=tmp_path
    )
    assert code == 0, shown
    assert "\033[1m#  NAME" in shown  # the heading in bold
    assert "experiments  1" in shown and "jobs finished: 1/1" in shown

    code, plain = on_terminal(
        "run", str(EXAMPLES / "ghz.qasm"), "-b", "basic", "-s", "10", cwd=tmp_path, NO_COLOR="1"
    )
    assert code == 0, plain
    assert "\033[" not in plain and "#  NAME" in plain and "experiments  1" in plain

    code, quiet = on_terminal(
        "run", "-q", str(EXAMPLES / "ghz.qasm"), "-b", "basic", "-s", "10", cwd=tmp_path
    )
    assert code == 0, quiet
    assert len(quiet.strip().splitlines()) == 1  # the id; no progress, no summary
    assert only_journal_in(tmp_path)


def test_next_commands_work_as_printed_with_the_journal_given(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "wide.qasm").write_text(WIDE)
    journal = elsewhere / "my journal.sqlite3"  # a space: the hint quotes it
    failed = managedjob(
        "--journal",
        str(journal),
        "run",
        str(EXAMPLES / "ghz.qasm"),
        "wide.qasm",
        *("-b", "basic", "-s", "10", "--max-experiments-per-job", "1"),
        cwd=tmp_path,
    )
    assert failed.returncode == 1, failed.stderr
    hint = next(line for line in failed.stderr.splitlines() if line.startswith("rerun the failed"))
    command = hint.split(": ", 1)[1]
    assert command.startswith("managedjob --journal ") and " retry " in command
    # Pasted as printed (the default journal is somewhere else), it finds the set.
    retried = run_as_printed(command, cwd=tmp_path, journal=tmp_path / "default.sqlite3")
    assert retried.returncode == 1, retried.stderr  # still too wide, but found and rerun
    assert "retrying 1 job of job set" in retried.stderr
    assert not (tmp_path / "default.sqlite3").exists()


def test_plot_without_out_writes_into_the_working_directory_and_says_where(
    tmp_path: Path,
) -> None:
    pytest.importorskip("matplotlib")
    job_set_id = run_ghz_and_bell(tmp_path, "-q").stdout.strip()
    timeline = managedjob("plot", job_set_id[:8], cwd=tmp_path)
    assert timeline.returncode == 0, timeline.stderr
    expected = f"managedjob-{job_set_id[:8]}-timeline.png"
    assert timeline.stdout.strip().endswith(f"to {expected}")
    assert (tmp_path / expected).read_bytes()[:4] == b"\x89PNG"
    counts = managedjob("plot", job_set_id[:8], "--experiment", "bell", cwd=tmp_path)
    assert counts.returncode == 0, counts.stderr
    assert (tmp_path / f"managedjob-{job_set_id[:8]}-experiment-1.png").exists()
