"""IBMRuntimeTarget and IBMRuntimeJobFinder on the fake runtime service and in local mode."""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Clbit
from qiskit.providers import JobError, JobStatus, JobV1
from qiskit.providers.basic_provider import BasicSimulator
from qiskit_aer.noise import NoiseModel
from qiskit_ibm_runtime import Batch, RuntimeEncoder, Session
from qiskit_ibm_runtime.exceptions import IBMRuntimeError
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from helpers import basis_circuit, expected_key, in_order
from managedjob import JobManager, RetryPolicy
from managedjob._wait import wait_for_final_state
from managedjob.exceptions import (
    InvalidInputError,
    JobLimitError,
    UnsupportedRunOptionError,
)
from managedjob.targets import (
    Target,
    TargetLimits,
    register_job_finder,
    register_target,
    resolve_job_finder,
    resolve_target,
)
from managedjob.targets.ibm_runtime import (
    DEFAULT_MAX_EXECUTIONS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    IBMJobLimitError,
    IBMRuntimeJobFinder,
    IBMRuntimeJobV1,
    IBMRuntimeQuotaError,
    IBMRuntimeTarget,
    estimate_payload_bytes,
    is_ibm_runtime,
    is_runtime_service,
)
from managedjob.targets.ibm_runtime._errors import (
    translate_submit_error as _translate_submit_error,
)
from managedjob.testing import (
    FakeClock,
    FakeRuntimeBatch,
    FakeRuntimeSampler,
    FakeRuntimeService,
    FakeRuntimeSession,
    ScriptedBackend,
)

SHOTS = 40
SET_TAG = "ibmq_jobset_0123abcd-1700000000_"
_MEMORY = "managedjob:memory"


@pytest.fixture(scope="module", autouse=True)
def _runtime_registered() -> None:
    """Register the adapter and the finder unless managedjob does so already."""
    probe = FakeRuntimeService()
    if not isinstance(resolve_target(probe.backend()), IBMRuntimeTarget):
        register_target(is_ibm_runtime, IBMRuntimeTarget)
    if not isinstance(resolve_job_finder(probe), IBMRuntimeJobFinder):
        register_job_finder(is_runtime_service, IBMRuntimeJobFinder)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def basis(count: int, start: int = 0) -> list[QuantumCircuit]:
    return [basis_circuit(i) for i in range(start, start + count)]


def submit(
    target: IBMRuntimeTarget,
    circuits: list[QuantumCircuit],
    job_name: str = "sweep_0_",
    job_tags: tuple[str, ...] = ("user", SET_TAG),
    **run_config: Any,
) -> IBMRuntimeJobV1:
    return target.submit(
        circuits, job_name=job_name, job_tags=list(job_tags), run_config=run_config
    )


def noiseless_manila() -> dict[str, Any]:
    return {"simulator": {"noise_model": NoiseModel()}}


# --- which objects are runtime objects ---------------------------------------------


def test_predicates_recognise_runtime_objects_and_their_fakes():
    service = FakeRuntimeService()
    backend = service.backend()
    batch = FakeRuntimeBatch(backend=backend)
    session = FakeRuntimeSession(backend=backend)
    local_batch = Batch(backend=FakeManilaV2())
    local_session = Session(backend=FakeManilaV2())
    for obj in (backend, batch, session, local_batch, local_session):
        assert is_ibm_runtime(obj), obj
    for obj in (service, FakeManilaV2(), BasicSimulator(), ScriptedBackend(), object(), None):
        assert not is_ibm_runtime(obj), obj
    for obj in (service, backend, batch, session):
        assert is_runtime_service(obj), obj
    # Local testing mode has no service to list jobs on.
    for obj in (local_batch, FakeManilaV2(), ScriptedBackend(), BasicSimulator(), object()):
        assert not is_runtime_service(obj), obj


def test_registered_adapter_and_finder_are_resolved():
    service = FakeRuntimeService()
    target = resolve_target(service.backend())
    assert isinstance(target, IBMRuntimeTarget)
    assert isinstance(target, Target)
    assert target.wrapped is service.backend()
    assert isinstance(resolve_job_finder(service), IBMRuntimeJobFinder)
    assert resolve_job_finder(service.backend()).service is service
    assert isinstance(resolve_target(Batch(backend=FakeManilaV2())), IBMRuntimeTarget)


