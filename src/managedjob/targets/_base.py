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

__all__ = ["Target", "TargetLimits"]


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
