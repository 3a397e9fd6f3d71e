"""A loopback IBM Quantum Platform service that the real ``qiskit-ibm-runtime`` client talks to.

:class:`LoopbackService` is an HTTP server on ``127.0.0.1`` (an ephemeral
port) answering what ``QiskitRuntimeService(channel="ibm_quantum_platform")``
asks of IBM Cloud and of the runtime API:

* ``POST /iam/identity/token``: IAM's API key exchange (``IAM_URL``);
* ``POST /global-search/v3/resources/search`` and
  ``GET /global-catalog/{plan}``: the instance check (``GLOBAL_SEARCH_URL``,
  ``GLOBAL_CATALOG_URL``);
* under ``/api/v1`` (the client's ``url_resolver``): ``GET /backends``,
  ``GET /backends/{name}/configuration|properties|status``; ``POST /jobs``,
  ``GET /jobs`` (``tags``, ``pending``, ``backend``, ``session_id``,
  ``program``, ``limit``, ``offset``, ``sort``), ``GET|DELETE /jobs/{id}``,
  ``GET /jobs/{id}/results|metrics|logs``, ``POST /jobs/{id}/cancel``,
  ``PUT /jobs/{id}/tags``; ``POST /sessions``, ``GET|PATCH /sessions/{id}``,
  ``DELETE /sessions/{id}/close``; ``GET /instances/usage``.

Jobs run on the fake devices the service was given (``BackendSamplerV2``).
Fault knobs: :attr:`LoopbackService.faults` (429 with or without
``Retry-After``, a limit on requests per period, 5xx, a created job whose
answer is dropped, jobs failing with code 1305), :attr:`~LoopbackService.max_pending_jobs` (3458),
:attr:`~LoopbackService.quota_jobs` (4317),
:meth:`~LoopbackService.expire_session` (a batch or session reaching its end),
:meth:`~LoopbackService.hold` / :meth:`~LoopbackService.release` (jobs stay
queued). :meth:`~LoopbackService.count` counts requests by method and route.

In a test, the ``ibm_loopback`` fixture is the service and ``runtime_service``
a ``QiskitRuntimeService`` connected to it::

    def test_creation_is_rate_limited(ibm_loopback, runtime_service):
        ibm_loopback.faults.rate_limit("POST", "/jobs", times=1, retry_after=0)
        ...  # run something on runtime_service.backend("fake_manila")
        assert ibm_loopback.count("POST", "/jobs") == 1
"""

from ._faults import Answer, Faults
from ._replies import (
    MAX_TIME_CODE,
    PENDING_LIMIT_CODE,
    QUOTA_CODE,
    RATE_LIMIT_CODE,
    SESSION_CLOSED_CODE,
)
from ._server import API_ROOT, LoopbackService
from ._state import Job, RuntimeSession

__all__ = [
    "API_ROOT",
    "MAX_TIME_CODE",
    "PENDING_LIMIT_CODE",
    "QUOTA_CODE",
    "RATE_LIMIT_CODE",
    "SESSION_CLOSED_CODE",
    "Answer",
    "Faults",
    "Job",
    "LoopbackService",
    "RuntimeSession",
]