def test_constructor_rejects_bad_input():
    with pytest.raises(InvalidInputError, match="not an IBM Quantum runtime"):
        IBMRuntimeTarget(BasicSimulator())
    backend = FakeRuntimeService().backend()
    with pytest.raises(InvalidInputError, match="mode"):
        IBMRuntimeTarget(backend, mode="dedicated")  # type: ignore[arg-type]
    for label in ("max_experiments", "max_executions", "max_payload_bytes"):
        with pytest.raises(InvalidInputError, match=label):
            IBMRuntimeTarget(backend, **{label: 0})
    with pytest.raises(InvalidInputError, match="sampler_options"):
        IBMRuntimeTarget(backend, sampler_options=[("default_shots", 5)])  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="sampler_options") as caught:
        IBMRuntimeTarget(Batch(backend=FakeManilaV2()), sampler_options={"no_such_option": 1})
    assert caught.value.__cause__ is not None


# --- limits --------------------------------------------------------------------------


def test_limits_default_to_the_runtime_limits_and_are_configurable():
    backend = FakeRuntimeService().backend()
    target = IBMRuntimeTarget(backend)
    assert target.limits() == TargetLimits(
        max_experiments=None,
        max_executions=DEFAULT_MAX_EXECUTIONS,
        max_payload_bytes=DEFAULT_MAX_PAYLOAD_BYTES,
        poll_interval=5.0,  # status reads are rate-limited too
    )
    assert DEFAULT_MAX_EXECUTIONS == 10_000_000
    custom = IBMRuntimeTarget(
        backend, max_experiments=7, max_executions=1_000, max_payload_bytes=2**20
    )
    assert custom.limits() == TargetLimits(7, 1_000, 2**20, poll_interval=5.0)
    unlimited = IBMRuntimeTarget(backend, max_executions=None, max_payload_bytes=None)
    assert unlimited.limits() == TargetLimits(poll_interval=5.0)


def test_a_set_on_the_runtime_polls_its_jobs_at_most_every_five_seconds():
    from managedjob import JobManager, PollPolicy

    service = FakeRuntimeService()
    clock = FakeClock()
    circuit = basis(1)[0]
    with JobManager(journal=False, clock=clock) as manager:
        job_set = manager.run([circuit] * 2, service.backend(), max_experiments_per_job=1)
        assert [m.poll_policy.maximum for m in job_set.managed_jobs()] == [5.0, 5.0]
        job_set.results()
    mine = PollPolicy(maximum=0.5)
    with JobManager(journal=False, clock=clock, poll_policy=mine) as manager:
        job_set = manager.run([circuit], service.backend())
        assert job_set.managed_jobs()[0].poll_policy is mine  # given: kept
        job_set.results()


def test_payload_estimate_bounds_what_the_runtime_client_sends():
    small = basis_circuit(1)
    large = QuantumCircuit(5, 5, name="large")
    for layer in range(200):
        large.rz(0.1 * layer, layer % 5)
        large.cx(layer % 5, (layer + 1) % 5)
    large.measure(range(5), range(5))
    for circuit in (small, large):
        sent = len(json.dumps(circuit, cls=RuntimeEncoder))
        assert sent <= estimate_payload_bytes(circuit), circuit.name
    assert estimate_payload_bytes(large) > 4 * estimate_payload_bytes(small)


# --- submitting to the fake service ----------------------------------------------------


def test_jobs_carry_user_set_and_slice_tags():
    service = FakeRuntimeService()
    target = IBMRuntimeTarget(service.backend())
    job = target.submit(
        basis(3, start=6),
        job_name="sweep_3_",
        job_tags=["user", SET_TAG],
        run_config={"shots": SHOTS, "memory": True},
        start_index=6,
    )
    expected = ["user", SET_TAG, "managedjob:name:sweep", "managedjob:slice:3:6-8", _MEMORY]
    assert service.submitted[0].tags == expected
    assert job.tags() == expected
    assert job.name() == "sweep_3_"
    assert isinstance(job, JobV1)
    result = job.result()
    assert result.get_counts() == [{expected_key(i): SHOTS} for i in range(6, 9)]
    assert result.get_memory(0) == [expected_key(6)] * SHOTS
    assert result.job_id == job.job_id() == service.submitted[0].job_id()
    assert result.backend_name == "fake_runtime_backend" == target.name
    assert job.backend() is service.backend()


