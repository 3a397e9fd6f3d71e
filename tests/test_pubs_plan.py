from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from managedjob._pubs import (
    PubCost,
    PubPart,
    PubPlan,
    coerce_estimator_pubs,
    coerce_sampler_pubs,
    decode_plan,
    encode_plan,
    estimate_circuit_bytes,
    job_pubs,
    plan_pub_jobs,
    pub_costs,
)
from managedjob.exceptions import InvalidInputError

# ----------------------------------------------------------------- helpers


def splittable(cost: PubCost) -> bool:
    return (cost.rows or 0) > 1


def run_shots(cost: PubCost) -> int:
    """Shots of one element; 1 for an Estimator PUB."""
    if not cost.sampler:
        return 1
    assert cost.shots is not None
    return cost.shots


def part_rows(cost: PubCost, part: PubPart) -> range:
    return part.rows if part.rows is not None else range(cost.rows or 1)


def part_shots(cost: PubCost, part: PubPart) -> range:
    return part.shots if part.shots is not None else range(run_shots(cost))


def part_executions(cost: PubCost, part: PubPart) -> int:
    elements = cost.size if part.rows is None else len(part.rows) * cost.row_size
    return elements * len(part_shots(cost, part))


def part_bytes(cost: PubCost, part: PubPart) -> int:
    return cost.payload_bytes(None if part.rows is None else len(part.rows))


def part_key(cost: PubCost, part: PubPart) -> float | None:
    return len(part.shots) if part.shots is not None else cost.key


def unit_executions(cost: PubCost) -> int:
    """Executions of the smallest part: one row (or the whole) at one shot."""
    return cost.row_size if splittable(cost) else cost.size


def unit_bytes(cost: PubCost) -> int:
    return cost.payload_bytes(1) if splittable(cost) else cost.payload_bytes()


def check_plan(
    plan: PubPlan,
    costs: list[PubCost],
    max_pubs: int | None,
    max_executions: int | None,
    max_bytes: int | None,
) -> None:
    assert len(plan.parts) == len(costs)
    # The two views agree: every part is where it says it is.
    for job, parts in enumerate(plan.jobs):
        assert parts, "no empty jobs"
        for position, part in enumerate(parts):
            assert (part.job, part.position) == (job, position)
    flat = [part for parts in plan.jobs for part in parts]
    assert flat == [part for parts in plan.parts for part in parts], "input order kept"
    for index, (cost, parts) in enumerate(zip(costs, plan.parts, strict=True)):
        assert parts and all(part.pub == index for part in parts)
        # Every element at every shot is in exactly one part.
        cells = Counter(
            (row, shot)
            for part in parts
            for row in part_rows(cost, part)
            for shot in part_shots(cost, part)
        )
        assert set(cells.values()) <= {1}
        assert set(cells) == set(itertools.product(range(cost.rows or 1), range(run_shots(cost))))
        # Parts are in the order the merge joins them: by rows, then by shots.
        order = [(part_rows(cost, part).start, part_shots(cost, part).start) for part in parts]
        assert order == sorted(order)
        if not cost.sampler:
            assert all(part.shots is None for part in parts)
    for parts in plan.jobs:
        jobs_costs = [costs[part.pub] for part in parts]
        assert len({part_key(c, p) for c, p in zip(jobs_costs, parts, strict=True)}) == 1
        if max_pubs is not None:
            assert len(parts) <= max_pubs
        if max_executions is not None:
            total = sum(part_executions(c, p) for c, p in zip(jobs_costs, parts, strict=True))
            if total > max_executions:
                # Only one smallest unit may be over the budget, alone.
                (part,) = parts
                cost = jobs_costs[0]
                assert unit_executions(cost) > max_executions
                assert len(part_shots(cost, part)) == 1
                assert not splittable(cost) or len(part_rows(cost, part)) == 1
        if max_bytes is not None:
            total = sum(part_bytes(c, p) for c, p in zip(jobs_costs, parts, strict=True))
            if total > max_bytes:
                assert len(parts) == 1
                assert unit_bytes(jobs_costs[0]) > max_bytes


