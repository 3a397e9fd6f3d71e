"""Adapters written to the smaller protocol, completed with the defaults.

This is the one place that asks an adapter which optional methods it has:
it asks once, when the adapter is resolved, so the core can call every
method of :class:`~managedjob.targets.Target` without asking again.
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobV1

from managedjob.targets._base import MinimalTarget, TargetBase, TargetLimits

__all__ = ["CompletedTarget", "complete_target"]


def _optional(adapter: object, name: str) -> Callable[..., Any] | None:
    found = getattr(adapter, name, None)
    return found if callable(found) else None


def _flag(adapter: object, name: str) -> bool:
    try:
        return getattr(adapter, name, False) is True
    except Exception:  # a property that cannot tell
        return False


def _takes_start_index(submit: Callable[..., Any]) -> bool:
    try:
        return "start_index" in inspect.signature(submit).parameters
    except (TypeError, ValueError):  # builtins and C extensions
        return False


class CompletedTarget(TargetBase):
    """An adapter of the smaller protocol, with the defaults for what it lacks.

    Every call goes to the adapter; a method it does not have gives
    :class:`~managedjob.targets.TargetBase`'s default, and ``start_index``
    reaches its ``submit`` only when that names it.

    Args:
        adapter: The adapter, with at least the members of
            :class:`~managedjob.targets.MinimalTarget`.
    """

    def __init__(self, adapter: MinimalTarget) -> None:
        self._adapter = adapter
        self._takes_start_index = _takes_start_index(adapter.submit)
        self._check_circuits = _optional(adapter, "check_circuits")
        self._estimate = _optional(adapter, "estimate_payload_bytes")
        self._close = _optional(adapter, "close")
        self._names = _flag(adapter, "supports_job_names")
        self._tags = _flag(adapter, "supports_job_tags")

    @property
    def adapter(self) -> MinimalTarget:
        """The adapter completed."""
        return self._adapter

    @property
    def name(self) -> str:
        """The adapter's name."""
        return self._adapter.name

    @property
    def wrapped(self) -> object:
        """What the adapter wraps."""
        return self._adapter.wrapped

    @property
    def supports_job_names(self) -> bool:
        """What the adapter says, else ``False``."""
        return self._names

    @property
    def supports_job_tags(self) -> bool:
        """What the adapter says, else ``False``."""
        return self._tags

    def limits(self) -> TargetLimits:
        """Return the adapter's limits."""
        return self._adapter.limits()

    def check_run_config(self, run_config: Mapping[str, Any]) -> None:
        """Let the adapter check the run options."""
        self._adapter.check_run_config(run_config)

    def check_circuits(self, circuits: Sequence[QuantumCircuit]) -> None:
        """Let the adapter check the circuits, if it can."""
        if self._check_circuits is not None:
            self._check_circuits(circuits)

    def estimate_payload_bytes(self, circuit: QuantumCircuit) -> int:
        """Return the adapter's estimate, else the QPY one."""
        if self._estimate is not None:
            return int(self._estimate(circuit))
        return super().estimate_payload_bytes(circuit)

    def submit(
        self,
        circuits: Sequence[QuantumCircuit],
        *,
        job_name: str,
        job_tags: Sequence[str],
        run_config: Mapping[str, Any],
        start_index: int | None = None,
    ) -> JobV1:
        """Submit through the adapter; ``start_index`` only if its ``submit`` takes it."""
        if self._takes_start_index:
            submit: Callable[..., JobV1] = self._adapter.submit
            return submit(
                circuits,
                job_name=job_name,
                job_tags=job_tags,
                run_config=run_config,
                start_index=start_index,
            )
        return self._adapter.submit(
            circuits, job_name=job_name, job_tags=job_tags, run_config=run_config
        )

    def oldest_pending_job(self) -> JobV1 | None:
        """Return what the adapter finds."""
        return self._adapter.oldest_pending_job()

    def retrieve_job(self, job_id: str) -> JobV1 | None:
        """Return what the adapter finds."""
        return self._adapter.retrieve_job(job_id)

    def close(self) -> None:
        """Close the adapter, if it can be closed."""
        if self._close is not None:
            self._close()

    def __repr__(self) -> str:
        return f"<CompletedTarget {self._adapter!r}>"


# Each adapter is completed once: resolving it again gives the same object.
# Keyed by id(): an entry lives as long as its CompletedTarget, which holds
# the adapter, so the id cannot be reused meanwhile.
_COMPLETED: weakref.WeakValueDictionary[int, CompletedTarget] = weakref.WeakValueDictionary()
_COMPLETED_LOCK = threading.Lock()


def complete_target(adapter: MinimalTarget) -> TargetBase:
    """Return ``adapter`` with every capability of the full protocol.

    A :class:`~managedjob.targets.TargetBase` has them already and is
    returned as it is; any other adapter is completed once, and the same
    :class:`CompletedTarget` is returned while it is in use.

    Args:
        adapter: An adapter with at least the members of
            :class:`~managedjob.targets.MinimalTarget`.

    Returns:
        The target.
    """
    if isinstance(adapter, TargetBase):
        return adapter
    with _COMPLETED_LOCK:
        completed = _COMPLETED.get(id(adapter))
        if completed is None or completed.adapter is not adapter:
            completed = _COMPLETED[id(adapter)] = CompletedTarget(adapter)
    return completed
