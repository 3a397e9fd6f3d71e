"""What a managed job is given from outside: its observer, its lock, a checked run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from qiskit.circuit import QuantumCircuit
from qiskit.result import Result

from managedjob._checks import check_run_values, drop_unset_options
from managedjob.targets import Target, resolve_target

if TYPE_CHECKING:
    from managedjob._managed_job._job import ManagedJob

__all__ = ["QOBJ_ONLY_OPTIONS", "CheckedRun", "JobObserver", "SubmitLock", "split_qobj_options"]

#: Run options that shape only the legacy Qobj view and never reach the target.
QOBJ_ONLY_OPTIONS = frozenset({"qobj_id", "qobj_header"})

_MISSING = object()


def split_qobj_options(run_config: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the options for the target and those for the Qobj view only."""
    options = {k: v for k, v in run_config.items() if k not in QOBJ_ONLY_OPTIONS}
    qobj = {k: v for k, v in run_config.items() if k in QOBJ_ONLY_OPTIONS}
    return options, qobj


@dataclass(frozen=True)
class CheckedRun:
    """A target and run options it has accepted, so that they are checked once.

    A job set makes one per run and hands it to each of its jobs; a job
    submitted with the same target and the very same option values does not
    ask the target again.

    Attributes:
        backend: What the user passed to run on.
        target: The target resolved from it.
        run_config: The options for the target (without the Qobj-only ones).
        qobj_options: The options that shape only the Qobj view.
    """

    backend: Any
    target: Target
    run_config: Mapping[str, Any] = field(default_factory=dict)
    qobj_options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def check(
        cls, backend: Any, run_config: Mapping[str, Any], target: Target | None = None
    ) -> CheckedRun:
        """Resolve the target of ``backend`` and check ``run_config`` against it.

        Args:
            backend: What to run on.
            run_config: The run options, Qobj-only ones included.
            target: The target of ``backend``, when it is resolved already.

        Raises:
            InvalidInputError: If ``backend`` is no target, or an option is rejected.
        """
        run_config = drop_unset_options(run_config)  # None means "not set", as in the legacy API
        check_run_values(run_config)  # before any target is asked
        if target is None:
            target = resolve_target(backend)
        options, qobj = split_qobj_options(run_config)
        target.check_run_config(options)
        return cls(backend, target, MappingProxyType(options), MappingProxyType(qobj))

    def covers(self, target: Target, run_config: Mapping[str, Any]) -> bool:
        """Whether ``run_config`` on ``target`` is what was checked (same values)."""
        return (
            target is self.target
            and len(run_config) == len(self.run_config)
            and all(run_config.get(k, _MISSING) is v for k, v in self.run_config.items())
        )


class JobObserver(Protocol):
    """What a job set learns from one of its jobs (the journal and resubmission hooks).

    A :class:`ManagedJob` without an observer behaves as the legacy one did.
    An observer's methods must not raise; an error is logged and ignored.
    """

    def before_submit(self, mjob: ManagedJob) -> None:
        """Called in the executor before the job is submitted; may wait.

        Raising stops the submission: the error becomes ``submit_error``.
        """
        ...

    def submitted(self, mjob: ManagedJob) -> None:
        """Called once the submission ended: a job, a submit error, or cancelled."""
        ...

    def finished(
        self, mjob: ManagedJob, result: Result | None, error: BaseException | None
    ) -> None:
        """Called when the finished job's result was fetched, or fetching it failed."""
        ...

    def submission(
        self, mjob: ManagedJob
    ) -> tuple[list[QuantumCircuit], dict[str, Any], dict[str, Any]] | None:
        """Return the circuits, run options and Qobj options the job was submitted with."""
        ...


class SubmitLock(Protocol):
    """Anything with ``acquire`` and ``release``: a lock or a semaphore."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool:
        """Take the lock, waiting if needed."""
        ...

    def release(self) -> None:
        """Give the lock back."""
        ...


#: Watches a job in the background until it is final, then fetches its result.
Watcher = Callable[["ManagedJob"], None]
