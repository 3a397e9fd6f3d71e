from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from managedjob._split import Budget, effective_max_experiments, plan_slices
from managedjob.exceptions import InvalidInputError


def _check_cover(slices: list[range], count: int) -> None:
    flat = [index for part in slices for index in part]
    assert flat == list(range(count)), "every experiment in exactly one slice, in order"
    assert all(len(part) > 0 for part in slices)


@given(count=st.integers(1, 5000), limit=st.none() | st.integers(1, 600))
def test_count_split_covers_in_order_within_limit(count: int, limit: int | None) -> None:
    slices = plan_slices(count, limit)
    _check_cover(slices, count)
    if limit is None:
        assert len(slices) == 1
    else:
        assert all(len(part) <= limit for part in slices)
        assert len(slices) == -(-count // limit)  # no more jobs than needed


@given(
    data=st.data(),
    count=st.integers(1, 300),
    limit=st.none() | st.integers(1, 50),
    budget_limit=st.integers(10, 400),
)
def test_budget_split_respects_every_limit(
    data: st.DataObject, count: int, limit: int | None, budget_limit: int
) -> None:
    costs = data.draw(st.lists(st.integers(1, 10), min_size=count, max_size=count))
    budget = Budget("executions", costs, budget_limit)
    slices = plan_slices(count, limit, [budget])
    _check_cover(slices, count)
    for part in slices:
        assert sum(costs[i] for i in part) <= budget_limit
        if limit is not None:
            assert len(part) <= limit
    # Greedy: a job is only closed when the next experiment would not fit.
    for part, following in itertools.pairwise(slices):
        total = sum(costs[i] for i in part) + costs[following.start]
        assert total > budget_limit or (limit is not None and len(part) == limit)


def test_one_experiment_over_budget_is_named() -> None:
    with pytest.raises(InvalidInputError, match="experiment 2 needs 50 bytes"):
        plan_slices(3, None, [Budget("bytes", [1, 1, 50], 10)])


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_limits(bad: int) -> None:
    with pytest.raises(InvalidInputError):
        plan_slices(bad)
    with pytest.raises(InvalidInputError, match="max_experiments_per_job"):
        plan_slices(3, bad)


def test_budget_length_must_match() -> None:
    with pytest.raises(InvalidInputError, match="2 costs for 3"):
        plan_slices(3, None, [Budget("bytes", [1, 1], 10)])


def test_effective_max_is_smallest_known() -> None:
    assert effective_max_experiments(None, None) is None
    assert effective_max_experiments(10, None, 300) == 10
    assert effective_max_experiments(None, 300) == 300
