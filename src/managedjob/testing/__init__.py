"""Scripted fakes for testing code that runs jobs: a fake clock, backend and jobs.

These are the fakes the project's own tests use. They run without a network
and without sleeping for real: time comes from a :class:`FakeClock`, whose
``sleep`` moves the fake time forward at once. Latency, queueing, failed
submissions, failed jobs, pending-job limits, status errors and cancellation
are all scripted through :class:`ScriptedBackend`'s constructor, and the
backend records what happened so a test can assert on it.

Counts are real: unless told otherwise, a job's circuits are simulated with
Qiskit's :class:`~qiskit.providers.basic_provider.BasicSimulator` when its
result is first asked for.

Example:
    A backend whose first submission fails and whose jobs take ten (fake)
    seconds::

        >>> from qiskit import QuantumCircuit
        >>> from qiskit.providers import JobStatus
        >>> from managedjob.testing import FakeClock, ScriptedBackend
        >>> clock = FakeClock()
        >>> backend = ScriptedBackend(
        ...     clock=clock, run_time=10.0, submit_failures={0: ConnectionError("reset")}
        ... )
        >>> bell = QuantumCircuit(2, 2, name="bell")
        >>> _ = bell.h(0)
        >>> _ = bell.cx(0, 1)
        >>> _ = bell.measure([0, 1], [0, 1])
        >>> backend.run([bell], shots=100)
        Traceback (most recent call last):
            ...
        ConnectionError: reset
        >>> job = backend.run([bell], shots=100, seed_simulator=7)
        >>> job.status()
        <JobStatus.QUEUED: 'job is queued'>
        >>> clock.advance(10.0)
        >>> job.status()
        <JobStatus.DONE: 'job has successfully run'>
        >>> sorted(job.result().get_counts())
        ['00', '11']
        >>> backend.run_calls, len(backend.submitted)
        (2, 1)

    ``job.result()`` on a job that is not finished waits for it through the
    clock: with a :class:`FakeClock` that moves the time forward instantly.

IBM Quantum Runtime:
    :class:`FakeRuntimeService` stands in for ``QiskitRuntimeService``: its
    :class:`FakeRuntimeBackend` objects take jobs through a
    :class:`FakeRuntimeSampler` (in job mode, or in a :class:`FakeRuntimeSession`
    or :class:`FakeRuntimeBatch`), and its :class:`FakeRuntimeJob` objects
    answer like ``RuntimeJobV2``: status words (``"QUEUED"``, ``"RUNNING"``,
    ``"DONE"``, ``"ERROR"``, ``"CANCELLED"``), tags, inputs, error messages,
    cancellation, and a real ``PrimitiveResult``. The service lists jobs with
    the real filters (``job_tags``, ``pending``, ``limit``, ``skip``,
    ``descending``, ...) and refuses jobs the way an instance does, with
    error code 3458 (too many pending jobs) or 4317 (monthly quota used up)::

        >>> from qiskit import QuantumCircuit
        >>> from managedjob.testing import FakeRuntimeSampler, FakeRuntimeService
        >>> service = FakeRuntimeService(run_time=10.0, max_pending_jobs=1)
        >>> flip = QuantumCircuit(1, 1, name="flip")
        >>> _ = flip.x(0)
        >>> _ = flip.measure(0, 0)
        >>> sampler = FakeRuntimeSampler(
        ...     mode=service.backend(), options={"environment": {"job_tags": ["demo"]}}
        ... )
        >>> job = sampler.run([flip], shots=50)
        >>> job.status(), job.tags
        ('QUEUED', ['demo'])
        >>> try:
        ...     _ = sampler.run([flip])
        ... except Exception as error:
        ...     refusal = error
        >>> "limit of 1 pending jobs" in str(refusal), service.refusals
        (True, [3458])
        >>> service.clock.advance(10.0)
        >>> job.status(), job.result()[0].data.c.get_counts()
        ('DONE', {'1': 50})
        >>> [found.job_id() for found in service.jobs(job_tags=["demo"])] == [job.job_id()]
        True

Time:
    Every wait goes through the ``clock`` given to the backend. Pass the same
    :class:`FakeClock` to the code under test so that both agree on the time.
    A :class:`FakeClock` is shared by all threads: each sleep moves the one
    fake time forward, so sleeps in different threads add up instead of
    overlapping. To benchmark against a latency-bound target, give the backend
    the real clock (``managedjob``'s ``SystemClock``) instead: then latencies
    and run times are spent in real time.
"""

from __future__ import annotations

from managedjob.testing._backend import ScriptedBackend
from managedjob.testing._clock import FakeClock
from managedjob.testing._jobs import BareJob, ScriptedJob
from managedjob.testing._plugin import scripted_backend_spec as scripted_backend_spec
from managedjob.testing._runtime import FakeRuntimeBackend, FakeRuntimeBatch, FakeRuntimeSession
from managedjob.testing._runtime_client import FakeRuntimeClient as FakeRuntimeClient
from managedjob.testing._runtime_job import FakeRuntimeJob
from managedjob.testing._runtime_sampler import FakeRuntimeSampler
from managedjob.testing._runtime_service import FakeRuntimeService

# ``scripted_backend_spec`` is importable for the ``managedjob.backends``
# entry point (``scripted:<seconds>`` of the command), not a name for tests.
__all__ = [
    "BareJob",
    "FakeClock",
    "FakeRuntimeBackend",
    "FakeRuntimeBatch",
    "FakeRuntimeJob",
    "FakeRuntimeSampler",
    "FakeRuntimeService",
    "FakeRuntimeSession",
    "ScriptedBackend",
    "ScriptedJob",
]