def test_slice_tag_without_a_start_index_records_the_count():
    service = FakeRuntimeService()
    target = IBMRuntimeTarget(service.backend())
    submit(target, basis(2), job_name="a_b_12_", shots=SHOTS)
    assert service.submitted[0].tags == [
        "user",
        SET_TAG,
        "managedjob:name:a_b",
        "managedjob:slice:12:2",
    ]


def test_a_name_without_an_index_adds_no_slice_tags_and_long_names_are_cut():
    service = FakeRuntimeService()
    target = IBMRuntimeTarget(service.backend())
    submit(target, basis(1), job_name="free-form name", job_tags=("t",))
    assert service.submitted[0].tags == ["t"]
    submit(target, basis(1), job_name="n" * 300 + "_0_", job_tags=("t",))
    name_tag = service.submitted[1].tags[1]
    assert name_tag == "managedjob:name:" + "n" * 100


def test_tags_must_be_strings():
    target = IBMRuntimeTarget(FakeRuntimeService().backend())
    with pytest.raises(InvalidInputError, match=r"job_tags\[1\]"):
        submit(target, basis(1), job_tags=("ok", 3))  # type: ignore[arg-type]


def test_batch_mode_opens_one_batch_and_close_ends_it():
    service = FakeRuntimeService()
    with IBMRuntimeTarget(service.backend()) as target:
        assert target.mode == "batch"
        assert target.batch is None  # nothing is opened before the first job
        submit(target, basis(1))
        submit(target, basis(1), job_name="sweep_1_")
        batch = target.batch
        assert isinstance(batch, FakeRuntimeBatch)
        assert [job.session_id for job in service.submitted] == [batch.session_id] * 2
        target.close()
        assert target.batch is None
        assert batch.status() == "Closed"
        submit(target, basis(1), job_name="sweep_2_")
        reopened = target.batch
        assert reopened is not None and reopened.session_id != batch.session_id
    assert reopened.status() == "Closed"
    assert service.submitted[2].session_id == reopened.session_id


def test_job_mode_and_user_sessions():
    service = FakeRuntimeService()
    backend = service.backend()
    job_mode = IBMRuntimeTarget(backend, mode="job")
    submit(job_mode, basis(1))
    assert job_mode.batch is None
    assert service.submitted[-1].session_id is None

    session = FakeRuntimeSession(backend=backend)
    in_session = resolve_target(session)
    assert isinstance(in_session, IBMRuntimeTarget)
    assert in_session.mode == "session"
    assert in_session.name == backend.name
    submit(in_session, basis(1))
    in_session.close()
    assert session.active  # the user's session is the user's to close
    assert service.submitted[-1].session_id == session.session_id


def test_closed_user_batch_error_passes_through_unchanged():
    service = FakeRuntimeService()
    batch = FakeRuntimeBatch(backend=service.backend())
    batch.close()
    with pytest.raises(IBMRuntimeError, match="The session is closed"):
        submit(IBMRuntimeTarget(batch), basis(1))


def test_concurrent_submissions_keep_their_own_tags():
    service = FakeRuntimeService()
    target = IBMRuntimeTarget(service.backend())
    barrier = threading.Barrier(6)

    def one(index: int) -> IBMRuntimeJobV1:
        barrier.wait(timeout=30)
        return submit(target, basis(1, start=index), job_name=f"par_{index}_", shots=SHOTS)

    with ThreadPoolExecutor(max_workers=6) as pool:
        jobs = list(pool.map(one, range(6)))
    for index, job in enumerate(jobs):
        runtime_tags = job.runtime_job.tags
        assert f"managedjob:slice:{index}:1" in runtime_tags
        assert [t for t in runtime_tags if t.startswith("managedjob:slice")] == [
            f"managedjob:slice:{index}:1"
        ]
        assert job.result().get_counts() == {expected_key(index): SHOTS}
    assert len({job.runtime_job.session_id for job in jobs}) == 1


@pytest.mark.parametrize("option", ["parameter_binds", "noise_model", "rep_delay"])
def test_unsupported_run_options_are_named_before_submission(option):
    service = FakeRuntimeService()
    target = IBMRuntimeTarget(service.backend())
    with pytest.raises(UnsupportedRunOptionError) as caught:
        target.check_run_config({option: 1})
    assert caught.value.option == option
    with pytest.raises(UnsupportedRunOptionError):
        submit(target, basis(1), **{option: 1})
    assert service.submit_calls == 0


