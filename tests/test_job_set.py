"""ManagedJobSet and JobManager on scripted fakes: faults, timeouts, tags, names."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qiskit.providers import JobStatus
from qiskit.providers.basic_provider import BasicSimulator

from helpers import basis_circuit, expected_key, in_order, wait_until
from managedjob import (
    IBMQJobManagerInvalidStateError,
    IBMQJobManagerTimeoutError,
    IBMQJobManagerUnknownJobSet,
    IBMQManagedResultDataNotAvailable,
    JobManager,
    ManagedJob,
    ManagedJobSet,
    RetryPolicy,
)
from managedjob.exceptions import InvalidInputError, UnsupportedRunOptionError
from managedjob.testing import FakeClock, ScriptedBackend


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def manager(clock: FakeClock):
    # Submissions in slice order: faults scripted by job index land where the
    # tests expect them.
    with in_order(clock=clock, retry_policy=RetryPolicy(initial_delay=0.1)) as jm:
        yield jm


def circuits(count: int) -> list[QuantumCircuit]:
    return [basis_circuit(i) for i in range(count)]


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"experiments": []}, "experiments is empty"),
        ({"experiments": [basis_circuit(0), "x", basis_circuit(1)]}, r"experiments\[1\] is a str"),
        ({"experiments": 3}, "not int"),
        (
            {"max_experiments_per_job": 0},
            "max_experiments_per_job must be a positive integer, not 0",
        ),
        ({"max_experiments_per_job": 2.5}, "not 2.5"),
        ({"max_experiments_per_job": True}, "not True"),
        ({"backend": None}, "backend is None"),
        ({"backend": object()}, "no run"),
        ({"job_tags": "tag"}, "job_tags must be a list of str"),
        ({"job_tags": ["ok", 3]}, r"job_tags\[1\] must be a str, not 3"),
        ({"name": 5}, "name must be a str"),
    ],
)
def test_bad_input_rejected_before_submission(
    manager: JobManager, clock: FakeClock, kwargs: dict[str, Any], message: str
) -> None:
    backend = ScriptedBackend(clock=clock)
    call = {"experiments": circuits(3), "backend": backend, **kwargs}
    with pytest.raises(InvalidInputError, match=message):
        manager.run(**call)
    assert backend.run_calls == 0
    assert manager.job_sets() == []


def test_unsupported_option_rejected_before_any_job(manager: JobManager, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock)
    with pytest.raises(UnsupportedRunOptionError, match="'noise'"):
        manager.run(circuits(4), backend, max_experiments_per_job=1, noise=True)
    assert backend.run_calls == 0


def test_run_twice_on_one_set(clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock)
    job_set = ManagedJobSet(name="once", clock=clock)
    with JobManager(clock=clock) as jm:
        job_set.run([circuits(2)], backend, jm._executor)
        with pytest.raises(IBMQJobManagerInvalidStateError, match="already been submitted"):
            job_set.run([circuits(2)], backend, jm._executor)


def test_negative_timeout(manager: JobManager, clock: FakeClock) -> None:
    job_set = manager.run(circuits(2), ScriptedBackend(clock=clock))
    with pytest.raises(InvalidInputError, match=r"-0\.5"):
        job_set.results(timeout=-0.5)


def test_closed_manager_refuses(clock: FakeClock) -> None:
    jm = JobManager(clock=clock)
    jm.close()
    with pytest.raises(IBMQJobManagerInvalidStateError, match="closed"):
        jm.run(circuits(1), ScriptedBackend(clock=clock))


# ---------------------------------------------------------------- results


def test_one_failed_job_does_not_lose_the_others(manager: JobManager, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, failing_jobs={1}, failure_message="fridge warm")
    job_set = manager.run(circuits(9), backend, name="mixed", max_experiments_per_job=3, shots=7)
    with pytest.warns(UserWarning, match="experiments 3-5"):
        results = job_set.results()
    assert not results.success
    for index in (0, 1, 2, 6, 7, 8):
        assert results.get_counts(index) == {expected_key(index): 7}
    for index in (3, 4, 5):
        with pytest.raises(IBMQManagedResultDataNotAvailable, match="experiments 3-5"):
            results.get_counts(index)
    with pytest.raises(IBMQManagedResultDataNotAvailable, match="3-5"):
        results.combine_results()
    assert job_set.statuses() == [JobStatus.DONE, JobStatus.ERROR, JobStatus.DONE]
    errors = job_set.error_messages()
    assert errors is not None
    assert errors.startswith("Experiments 3-5, job index=1, job ID=")
    assert "fridge warm" in errors
    report = job_set.report()
    assert "Successful jobs: 2" in report and "Failed jobs: 1" in report
    assert "error_message:" in report and "fridge warm" in report


def test_failed_submission_does_not_lose_the_others(clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, submit_failures={1: ValueError("too big")})
    with (
        in_order(clock=clock) as jm,
        pytest.warns(UserWarning, match="too big"),
    ):
        job_set = jm.run(circuits(4), backend, max_experiments_per_job=1, shots=3)
        results = job_set.results()
    assert not results.success
    assert job_set.jobs()[1] is None
    assert job_set.statuses()[1] is None
    with pytest.raises(IBMQManagedResultDataNotAvailable, match="was not submitted: too big"):
        results.get_counts(1)
    assert results.get_counts(2) == {expected_key(2): 3}
    assert "job submit failed: too big" in job_set.report()
    assert "Job submit failed: too big" in job_set.error_messages()


def test_partial_results_keep_successful_experiments(
    manager: JobManager, clock: FakeClock
) -> None:
    backend = ScriptedBackend(clock=clock, failing_experiments={"basis_4"})
    job_set = manager.run(circuits(6), backend, max_experiments_per_job=3, shots=2)
    results = job_set.results(partial=True)
    assert not results.success
    assert results.get_counts(3) == {expected_key(3): 2}
    assert results.get_counts("basis_5") == {expected_key(5): 2}
    with pytest.raises(IBMQManagedResultDataNotAvailable, match="basis_4"):
        results.get_counts("basis_4")


def test_results_wait_concurrently_and_time_out_promptly(
    manager: JobManager, clock: FakeClock
) -> None:
    backend = ScriptedBackend(clock=clock, run_time=lambda index: 1000.0 if index == 2 else 5.0)
    job_set = manager.run(circuits(4), backend, max_experiments_per_job=1)
    # One fake clock for all threads: the jobs still waiting when the first one times
    # out are named with it; the slow one always is.
    with pytest.raises(IBMQJobManagerTimeoutError, match=r"experiments .*2-2"):
        job_set.results(timeout=30)
    assert clock.monotonic() < 1000.0
    # Time passes; the same set now completes.
    clock.advance(1000.0)
    assert job_set.results(timeout=30).success


def test_results_fetch_jobs_at_the_same_time(clock: FakeClock) -> None:
    jobs = 4
    barrier = threading.Barrier(jobs, timeout=10)

    class MeetingJob(ManagedJob):
        def result(self, timeout=None, partial=False, refresh=False):  # type: ignore[no-untyped-def]
            barrier.wait()  # breaks unless all jobs are fetched at once
            return super().result(timeout=timeout, partial=partial, refresh=refresh)

    class MeetingSet(ManagedJobSet):
        managed_job_class = MeetingJob

    class MeetingManager(JobManager):
        job_set_class = MeetingSet

    with MeetingManager(clock=clock) as jm:
        job_set = jm.run(circuits(jobs), ScriptedBackend(clock=clock), max_experiments_per_job=1)
        assert all(isinstance(m, MeetingJob) for m in job_set.managed_jobs())
        assert job_set.results().success


def test_a_subclass_that_overrides_run_is_still_called(clock: FakeClock) -> None:
    calls: list[tuple[int, dict[str, Any]]] = []

    class AuditedSet(ManagedJobSet):
        def run(
            self,
            experiment_list,
            backend,
            executor,
            job_share_level=None,  # type: ignore[no-untyped-def]
            job_tags=None,
            **run_config,
        ):
            calls.append((len(experiment_list), dict(run_config)))
            super().run(
                experiment_list, backend, executor, job_share_level, job_tags, **run_config
            )

    class AuditedManager(JobManager):
        job_set_class = AuditedSet

    with AuditedManager(clock=clock) as jm:
        job_set = jm.run(
            circuits(5), ScriptedBackend(clock=clock), max_experiments_per_job=2, shots=7
        )
        assert job_set.results().success
    assert calls == [(3, {"max_resubmits": 0, "shots": 7})]


def test_results_are_cached(manager: JobManager, clock: FakeClock) -> None:
    job_set = manager.run(circuits(2), ScriptedBackend(clock=clock), max_experiments_per_job=1)
    first = job_set.results()
    assert job_set.results() is first
    assert job_set.results(refresh=True) is not first


def test_submissions_bounded_by_max_parallel_submits(clock: FakeClock) -> None:
    for limit in (1, 3):
        backend = ScriptedBackend(clock=clock, submit_latency=1.0)
        with JobManager(clock=clock, max_parallel_submits=limit) as jm:
            assert jm.run(circuits(12), backend, max_experiments_per_job=1).results().success
        assert 1 <= backend.max_concurrent_runs <= limit
    # With room for several, several really run at once.
    gate = threading.Barrier(3, timeout=10)
    backend = ScriptedBackend(clock=clock, on_run=lambda call: gate.wait() if call < 3 else None)
    with JobManager(clock=clock, max_parallel_submits=3) as jm:
        assert jm.run(circuits(3), backend, max_experiments_per_job=1).results().success
    assert backend.max_concurrent_runs == 3


def test_many_threads_one_executor_and_lock(clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, submit_latency=0.5, run_time=2.0)
    outcomes: dict[tuple[int, int], dict[str, int]] = {}
    errors: list[BaseException] = []
    with JobManager(clock=clock, max_parallel_submits=1) as jm:

        def work(worker: int) -> None:
            try:
                job_set = jm.run(
                    circuits(5), backend, name=f"w{worker}", max_experiments_per_job=2, shots=3
                )
                results = job_set.results()
                for index in range(5):
                    outcomes[worker, index] = results.get_counts(index)
            except BaseException as err:  # pragma: no cover - reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    assert len(outcomes) == 30
    assert all(counts == {expected_key(i): 3} for (_, i), counts in outcomes.items())
    assert backend.run_calls == 18
    names = sorted(job.name() for job in backend.submitted)
    assert names == sorted(f"w{w}_{i}_" for w in range(6) for i in range(3))


# ---------------------------------------------------------------- names, tags


def test_names_and_set_tag_on_every_job(manager: JobManager, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock)
    job_set = manager.run(
        circuits(5), backend, name="exp", max_experiments_per_job=2, job_tags=["alpha"]
    )
    jobs = job_set.jobs()
    assert [job.name() for job in jobs] == ["exp_0_", "exp_1_", "exp_2_"]
    long_id = f"ibmq_jobset_{job_set.job_set_id()}_"
    assert all(job.tags() == ["alpha", long_id] for job in jobs)
    assert job_set.tags() == ["alpha"]
    assert job_set.name() == "exp"


def test_update_name_pushes_to_jobs(manager: JobManager, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock)
    job_set = manager.run(circuits(4), backend, name="old", max_experiments_per_job=2)
    assert job_set.update_name("new") == "new"
    assert job_set.name() == "new"
    assert [job.name() for job in job_set.jobs()] == ["new_0_", "new_1_"]
    assert "name: new_1_" in job_set.report()
    with pytest.raises(InvalidInputError):
        job_set.update_name("")


def test_update_name_kept_by_set_for_jobs_without_names(manager: JobManager) -> None:
    job_set = manager.run(circuits(2), BasicSimulator(), name="old", max_experiments_per_job=1)
    job_set.update_name("renamed")
    assert job_set.name() == "renamed"
    assert [m.job_name for m in job_set.managed_jobs()] == ["renamed_0_", "renamed_1_"]


def test_update_tags_replace_add_remove(manager: JobManager, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock)
    job_set = manager.run(circuits(2), backend, max_experiments_per_job=1, job_tags=["a", "b"])
    long_id = f"ibmq_jobset_{job_set.job_set_id()}_"
    assert job_set.update_tags(additional_tags=["c"]) == ["a", "b", "c"]
    assert job_set.update_tags(
        replacement_tags=["x"], additional_tags=["y", "x"], removal_tags=["y", "zzz"]
    ) == ["x"]
    assert job_set.update_tags(removal_tags=[long_id]) == ["x"]  # the set's own tag stays
    assert all(job.tags() == ["x", long_id] for job in job_set.jobs())
    with pytest.raises(IBMQJobManagerInvalidStateError, match="none of the parameters"):
        job_set.update_tags()
    with pytest.raises(InvalidInputError, match=r"additional_tags\[0\]"):
        job_set.update_tags(additional_tags=[1])


def test_update_tags_kept_by_set_for_plain_backends(manager: JobManager) -> None:
    job_set = manager.run(circuits(1), BasicSimulator(), job_tags=["a"])
    assert job_set.update_tags(additional_tags=["b"]) == ["a", "b"]
    assert job_set.tags() == ["a", "b"]


# ---------------------------------------------------------------- cancel, report, retrieve


def test_cancel_all(
    manager: JobManager, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    backend = ScriptedBackend(clock=clock, run_time=lambda index: 0.0 if index == 0 else 100.0)
    job_set = manager.run(circuits(3), backend, max_experiments_per_job=1)
    with caplog.at_level(logging.WARNING, logger="managedjob"):
        job_set.cancel()
    assert job_set.statuses() == [JobStatus.DONE, JobStatus.CANCELLED, JobStatus.CANCELLED]
    assert "already done" in caplog.text
    report = job_set.report(detailed=False)
    assert "Cancelled jobs: 2" in report and "Detail report" not in report
    results = job_set.results()
    assert not results.success
    assert results.get_counts(0) == {"000": 1024}
    with pytest.raises(IBMQManagedResultDataNotAvailable):
        results.get_counts(1)


def test_report_pending_and_running(manager: JobManager, clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, run_time=10.0)
    job_set = manager.run(circuits(2), backend, max_experiments_per_job=1)
    job_set.jobs()
    report = job_set.report()
    assert "Pending jobs: 2" in report and "status: job is queued" in report
    clock.advance(6.0)
    assert "Running jobs: 2" in job_set.report()


CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/0123abcd:instance-9::"


def test_reports_hide_instance_crns_unless_asked(manager: JobManager, clock: FakeClock) -> None:
    message = f"Instance {CRN} has used up its monthly quota"
    backend = ScriptedBackend(clock=clock, failing_jobs=[1], failure_message=message)
    job_set = manager.run(circuits(2), backend, max_experiments_per_job=1)
    job_set.wait()
    for report in (job_set.report(), manager.report()):
        assert "crn:v1:<hidden> has used up" in report
        assert "0123abcd" not in report and "instance-9" not in report
    assert CRN in job_set.report(show_account_details=True)
    assert CRN in manager.report(show_account_details=True)
    assert CRN in (job_set.error_messages() or "")  # the messages themselves are kept whole


def test_retrieve_job_set_by_tag_in_new_manager(clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, run_time=3.0)
    with JobManager(clock=clock) as first:
        original = first.run(
            circuits(7),
            backend,
            name="long",
            max_experiments_per_job=3,
            job_tags=["keep"],
            shots=5,
        )
        original.jobs()
    with JobManager(clock=clock) as second:
        found = second.retrieve_job_set(original.job_set_id(), provider=backend)
        assert found is not original
        assert found.name() == "long"
        assert found.tags() == ["keep"]
        assert [(m.start_index, m.end_index) for m in found.managed_jobs()] == [
            (0, 2),
            (3, 5),
            (6, 6),
        ]
        results = found.results()
        assert results.get_counts("basis_6") == {expected_key(6): 5}
        assert second.retrieve_job_set(original.job_set_id(), backend) is found
        assert second.retrieve_job_set(original.job_set_id(), backend, refresh=True) is not found
        with pytest.raises(IBMQJobManagerUnknownJobSet):
            second.retrieve_job_set("nope", provider=backend)
        with pytest.raises(IBMQJobManagerUnknownJobSet):
            second.retrieve_job_set("nope", provider=BasicSimulator())


def test_split_by_executions_and_payload_budgets(clock: FakeClock) -> None:
    from managedjob.targets import TargetLimits

    class Budgeted:
        """A target with budgets, built on a scripted backend."""

        def __init__(self, backend: ScriptedBackend) -> None:
            from managedjob.targets import BackendTarget

            self._inner = BackendTarget(backend)
            self.name = "budgeted"
            self.wrapped = backend

        def limits(self) -> TargetLimits:
            return TargetLimits(max_executions=1000, max_payload_bytes=30)

        def estimate_payload_bytes(self, circuit: QuantumCircuit) -> int:
            return 10

        def __getattr__(self, attr: str) -> Any:
            return getattr(self._inner, attr)

    backend = ScriptedBackend(clock=clock)
    with JobManager(clock=clock) as jm:
        job_set = jm.run(circuits(7), Budgeted(backend), shots=400)
        # 400 shots: two circuits per job by executions (1000), three by bytes (30).
        assert [m.experiments_count for m in job_set.managed_jobs()] == [2, 2, 2, 1]
        job_set = jm.run(circuits(7), Budgeted(backend), shots=100)
        assert [m.experiments_count for m in job_set.managed_jobs()] == [3, 3, 1]
        with pytest.raises(InvalidInputError, match="experiment 0 needs 2000 executions"):
            jm.run(circuits(2), Budgeted(backend), shots=2000)


class CountingTarget:
    """A target that counts how often the core checks run options and resolves it."""

    def __init__(self, clock: FakeClock) -> None:
        from managedjob.targets import resolve_target

        self._inner = resolve_target(ScriptedBackend(clock=clock))
        self.checks = 0

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def wrapped(self) -> object:
        return self

    def limits(self) -> Any:
        return self._inner.limits()

    def check_run_config(self, run_config: Any) -> None:
        self.checks += 1
        self._inner.check_run_config(run_config)

    def submit(self, circuits: Any, *, job_name: str, job_tags: Any, run_config: Any) -> Any:
        return self._inner.submit(
            circuits, job_name=job_name, job_tags=job_tags, run_config=run_config
        )

    def oldest_pending_job(self) -> Any:
        return None

    def retrieve_job(self, job_id: str) -> Any:
        return None


def test_run_options_are_checked_once_per_run(manager: JobManager, clock: FakeClock) -> None:
    target = CountingTarget(clock)
    job_set = manager.run(circuits(6), target, max_experiments_per_job=1, shots=7, qobj_id="q")
    assert job_set.results().get_counts(5) == {expected_key(5): 7}
    assert target.checks == 1
    # A set run directly, and a job submitted by hand, still check what they are given.
    ManagedJobSet(clock=clock).run([circuits(2)], target, manager._executor, shots=3)
    assert target.checks == 2
    mjob = ManagedJob(0, 1)
    mjob.submit([basis_circuit(0)], "hand_0_", target, manager._executor, threading.Lock())
    assert target.checks == 3
    with pytest.raises(UnsupportedRunOptionError, match="'noise'"):
        ManagedJob(0, 1).submit(
            [basis_circuit(0)], "hand_0_", target, manager._executor, threading.Lock(), noise=1
        )


def test_max_resubmits_is_a_policy_checked_before_anything_runs(
    manager: JobManager, clock: FakeClock
) -> None:
    backend = ScriptedBackend(clock=clock)
    for wrong in (-1, 1.5, True):
        with pytest.raises(InvalidInputError, match="max_resubmits"):
            manager.run(circuits(2), backend, max_resubmits=wrong)
    assert backend.run_calls == 0


def test_a_failure_is_resubmitted_once_whoever_sees_it(clock: FakeClock) -> None:
    backend = ScriptedBackend(clock=clock, run_time=5.0, failing_jobs={0})
    with JobManager(clock=clock, journal=False) as jm:
        job_set = jm.run(circuits(2), backend, max_experiments_per_job=1, max_resubmits=3)
        # wait() sees the failure, then results() reads the failed job: one resubmission.
        assert job_set.wait() == [JobStatus.DONE, JobStatus.DONE]
        assert job_set.results().success
    assert backend.run_calls == 3


def test_the_retry_pool_of_a_set_without_executor_is_shut_down(
    journal_path: Any, clock: FakeClock
) -> None:
    from managedjob import Journal
    from managedjob._restore import restore_job_set

    journal = Journal(journal_path)
    with JobManager(clock=clock, journal=journal) as jm:
        backend = ScriptedBackend(clock=clock, failing_jobs={1})
        job_set = jm.run(circuits(2), backend, max_experiments_per_job=1)
        assert not job_set.results().success
    # Rebuilt by hand, the set has no executor of a manager: it makes a pool.
    found = ManagedJobSet(short_id=job_set.job_set_id(), clock=clock, journal=journal)
    restore_job_set(found, journal, provider=None)
    retried = found.retry_failed(backend=ScriptedBackend(clock=clock))
    assert [m.start_index for m in retried] == [1]
    assert found.results().success

    def retry_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("managedjob-retry")]

    assert retry_threads()
    found._close()
    wait_until(lambda: not retry_threads(), "the retry pool to stop")


def test_a_run_plan_asks_its_workload_what_an_item_is(clock: FakeClock) -> None:
    from managedjob._job_set import CIRCUITS, RunPlan

    class Words:
        item_kind = "str"

        def is_item(self, item: object) -> bool:
            return isinstance(item, str)

        def item_name(self, item: object) -> str | None:
            return str(item)

        def result_item_names(self, result: object, count: int) -> list[str | None] | None:
            return None

        def succeeded(self, result: object) -> bool:
            return True

    backend = ScriptedBackend(clock=clock)
    plan = RunPlan.build([["a", "b"], ["c"]], backend, ["t"], 1, {"shots": 5}, workload=Words())
    assert plan.sizes == [2, 1] and plan.job_tags == ("t",)
    assert plan.run_config == {"shots": 5} and plan.resubmit.max_resubmits == 1
    with pytest.raises(InvalidInputError, match=r"experiment_list\[0\]\[1\] is a int, not a str"):
        RunPlan.build([["a", 1]], backend, None, 0, {}, workload=Words())
    with pytest.raises(InvalidInputError, match="not a QuantumCircuit"):
        RunPlan.build([["a"]], backend, None, 0, {})
    assert CIRCUITS.item_name(basis_circuit(2)) == "basis_2"