def check_greedy(
    plan: PubPlan,
    costs: list[PubCost],
    max_pubs: int | None,
    max_executions: int | None,
    max_bytes: int | None,
) -> None:
    """A job is closed only when the next part (or one row of it) would not fit."""
    for parts, following in itertools.pairwise(plan.jobs):
        nxt = following[0]
        if nxt.shots is not None:
            continue  # parts cut by shots fill a job each
        cost = costs[nxt.pub]
        executions = sum(part_executions(costs[p.pub], p) for p in parts)
        nbytes = sum(part_bytes(costs[p.pub], p) for p in parts)
        if nxt.rows is None:
            adds = (part_executions(cost, nxt), part_bytes(cost, nxt))
        else:
            adds = (cost.row_size * run_shots(cost), cost.payload_bytes(1))
        full = max_pubs is not None and len(parts) == max_pubs
        other_key = part_key(costs[parts[0].pub], parts[0]) != part_key(cost, nxt)
        over_executions = max_executions is not None and executions + adds[0] > max_executions
        over_bytes = max_bytes is not None and nbytes + adds[1] > max_bytes
        assert full or other_key or over_executions or over_bytes


# --------------------------------------------------------------- strategies


@st.composite
def pub_cost(draw: st.DrawFn, sampler: bool) -> PubCost:
    shape = tuple(draw(st.lists(st.integers(0, 6), max_size=3)))
    if sampler:
        shots = draw(st.integers(1, 40))
        key: float | None = draw(st.sampled_from([shots, None]))
    else:
        shots = None
        key = draw(st.sampled_from([None, 0.01, 0.1]))
    return PubCost(
        shape=shape,
        shots=shots,
        sampler=sampler,
        key=key,
        fixed_bytes=draw(st.integers(0, 120)),
        row_bytes=draw(st.integers(0, 40)),
    )


@st.composite
def workload(
    draw: st.DrawFn,
) -> tuple[list[PubCost], int | None, int | None, int | None]:
    sampler = draw(st.booleans())
    costs = draw(st.lists(pub_cost(sampler), max_size=12))
    max_pubs = draw(st.none() | st.integers(1, 5))
    max_executions = draw(st.none() | st.integers(1, 150))
    max_bytes = draw(st.none() | st.integers(20, 300))
    return costs, max_pubs, max_executions, max_bytes


# ----------------------------------------------------------------- properties


@settings(max_examples=400)
@given(workload())
def test_plan_covers_every_element_once_within_budgets(
    case: tuple[list[PubCost], int | None, int | None, int | None],
) -> None:
    costs, max_pubs, max_executions, max_bytes = case
    plan = plan_pub_jobs(costs, max_pubs, max_executions, max_bytes)
    check_plan(plan, costs, max_pubs, max_executions, max_bytes)
    check_greedy(plan, costs, max_pubs, max_executions, max_bytes)


@given(workload())
def test_plans_round_trip_as_json(
    case: tuple[list[PubCost], int | None, int | None, int | None],
) -> None:
    plan = plan_pub_jobs(*case)
    assert decode_plan(encode_plan(plan)) == plan


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"version": 2, "pubs": 0, "jobs": []}',
        b'{"version": 1, "pubs": 2, "jobs": [[[0, null, null, null, null]]]}',
        b'{"version": 1, "pubs": 1, "jobs": [[[-1, null, null, null, null]]]}',
        b'{"version": 1, "pubs": 1, "jobs": [[[0, null, null]]]}',
    ],
)
def test_damaged_plans_are_refused(data: bytes) -> None:
    with pytest.raises(InvalidInputError, match="not a plan written by managedjob"):
        decode_plan(data)


@given(st.lists(pub_cost(True), min_size=1, max_size=8), st.integers(1, 5))
def test_without_budgets_only_the_count_and_shots_split(
    costs: list[PubCost], max_pubs: int
) -> None:
    plan = plan_pub_jobs(costs, max_pubs)
    assert all(len(parts) == 1 and parts[0].whole for parts in plan.parts)
    check_plan(plan, costs, max_pubs, None, None)
    check_greedy(plan, costs, max_pubs, None, None)


@given(st.lists(pub_cost(False), min_size=1, max_size=8), st.integers(1, 60))
def test_estimator_pubs_are_cut_along_rows_only(costs: list[PubCost], budget: int) -> None:
    plan = plan_pub_jobs(costs, None, budget)
    assert all(part.shots is None for parts in plan.parts for part in parts)
    check_plan(plan, costs, None, budget, None)


# ----------------------------------------------------------------- examples


def test_a_sampler_pub_over_budget_is_cut_by_shots() -> None:
    costs = [PubCost((3,), 100, True, 100), PubCost((), 10, True, 10)]
    plan = plan_pub_jobs(costs, max_executions_per_job=120)
    assert [part.shots for part in plan.parts[0]] == [range(40), range(40, 80), range(80, 100)]
    assert all(part.rows is None for part in plan.parts[0])
    # Other shots never share a job with the last 20-shot part.
    assert plan.num_jobs == 4
    assert plan.pubs_in_jobs([2, 3]) == [0, 1]