def test_seeds_give_reproducible_memory_on_the_fake():
    target = IBMRuntimeTarget(FakeRuntimeService().backend())
    bell = QuantumCircuit(2, 2, name="bell")
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    memories = [
        submit(target, [bell], shots=SHOTS, memory=True, seed_simulator=seed)
        .result()
        .get_memory(0)
        for seed in (3, 3, 4)
    ]
    assert memories[0] == memories[1] != memories[2]
    assert set(memories[0]) == {"00", "11"}


def test_sampler_options_reach_each_jobs_sampler():
    service = FakeRuntimeService()
    target = IBMRuntimeTarget(
        service.backend(), sampler_options={"twirling": {"enable_gates": True}}
    )
    submit(target, basis(1))
    assert service.submitted[0].inputs["options"]["twirling"] == {"enable_gates": True}
    assert service.submitted[0].tags[-1] == "managedjob:slice:0:1"


def test_circuits_a_sampler_cannot_run_are_named():
    target = IBMRuntimeTarget(FakeRuntimeService().backend())
    unmeasured = QuantumCircuit(1, 1, name="quiet")
    with pytest.raises(InvalidInputError, match=r"circuit 1 \('quiet'\) measures nothing"):
        target.check_circuits([basis_circuit(0), unmeasured])


# --- statuses ----------------------------------------------------------------------------


def test_runtime_status_words_become_job_statuses(clock: FakeClock):
    service = FakeRuntimeService(
        clock=clock, run_time=10.0, failing_jobs={1}, failure_message="qubit 3 dropped"
    )
    target = IBMRuntimeTarget(service.backend())
    good = submit(target, basis(1), shots=SHOTS)
    bad = submit(target, basis(1), job_name="sweep_1_")
    doomed = submit(target, basis(1), job_name="sweep_2_")
    assert good.runtime_job.status() == "QUEUED"
    assert [job.status() for job in (good, bad, doomed)] == [JobStatus.QUEUED] * 3
    assert doomed.cancel() is None
    assert doomed.status() is JobStatus.CANCELLED
    clock.advance(6.0)
    assert good.runtime_job.status() == "RUNNING"
    assert good.status() is JobStatus.RUNNING
    clock.advance(4.0)
    assert good.status() is JobStatus.DONE
    assert bad.runtime_job.status() == "ERROR"
    assert bad.status() is JobStatus.ERROR
    assert "qubit 3 dropped" in bad.error_message()
    assert good.error_message() is None
    assert doomed.error_message() is None
    with pytest.raises(JobError, match="qubit 3 dropped"):
        bad.result()
    with pytest.raises(JobError, match="cancelled"):
        doomed.result()
    assert good.result().get_counts() == {expected_key(0): SHOTS}


# --- pending-job limit and quota ---------------------------------------------------------


def test_error_3458_is_a_job_limit_error_and_the_oldest_pending_job_is_waited_for(
    clock: FakeClock,
):
    service = FakeRuntimeService(clock=clock, run_time=10.0, max_pending_jobs=1)
    target = IBMRuntimeTarget(service.backend())
    first = submit(target, basis(1), shots=SHOTS)
    with pytest.raises(IBMJobLimitError) as caught:
        submit(target, basis(1), job_name="sweep_1_")
    error = caught.value
    assert isinstance(error, JobLimitError)
    assert error.code == 3458
    assert error.limit == 1
    assert "sweep_1_" in str(error) and "3458" in str(error)
    assert isinstance(error.__cause__, IBMRuntimeError)
    assert service.refusals == [3458]

    oldest = target.oldest_pending_job()
    assert isinstance(oldest, IBMRuntimeJobV1)
    assert oldest.job_id() == first.job_id()
    assert service.jobs_calls[-1] == {
        "limit": 1,
        "skip": 0,
        "backend_name": None,
        "pending": True,
        "job_tags": None,
        "session_id": None,
        "descending": False,
    }
    assert wait_for_final_state(oldest, clock=clock)
    assert clock.monotonic() >= 10.0
    assert oldest.status() is JobStatus.DONE
    assert target.oldest_pending_job() is None
    second = submit(target, basis(1, start=1), job_name="sweep_1_", shots=SHOTS)
    assert second.result().get_counts() == {expected_key(1): SHOTS}


