"""How a list of experiments is cut into jobs.

A plan is a list of ``range`` objects over experiment indexes: consecutive,
in order, covering every experiment exactly once. A job is closed when the
next experiment would take it over any limit: a count of experiments, or a
*budget*, a per-experiment cost (executions, bytes) with a per-job total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from managedjob.exceptions import InvalidInputError

__all__ = ["ASSUMED_SHOTS", "Budget", "effective_max_experiments", "plan_slices"]

#: Shots assumed per circuit for the executions budget when ``shots`` is not given.
ASSUMED_SHOTS = 4096


@dataclass(frozen=True)
class Budget:
    """A per-job limit on a sum of per-experiment costs.

    Attributes:
        name: What is counted, for error messages ("executions", "bytes").
        costs: The cost of each experiment, in input order.
        limit: The most one job may hold.
    """

    name: str
    costs: Sequence[int]
    limit: int


def effective_max_experiments(*limits: int | None) -> int | None:
    """Return the smallest of the limits given, ignoring ``None``."""
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def plan_slices(
    count: int,
    max_experiments: int | None = None,
    budgets: Sequence[Budget] = (),
) -> list[range]:
    """Cut ``count`` experiments into jobs.

    Args:
        count: How many experiments there are.
        max_experiments: Most experiments in one job; ``None`` for no limit.
        budgets: Further limits on the sum of costs in one job.

    Returns:
        Consecutive ranges of experiment indexes, one per job.

    Raises:
        InvalidInputError: If ``count`` or ``max_experiments`` is not positive,
            a budget's costs do not match ``count``, or one experiment alone
            is over a budget (naming its index).
    """
    if count < 1:
        raise InvalidInputError(f"there must be at least one experiment, not {count}")
    if max_experiments is not None and max_experiments < 1:
        raise InvalidInputError(
            f"max_experiments_per_job must be a positive integer, not {max_experiments!r}"
        )
    for budget in budgets:
        if len(budget.costs) != count:
            raise InvalidInputError(
                f"{budget.name} budget has {len(budget.costs)} costs for {count} experiments"
            )
    if not budgets:
        step = count if max_experiments is None else max_experiments
        return [range(start, min(start + step, count)) for start in range(0, count, step)]

    slices: list[range] = []
    start = 0
    totals = [0] * len(budgets)
    for index in range(count):
        costs = [budget.costs[index] for budget in budgets]
        for budget, cost in zip(budgets, costs, strict=True):
            if cost > budget.limit:
                raise InvalidInputError(
                    f"experiment {index} needs {cost} {budget.name}, more than the "
                    f"{budget.limit} one job may hold"
                )
        full = max_experiments is not None and index - start >= max_experiments
        over = any(
            total + cost > budget.limit
            for total, cost, budget in zip(totals, costs, budgets, strict=True)
        )
        if index > start and (full or over):
            slices.append(range(start, index))
            start = index
            totals = [0] * len(budgets)
        totals = [total + cost for total, cost in zip(totals, costs, strict=True)]
    slices.append(range(start, count))
    return slices
