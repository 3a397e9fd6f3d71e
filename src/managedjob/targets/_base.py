"""The seam between the job manager and the things that run circuits.

Everything above this module speaks only :class:`qiskit.providers.JobV1` and
:class:`qiskit.result.Result`. A *target* adapts one kind of object a user can
pass as ``backend`` (a ``BackendV2``, a Sampler primitive, an IBM Quantum
runtime backend, ...) to the :class:`Target` protocol below, and the core
calls every method of it without asking first whether it is there.

:class:`TargetBase` gives an adapter every optional capability with its
default, so an adapter writes only what its kind of target does differently.
An adapter written before those capabilities were declared (the smaller
protocol of :class:`MinimalTarget`) still works:
:func:`~managedjob.targets.resolve_target` completes it with the defaults.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, TypeVar, runtime_checkable

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobV1

from managedjob.targets._payload import estimate_payload_bytes as _qpy_estimate

__all__ = ["FoundJob", "JobFinder", "MinimalTarget", "Target", "TargetBase", "TargetLimits"]

_Self = TypeVar("_Self", bound="TargetBase")


@dataclass(frozen=True)
class TargetLimits:
    """What one job on a target may hold, and how many requests it takes at once.

    ``None`` means the target sets no such limit.

    Attributes:
        max_experiments: Most circuits in one job.
        max_executions: Most circuit executions (circuits times shots) in one job.
        max_payload_bytes: Most bytes of serialized circuits in one job.
        max_concurrent_requests: Most requests (submissions, result
            downloads) the target documents taking at once from one client.
            A set's adaptive concurrency never goes above it; explicit
            ``max_parallel_submits`` / ``max_parallel_fetches`` are the
            user's to choose.
        poll_interval: The longest wait, in seconds, between two status
            reads of one job that the target asks for (a remote service whose
            reads are rate-limited): a set's default polling grows to it
            rather than to its 1 s cap. A set given its own ``poll_policy``
            keeps it.
    """

    max_experiments: int | None = None
    max_executions: int | None = None
    max_payload_bytes: int | None = None
    max_concurrent_requests: int | None = None
    poll_interval: float | None = None


@runtime_checkable
class MinimalTarget(Protocol):
    """What an adapter must have at least: :class:`Target` without its optional part.

    :func:`~managedjob.targets.resolve_target` accepts such an object and
    completes it with :class:`TargetBase`'s defaults.
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
        """Reject run options this target cannot honour."""
        ...

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
    ) -> JobV1:
        """Start one job running ``circuits`` and return it without waiting."""
        ...

    def oldest_pending_job(self) -> JobV1 | None:
        """Return the user's oldest unfinished job on the target, if it can tell."""
        ...

    def retrieve_job(self, job_id: str) -> JobV1 | None:
        """Find a job submitted earlier by its id, or ``None`` if it cannot."""
        ...


@runtime_checkable
class Target(Protocol):
    """Adapter for one kind of target; one instance wraps one user object.

    The core calls every member unconditionally. Subclass :class:`TargetBase`
    to get the optional ones (from :meth:`check_circuits` on) with their
    defaults.

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
        start_index: int | None = None,
    ) -> JobV1:
        """Start one job running ``circuits`` and return it without waiting.

        ``start_index`` is the index of the first circuit in its job set,
        when the caller knows it.

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

    def check_circuits(self, circuits: Sequence[QuantumCircuit]) -> None:
        """Reject circuits the target cannot run, before anything is submitted.

        Raises:
            InvalidInputError: Naming the index of the first circuit refused.
        """
        ...

    def estimate_payload_bytes(self, circuit: QuantumCircuit) -> int:
        """Return an upper bound of the bytes ``circuit`` adds to a job's inputs."""
        ...

    @property
    def supports_job_names(self) -> bool:
        """Whether the target's jobs keep the job name they are given."""
        ...

    @property
    def supports_job_tags(self) -> bool:
        """Whether the target's jobs keep the tags they are given."""
        ...

    def close(self) -> None:
        """Release what the adapter opened for its jobs; jobs already submitted go on."""
        ...


class TargetBase(ABC):
    """A :class:`Target` with the defaults of every optional capability.

    Subclasses give :attr:`name`, :attr:`wrapped`, :meth:`check_run_config`
    and :meth:`submit`, and override the rest where their kind of target can
    do more. An adapter is also a context manager that calls :meth:`close`
    on leaving the block.
    """

    @property
    @abstractmethod
    def name(self) -> str:
        """The name of the backend the circuits run on, as results report it."""

    @property
    @abstractmethod
    def wrapped(self) -> object:
        """The object the user passed as ``backend``."""

    def limits(self) -> TargetLimits:
        """Return what one job may hold; no limit by default."""
        return TargetLimits()

    @abstractmethod
    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        """Reject run options this target cannot honour.

        Raises:
            UnsupportedRunOptionError: Naming the first option that is not supported.
        """

    @abstractmethod
    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> JobV1:
        """Start one job running ``circuits`` and return it without waiting.

        Args:
            circuits: The job's circuits.
            job_name: ``"{set name}_{index}_"``.
            job_tags: The set's tags, its long id tag included.
            run_config: The run options, checked by :meth:`check_run_config`.
            start_index: Index of the first circuit in its job set, when known.

        Raises:
            JobLimitError: The target has too many pending jobs; try again later.
        """

    def oldest_pending_job(self) -> JobV1 | None:
        """Return the user's oldest unfinished job on the target; ``None`` by default."""
        return None

    def retrieve_job(self, job_id: str) -> JobV1 | None:
        """Find a job submitted earlier by its id; ``None`` (cannot) by default."""
        return None

    def check_circuits(self, circuits: Sequence[QuantumCircuit]) -> None:
        """Reject circuits the target cannot run; accepts everything by default.

        Raises:
            InvalidInputError: Naming the index of the first circuit refused.
        """
        return None

    def estimate_payload_bytes(self, circuit: QuantumCircuit) -> int:
        """Return an upper bound of the bytes ``circuit`` adds to a job's inputs.

        By default the base64 size of its QPY, as
        :func:`~managedjob.targets.estimate_payload_bytes` counts it.

        Raises:
            InvalidInputError: If ``circuit`` cannot be serialized to QPY.
        """
        return _qpy_estimate(circuit)

    @property
    def supports_job_names(self) -> bool:
        """Whether the target's jobs keep the job name they are given; ``False`` by default."""
        return False

    @property
    def supports_job_tags(self) -> bool:
        """Whether the target's jobs keep the tags they are given; ``False`` by default."""
        return False

    def close(self) -> None:
        """Release what the adapter opened for its jobs; nothing by default."""
        return None

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


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
