"""The IBM runtime path over HTTP: the real qiskit-ibm-runtime client against a loopback service.

The loopback service (``tests/ibm_loopback``) answers the IBM Quantum
Platform REST API on 127.0.0.1; these tests record what
``QiskitRuntimeService`` and then managedjob do with its normal answers and
with each fault it can inject. Where managedjob's behaviour today is a known
gap of issue 12, the test asserts what happens now and says so in a comment,
so that the assertion can be flipped when the gap is closed.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from typing import Any

import pytest
import requests
from qiskit import QuantumCircuit, transpile
from qiskit.providers import JobStatus
from qiskit_ibm_runtime import Batch, QiskitRuntimeService, SamplerV2
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import (
    IBMRuntimeError,
    RuntimeInvalidStateError,
    RuntimeJobMaxTimeoutError,
)
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from helpers import basis_circuit, expected_key, in_order, wait_until
from ibm_loopback import (
    API_ROOT,
    MAX_TIME_CODE,
    PENDING_LIMIT_CODE,
    QUOTA_CODE,
    RATE_LIMIT_CODE,
    SESSION_CLOSED_CODE,
    LoopbackService,
)
from managedjob import InvalidInputError, JobManager
from managedjob.targets import IBMRuntimeTarget
from managedjob.testing import FakeClock

pytestmark = pytest.mark.filterwarnings(
    "ignore:The SamplerV2 class is deprecated:DeprecationWarning"
)

BACKEND = "fake_manila"
SHOTS = 64
#: The warning the client gives before submitting when the instance's usage limit is reached.
USAGE_WARNING = "ignore:There is currently no more time available:UserWarning"


@pytest.fixture
def backend(runtime_service: QiskitRuntimeService) -> Any:
    return runtime_service.backend(BACKEND)


def isa(backend: Any, count: int, start: int = 0) -> list[QuantumCircuit]:
    circuits = [basis_circuit(i) for i in range(start, start + count)]
    return transpile(circuits, backend, seed_transpiler=7)


def counts_of(primitive_result: Any) -> list[dict[str, int]]:
    return [pub.data.c.get_counts() for pub in primitive_result]


def error_chain(error: BaseException | None) -> list[BaseException]:
    chain: list[BaseException] = []
    while error is not None and len(chain) < 8:
        chain.append(error)
        error = error.__cause__ or error.__context__
    return chain


def slice_tag(index: int) -> str:
    return f"managedjob:slice:{index}:"


def jobs_of_slice(server: LoopbackService, set_tag: str, index: int) -> list[Any]:
    return [
        job
        for job in server.jobs_tagged(set_tag)
        if any(tag.startswith(slice_tag(index)) for tag in job.tags)
    ]


def release_on_refusal(server: LoopbackService, code: int) -> threading.Thread:
    """Release held jobs once the service has refused a job with ``code``."""

    def release() -> None:
        try:
            wait_until(lambda: code in server.refusals, f"a refusal with code {code}")
        finally:
            server.release()

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    return thread


# --- the service and the client ----------------------------------------------------------


def test_the_client_connects_through_iam_and_lists_the_backends(ibm_loopback, runtime_service):
    assert runtime_service.active_instance() == ibm_loopback.crn
    assert [b.name for b in runtime_service.backends()] == [BACKEND]
    backend = runtime_service.backend(BACKEND)
    assert backend.num_qubits == 5
    status = backend.status()
    assert status.operational and status.status_msg == "active"
    assert backend.target.num_qubits == 5  # built from configuration and properties
    assert ibm_loopback.count("POST", "/iam/identity/token") >= 1
    assert ibm_loopback.count("POST", "/global-search/v3/resources/search") == 1
    assert ibm_loopback.count("GET", "/backends/{name}/configuration") == 1
    assert all(status != 401 for *_, status in ibm_loopback.requests)


def test_a_wrong_api_key_is_refused(ibm_loopback):
    arguments = {**ibm_loopback.client_arguments(), "token": "not-the-key"}
    with pytest.raises(Exception, match="Unable to retrieve instances"):
        QiskitRuntimeService(**arguments)
    assert ibm_loopback.count("GET", "/backends") == 0


def test_the_server_binds_to_loopback_only_and_stops_by_itself():
    with LoopbackService([FakeManilaV2()], lifetime=0.2) as server:
        assert server.url.startswith("http://127.0.0.1:")
        wait_until(server.stopped, "the server to stop after its lifetime", timeout=5)


def test_the_server_stops_after_its_request_budget():
    with LoopbackService([FakeManilaV2()], max_requests=1) as server:
        url = server.url + API_ROOT + "/backends"
        with pytest.raises(urllib.error.HTTPError) as first:
            urllib.request.urlopen(url, timeout=5)
        first.value.close()
        assert first.value.code == 401  # no bearer token
        with pytest.raises(urllib.error.HTTPError) as second:
            urllib.request.urlopen(url, timeout=5)
        second.value.close()
        assert second.value.code == 503  # over the budget
        wait_until(server.stopped, "the server to stop after its budget", timeout=5)


def test_the_service_can_sample_with_the_device_noise(monkeypatch):
    with LoopbackService([FakeManilaV2()], noise=True) as server:
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)
        backend = QiskitRuntimeService(**server.client_arguments()).backend(BACKEND)
        job = SamplerV2(mode=backend).run(isa(backend, 1, start=5), shots=400)
        (counts,) = counts_of(job.result())
    assert sum(counts.values()) == 400
    assert max(counts, key=counts.__getitem__) == expected_key(5)
    assert len(counts) > 1  # readout errors of the device


def test_sampler_counts_come_back_over_http(ibm_loopback, backend):
    circuits = isa(backend, 4)
    job = SamplerV2(mode=backend).run(circuits, shots=SHOTS)
    assert counts_of(job.result()) == [{expected_key(i): SHOTS} for i in range(4)]
    assert job.status() == "DONE"
    assert ibm_loopback.count("POST", "/jobs") == 1
    assert len(ibm_loopback.jobs) == 1
    stored = ibm_loopback.jobs[0]
    assert stored.backend == BACKEND and stored.program_id == "sampler"
    assert job.metrics()["usage"]["quantum_seconds"] > 0


def test_jobs_are_listed_by_tags_pending_backend_limit_and_skip(
    ibm_loopback, backend, runtime_service
):
    circuit = isa(backend, 1)
    ids = []
    for tags in (["set-a", "first"], ["set-a"], ["set-b"]):
        sampler = SamplerV2(mode=backend)
        sampler.options.environment.job_tags = tags
        ids.append(sampler.run(circuit, shots=8).job_id())
    wait_until(lambda: not any(job.pending for job in ibm_loopback.jobs), "the jobs to run")
    ibm_loopback.hold()
    sampler = SamplerV2(mode=backend)
    sampler.options.environment.job_tags = ["set-a", "held"]
    held = sampler.run(circuit, shots=8)

    def found(**filters: Any) -> list[str]:
        return [job.job_id() for job in runtime_service.jobs(**filters)]

    assert found(job_tags=["set-a"]) == [held.job_id(), ids[1], ids[0]]  # newest first
    assert found(job_tags=["set-a"], descending=False) == [ids[0], ids[1], held.job_id()]
    assert found(job_tags=["set-a", "first"]) == [ids[0]]
    assert found(job_tags=["set-a"], limit=1, skip=1) == [ids[1]]
    assert found(pending=True) == [held.job_id()]
    assert found(pending=False, descending=False) == ids
    assert found(backend_name=BACKEND, limit=None) == [held.job_id(), *reversed(ids)]
    assert found(backend_name="other") == []
    assert runtime_service.job(ids[2]).tags == ["set-b"]

    held.update_tags(["set-a", "renamed"])
    assert sorted(ibm_loopback.job(held.job_id()).tags) == ["renamed", "set-a"]
    held.cancel()
    assert held.status() == "CANCELLED"
    with pytest.raises(RuntimeInvalidStateError):
        held.cancel()  # 409: a cancelled job cannot be cancelled again


def test_batches_are_created_closed_and_described(ibm_loopback, backend, runtime_service):
    circuits = isa(backend, 2)
    with Batch(backend=backend) as batch:
        job = SamplerV2(mode=batch).run(circuits, shots=SHOTS)
        assert counts_of(job.result()) == [{expected_key(i): SHOTS} for i in range(2)]
        details = batch.details()
        assert details["mode"] == "batch" and details["backend_name"] == BACKEND
        assert details["accepting_jobs"] is True
    assert job.session_id == batch.session_id
    (session,) = ibm_loopback.sessions.values()
    assert session.mode == "batch" and not session.accepting_jobs  # closed on leaving
    assert ibm_loopback.count("PATCH", "/sessions/{id}") == 1
    usage = runtime_service.usage()
    assert usage["usage_consumed_seconds"] > 0
    assert usage["usage_remaining_seconds"] == pytest.approx(
        usage["usage_limit_seconds"] - usage["usage_consumed_seconds"]
    )


# --- managedjob over HTTP ----------------------------------------------------------------


def test_job_manager_runs_in_one_batch_and_finds_the_set_again_by_tags(
    ibm_loopback, backend, runtime_service
):
    circuits = isa(backend, 6)
    with JobManager(journal=False) as manager:
        job_set = manager.run(
            circuits, backend=backend, name="sweep", max_experiments_per_job=2, shots=SHOTS
        )
        results = job_set.results()
        assert [results.get_counts(i) for i in range(6)] == [
            {expected_key(i): SHOTS} for i in range(6)
        ]
        set_id = job_set.job_set_id()
    assert ibm_loopback.count("POST", "/jobs") == 3
    (batch,) = ibm_loopback.sessions.values()
    assert batch.mode == "batch"
    assert {job.session_id for job in ibm_loopback.jobs} == {batch.id}
    # The batch the runtime target opened outlives the manager and its job set: it is
    # closed only when the target is garbage collected.
    assert batch.accepting_jobs and ibm_loopback.count("PATCH", "/sessions/{id}") == 0

    with JobManager(journal=False) as fresh:
        found = fresh.retrieve_job_set(set_id, provider=runtime_service)
        again = found.results()
    assert found.name() == "sweep"
    assert [again.get_counts(i) for i in range(6)] == [{expected_key(i): SHOTS} for i in range(6)]
    assert ibm_loopback.count("POST", "/jobs") == 3  # found, not run again
    listed = [method for method, route, path, _ in ibm_loopback.requests if route == "/jobs"]
    # Three creations, a look at each slice's jobs for duplicates, one listing by tag.
    assert listed.count("POST") == 3 and listed.count("GET") == 4


# --- faults: rate limits -----------------------------------------------------------------


def test_429_on_job_creation_is_not_retried_by_the_client(ibm_loopback, backend):
    ibm_loopback.faults.rate_limit("POST", "/jobs", retry_after=1)
    with pytest.raises(IBMRuntimeError, match=RATE_LIMIT_CODE) as caught:
        SamplerV2(mode=backend).run(isa(backend, 1))
    assert ibm_loopback.count("POST", "/jobs") == 1
    assert ibm_loopback.jobs == []
    # The Retry-After header is reachable through the exception chain.
    responses = [getattr(e, "response", None) for e in error_chain(caught.value)]
    (response,) = [r for r in responses if r is not None]
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"


def test_429_on_job_creation_is_waited_out_not_failed(ibm_loopback, backend):
    ibm_loopback.faults.rate_limit("POST", "/jobs", retry_after=0)
    with in_order(journal=False) as manager:
        job_set = manager.run(
            isa(backend, 4), backend=backend, max_experiments_per_job=2, shots=SHOTS
        )
        results = job_set.results()
        statuses = job_set.statuses()
        errors = job_set.error_messages()
        attempts = [mjob._attempt for mjob in job_set.managed_jobs()]
    # The refusal is a wait of Retry-After seconds, not a failure nor a retry spent.
    assert results.success and errors is None
    assert statuses == [JobStatus.DONE, JobStatus.DONE]
    assert attempts == [0, 0]
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    assert ibm_loopback.count("POST", "/jobs") == 3  # one refused, then two created
    assert len(ibm_loopback.jobs) == 2


def test_a_creation_rate_limit_refuses_the_jobs_over_it(ibm_loopback, backend):
    ibm_loopback.faults.limit_rate("POST", "/jobs", count=2, per=60.0)
    circuit = isa(backend, 1)
    SamplerV2(mode=backend).run(circuit)
    SamplerV2(mode=backend).run(circuit)
    with pytest.raises(IBMRuntimeError, match="429") as caught:
        SamplerV2(mode=backend).run(circuit)
    (response,) = [
        e.response for e in error_chain(caught.value) if getattr(e, "response", None) is not None
    ]
    assert 58 <= int(response.headers["Retry-After"]) <= 60
    assert ibm_loopback.count("POST", "/jobs") == 3
    assert len(ibm_loopback.jobs) == 2


def test_a_creation_rate_limit_delays_the_managed_slices_over_it(ibm_loopback, backend):
    clock = FakeClock()  # the service's rate window and the manager share it
    ibm_loopback.faults.now = clock.monotonic
    ibm_loopback.faults.limit_rate("POST", "/jobs", count=2, per=60.0)
    with in_order(journal=False, clock=clock) as manager:
        job_set = manager.run(
            isa(backend, 6), backend=backend, max_experiments_per_job=2, shots=SHOTS
        )
        results = job_set.results()
        statuses = job_set.statuses()
    assert results.success
    assert statuses == [JobStatus.DONE] * 3
    assert clock.monotonic() >= 60.0  # the third creation waited for the window
    assert len(ibm_loopback.jobs) == 3


def test_429_on_a_status_read_is_retried_by_the_client_when_retry_after_is_given(
    ibm_loopback, backend
):
    ibm_loopback.hold()
    job = SamplerV2(mode=backend).run(isa(backend, 1))
    ibm_loopback.faults.rate_limit("GET", "/jobs/{id}", retry_after=0)
    assert job.status() == "QUEUED"
    assert ibm_loopback.count("GET", "/jobs/{id}") == 2  # the 429, then the retry

    ibm_loopback.faults.rate_limit("GET", "/jobs/{id}", retry_after=None)
    with pytest.raises(RequestsApiError, match="429"):
        job.status()
    assert ibm_loopback.count("GET", "/jobs/{id}") == 3  # no retry without Retry-After


def test_429_without_retry_after_on_a_status_read_during_a_managed_run(ibm_loopback, backend):
    ibm_loopback.faults.rate_limit("GET", "/jobs/{id}", retry_after=None, times=2)
    with in_order(journal=False) as manager:
        job_set = manager.run(
            isa(backend, 4), backend=backend, max_experiments_per_job=2, shots=SHOTS
        )
        results = job_set.results()
    # Status reads that fail are read again on the next poll: the run still completes.
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    assert job_set.statuses() == [JobStatus.DONE, JobStatus.DONE]
    assert ibm_loopback.count("POST", "/jobs") == 2
    assert [status for *_, status in ibm_loopback.requests].count(429) == 2


# --- faults: 5xx and lost answers --------------------------------------------------------


def test_one_503_on_a_result_download_is_absorbed(ibm_loopback, backend):
    job = SamplerV2(mode=backend).run(isa(backend, 1), shots=SHOTS)
    job.wait_for_final_state()
    ibm_loopback.faults.server_error("GET", "/jobs/{id}/results", status=503)
    assert counts_of(job.result()) == [{expected_key(0): SHOTS}]
    assert ibm_loopback.count("GET", "/jobs/{id}/results") == 2

    # The same through managedjob.
    ibm_loopback.faults.server_error("GET", "/jobs/{id}/results", status=503)
    with JobManager(journal=False) as manager:
        job_set = manager.run(isa(backend, 2), backend=backend, shots=SHOTS)
        results = job_set.results()
    assert [results.get_counts(i) for i in range(2)] == [
        {expected_key(i): SHOTS} for i in range(2)
    ]
    assert ibm_loopback.count("GET", "/jobs/{id}/results") == 4


def test_a_502_after_creation_makes_the_client_post_again(ibm_loopback, backend):
    ibm_loopback.faults.drop_response(status=502)
    job = SamplerV2(mode=backend).run(isa(backend, 1), shots=SHOTS)
    # The client re-POSTs by itself: two jobs exist, the caller holds the second.
    assert ibm_loopback.count("POST", "/jobs") == 2
    first, second = ibm_loopback.jobs
    assert job.job_id() == second.id
    wait_until(lambda: not first.pending, "the duplicate to run")
    assert first.status == "Completed"  # the duplicate runs (and is billed)


def test_a_502_after_creation_leaves_no_duplicate_of_a_managed_slice(
    ibm_loopback, backend, runtime_service
):
    ibm_loopback.hold()  # the jobs stay queued until the duplicate is dealt with
    ibm_loopback.faults.drop_response(status=502)
    with in_order(journal=False) as manager:
        job_set = manager.run(
            isa(backend, 4), backend=backend, max_experiments_per_job=2, shots=SHOTS
        )
        job_set.managed_jobs()[1].future.result(timeout=30)  # both submitted
        ibm_loopback.release()
        results = job_set.results()
        report = job_set.report()
        set_tag = next(tag for tag in job_set.managed_jobs()[0].job.tags() if "jobset" in tag)
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    # The client posted slice 0 twice; the first job is cancelled, the newest kept.
    first, second = jobs_of_slice(ibm_loopback, set_tag, 0)
    assert len(jobs_of_slice(ibm_loopback, set_tag, 1)) == 1
    assert job_set.managed_jobs()[0].job.job_id() == second.id
    assert first.status == "Cancelled"
    assert f"cancelled duplicate jobs: {first.id}" in report

    # Found again by its tags, the set takes the newest job of the slice.
    with JobManager(journal=False) as fresh:
        found = fresh.retrieve_job_set(job_set.job_set_id(), provider=runtime_service)
        assert len(found.managed_jobs()) == 2
        assert found.managed_jobs()[0].job.job_id() == second.id
        again = found.results()
    assert [again.get_counts(i) for i in range(4)] == [{expected_key(i): SHOTS} for i in range(4)]


def test_a_dropped_connection_after_creation_fails_the_call_but_the_job_runs(
    ibm_loopback, backend, runtime_service
):
    ibm_loopback.faults.drop_response(status=None)
    sampler = SamplerV2(mode=backend)
    sampler.options.environment.job_tags = ["lost-answer"]
    with pytest.raises(IBMRuntimeError, match="Connection aborted") as caught:
        sampler.run(isa(backend, 1), shots=SHOTS)
    chain = error_chain(caught.value)
    assert any(isinstance(e, requests.exceptions.ConnectionError) for e in chain)
    assert ibm_loopback.count("POST", "/jobs") == 1  # not retried
    (found,) = runtime_service.jobs(job_tags=["lost-answer"])
    assert counts_of(found.result()) == [{expected_key(0): SHOTS}]


def test_a_dropped_connection_finds_the_slices_job_instead_of_failing(ibm_loopback, backend):
    ibm_loopback.faults.drop_response(status=None)
    with in_order(journal=False) as manager:
        job_set = manager.run(
            isa(backend, 4), backend=backend, max_experiments_per_job=2, shots=SHOTS
        )
        results = job_set.results()
        statuses = job_set.statuses()
        errors = job_set.error_messages()
        set_tag = next(tag for tag in job_set.managed_jobs()[1].job.tags() if "jobset" in tag)
    # The call failed, but the service had made the job: it is followed, not made again.
    assert statuses == [JobStatus.DONE, JobStatus.DONE] and errors is None
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    (only,) = jobs_of_slice(ibm_loopback, set_tag, 0)
    assert job_set.managed_jobs()[0].job.job_id() == only.id
    assert ibm_loopback.count("POST", "/jobs") == 2


# --- faults: the instance's limits -------------------------------------------------------


def test_the_pending_job_limit_refusal(ibm_loopback, backend):
    ibm_loopback.hold()
    ibm_loopback.max_pending_jobs = 1
    circuit = isa(backend, 1)
    SamplerV2(mode=backend).run(circuit)
    with pytest.raises(IBMRuntimeError, match="limit of 1 pending jobs") as caught:
        SamplerV2(mode=backend).run(circuit)
    assert str(PENDING_LIMIT_CODE) in str(caught.value)
    assert ibm_loopback.refusals == [PENDING_LIMIT_CODE]


def test_managedjob_waits_out_the_pending_job_limit(ibm_loopback, backend):
    ibm_loopback.hold()
    ibm_loopback.max_pending_jobs = 1
    releaser = release_on_refusal(ibm_loopback, PENDING_LIMIT_CODE)
    with in_order(journal=False) as manager:
        job_set = manager.run(
            isa(backend, 4), backend=backend, max_experiments_per_job=2, shots=SHOTS
        )
        results = job_set.results()
    releaser.join(timeout=5)
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    assert PENDING_LIMIT_CODE in ibm_loopback.refusals
    assert len(ibm_loopback.jobs) == 2
    assert ibm_loopback.count("GET", "/jobs") >= 1  # the oldest pending job was looked up


@pytest.mark.filterwarnings(USAGE_WARNING)
def test_the_quota_refusal(ibm_loopback, backend, runtime_service):
    ibm_loopback.quota_jobs = 0
    assert runtime_service.usage()["usage_limit_reached"] is True
    with pytest.raises(IBMRuntimeError, match="monthly quota") as caught:
        SamplerV2(mode=backend).run(isa(backend, 1))
    assert str(QUOTA_CODE) in str(caught.value)
    assert ibm_loopback.refusals == [QUOTA_CODE]


def test_with_warnings_as_errors_the_usage_warning_stops_the_client_before_it_posts(
    ibm_loopback, backend
):
    ibm_loopback.quota_jobs = 0
    with pytest.raises(UserWarning, match="no more time available"):
        SamplerV2(mode=backend).run(isa(backend, 1))
    assert ibm_loopback.count("POST", "/jobs") == 0


@pytest.mark.filterwarnings(USAGE_WARNING)
def test_managedjob_does_not_retry_a_quota_refusal(ibm_loopback, backend):
    ibm_loopback.quota_jobs = 1
    with in_order(journal=False) as manager:
        job_set = manager.run(
            isa(backend, 4), backend=backend, max_experiments_per_job=2, shots=SHOTS
        )
        job_set.results()
        statuses = job_set.statuses()
        errors = job_set.error_messages()
    assert statuses == [JobStatus.DONE, None]
    assert errors is not None and "not retried" in errors and str(QUOTA_CODE) in errors
    assert ibm_loopback.refusals == [QUOTA_CODE]


# --- faults: lifetimes -------------------------------------------------------------------


def test_a_batch_past_its_max_time_cancels_its_queued_jobs(ibm_loopback, backend):
    ibm_loopback.hold()
    circuit = isa(backend, 1)
    batch = Batch(backend=backend)
    queued = [SamplerV2(mode=batch).run(circuit) for _ in range(2)]
    assert len(ibm_loopback.expire_session(batch.session_id)) == 2
    ibm_loopback.release()
    for job in queued:
        assert job.status() == "CANCELLED"
        # The reason is only in the job's REST state (kept in a private attribute).
        assert job.error_message() is None
        assert (
            job._reason
            == f"Error code {SESSION_CLOSED_CODE}; Job is part of a session that's been closed."
        )
        with pytest.raises(RuntimeInvalidStateError):
            job.result()
    assert batch.status() == "Closed"
    # The client's Batch still submits into it, and gets 400s.
    with pytest.raises(IBMRuntimeError, match=str(SESSION_CLOSED_CODE)):
        SamplerV2(mode=batch).run(circuit)
    assert ibm_loopback.refusals == [SESSION_CLOSED_CODE]


def test_managed_jobs_cancelled_by_a_batch_expiry_say_why_and_are_resubmitted(
    ibm_loopback, backend
):
    ibm_loopback.hold()
    with in_order(journal=False) as manager:
        job_set = manager.run(
            isa(backend, 4), backend=backend, max_experiments_per_job=2, shots=SHOTS
        )
        wait_until(lambda: len(ibm_loopback.jobs) == 2, "both jobs to be created")
        ibm_loopback.expire_session()
        ibm_loopback.release()
        with pytest.warns(UserWarning):
            results = job_set.results()
        statuses = job_set.statuses()
        errors = job_set.error_messages() or ""
        report = job_set.report()
        # Ended by the service, not by their owner: failed, with the service's reason.
        assert statuses == [JobStatus.ERROR, JobStatus.ERROR]
        assert not results.success
        assert errors.count(f"Error code {SESSION_CLOSED_CODE}") == 2
        assert "Cancelled by the service" in report
        # Resubmitted, they go to a new batch: the closed one is not used again.
        retried = job_set.retry_failed()
        again = job_set.results()
    assert len(retried) == 2 and again.success
    assert [again.get_counts(i) for i in range(4)] == [{expected_key(i): SHOTS} for i in range(4)]
    sessions = [job.session_id for job in ibm_loopback.jobs]  # in creation order
    assert len(sessions) == 4
    assert sessions[0] == sessions[1] and sessions[2] == sessions[3] != sessions[0]


def test_a_job_over_its_max_execution_time_fails_with_1305(ibm_loopback, backend):
    ibm_loopback.faults.fail_jobs()
    job = SamplerV2(mode=backend).run(isa(backend, 1))
    job.wait_for_final_state()
    assert job.status() == "ERROR"  # the service says Cancelled; the client maps 1305 to ERROR
    assert "ran longer than maximum execution time" in job.error_message()
    with pytest.raises(RuntimeJobMaxTimeoutError, match=str(MAX_TIME_CODE)):
        job.result()


def test_managedjob_reports_1305_and_resubmits_it(ibm_loopback, backend):
    ibm_loopback.faults.fail_jobs()
    with in_order(journal=False) as manager:
        failed = manager.run(isa(backend, 2), backend=backend, shots=SHOTS)
        failed.results()
        assert failed.statuses() == [JobStatus.ERROR]
        errors = failed.error_messages()
        assert errors is not None and "ran longer than maximum execution time" in errors

        ibm_loopback.faults.fail_jobs()
        resubmitted = manager.run(isa(backend, 2), backend=backend, shots=SHOTS, max_resubmits=1)
        results = resubmitted.results()
    assert [results.get_counts(i) for i in range(2)] == [
        {expected_key(i): SHOTS} for i in range(2)
    ]
    assert ibm_loopback.count("POST", "/jobs") == 3


def test_requests_are_counted_by_method_and_route(ibm_loopback, backend):
    before = ibm_loopback.count("*")
    job = SamplerV2(mode=backend).run(isa(backend, 1))
    job.result()
    assert ibm_loopback.count("POST", "/jobs") == 1
    assert ibm_loopback.count("GET", "/jobs/{id}/results") == 1
    assert ibm_loopback.count("GET", "/instances/usage") == 1  # checked before every job
    assert ibm_loopback.count("GET", "/backends/{name}/status") == 1
    assert ibm_loopback.count("*") - before == len(ibm_loopback.requests) - before


def test_429_on_a_result_download_is_waited_out(ibm_loopback, backend):
    # More refusals than the client retries by itself (5): managedjob waits the last
    # out. (With Retry-After: 0 the client falls back to its own back-off, seconds long.)
    # The target's clock is the one managedjob waits on (the client sleeps by itself).
    ibm_loopback.faults.rate_limit("GET", "/jobs/{id}/results", retry_after=1, times=6)
    clock = FakeClock()
    target = IBMRuntimeTarget(backend, clock=clock)
    with in_order(journal=False) as manager:
        job_set = manager.run(isa(backend, 4), backend=target, shots=SHOTS)
        results = job_set.results()
    assert results.success, job_set.error_messages()
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    assert [status for *_, status in ibm_loopback.requests].count(429) == 6
    assert clock.monotonic() == 1.0  # the one Retry-After the client left to managedjob


def run_four(manager: JobManager, backend: Any, **options: Any) -> Any:
    """Four circuits in two jobs of two, with SHOTS shots."""
    return manager.run(
        isa(backend, 4), backend=backend, max_experiments_per_job=2, shots=SHOTS, **options
    )


def test_max_execution_time_passes_through_to_each_job(ibm_loopback, backend):
    with in_order(journal=False) as manager:
        job_set = run_four(manager, backend, max_execution_time=300)
        assert job_set.results().success
        with pytest.raises(InvalidInputError, match="max_execution_time must be a positive int"):
            manager.run(isa(backend, 1), backend=backend, max_execution_time=-5)
    # The client sends it as the job's "cost", what the service bounds its run by.
    assert [job.cost for job in ibm_loopback.jobs] == [300, 300]


def test_max_resubmits_reruns_jobs_a_batch_expiry_cancelled_in_a_new_batch(ibm_loopback, backend):
    ibm_loopback.hold()
    with in_order(journal=False) as manager:
        job_set = run_four(manager, backend, max_resubmits=1)
        wait_until(lambda: len(ibm_loopback.jobs) == 2, "both jobs to be created")
        ibm_loopback.expire_session()
        ibm_loopback.release()
        results = job_set.results()
    assert results.success
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    sessions = [job.session_id for job in ibm_loopback.jobs]
    assert len(sessions) == 4 and sessions[2] == sessions[3] != sessions[0]


def test_a_client_side_creation_limit_keeps_under_the_services(ibm_loopback, backend):
    from managedjob.targets.ibm_runtime import IBMRuntimeTarget

    clock = FakeClock()  # the service's window, the limit and the manager share it
    ibm_loopback.faults.now = clock.monotonic
    ibm_loopback.faults.limit_rate("POST", "/jobs", count=2, per=60.0)
    target = IBMRuntimeTarget(backend, max_jobs_per_minute=2, clock=clock)
    with in_order(journal=False, clock=clock) as manager, target:
        job_set = manager.run(
            isa(backend, 8), backend=target, max_experiments_per_job=2, shots=SHOTS
        )
        results = job_set.results()
    assert results.success
    assert len(ibm_loopback.jobs) == 4
    assert 60.0 <= clock.monotonic() < 180.0  # two windows of waiting, no more
    assert [status for *_, status in ibm_loopback.requests].count(429) == 0


def test_the_default_creation_limit_is_what_ibm_documents(backend, runtime_service):
    from managedjob.targets.ibm_runtime import IBMRuntimeTarget
    from managedjob.targets.ibm_runtime._target import DEFAULT_MAX_EXECUTIONS

    target = IBMRuntimeTarget(backend)
    assert target.creation_limit == 5  # per minute, shared by the service's adapters
    assert IBMRuntimeTarget(backend, max_jobs_per_minute=None).creation_limit is None
    assert target.limits().max_executions == DEFAULT_MAX_EXECUTIONS == 10_000_000
    with pytest.raises(InvalidInputError, match="max_jobs_per_minute"):
        IBMRuntimeTarget(backend, max_jobs_per_minute=0)


def test_429_on_status_reads_is_no_failure_however_many(ibm_loopback, backend):
    # More refusals in a row than a wait tolerates failed reads (5): none counts.
    ibm_loopback.faults.rate_limit("GET", "/jobs/{id}", retry_after=None, times=8)
    clock = FakeClock()
    with in_order(journal=False, clock=clock) as manager:
        job_set = manager.run(isa(backend, 4), backend=backend, shots=SHOTS)  # one job
        results = job_set.results()
    assert results.success, job_set.error_messages()
    assert [results.get_counts(i) for i in range(4)] == [
        {expected_key(i): SHOTS} for i in range(4)
    ]
    assert [status for *_, status in ibm_loopback.requests].count(429) == 8
