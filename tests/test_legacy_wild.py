"""What legacy scripts from the wild do that a first port broke (issue: legacy in the wild).

Each test is written the way those scripts use the API: only the import changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from qiskit import transpile
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime import Batch
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from helpers import basis_circuit, expected_key
from managedjob import (
    IBMQJobManager,
    IBMQJobManagerUnknownJobSet,
    InvalidInputError,
    ManagedBackend,
    ManagedJob,
    UnsupportedRunOptionError,
)
from managedjob.testing import FakeClock, ScriptedBackend

SHOTS = 100


def _batch() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Batch(backend=FakeManilaV2())


TARGETS = {
    "basic": BasicSimulator,
    "aer": AerSimulator,
    "fake-ibm": FakeManilaV2,
    "runtime-batch": _batch,
}


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_a_run_option_set_to_none_means_not_set(kind: str) -> None:
    backend = TARGETS[kind]()
    device = FakeManilaV2() if kind != "basic" else BasicSimulator()
    circuits = transpile([basis_circuit(i) for i in range(4)], device, seed_transpiler=3)
    job_manager = IBMQJobManager()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The SamplerV2 class is deprecated")
        job_set = job_manager.run(
            circuits,
            backend=backend,
            name="none-options",
            max_experiments_per_job=2,
            rep_delay=None,
            init_qubits=None,
            shots=SHOTS,
        )
        results = job_set.results()
    assert results.success
    counts = [results.get_counts(i) for i in range(4)]
    assert all(sum(c.values()) == SHOTS for c in counts)
    if kind in ("basic", "aer"):  # noiseless: the basis state only
        assert counts == [{expected_key(i): SHOTS} for i in range(4)]
    job_manager.close()


def test_an_unknown_option_with_a_value_is_still_refused() -> None:
    with (
        IBMQJobManager() as job_manager,
        pytest.raises(UnsupportedRunOptionError, match="rep_dela"),
    ):
        job_manager.run([basis_circuit(0)], backend=BasicSimulator(), rep_dela=0.1)


def test_none_options_through_a_managed_backend_and_a_legacy_managed_job() -> None:
    circuits = [basis_circuit(i) for i in range(3)]
    backend = ManagedBackend(AerSimulator(), max_experiments_per_job=2)
    result = backend.run(circuits, shots=SHOTS, rep_delay=None, seed_simulator=None).result()
    assert [result.get_counts(i) for i in range(3)] == [{expected_key(i): SHOTS} for i in range(3)]
    backend.close()

    # In-house managers called ManagedJob.submit themselves, passing their run_config on.
    mjob = ManagedJob(start_index=0, experiments_count=3)
    with ThreadPoolExecutor(1) as executor:
        mjob.submit(
            circuits,
            "inhouse_0_",
            AerSimulator(),
            executor,
            threading.Lock(),
            shots=SHOTS,
            memory=None,
            rep_delay=None,
        )
        counts = mjob.result(timeout=60).get_counts()
    assert counts == [{expected_key(i): SHOTS} for i in range(3)]


def _sweep_script(backend: Any) -> tuple[Any, Any, str]:
    """A script that runs a sweep and looks it up by name, as legacy scripts did."""
    job_manager = IBMQJobManager()
    fresh_report = job_manager.report()
    fresh_sets = job_manager.job_sets()
    job_manager.run([basis_circuit(i) for i in range(3)], backend=backend, name="foo", shots=10)
    job_set = job_manager.job_sets(name="foo")[0]
    job_set.results()
    job_manager.close()
    return job_set, fresh_sets, fresh_report


def test_job_sets_are_this_managers_even_when_the_script_ran_before() -> None:
    first, _, _ = _sweep_script(BasicSimulator())
    second, fresh_sets, fresh_report = _sweep_script(BasicSimulator())
    assert second.job_set_id() != first.job_set_id()
    # A fresh manager has no sets, and its report agrees.
    assert fresh_sets == []
    assert "Total jobs: 0" in fresh_report
    # The journal still has both runs, asked for explicitly.
    with IBMQJobManager() as job_manager:
        found = job_manager.job_sets(name="foo", from_journal=True)
        assert [s.job_set_id() for s in found] == [first.job_set_id(), second.job_set_id()]


def test_a_refresh_keeps_the_jobs_still_running_and_results_wait_for_them() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=30.0)
    circuits = [basis_circuit(i) for i in range(4)]
    with IBMQJobManager(clock=clock) as job_manager:
        job_set = job_manager.run(circuits, backend=backend, max_experiments_per_job=2, shots=20)
        job_set.managed_jobs()[0].future.result(timeout=30)  # submitted, not finished
        assert job_set.statuses()[0] is not JobStatus.DONE
        again = job_manager.retrieve_job_set(job_set.job_set_id(), refresh=True)
        results = again.results()  # waits (on the fake clock) instead of giving up
    assert results.success
    assert [results.get_counts(i) for i in range(4)] == [{expected_key(i): 20} for i in range(4)]
    assert backend.run_calls == 2  # nothing was submitted again


def test_a_refresh_reattaches_a_rebuilt_sets_jobs_through_its_backend() -> None:
    clock = FakeClock()
    backend = ScriptedBackend(clock=clock, run_time=30.0)
    circuits = [basis_circuit(i) for i in range(4)]
    with IBMQJobManager(clock=clock) as first:
        job_set = first.run(circuits, backend=backend, max_experiments_per_job=2, shots=20)
        # jobs() waits until every submission is over and its job id journaled;
        # a job's own future is done a moment before its id is written.
        job_set.jobs()
        with IBMQJobManager(clock=clock) as second:
            # Rebuilt from the journal without a provider: its jobs are not attached.
            detached = second.retrieve_job_set(job_set.job_set_id())
            assert detached.statuses() == [None, None]
            refreshed = second.retrieve_job_set(
                job_set.job_set_id(), provider=backend, refresh=True
            )
            assert refreshed is not detached
            results = refreshed.results()
    assert results.success
    assert [results.get_counts(i) for i in range(4)] == [{expected_key(i): 20} for i in range(4)]
    assert backend.run_calls == 2


def test_a_refresh_right_after_run_on_aer_loses_nothing() -> None:
    """Aer cannot retrieve jobs by id: a refresh keeps the ones this process follows."""
    circuits = [basis_circuit(i) for i in range(6)]
    for _ in range(5):
        with IBMQJobManager() as job_manager:
            job_set = job_manager.run(
                circuits, backend=AerSimulator(), max_experiments_per_job=2, shots=2000
            )
            again = job_manager.retrieve_job_set(job_set.job_set_id(), refresh=True)
            results = again.results()
            assert results.success
            assert [results.get_counts(i) for i in range(6)] == [
                {expected_key(i): 2000} for i in range(6)
            ]
        with IBMQJobManager() as other:  # every result reached the journal
            journaled = other.retrieve_job_set(job_set.job_set_id()).results()
            assert journaled.success and journaled.get_counts(5) == {expected_key(5): 2000}


def run_script(code: str, where: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as a user's script in a new interpreter, journaling into ``where``."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "MANAGEDJOB_JOURNAL": str(where / "journal.sqlite3"), **env},
        cwd=where,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


SUBMIT_AND_EXIT = """
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator
from managedjob import IBMQJobManager