def test_a_pub_whose_shape_is_over_budget_is_cut_along_rows_filling_jobs() -> None:
    costs = [PubCost((2,), key=0.1), PubCost((10, 3), key=0.1)]
    plan = plan_pub_jobs(costs, max_executions_per_job=9)
    # The first job had room for two rows of three after the small PUB.
    assert [(part.job, part.rows) for part in plan.parts[1]] == [
        (0, range(2)),
        (1, range(2, 5)),
        (2, range(5, 8)),
        (3, range(8, 10)),
    ]


def test_a_sampler_row_over_budget_at_all_shots_is_cut_by_rows_and_shots() -> None:
    plan = plan_pub_jobs([PubCost((4, 5), 10, True, 10)], max_executions_per_job=12)
    cells = [(part.rows, part.shots) for part in plan.parts[0]]
    assert cells[:6] == [(range(2), range(s, s + 1)) for s in range(6)]
    assert len(cells) == 20


def test_different_shots_and_precisions_never_share_a_job() -> None:
    plan = plan_pub_jobs([PubCost((), 5, True, 5), PubCost((), 5, True, None)])
    assert plan.num_jobs == 2
    plan = plan_pub_jobs([PubCost((), key=0.1), PubCost((), key=0.1), PubCost((), key=0.2)])
    assert [len(job) for job in plan.jobs] == [2, 1]


def test_unknown_shots_are_refused_under_an_execution_budget_only() -> None:
    costs = [PubCost((), 10, True, 10), PubCost((2,), None, True, None)]
    with pytest.raises(InvalidInputError, match="pub 1 sets no shots"):
        plan_pub_jobs(costs, max_executions_per_job=100)
    assert plan_pub_jobs(costs).num_jobs == 2


def test_empty_workload_has_no_jobs() -> None:
    plan = plan_pub_jobs([], 3, 10, 10)
    assert plan.jobs == () and plan.parts == ()


@pytest.mark.parametrize("name", ["max_pubs_per_job", "max_executions_per_job"])
@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_limits_must_be_positive_integers(name: str, bad: object) -> None:
    with pytest.raises(InvalidInputError, match=name):
        plan_pub_jobs([PubCost(())], **{name: bad})  # type: ignore[arg-type]


# ---------------------------------------------------------- costs and parts


def test_costs_of_real_pubs() -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    circuit.measure_all()
    pubs = coerce_sampler_pubs([(circuit, np.zeros((4, 3))), (circuit, [0.5], 7)])
    costs = pub_costs(pubs, default_shots=100, circuit_bytes=estimate_circuit_bytes)
    assert [cost.shape for cost in costs] == [(4, 3), ()]
    assert [cost.shots for cost in costs] == [100, 7]
    assert [cost.key for cost in costs] == [None, 7]
    # Values along the leading axis weigh per row; a 0-d PUB's are fixed.
    assert costs[0].fixed_bytes == estimate_circuit_bytes(circuit)
    assert costs[0].row_bytes > 0 and costs[1].row_bytes == 0
    assert costs[1].fixed_bytes > costs[0].fixed_bytes
    cheap = pub_costs(pubs)
    assert all(cost.fixed_bytes == cost.row_bytes == 0 for cost in cheap)
    assert cheap[0].shots is None


def test_estimator_cost_keeps_broadcast_arrays_whole() -> None:
    theta = Parameter("theta")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    observables = [[SparsePauliOp("ZZ")], [SparsePauliOp("XX")], [SparsePauliOp("IZ")]]
    (pub,) = coerce_estimator_pubs([(circuit, observables, np.linspace(0, 1, 5))])
    (cost,) = pub_costs([pub], circuit_bytes=lambda _: 1000)
    assert cost.shape == (3, 5) and not cost.sampler
    # Observables (3, 1) are cut along rows; the values (5,) are broadcast.
    assert cost.fixed_bytes > 1000 and cost.row_bytes > 0
    plan = plan_pub_jobs([cost], max_executions_per_job=5)
    parts = job_pubs([pub], plan)
    assert [[p.shape for p in job] for job in parts] == [[(1, 5)], [(1, 5)], [(1, 5)]]
    assert parts[1][0].observables.tolist() == [[{"XX": 1.0}]]
    assert parts[1][0].parameter_values is pub.parameter_values