def test_job_manager_waits_out_the_pending_job_limit(clock: FakeClock):
    service = FakeRuntimeService(clock=clock, run_time=10.0, max_pending_jobs=2)
    circuits = basis(10)
    with in_order(clock=clock) as manager:
        job_set = manager.run(
            circuits, backend=service.backend(), max_experiments_per_job=2, shots=SHOTS
        )
        results = job_set.results()
    assert [results.get_counts(i) for i in range(10)] == [
        {expected_key(i): SHOTS} for i in range(10)
    ]
    assert len(service.submitted) == 5
    assert 3458 in service.refusals
    assert set(service.refusals) == {3458}
    jobs = service.submitted
    for later, earlier in zip(jobs[2:], jobs, strict=False):
        # Never more than two pending: each job waited for the one two before it.
        assert later.submitted_at >= earlier.finish_time


def test_error_4317_is_not_retried_and_says_so(clock: FakeClock):
    service = FakeRuntimeService(clock=clock, monthly_quota_jobs=1)
    target = IBMRuntimeTarget(service.backend())
    submit(target, basis(1))
    with pytest.raises(IBMRuntimeQuotaError) as caught:
        submit(target, basis(1), job_name="sweep_1_")
    assert not isinstance(caught.value, JobLimitError)
    assert caught.value.code == 4317
    message = str(caught.value)
    assert "monthly quota" in message and "not retried" in message and "4317" in message

    with in_order(clock=clock) as manager:
        job_set = manager.run(basis(4), backend=service.backend(), max_experiments_per_job=2)
        job_set.results()
        errors = job_set.error_messages()
    assert service.submit_calls == 4  # each refused job was tried exactly once
    assert service.refusals == [4317, 4317, 4317]
    assert job_set.statuses() == [None, None]
    assert all(isinstance(m.submit_error, IBMRuntimeQuotaError) for m in job_set.managed_jobs())
    assert errors is not None and errors.count("not retried") == 2
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("message", "kind", "limit"),
    [
        (
            "Failed to run program: '400 Client Error: Bad Request for url: https://x/jobs. "
            "You have reached the limit of 3 pending jobs. Please wait for a job to complete "
            "or cancel one before submitting anything new., Error code: 3458.'",
            IBMJobLimitError,
            3,
        ),
        (
            "Error submitting job: '400 Client Error: Bad Request for url: https://x/Jobs. "
            "Reached maximum number (5) of concurrent jobs, Error code: 3458.'",
            IBMJobLimitError,
            5,
        ),
        ('Failed to run program: 400. {"errors": [{"code": 3458}]}', IBMJobLimitError, None),
        (
            "Failed to run program: '403 Client Error. Monthly quota exceeded, Error code: 4317.'",
            IBMRuntimeQuotaError,
            None,
        ),
        ("Failed to run program: 'Error code: 1234.'", None, None),
        ("job 3458 of 4317 failed to validate", None, None),
    ],
)
def test_service_refusals_are_read_from_the_client_message(message, kind, limit):
    translated = _translate_submit_error(IBMRuntimeError(message), "s_0_", 2)
    if kind is None:
        assert translated is None
        return
    assert type(translated) is kind
    if kind is IBMJobLimitError:
        assert translated.limit == limit


def test_a_refusal_hidden_in_the_context_is_found():
    """qiskit-ibm-runtime raises its errors ``from None``: the HTTP error is the context."""
    try:
        try:
            raise ConnectionError("400 Client Error, Error code: 3458.")
        except ConnectionError:
            raise IBMRuntimeError("Failed to run program") from None
    except IBMRuntimeError as error:
        translated = _translate_submit_error(error, "s_0_", 1)
    assert isinstance(translated, IBMJobLimitError)


# --- retrieval -----------------------------------------------------------------------------


def run_set(
    service: FakeRuntimeService, count: int, per_job: int, name: str = "sweep", **kwargs: Any
):
    with in_order(clock=service.clock) as manager:
        job_set = manager.run(
            basis(count),
            backend=service.backend(),
            name=name,
            max_experiments_per_job=per_job,
            shots=SHOTS,
            job_tags=["campaign"],
            **kwargs,
        )
        job_set.jobs()  # wait for the submissions
    return job_set


