"""Target adapter for IBM Quantum Runtime: ``IBMBackend``, ``Batch`` and ``Session``.

IBM hardware no longer runs ``backend.run()``; jobs go through the runtime
Sampler primitive. :class:`IBMRuntimeTarget` runs each job of a set as one
runtime ``SamplerV2`` job (one PUB per circuit) and reuses
:class:`~managedjob.targets.SamplerTarget` for the checks, the shots and the
conversion of results, so a job is an :class:`IBMRuntimeJobV1`: a
:class:`~managedjob.targets.PrimitiveJobV1` whose ``result()`` is a legacy
:class:`qiskit.result.Result`.

What it wraps:

* an ``IBMBackend``: by default the adapter opens one ``Batch`` for the job
  set on the first submission (``mode="batch"``); ``mode="job"`` submits
  each job on its own. The batch is closed by :meth:`IBMRuntimeTarget.close`
  (also on leaving a ``with`` block), or when the adapter is garbage
  collected; closing lets queued jobs finish, and a later submission opens
  a new batch;
* a ``Batch`` or a ``Session`` the user opened: jobs run in it, and it is
  never closed by the adapter;
* in local testing mode, ``Batch(backend=FakeManilaV2())`` and
  ``Session(backend=...)`` of ``qiskit_ibm_runtime.fake_provider`` backends;
* the backends, batches and sessions of any other registered
  :class:`RuntimeClient`: the fakes of :mod:`managedjob.testing`
  (``FakeRuntimeBackend``, ``FakeRuntimeSession``, ``FakeRuntimeBatch``,
  which submit to a scripted ``FakeRuntimeService`` instead of the network)
  register theirs when that module is imported.

Clients:
    The adapter knows no client's classes. A :class:`RuntimeClient` says which
    objects are its backends, batches, sessions and services, and builds the
    samplers and batches jobs go through; :func:`register_runtime_client`
    makes it known. :class:`QiskitRuntimeClient` is ``qiskit-ibm-runtime``'s,
    registered here; it never imports that package: an object can only be
    one of its classes when the user has imported it already.

Tags:
    Runtime jobs have no names, so everything a job set needs to be rebuilt
    from the service alone goes in the job's tags
    (``options.environment.job_tags``, set on a sampler made for that one job):

    * the tags given to :meth:`IBMRuntimeTarget.submit`: the user's tags and
      the set's long id tag;
    * ``managedjob:name:<set name>``, from the job name ``"{set name}_{index}_"``
      (names longer than 100 characters are cut to 100);
    * ``managedjob:slice:<index>:<start>-<end>`` when the slice's first
      experiment index is known, else ``managedjob:slice:<index>:<count>``;
    * ``managedjob:memory`` when the job keeps each shot's outcome.

    The client checks only that tags are strings; the service rejects jobs
    with too many tags or too long ones (error codes 1204 and 1205). The
    adapter adds at most three tags, of letters, digits, ``:`` and ``-``
    besides the set's name; a job of PUBs (:mod:`managedjob.targets.primitives`)
    has a fourth, ``managedjob:pubs:<parts>``, of at most 240 characters.

Errors:
    The service refuses a job when the instance has too many pending jobs
    (error code 3458, "You have reached the limit of N pending jobs"): that
    becomes :class:`IBMJobLimitError`, a
    :class:`~managedjob.exceptions.JobLimitError`, so the managed job waits
    for the oldest pending job (:meth:`IBMRuntimeTarget.oldest_pending_job`)
    and tries again. When the instance's monthly quota is used up (error
    code 4317), :class:`IBMRuntimeQuotaError` is raised; it is not retried.

Limits:
    Besides a circuit count (``max_experiments``, from the backend's
    ``max_circuits`` if it has one, or given), the runtime limits a Sampler
    job to 10 million executions (circuits times shots) and its inputs to a
    payload size: 50 MB is the documented limit that :data:`DEFAULT_MAX_PAYLOAD_BYTES`
    keeps to (IBM has since raised it). :func:`estimate_payload_bytes` gives
    an upper bound of one circuit's share. Both limits are constructor keywords.
"""

from __future__ import annotations

from managedjob.targets._payload import estimate_payload_bytes
from managedjob.targets.ibm_runtime._client import (
    QiskitRuntimeClient,
    RuntimeClient,
    is_ibm_runtime,
    is_runtime_service,
    register_runtime_client,
)
from managedjob.targets.ibm_runtime._errors import IBMJobLimitError, IBMRuntimeQuotaError
from managedjob.targets.ibm_runtime._finder import DEFAULT_PAGE_SIZE, IBMRuntimeJobFinder
from managedjob.targets.ibm_runtime._job import IBMRuntimeJobV1
from managedjob.targets.ibm_runtime._target import (
    DEFAULT_MAX_EXECUTIONS,
    DEFAULT_MAX_PAYLOAD_BYTES,
    IBMRuntimeTarget,
)

__all__ = [
    "DEFAULT_MAX_EXECUTIONS",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "DEFAULT_PAGE_SIZE",
    "IBMJobLimitError",
    "IBMRuntimeJobFinder",
    "IBMRuntimeJobV1",
    "IBMRuntimeQuotaError",
    "IBMRuntimeTarget",
    "QiskitRuntimeClient",
    "RuntimeClient",
    "estimate_payload_bytes",
    "is_ibm_runtime",
    "is_runtime_service",
    "register_runtime_client",
]

register_runtime_client(QiskitRuntimeClient())
