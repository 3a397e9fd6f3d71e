"""Know before you run: the jobs a run would make, and what they would cost.

:func:`estimate_run` (``JobManager.plan``) checks and splits a run exactly as
``run()`` or ``run_pubs()`` would, and submits nothing. For each job it
counts the items (circuits or PUB parts), the executions (circuits or PUB
elements times shots; an Estimator PUB's elements) and an upper bound of
its payload bytes; on IBM Quantum it also estimates the QPU time, with the
model of :func:`estimate_usage_seconds`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit

from managedjob._job_set import plan_pub_run, pub_target
from managedjob._job_set._budget import UsageBudget
from managedjob._managed_job import CheckedRun
from managedjob._pubs import PubItem, estimate_circuit_bytes, pub_costs
from managedjob._split import ASSUMED_SHOTS, Budget, effective_max_experiments, plan_slices
from managedjob.exceptions import InvalidInputError
from managedjob.targets import Target, resolve_target
from managedjob.targets.ibm_runtime import IBMRuntimeTarget
from managedjob.targets.primitives import PubTarget, is_pub_primitive, runs_in_process

if TYPE_CHECKING:
    from managedjob._manager import JobManager

__all__ = [
    "JOB_OVERHEAD_SECONDS",
    "apply_usage_budget",
    "JobEstimate",
    "RunEstimate",
    "estimate_run",
    "estimate_usage_seconds",
    "split_circuits",
    "usage_budget_for",
]

#: QPU seconds a job costs besides its shots, in the usage model: IBM's
#: workload usage guide shows a one-circuit Sampler job (4096 shots) estimated
#: at about 4.1 s, about 1 s of which is its shots' 250 us repetition delays.
JOB_OVERHEAD_SECONDS = 3.0
#: The repetition delay assumed when the device does not say (IBM's usual default).
DEFAULT_REP_DELAY_SECONDS = 250e-6

_PUB_OPTIONS = ("max_pubs_per_job", "max_executions_per_job", "shots", "precision")


@dataclass(frozen=True)
class JobEstimate:
    """One job of a planned run.

    Attributes:
        index: The job's index in its set.
        items: Circuits (or PUB parts) the job runs.
        executions: Circuits or PUB elements times shots (an Estimator PUB's
            elements).
        payload_bytes: An upper bound of the job's input size.
        usage_seconds: Estimated QPU time on IBM Quantum; ``None`` elsewhere.
    """

    index: int
    items: int
    executions: int
    payload_bytes: int
    usage_seconds: float | None = None


@dataclass(frozen=True)
class RunEstimate:
    """What a run would make, found without submitting anything.

    Attributes:
        backend: The target's name.
        workload: ``"circuits"`` or ``"pubs"``.
        jobs: One estimate per job, in order.
    """

    backend: str
    workload: str
    jobs: tuple[JobEstimate, ...]

    @property
    def items(self) -> int:
        """Circuits (or PUB parts) in all jobs."""
        return sum(job.items for job in self.jobs)

    @property
    def executions(self) -> int:
        """Executions in all jobs."""
        return sum(job.executions for job in self.jobs)

    @property
    def payload_bytes(self) -> int:
        """Payload bytes of all jobs (an upper bound)."""
        return sum(job.payload_bytes for job in self.jobs)

    @property
    def usage_seconds(self) -> float | None:
        """Estimated QPU seconds of all jobs; ``None`` where it is not estimated."""
        known = [job.usage_seconds for job in self.jobs]
        return None if any(u is None for u in known) else sum(u or 0.0 for u in known)

    def to_dict(self) -> dict[str, Any]:
        """Return the estimate as plain data (``managedjob run --dry-run --json``).

        Returns:
            ``backend``, ``workload``, the totals ``jobs`` (a count),
            ``items``, ``executions``, ``payload_bytes`` and
            ``usage_seconds`` (``None`` where not estimated), and
            ``per_job``: one dict per job with the fields of
            :class:`JobEstimate`.
        """
        return {
            "backend": self.backend,
            "workload": self.workload,
            "jobs": len(self.jobs),
            "items": self.items,
            "executions": self.executions,
            "payload_bytes": self.payload_bytes,
            "usage_seconds": self.usage_seconds,
            "per_job": [asdict(job) for job in self.jobs],
        }

    def __str__(self) -> str:
        what = "PUB parts" if self.workload == "pubs" else "experiments"
        lines = [
            f"{len(self.jobs)} job{'s' if len(self.jobs) != 1 else ''} on {self.backend}: "
            f"{self.items} {what}, {self.executions} executions, "
            f"{_size(self.payload_bytes)} of payload"
            + (
                ""
                if self.usage_seconds is None
                else f", about {self.usage_seconds:.1f} s of QPU time"
            ),
            f"{'job':>5} {what:>12} {'executions':>12} {'payload':>10}"
            + ("" if self.usage_seconds is None else f" {'QPU s':>8}"),
        ]
        for job in self.jobs:
            usage = "" if job.usage_seconds is None else f" {job.usage_seconds:>8.1f}"
            lines.append(
                f"{job.index:>5} {job.items:>12} {job.executions:>12} "
                f"{_size(job.payload_bytes):>10}{usage}"
            )
        return "\n".join(lines)


def _size(nbytes: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1000 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000  # type: ignore[assignment]
    return f"{nbytes} B"  # pragma: no cover


def estimate_usage_seconds(executions: int, rep_delay: float | None) -> float:
    """Estimate a job's QPU time on IBM Quantum: a fixed cost, plus each shot's.

    The model: :data:`JOB_OVERHEAD_SECONDS` per job (loading, initialising
    the control electronics), plus ``executions x rep_delay``: each shot of
    each circuit waits the repetition delay (the jobs' ``rep_delay``
    execution option if set, else the device's ``default_rep_delay``, else
    250 us), which dominates the short circuits of most workloads. It is an
    estimate for planning; the service reports the actual usage of a
    finished job. In a session, IBM counts the session's wall-clock time
    instead, which this does not estimate.
    """
    delay = DEFAULT_REP_DELAY_SECONDS if rep_delay is None else rep_delay
    return JOB_OVERHEAD_SECONDS + executions * delay


def _ibm_rep_delay(target: Target) -> tuple[bool, float | None]:
    """Whether ``target`` runs on IBM Quantum, and its device's repetition delay if known."""
    backend: Any = None
    if isinstance(target, IBMRuntimeTarget):
        backend = getattr(target.wrapped, "backend", None) if target.mode == "session" else None
        backend = backend if backend is not None and not callable(backend) else target.wrapped
    elif isinstance(target, PubTarget) and target.supports_job_tags:
        backend = getattr(target.wrapped, "mode", None)
    else:
        return False, None
    if runs_in_process(target.wrapped, backend):
        return False, None  # local testing mode: no QPU
    delay = _rep_delay_option(target)
    if delay is None:
        delay = getattr(backend, "default_rep_delay", None)
    return True, _seconds(delay)