circuits = []
for i in range(12):
    circuit = QuantumCircuit(4, name=f"basis_{i}")
    for qubit in range(4):
        if (i >> qubit) & 1:
            circuit.x(qubit)
    circuit.measure_all()
    circuits.append(circuit)
job_manager = IBMQJobManager()
job_set = job_manager.run(
    circuits, backend=AerSimulator(), name="exit-early", max_experiments_per_job=1, shots=5000
)
print(job_set.job_set_id(), flush=True)
"""


def test_a_script_that_exits_right_after_run_leaves_every_result_for_the_next(
    tmp_path: Path,
) -> None:
    """Submit in one process, retrieve in another: ten times, nothing lost."""
    journal = tmp_path / "journal.sqlite3"
    env = {**os.environ, "MANAGEDJOB_JOURNAL": str(journal), "PYTHONWARNINGS": "error"}
    outcomes: list[subprocess.CompletedProcess[str]] = []
    for _ in range(5):  # two scripts at a time
        pair = [
            subprocess.Popen(
                [sys.executable, "-c", SUBMIT_AND_EXIT],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for process in pair:
            stdout, stderr = process.communicate(timeout=120)
            outcomes.append(
                subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
            )
    assert [outcome.returncode for outcome in outcomes] == [0] * 10, outcomes[0].stderr
    assert not [
        o.stderr for o in outcomes if "Unable to submit" in o.stderr or "Traceback" in o.stderr
    ]
    with IBMQJobManager(journal=journal) as other:
        for outcome in outcomes:
            job_set = other.retrieve_job_set(outcome.stdout.strip())
            results = job_set.results()
            assert results.success, job_set.report()
            assert [results.get_counts(i) for i in range(12)] == [
                {format(i, "04b"): 5000} for i in range(12)
            ]
    # Each script said what it waited for, when it had to wait.
    told = [o.stderr for o in outcomes if "managedjob: the process is ending" in o.stderr]
    assert all("every job id and result is journaled" in text for text in told)


def test_the_exit_wait_is_bounded_and_says_what_it_could_not_finish(tmp_path: Path) -> None:
    # A simulator whose jobs take a known time, so that they are still running when
    # the process ends, however fast the machine.
    script = SUBMIT_AND_EXIT.replace(
        "job_manager = IBMQJobManager()",
        "import time\n"
        "class SlowAer(AerSimulator):\n"
        "    def _execute_circuits_job(self, *args, **kwargs):\n"
        "        time.sleep(0.25)\n"
        "        return super()._execute_circuits_job(*args, **kwargs)\n"
        "job_manager = IBMQJobManager()",
    ).replace("backend=AerSimulator()", "backend=SlowAer()")
    assert "SlowAer()" in script
    done = run_script(script, tmp_path, MANAGEDJOB_EXIT_TIMEOUT="0")
    assert done.returncode == 0, done.stderr
    assert "waiting up to 0 s" in done.stderr
    assert "did not finish in time and are lost with this process" in done.stderr
    assert "retry_failed() reruns them" in done.stderr
    assert all(path.name.startswith("journal.sqlite3") for path in tmp_path.iterdir())


SUBMIT_REMOTE_AND_EXIT = """
from qiskit import QuantumCircuit
from managedjob import IBMQJobManager, SystemClock
from managedjob.testing import ScriptedBackend

