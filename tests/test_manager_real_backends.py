"""The legacy job-manager workflow on real Qiskit backends."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator
from qiskit.result import Result
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from helpers import basis_circuit, expected_key
from managedjob import (
    IBMQJobManager,
    IBMQJobManagerJobNotFound,
    JobManager,
    ManagedJobSet,
    ManagedResults,
)


@pytest.fixture
def manager():
    with JobManager() as jm:
        yield jm


BACKENDS = {
    "basic": BasicSimulator,
    "aer": AerSimulator,
}


@pytest.mark.parametrize("backend_name", sorted(BACKENDS))
def test_split_run_and_read_every_experiment(manager: JobManager, backend_name: str) -> None:
    backend = BACKENDS[backend_name]()
    circuits = [basis_circuit(i) for i in range(23)]
    job_set = manager.run(
        circuits, backend=backend, name="sweep", max_experiments_per_job=5, shots=64
    )
    assert isinstance(job_set, ManagedJobSet)
    results = job_set.results()
    assert isinstance(results, ManagedResults)
    assert results.success
    assert results.backend_name == backend.name
    assert len(job_set.managed_jobs()) == 5
    assert [(m.start_index, m.end_index) for m in job_set.managed_jobs()] == [
        (0, 4),
        (5, 9),
        (10, 14),
        (15, 19),
        (20, 22),
    ]
    for i, circuit in enumerate(circuits):
        expected = {expected_key(i): 64}
        assert results.get_counts(i) == expected
        assert results.get_counts(circuit.name) == expected
        assert results.get_counts(circuit) == expected
    assert job_set.statuses() == [JobStatus.DONE] * 5
    job, index = job_set.job(12)
    assert index == 2 and job is job_set.jobs()[2]
    assert job_set.job("basis_7") == (job_set.jobs()[1], 2)


def test_combine_results_is_input_order(manager: JobManager) -> None:
    circuits = [basis_circuit(i) for i in range(10)]
    results = manager.run(
        circuits, BasicSimulator(), max_experiments_per_job=3, shots=10
    ).results()
    combined = results.combine_results()
    assert isinstance(combined, Result)
    assert combined.success
    assert [exp.header["name"] for exp in combined.results] == [c.name for c in circuits]
    assert combined.get_counts(7) == {expected_key(7): 10}
    assert results.get_counts() == [{expected_key(i): 10} for i in range(10)]


def test_single_circuit_is_accepted(manager: JobManager) -> None:
    job_set = manager.run(basis_circuit(5), BasicSimulator(), shots=8)
    results = job_set.results()
    assert results.get_counts() == {"101": 8}
    assert results.get_counts(0) == {"101": 8}
    assert results.data(0)["counts"] == {"0x5": 8}


def test_fake_provider_backend_limit_splits(manager: JobManager) -> None:
    backend = FakeManilaV2()
    limit = backend.configuration().max_experiments
    circuits = transpile([basis_circuit(i) for i in range(limit + 2)], backend, seed_transpiler=1)
    job_set = manager.run(circuits, backend, shots=16, seed_simulator=7)
    sizes = [m.end_index - m.start_index + 1 for m in job_set.managed_jobs()]
    assert sizes == [limit, 2]
    results = job_set.results()
    assert results.success
    # Noisy device model: the prepared state is still the most common outcome.
    counts = results.get_counts(limit + 1)
    assert max(counts, key=counts.get) == expected_key(limit + 1)


def test_user_limit_above_backend_limit_uses_backend_limit(manager: JobManager) -> None:
    backend = FakeManilaV2()
    limit = backend.configuration().max_experiments
    circuits = transpile([basis_circuit(0)] * (limit + 1), backend)
    job_set = manager.run(circuits, backend, max_experiments_per_job=limit * 2, shots=1)
    assert len(job_set.managed_jobs()) == 2
    job_set.cancel()


def test_memory_and_seed_pass_through(manager: JobManager) -> None:
    qc = QuantumCircuit(1, 1, name="coin")
    qc.h(0)
    qc.measure(0, 0)
    first = manager.run(
        [qc] * 4,
        AerSimulator(),
        max_experiments_per_job=2,
        shots=50,
        memory=True,
        seed_simulator=11,
    ).results()
    second = manager.run(
        [qc] * 4,
        AerSimulator(),
        max_experiments_per_job=2,
        shots=50,
        memory=True,
        seed_simulator=11,
    ).results()
    assert len(first.get_memory(3)) == 50
    assert first.get_memory(3) == second.get_memory(3)
    assert set(first.get_memory(0)) == {"0", "1"}


def test_statevector_and_unitary_through_aer(manager: JobManager) -> None:
    sv = QuantumCircuit(1, name="sv")
    sv.x(0)
    sv.save_statevector()
    un = QuantumCircuit(1, name="un")
    un.x(0)
    un.save_unitary()
    results = manager.run([sv], AerSimulator(method="statevector")).results()
    assert list(results.get_statevector("sv", decimals=3)) == [0, 1]
    unitary = (
        manager.run([un], AerSimulator(method="unitary")).results().get_unitary(0, decimals=3)
    )
    assert [[complex(x) for x in row] for row in unitary.data.tolist()] == [[0, 1], [1, 0]]


def test_unknown_experiment(manager: JobManager) -> None:
    job_set = manager.run([basis_circuit(1)], BasicSimulator(), shots=1)
    with pytest.raises(IBMQJobManagerJobNotFound, match="nope"):
        job_set.job("nope")
    with pytest.raises(IBMQJobManagerJobNotFound, match="experiment 3"):
        job_set.results().get_counts(3)


def test_legacy_name_is_the_same_class() -> None:
    assert IBMQJobManager is JobManager


def test_job_sets_and_retrieve_from_session(manager: JobManager) -> None:
    first = manager.run([basis_circuit(1)], BasicSimulator(), name="a", shots=1)
    second = manager.run([basis_circuit(2)], BasicSimulator(), name="b", shots=1)
    assert manager.job_sets() == [first, second]
    assert manager.job_sets(name="b") == [second]
    assert manager.retrieve_job_set(first.job_set_id(), provider=None) is first
    report = manager.report()
    assert "Total jobs: 2" in report
    assert f"Job set name: a, ID: {first.job_set_id()}" in report
    assert "Total jobs: 2" in manager.report(detailed=False)
    assert "Detail report" not in manager.report(detailed=False)


def test_many_threads_share_one_manager() -> None:
    backend = AerSimulator()
    errors: list[BaseException] = []
    outcomes: dict[int, dict[str, int]] = {}
    with JobManager(max_parallel_submits=2) as jm:

        def work(worker: int) -> None:
            try:
                circuits = [basis_circuit(worker * 10 + i) for i in range(6)]
                results = jm.run(circuits, backend, max_experiments_per_job=2, shots=5).results()
                for i in range(6):
                    outcomes[worker * 10 + i] = results.get_counts(i)
            except BaseException as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert len(outcomes) == 48
    for index, counts in outcomes.items():
        assert counts == {expected_key(index): 5}
    assert len(jm.job_sets()) == 8


def test_given_executor_is_used_and_not_shut_down() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        jm = JobManager(executor=pool)
        results = jm.run(
            [basis_circuit(3)] * 3, BasicSimulator(), max_experiments_per_job=1
        ).results()
        assert results.success
        jm.close()
        # The pool still works: the manager did not own it.
        assert pool.submit(lambda: 3).result() == 3


class WatchedBasicSimulator(BasicSimulator):
    """Notes the most ``run()`` calls inside it at once.

    The first call holds on for a moment, so that a second one, if it may
    come in at the same time, does.
    """

    def __init__(self) -> None:
        super().__init__()
        self.inside = 0
        self.most = 0
        self.guard = threading.Lock()
        self.second = threading.Event()
        self.calls = 0

    def run(self, run_input, **options):  # type: ignore[no-untyped-def]
        with self.guard:
            self.inside += 1
            self.calls += 1
            first = self.calls == 1
            self.most = max(self.most, self.inside)
            if not first:
                self.second.set()
        try:
            if first:
                self.second.wait(0.3)
            return super().run(run_input, **options)
        finally:
            with self.guard:
                self.inside -= 1


def test_basic_simulator_runs_one_job_at_a_time(manager: JobManager) -> None:
    """BasicSimulator keeps the running circuit on itself: two runs at once
    corrupt each other. A too-wide circuit fails alone, the others count."""
    backend = WatchedBasicSimulator()
    wide = QuantumCircuit(40, 40, name="wide")
    wide.measure(range(40), range(40))
    circuits = [basis_circuit(i) for i in range(3)] + [wide] + [basis_circuit(3)]
    job_set = manager.run(circuits, backend, max_experiments_per_job=1, shots=20)
    results = job_set.results(partial=True)
    assert backend.most == 1
    assert backend.calls == 5
    for index, name in enumerate([0, 1, 2, None, 3]):
        if name is None:
            continue
        assert results.get_counts(index) == {expected_key(name): 20}
    assert job_set.managed_jobs()[3].submit_error is not None


def clifford_and_t() -> tuple[QuantumCircuit, QuantumCircuit]:
    """A circuit a stabilizer simulator runs (``hgate``), and one it cannot (``tgate``)."""
    clifford = QuantumCircuit(1, name="hgate")
    clifford.h(0)
    clifford.measure_all()
    non_clifford = QuantumCircuit(1, name="tgate")
    non_clifford.t(0)
    non_clifford.measure_all()
    return clifford, non_clifford


def test_an_aer_job_done_with_a_failed_result_is_failed_and_retried() -> None:
    """Aer says DONE for a job whose result failed; everything else says failed."""
    from qiskit.providers import JobStatus
    from qiskit_aer import AerSimulator

    clifford, non_clifford = clifford_and_t()
    with JobManager(journal=False) as manager:
        job_set = manager.run(
            [clifford, non_clifford],
            AerSimulator(method="stabilizer"),  # cannot run a T gate
            max_experiments_per_job=1,
            shots=10,
        )
        with pytest.warns(UserWarning, match="invalid instructions"):
            assert not job_set.results().success
        assert job_set.statuses() == [JobStatus.DONE, JobStatus.ERROR]
        assert "Failed jobs: 1" in job_set.report()
        message = job_set.error_messages() or ""
        assert message.count("invalid instructions") == 1, message
        retried = job_set.retry_failed(backend=AerSimulator())
        results = job_set.results()
    assert len(retried) == 1
    assert results.success
    assert job_set.statuses() == [JobStatus.DONE, JobStatus.DONE]
    assert sum(results.get_counts("tgate").values()) == 10


def test_statuses_say_failed_before_results_are_asked_for() -> None:
    """statuses(), wait(), report() read a local failed result, also after retry_failed()."""
    from qiskit_aer import AerSimulator

    clifford, non_clifford = clifford_and_t()
    stabilizer = AerSimulator(method="stabilizer")  # cannot run a T gate
    with JobManager(journal=False) as manager:
        job_set = manager.run(
            [clifford, non_clifford], stabilizer, max_experiments_per_job=1, shots=10
        )
        assert job_set.wait() == [JobStatus.DONE, JobStatus.ERROR]
        assert job_set.statuses() == [JobStatus.DONE, JobStatus.ERROR]
        report = job_set.report()
        assert "Failed jobs: 1" in report
        assert report.count("invalid instructions") == 1, report
        retried = job_set.retry_failed()  # on the same backend: fails again
        assert len(retried) == 1
        assert job_set.wait() == [JobStatus.DONE, JobStatus.ERROR]
        assert job_set.statuses() == [JobStatus.DONE, JobStatus.ERROR]
        assert "Failed jobs: 1" in job_set.report()
        with pytest.warns(UserWarning, match="invalid instructions"):
            assert not job_set.results().success