def test_finder_pages_past_one_page_and_places_every_job():
    service = FakeRuntimeService()
    other = run_set(service, 3, 1, name="other")
    job_set = run_set(service, 7, 2)
    set_tag = f"ibmq_jobset_{job_set.job_set_id()}_"
    finder = IBMRuntimeJobFinder(service, page_size=3)
    service.jobs_calls.clear()
    found = finder.find_job_set_jobs(set_tag)
    assert [call["skip"] for call in service.jobs_calls] == [0, 3]
    assert {call["limit"] for call in service.jobs_calls} == {3}
    assert all(call["descending"] is False for call in service.jobs_calls)
    assert all(call["job_tags"] == [set_tag] for call in service.jobs_calls)
    assert len(found) == 4
    assert other.job_set_id() != job_set.job_set_id()
    ordered = sorted(found, key=lambda item: item.index)
    assert [item.index for item in ordered] == [0, 1, 2, 3]
    assert [item.experiments_count for item in ordered] == [2, 2, 2, 1]
    assert {item.set_name for item in ordered} == {"sweep"}
    assert [item.job.name() for item in ordered] == [f"sweep_{i}_" for i in range(4)]
    assert all(set_tag in item.tags and "campaign" in item.tags for item in ordered)
    original = job_set.results()
    start = 0
    for item in ordered:
        # A fresh wrapper: the circuits come back from the service's inputs.
        result = item.job.result()
        assert [exp.header["name"] for exp in result.results] == [
            f"basis_{i}" for i in range(start, start + item.experiments_count)
        ]
        for offset in range(item.experiments_count):
            assert result.get_counts(offset) == original.get_counts(start + offset)
        start += item.experiments_count


def test_finder_stops_on_an_empty_page_after_full_ones():
    service = FakeRuntimeService()
    job_set = run_set(service, 4, 1)
    finder = IBMRuntimeJobFinder(service.backend(), page_size=2)
    found = finder.find_job_set_jobs(f"ibmq_jobset_{job_set.job_set_id()}_")
    assert sorted(item.index for item in found) == [0, 1, 2, 3]
    assert [call["skip"] for call in service.jobs_calls[-3:]] == [0, 2, 4]


def test_failed_and_cancelled_members_report_without_breaking_retrieval(clock: FakeClock):
    service = FakeRuntimeService(
        clock=clock,
        run_time=10.0,
        failing_jobs={"managedjob:slice:1:2-3", "managedjob:slice:1:2"},
        failure_message="readout calibration failed",
    )
    job_set = run_set(service, 6, 2)
    job_set.jobs()[2].cancel()
    finder = IBMRuntimeJobFinder(service)
    found = sorted(
        finder.find_job_set_jobs(f"ibmq_jobset_{job_set.job_set_id()}_"),
        key=lambda item: item.index,
    )
    jobs = [item.job for item in found]
    assert jobs[0].result().get_counts() == [{expected_key(i): SHOTS} for i in (0, 1)]
    assert [job.status() for job in jobs] == [JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED]
    assert "readout calibration failed" in jobs[1].error_message()
    assert jobs[0].error_message() is None
    assert jobs[2].error_message() is None
    with pytest.raises(JobError, match="readout calibration failed"):
        jobs[1].result()
    with pytest.raises(JobError, match="cancelled"):
        jobs[2].result()
    # The set itself keeps the good experiments and explains the failure.
    results = job_set.results()
    assert not results.success
    assert results.get_counts(1) == {expected_key(1): SHOTS}
    assert "readout calibration failed" in job_set.error_messages()


def test_jobs_without_slice_tags_are_left_out(caplog: pytest.LogCaptureFixture):
    service = FakeRuntimeService()
    stray = FakeRuntimeSampler(
        mode=service.backend(), options={"environment": {"job_tags": [SET_TAG]}}
    ).run([basis_circuit(0)])
    placed = submit(IBMRuntimeTarget(service.backend()), basis(1))
    with caplog.at_level(logging.WARNING, logger="managedjob.targets.ibm_runtime"):
        found = IBMRuntimeJobFinder(service).find_job_set_jobs(SET_TAG)
    assert [item.job.job_id() for item in found] == [placed.job_id()]
    assert stray.job_id() in caplog.text


