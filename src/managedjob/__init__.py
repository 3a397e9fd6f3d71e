"""Run large sets of quantum circuits as one managed set of jobs on any Qiskit target.

``managedjob`` is a drop-in replacement for the job manager of the legacy
``qiskit-ibmq-provider`` (``qiskit.providers.ibmq.managed``), for Qiskit 2::

    from managedjob import IBMQJobManager   # was: from qiskit.providers.ibmq.managed import ...

Public names:

* :class:`JobManager` (legacy name ``IBMQJobManager``): splits and runs.
* :class:`ManagedJobSet`: the jobs of one run, handled as one.
* :class:`ManagedJob`: one job of a set.
* :class:`ManagedBackend`: a ``BackendV2`` that splits transparently.
* :class:`ManagedResults`: the results of a set, read as one.
* :class:`ManagedSampler`, :class:`ManagedEstimator`: primitives that run a
  large PUB list as one managed set (:class:`ManagedPrimitiveJob`).
* :class:`QasmQobj`: the legacy-shaped Qobj view of a job.
* :class:`RunEstimate`, :class:`JobEstimate`: what ``JobManager.plan`` finds
  a run would make, before anything is submitted.
* :class:`RetryPolicy`, :class:`PollPolicy`, :class:`Clock`: settings.
* :class:`Journal`: the durable record of job sets (see ``default_journal_path``).
* :mod:`managedjob.exceptions`, :mod:`managedjob.targets`,
  :mod:`managedjob.testing`.
"""

from managedjob import exceptions
from managedjob._estimate import JobEstimate, RunEstimate
from managedjob._job_set import ManagedJobSet
from managedjob._journal import (
    AttemptRecord,
    JobSetRecord,
    Journal,
    JournaledJob,
    JournalWarning,
    default_journal_path,
)
from managedjob._managed_backend import ManagedBackend, ManagedBackendJob
from managedjob._managed_job import CompletedJob, ManagedJob
from managedjob._manager import IBMQJobManager, JobManager
from managedjob._qobj import QasmQobj
from managedjob._results import ManagedResults
from managedjob._retry import RetryPolicy
from managedjob._wait import Clock, PollPolicy, SystemClock
from managedjob.exceptions import (
    IBMQJobManagerError,
    IBMQJobManagerInvalidStateError,
    IBMQJobManagerJobNotFound,
    IBMQJobManagerTimeoutError,
    IBMQJobManagerUnknownJobSet,
    IBMQJobTimeoutError,
    IBMQManagedResultDataNotAvailable,
    InvalidInputError,
    JobLimitError,
    JobManagerError,
    JobManagerInvalidStateError,
    JobManagerTimeoutError,
    JobNotFoundError,
    JobTimeoutError,
    JournalError,
    ResultDataNotAvailableError,
    SubmitError,
    TooManyRequestsError,
    UnknownJobSetError,
    UnsupportedRunOptionError,
    UsageBudgetError,
)
from managedjob.primitives import ManagedEstimator, ManagedPrimitiveJob, ManagedSampler

__version__ = "0.1.0"

__all__ = [
    "AttemptRecord",
    "Clock",
    "CompletedJob",
    "IBMQJobManager",
    "IBMQJobManagerError",
    "IBMQJobManagerInvalidStateError",
    "IBMQJobManagerJobNotFound",
    "IBMQJobManagerTimeoutError",
    "IBMQJobManagerUnknownJobSet",
    "IBMQJobTimeoutError",
    "IBMQManagedResultDataNotAvailable",
    "InvalidInputError",
    "JobEstimate",
    "JobLimitError",
    "JobManager",
    "JobManagerError",
    "JobManagerInvalidStateError",
    "JobManagerTimeoutError",
    "JobNotFoundError",
    "JobSetRecord",
    "JobTimeoutError",
    "Journal",
    "JournalError",
    "JournalWarning",
    "JournaledJob",
    "ManagedBackend",
    "ManagedBackendJob",
    "ManagedEstimator",
    "ManagedJob",
    "ManagedJobSet",
    "ManagedPrimitiveJob",
    "ManagedResults",
    "ManagedSampler",
    "PollPolicy",
    "QasmQobj",
    "ResultDataNotAvailableError",
    "RetryPolicy",
    "RunEstimate",
    "SubmitError",
    "SystemClock",
    "TooManyRequestsError",
    "UnknownJobSetError",
    "UnsupportedRunOptionError",
    "UsageBudgetError",
    "__version__",
    "default_journal_path",
    "exceptions",
]
