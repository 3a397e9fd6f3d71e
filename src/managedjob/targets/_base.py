"""The seam between the job manager and the things that run circuits.

Everything above this module speaks only :class:`qiskit.providers.JobV1` and
:class:`qiskit.result.Result`. A *target* adapts one kind of object a user can
pass as ``backend`` (a ``BackendV2``, a Sampler primitive, an IBM Quantum
runtime backend, ...) to the small :class:`Target` protocol below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobV1

__all__ = ["FoundJob", "JobFinder", "Target", "TargetLimits"]


@dataclass(frozen=True)
class TargetLimits:
    """What one job on a target may hold.

    ``None`` means the target sets no such limit.

    Attributes:
        max_experiments: Most circuits in one job.
        max_executions: Most circuit executions (circuits times shots) in one job.
        max_payload_bytes: Most bytes of serialized circuits in one job.
    """

    max_experiments: int | None = None
    max_executions: int | None = None
    max_payload_bytes: int | None = None


@runtime_checkable
class Target(Protocol):
    """Adapter for one kind of target; one instance wraps one user object.

    Implementations must be safe to call from several threads at once.
    """

    @property
    def name(self) -> str:
        """The name of the backend the circuits run on, as results report it."""
        ...

    @property
    def wrapped(self) -> object:
        """The object the user passed as ``backend``."""
        ...

    def limits(self) -> TargetLimits:
        """Return what one job may hold."""
        ...

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        """Reject run options this target cannot honour.

        Raises:
            UnsupportedRunOptionError: Naming the first option that is not supported.
        """
        ...

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
    ) -> JobV1:
        """Start one job running ``circuits`` and return it without waiting.

        An adapter may also take a keyword ``start_index`` (the index of the
        first circuit in its job set); it is passed when the signature names it.

        Raises:
            JobLimitError: The target has too many pending jobs; try again later.
        """
        ...

    def oldest_pending_job(self) -> JobV1 | None:
        """Return the user's oldest unfinished job on the target, if it can tell."""
        ...

    def retrieve_job(self, job_id: str) -> JobV1 | None:
        """Find a job submitted earlier by its id, or ``None`` if it cannot."""
        ...


@dataclass(frozen=True)
class FoundJob:
    """A job of a job set, found again where it was submitted.

    Attributes:
        index: The job's place in its set, counting from 0.
        job: The job.
        experiments_count: How many experiments it runs, when the target
            recorded it (else it is read from the job's circuits).
        start_index: Index of its first experiment in the set, when recorded.
        set_name: The name of its set, when recorded.
        tags: The job's tags, the set's id tag included.
    """

    index: int
    job: JobV1
    experiments_count: int | None = None
    start_index: int | None = None
    set_name: str | None = None
    tags: tuple[str, ...] = ()


@runtime_checkable
class JobFinder(Protocol):
    """Finds the jobs of a job set on a provider or service, by the set's id tag."""

    def find_job_set_jobs(self, job_set_tag: str) -> list[FoundJob]:
        """Return every job carrying ``job_set_tag``, in any order."""
        ...