def test_finder_rejects_what_cannot_list_runtime_jobs():
    with pytest.raises(InvalidInputError, match="cannot list"):
        IBMRuntimeJobFinder(BasicSimulator())
    with pytest.raises(InvalidInputError, match="cannot list"):
        IBMRuntimeJobFinder(Batch(backend=FakeManilaV2()))
    with pytest.raises(InvalidInputError, match="page_size"):
        IBMRuntimeJobFinder(FakeRuntimeService(), page_size=0)
    batch = FakeRuntimeBatch(backend=FakeRuntimeService().backend())
    assert IBMRuntimeJobFinder(batch).service is batch.service


def test_retrieved_results_keep_the_layout_of_loose_clbits():
    loose = QuantumCircuit(QuantumRegister(2, "q"), name="loose")
    loose.add_bits([Clbit()])
    loose.add_register(ClassicalRegister(1, "a"))
    loose.x(0)
    loose.measure(0, 0)
    loose.measure(1, 1)
    service = FakeRuntimeService()
    submitted = submit(IBMRuntimeTarget(service.backend()), [loose], shots=SHOTS)
    (found,) = IBMRuntimeJobFinder(service).find_job_set_jobs(SET_TAG)
    expected = BasicSimulator().run(loose, shots=SHOTS).result().get_counts()
    assert submitted.result().get_counts() == expected
    assert found.job.result().get_counts() == expected
    assert found.job.result().results[0].header["creg_sizes"] == [["a", 1]]


def test_retrieve_job_by_id(clock: FakeClock):
    service = FakeRuntimeService(clock=clock)
    target = IBMRuntimeTarget(service.backend())
    job = submit(target, basis(2), job_name="named_5_", shots=SHOTS)
    again = target.retrieve_job(job.job_id())
    assert isinstance(again, IBMRuntimeJobV1)
    assert again.name() == "named_5_"
    assert again.result().get_counts() == job.result().get_counts()
    assert again.creation_date == job.creation_date
    assert target.retrieve_job("no-such-job") is None
    finder = IBMRuntimeJobFinder(service)
    by_finder = finder.retrieve_job(job.job_id())
    assert isinstance(by_finder, IBMRuntimeJobV1)
    assert by_finder.name() == "named_5_"
    assert finder.retrieve_job("no-such-job") is None


def test_update_tags_and_name_keep_managedjob_tags():
    service = FakeRuntimeService()
    job = submit(IBMRuntimeTarget(service.backend()), basis(1), job_name="first_0_")
    own = ["managedjob:name:first", "managedjob:slice:0:1"]
    assert job.update_tags(replacement_tags=["fresh", SET_TAG]) == ["fresh", SET_TAG, *own]
    assert job.update_tags(additional_tags=["more"], removal_tags=["fresh"]) == [
        SET_TAG,
        "more",
        *own,
    ]
    with pytest.raises(InvalidInputError):
        job.update_tags()
    assert job.update_name("second_0_") == "second_0_"
    assert job.name() == "second_0_"
    (found,) = IBMRuntimeJobFinder(service).find_job_set_jobs(SET_TAG)
    assert found.set_name == "second"
    assert found.job.name() == "second_0_"
    assert service.submitted[0].tags == found.job.tags()


# --- through the job manager -------------------------------------------------------------


def test_job_manager_tags_every_job_of_the_set(clock: FakeClock):
    service = FakeRuntimeService(clock=clock, run_time=5.0)
    with JobManager(clock=clock, retry_policy=RetryPolicy(initial_delay=0.1)) as manager:
        job_set = manager.run(
            basis(5),
            backend=service.backend(),
            name="tagged",
            max_experiments_per_job=2,
            job_tags=["u1", "u2"],
            shots=SHOTS,
        )
        counts = [job_set.results().get_counts(i) for i in range(5)]
    assert counts == [{expected_key(i): SHOTS} for i in range(5)]
    set_tag = f"ibmq_jobset_{job_set.job_set_id()}_"
    jobs = job_set.jobs()
    assert all(isinstance(job, IBMRuntimeJobV1) for job in jobs)
    for index, (job, runtime_job) in enumerate(zip(jobs, service.submitted, strict=True)):
        assert job.job_id() == runtime_job.job_id()
        assert runtime_job.tags[:3] == ["u1", "u2", set_tag]
        assert "managedjob:name:tagged" in runtime_job.tags
        assert any(tag.startswith(f"managedjob:slice:{index}:") for tag in runtime_job.tags)
    assert len({job.session_id for job in service.submitted}) == 1


