"""A run of PUBs planned and checked before anything is submitted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from managedjob._checks import check_positive_int
from managedjob._job_set._plan import RunPlan
from managedjob._job_set._policy import ResubmitPolicy
from managedjob._job_set._pub_workload import PUBS
from managedjob._job_set._state import validate_tags
from managedjob._managed_job import CheckedRun
from managedjob._pubs import (
    PubItem,
    PubPlan,
    coerce_estimator_pubs,
    coerce_sampler_pubs,
    estimate_circuit_bytes,
    part_pub,
    plan_pub_jobs,
    pub_costs,
)
from managedjob.exceptions import InvalidInputError
from managedjob.targets.primitives import PubTarget, is_pub_primitive

__all__ = ["pub_target", "plan_pub_run"]


def pub_target(primitive: object) -> PubTarget:
    """Return the target that runs PUBs on ``primitive``.

    Raises:
        InvalidInputError: If ``primitive`` is not a Sampler or Estimator V2 primitive.
    """
    if isinstance(primitive, PubTarget):
        return primitive
    if not is_pub_primitive(primitive):
        raise InvalidInputError(
            f"sampler_or_estimator must be a Sampler or Estimator V2 primitive "
            f"(BaseSamplerV2 or BaseEstimatorV2), not {type(primitive).__name__}"
        )
    return PubTarget(primitive)


def _smallest(*limits: int | None) -> int | None:
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def plan_pub_run(
    pubs: object,
    primitive: object,
    *,
    max_pubs_per_job: int | None,
    max_executions_per_job: int | None,
    job_tags: list[str] | None,
    max_resubmits: int,
    shots: int | None,
    precision: float | None,
    options: Mapping[str, Any],
) -> tuple[RunPlan, PubPlan]:
    """Check a run of PUBs and plan its jobs (see ``JobManager.run_pubs``).

    Returns:
        The run plan (one slice of :class:`~managedjob._pubs.PubItem` per
        job) and the PUB plan it was made from.

    Raises:
        InvalidInputError: Naming the first bad value (a PUB by its index).
        UnsupportedRunOptionError: Naming an option ``run()`` does not take.
    """
    target = pub_target(primitive)
    tags = validate_tags(job_tags) if job_tags is not None else []
    resubmit = ResubmitPolicy(max_resubmits)
    for name, limit in (
        ("max_pubs_per_job", max_pubs_per_job),
        ("max_executions_per_job", max_executions_per_job),
    ):
        if limit is not None:
            check_positive_int(name, limit)
    if target.is_sampler:
        if precision is not None:
            raise InvalidInputError(
                f"precision={precision!r} was given to a sampler: samplers take shots, "
                f"estimators take precision"
            )
        coerced: list[Any] = coerce_sampler_pubs(pubs, shots)  # type: ignore[arg-type]
    else:
        if shots is not None:
            raise InvalidInputError(
                f"shots={shots!r} was given to an estimator: estimators take precision, "
                f"samplers take shots"
            )
        coerced = coerce_estimator_pubs(pubs, precision)  # type: ignore[arg-type]
    if not coerced:
        raise InvalidInputError("pubs is empty: there is nothing to run")
    checked = CheckedRun.check(target, dict(options), target)
    limits = target.limits()
    max_executions = _smallest(max_executions_per_job, limits.max_executions)
    max_bytes = limits.max_payload_bytes
    costs = pub_costs(
        coerced,
        target.default_shots() if max_executions is not None else None,
        estimate_circuit_bytes if max_bytes is not None else None,
    )
    plan = plan_pub_jobs(costs, max_pubs_per_job, max_executions, max_bytes)
    slices = tuple(
        tuple(PubItem(part_pub(coerced[part.pub], part), part) for part in job)
        for job in plan.jobs
    )
    return RunPlan(checked, slices, tuple(tags), resubmit, PUBS), plan