circuits = []
for i in range(6):
    circuit = QuantumCircuit(1, name=f"c{i}")
    circuit.measure_all()
    circuits.append(circuit)
job_manager = IBMQJobManager(max_parallel_submits=2)
# A slow remote device: each submission takes 0.3 s of real time.
backend = ScriptedBackend(clock=SystemClock(), submit_latency=0.3, run_time=3600.0)
job_set = job_manager.run(circuits, backend=backend, max_experiments_per_job=1, shots=10)
print(job_set.job_set_id(), flush=True)
"""


def test_a_script_on_a_remote_target_records_every_job_id_before_it_ends(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "journal.sqlite3"
    done = run_script(SUBMIT_REMOTE_AND_EXIT, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "submission(s) to finish" in done.stderr  # it said what it waited for
    with IBMQJobManager(journal=journal) as other:
        job_set = other.retrieve_job_set(done.stdout.strip())
        messages = [mjob.error_message() or "" for mjob in job_set.managed_jobs()]
    # Every job id is journaled: each job is known, only not attached (no provider given).
    assert len(messages) == 6
    assert all("is not attached to its target" in message for message in messages), messages


def test_a_set_is_retrieved_by_the_short_id_the_command_line_shows() -> None:
    with IBMQJobManager() as first:
        job_set = first.run([basis_circuit(1)], backend=BasicSimulator(), shots=10)
        job_set.results()
    short = job_set.job_set_id()[:8]
    with IBMQJobManager() as other:
        found = other.retrieve_job_set(short)
        assert found.job_set_id() == job_set.job_set_id()
        assert found.results().get_counts(0) == {expected_key(1): 10}
        assert other.retrieve_job_set(short) is found  # known now, by its short id too
        with pytest.raises(IBMQJobManagerUnknownJobSet, match="zz-not-an-id"):
            other.retrieve_job_set("zz-not-an-id")


def test_a_short_id_that_starts_several_sets_names_them() -> None:
    with IBMQJobManager() as manager:
        ids = {manager.run([basis_circuit(0)], backend=BasicSimulator()).job_set_id()}
        for _ in range(40):  # ids are random: until two share their first character
            ids.add(manager.run([basis_circuit(0)], backend=BasicSimulator()).job_set_id())
            firsts = [i[0] for i in ids]
            if len(set(firsts)) < len(firsts):
                break
        shared = next(c for c in firsts if firsts.count(c) > 1)
        with pytest.raises(InvalidInputError, match=f"'{shared}' is the start of"):
            manager.retrieve_job_set(shared)