# --- local testing mode ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def manila_basis() -> list[QuantumCircuit]:
    return transpile(basis(4), FakeManilaV2(), seed_transpiler=11)


@pytest.mark.parametrize("mode_class", [Batch, Session], ids=["batch", "session"])
def test_local_batch_and_session(mode_class, manila_basis):
    mode = mode_class(backend=FakeManilaV2())
    target = IBMRuntimeTarget(mode, sampler_options=noiseless_manila())
    assert target.mode == "session"
    assert target.name == "fake_manila"
    assert target.limits().max_executions == DEFAULT_MAX_EXECUTIONS
    job = submit(target, manila_basis, shots=SHOTS, seed_simulator=5)
    assert type(job.runtime_job).__name__ == "LocalRuntimeJob"
    assert job.result().get_counts() == [{expected_key(i): SHOTS} for i in range(4)]
    assert job.status() is JobStatus.DONE
    assert job.tags()[-1] == "managedjob:slice:0:4"
    # Local mode keeps no job list and no history.
    assert target.oldest_pending_job() is None
    assert target.retrieve_job(job.job_id()) is None
    mode.close()


def test_local_batch_through_the_job_manager(manila_basis):
    target = IBMRuntimeTarget(Batch(backend=FakeManilaV2()), sampler_options=noiseless_manila())
    with JobManager() as manager:
        job_set = manager.run(manila_basis, backend=target, max_experiments_per_job=3, shots=SHOTS)
        results = job_set.results()
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    assert len(job_set.jobs()) == 2


def test_local_batch_with_noise_keeps_the_ideal_outcome_first(manila_basis):
    with JobManager() as manager:
        job_set = manager.run(manila_basis, backend=Batch(backend=FakeManilaV2()), shots=SHOTS)
        results = job_set.results()
    for i in range(4):
        counts = results.get_counts(i)
        assert max(counts, key=counts.get) == expected_key(i)
        assert sum(counts.values()) == SHOTS


def test_a_slice_submitted_twice_is_found_newest_first():
    service = FakeRuntimeService(failing_jobs={0})
    target = IBMRuntimeTarget(service.backend())
    first = submit(target, basis(2), job_name="again_0_")
    second = submit(target, basis(2), job_name="again_0_")
    found = IBMRuntimeJobFinder(service, page_size=1).find_job_set_jobs(SET_TAG)
    assert [item.job.job_id() for item in found] == [second.job_id(), first.job_id()]
    assert [item.index for item in found] == [0, 0]
    assert [item.job.status() for item in found] == [JobStatus.DONE, JobStatus.ERROR]


# --- end to end through the job manager ---------------------------------------------


def test_retrieve_job_set_from_the_service_alone(clock: FakeClock) -> None:
    from managedjob import JobManager

    service = FakeRuntimeService(clock=clock, run_time=2.0, failing_jobs={1})
    backend = service.backend()
    with in_order(clock=clock, journal=False) as first:
        job_set = first.run(
            basis(7),
            backend,
            name="remote",
            max_experiments_per_job=3,
            job_tags=["mine"],
            shots=SHOTS,
        )
        assert len(job_set.jobs()) == 3
    with JobManager(clock=clock, journal=False) as second:
        found = second.retrieve_job_set(job_set.job_set_id(), service)
        assert found is not job_set
        assert found.name() == "remote"
        assert found.tags() == ["mine"]
        assert [(m.start_index, m.end_index) for m in found.managed_jobs()] == [
            (0, 2),
            (3, 5),
            (6, 6),
        ]
        with pytest.warns(UserWarning, match="experiments 3-5"):
            results = found.results()
        assert not results.success
        assert results.get_counts(6) == {expected_key(6): SHOTS}
        assert results.get_counts("basis_1") == {expected_key(1): SHOTS}
        assert found.statuses()[1] is JobStatus.ERROR
        assert "Experiments 3-5, job index=1" in (found.error_messages() or "")
        # The same set, found through the backend as the provider.
        again = second.retrieve_job_set(job_set.job_set_id(), backend, refresh=True)
        assert [m.job.job_id() for m in again.managed_jobs()] == [
            m.job.job_id() for m in found.managed_jobs()
        ]