def _seconds(value: Any) -> float | None:
    """``value`` as seconds, if it is a non-negative number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def _rep_delay_option(target: Target) -> float | None:
    """The ``rep_delay`` the jobs are given (the Sampler's execution option), if set."""
    if isinstance(target, IBMRuntimeTarget):
        execution = target.sampler_options.get("execution")
        delay = execution.get("rep_delay") if isinstance(execution, Mapping) else None
    else:
        options = getattr(target.wrapped, "options", None)
        delay = getattr(getattr(options, "execution", None), "rep_delay", None)
    return _seconds(delay)


def _shots(options: Mapping[str, Any] | None) -> int:
    """The run's shots per circuit; :data:`ASSUMED_SHOTS` when it gives none."""
    return int((options or {}).get("shots") or ASSUMED_SHOTS)


def _pub_slice_cost(items: Sequence[PubItem], default_shots: int) -> tuple[int, int]:
    """The executions and payload bytes of a slice of PUB parts."""
    costs = pub_costs([item.pub for item in items], default_shots, estimate_circuit_bytes)
    executions = sum(c.size * c.executions_per_element(i) for i, c in enumerate(costs))
    return executions, sum(c.payload_bytes() for c in costs)


def _circuit_jobs(
    manager: JobManager,
    circuits: list[QuantumCircuit],
    backend: Any,
    max_experiments_per_job: int | None,
    options: Mapping[str, Any],
) -> tuple[Target, list[tuple[int, int, int]]]:
    target = resolve_target(backend)
    CheckedRun.check(backend, options, target)
    slices = manager._split_experiments(
        circuits, target, max_experiments_per_job, run_config=options
    )
    shots = _shots(options)
    rows = [
        (len(part), len(part) * shots, sum(int(target.estimate_payload_bytes(c)) for c in part))
        for part in slices
    ]
    return target, rows


def _pub_jobs(
    pubs: Sequence[Any], primitive: Any, options: dict[str, Any]
) -> tuple[Target, list[tuple[int, int, int]]]:
    settings = {key: options.pop(key, None) for key in _PUB_OPTIONS}
    run_plan, _ = plan_pub_run(
        pubs,
        primitive,
        job_tags=None,
        max_resubmits=0,
        options=options,
        **settings,
    )
    target = pub_target(primitive)
    default_shots = target.default_shots() or ASSUMED_SHOTS
    rows = []
    for items in run_plan.slices:
        parts: list[PubItem] = list(items)
        rows.append((len(parts), *_pub_slice_cost(parts, default_shots)))
    return target, rows


def estimate_run(
    manager: JobManager,
    circuits_or_pubs: Any,
    backend: Any,
    max_experiments_per_job: int | None,
    options: Mapping[str, Any],
) -> RunEstimate:
    """Plan a run without submitting it (see ``JobManager.plan``)."""
    items = (
        [circuits_or_pubs] if isinstance(circuits_or_pubs, QuantumCircuit) else circuits_or_pubs
    )
    as_circuits = (
        isinstance(items, Sequence)
        and bool(items)
        and all(isinstance(item, QuantumCircuit) for item in items)
        and not set(options) & {"max_pubs_per_job", "max_executions_per_job", "precision"}
        and not (is_pub_primitive(backend) and not pub_target(backend).is_sampler)
    )
    if as_circuits:
        target, rows = _circuit_jobs(
            manager, list(items), backend, max_experiments_per_job, options
        )
        workload = "circuits"
    else:
        target, rows = _pub_jobs(items, backend, dict(options))
        workload = "pubs"
    ibm, rep_delay = _ibm_rep_delay(target)
    jobs = tuple(
        JobEstimate(
            index,
            count,
            executions,
            nbytes,
            estimate_usage_seconds(executions, rep_delay) if ibm else None,
        )
        for index, (count, executions, nbytes) in enumerate(rows)
    )
    return RunEstimate(target.name, workload, jobs)


def split_circuits(
    experiments: list[QuantumCircuit],
    target: Target,
    max_experiments_per_job: int | None = None,
    run_config: Mapping[str, Any] | None = None,
) -> list[list[QuantumCircuit]]:
    """Cut the experiments into the circuits of each job (``JobManager.run`` and ``plan``).

    A job holds at most the smallest of ``max_experiments_per_job`` and the
    target's circuit limit, and stays within the target's budgets: circuit
    executions (circuits times shots; 4096 shots are assumed when ``shots``
    is not given) and the estimated payload bytes.

    Raises:
        InvalidInputError: If the target rejects a circuit, or one circuit
            alone is over a budget (naming its index).
    """
    target.check_circuits(experiments)
    limits = target.limits()
    size = effective_max_experiments(max_experiments_per_job, limits.max_experiments)
    budgets: list[Budget] = []
    if limits.max_executions is not None:
        shots = _shots(run_config)
        budgets.append(Budget("executions", [shots] * len(experiments), limits.max_executions))
    if limits.max_payload_bytes is not None:
        costs = [int(target.estimate_payload_bytes(circuit)) for circuit in experiments]
        budgets.append(Budget("payload bytes", costs, limits.max_payload_bytes))
    slices = plan_slices(len(experiments), size, budgets)
    return [experiments[part.start : part.stop] for part in slices]


def usage_budget_for(
    target: Target, slices: Sequence[Sequence[Any]], options: Mapping[str, Any], limit: float
) -> UsageBudget:
    """Return the usage budget of a run (``run(..., max_usage_seconds=limit)``).

    Raises:
        InvalidInputError: If ``limit`` is not a positive number, or the
            target's usage cannot be estimated (it is not IBM Quantum).
    """
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not limit > 0:
        raise InvalidInputError(f"max_usage_seconds must be a positive number, not {limit!r}")
    ibm, rep_delay = _ibm_rep_delay(target)
    if not ibm:
        raise InvalidInputError(
            f"max_usage_seconds needs a target whose QPU usage can be estimated (IBM "
            f"Quantum); {target.name!r} has none"
        )
    shots = _shots(options)
    estimates = []
    for items in slices:
        if items and isinstance(items[0], PubItem):
            executions, _ = _pub_slice_cost(items, shots)
        else:
            executions = len(items) * shots
        estimates.append(estimate_usage_seconds(executions, rep_delay))
    return UsageBudget(float(limit), estimates)


def apply_usage_budget(
    job_set: Any, plan: Any, limit: float | None, options: Mapping[str, Any]
) -> None:
    """Give ``job_set`` the usage budget ``limit`` for ``plan``'s slices (none if ``None``).

    Raises:
        InvalidInputError: See :func:`usage_budget_for`.
    """
    if limit is not None:
        job_set._state.usage_budget = usage_budget_for(
            plan.checked.target, plan.slices, options, limit
        )
