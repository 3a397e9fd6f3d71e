"""The managedjob command on journaled PUB sets: list, status, report, results, retry, cancel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from qiskit.primitives import StatevectorEstimator, StatevectorSampler

from managedjob import JobManager
from test_cli import managedjob
from test_pub_sets import CountingEstimator, bell, estimator_pubs, failing_pubs


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


def test_list_status_report_results_of_a_pub_set(tmp_path: Path, journal: Path) -> None:
    pubs = estimator_pubs(5)
    with JobManager(journal=journal) as manager:
        job_set = manager.run_pubs(pubs, StatevectorEstimator(), max_pubs_per_job=2, name="evs")
        job_set.primitive_result()
        sampled = manager.run_pubs([bell()] * 2, StatevectorSampler(seed=2), shots=64, name="bits")
        sampled.primitive_result()
    job_set_id = job_set.job_set_id()

    listing = managedjob("list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert job_set_id in listing.stdout and "statevector_estimator" in listing.stdout

    status = managedjob("status", job_set_id[:12], cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "3: 3 done" in status.stdout

    report = managedjob("report", job_set_id, cwd=tmp_path)
    assert report.returncode == 0 and "Successful jobs: 3" in report.stdout

    out = tmp_path / "evs.json"
    results = managedjob("results", job_set_id, "--out", str(out), cwd=tmp_path)
    assert results.returncode == 0, results.stderr
    assert "PUBs" in results.stdout
    document = json.loads(out.read_text())
    direct = StatevectorEstimator().run(pubs).result()
    assert [entry["index"] for entry in document["pubs"]] == list(range(5))
    for entry, alone in zip(document["pubs"], direct, strict=True):
        np.testing.assert_allclose(entry["data"]["evs"], alone.data.evs)
        assert entry["shape"] == list(alone.data.shape)

    bits = tmp_path / "bits.json"
    results = managedjob("results", sampled.job_set_id(), "--out", str(bits), cwd=tmp_path)
    assert results.returncode == 0, results.stderr
    meas = json.loads(bits.read_text())["pubs"][1]["data"]["meas"]
    assert meas["num_shots"] == 64 and meas["num_bits"] == 2
    assert sum(meas["counts"].values()) == 64 and set(meas["counts"]) <= {"00", "11"}

    csv = managedjob("results", job_set_id, "--format", "csv", cwd=tmp_path)
    assert csv.returncode == 2 and "JSON only" in csv.stderr

    # Without -o: a table per PUB and field, a whole PUB with --experiment, JSON with --json.
    table = managedjob("results", job_set_id, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["#", "SHAPE", "FIELD", "DATA"]
    assert [line.split()[:4] for line in lines[1:] if " evs " in line] == [
        [str(index), "(2,", "5)", "evs"] for index in range(5)
    ]
    whole = managedjob("results", job_set_id, "--experiment", "3", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    shown = whole.stdout.split("evs:")[1].split("stds:")[0]
    values = [float(v) for v in shown.replace("[", " ").replace("]", " ").split(",")]
    np.testing.assert_allclose(values, direct[3].data.evs.reshape(-1), atol=1e-4)
    one = managedjob("results", sampled.job_set_id(), "--experiment", "1", cwd=tmp_path)
    assert one.returncode == 0, one.stderr
    assert "meas:" in one.stdout and "00: " in one.stdout and "11: " in one.stdout
    printed = managedjob("results", job_set_id, "--json", "-q", cwd=tmp_path)
    assert json.loads(printed.stdout) == document and printed.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("journal")) == [
        "bits.json",
        "evs.json",
    ]


def test_results_and_retry_of_a_pub_set_with_a_failed_job(tmp_path: Path, journal: Path) -> None:
    with (
        JobManager(journal=journal) as manager,
        pytest.warns(UserWarning, match="fell over"),
    ):
        job_set = manager.run_pubs(
            failing_pubs(), CountingEstimator(failing=["bad"]), max_pubs_per_job=2
        )
        job_set.primitive_result(partial=True)
    job_set_id = job_set.job_set_id()

    out = tmp_path / "partial.json"
    results = managedjob("results", job_set_id, "--out", str(out), cwd=tmp_path)
    assert results.returncode == 1, results.stderr
    pubs = json.loads(out.read_text())["pubs"]
    assert [entry is None for entry in pubs] == [False, False, True, True, False, False]

    # The set ran on a primitive the command cannot make: retry needs --backend.
    refused = managedjob("retry", job_set_id, cwd=tmp_path)
    assert refused.returncode == 2 and "--backend" in refused.stderr
    done = tmp_path / "retried.json"
    retry = managedjob("retry", job_set_id, "--backend", "basic", "--out", str(done), cwd=tmp_path)
    assert retry.returncode == 0, retry.stderr
    assert "retrying 1 job" in retry.stderr
    pubs = json.loads(done.read_text())["pubs"]
    assert all(entry is not None for entry in pubs)
    assert np.shape(pubs[3]["data"]["evs"]) == (2, 5)

    cancel = managedjob("cancel", job_set_id, cwd=tmp_path)
    assert cancel.returncode == 0, cancel.stderr
    assert "cancelled 0 jobs" in cancel.stdout
