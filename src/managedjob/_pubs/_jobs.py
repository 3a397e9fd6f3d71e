"""What a managed job of PUBs holds and returns.

A job set of PUBs runs each job's PUB *parts*: a :class:`PubItem` is one of
them, the PUB a job runs together with the :class:`~._plan.PubPart` that
says which input PUB it comes from and which rows or shots of it it runs.
So a job's items alone tell how its results are merged back, in this
process or, read from the journal, in another.

A job's result is a :class:`PubJobResult`: a :class:`qiskit.result.Result`
(what every job of a managed set gives) that carries the primitive's own
``PrimitiveResult`` one attribute away, as primitive jobs do throughout
the package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qiskit.primitives import PrimitiveResult
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.result import Result

from managedjob._pubs._plan import PubPart, PubPlan

__all__ = ["PubItem", "PubJobResult", "plan_of_items"]


@dataclass(frozen=True)
class PubItem:
    """One PUB of one job: a part of an input PUB.

    Attributes:
        pub: The PUB the job runs (the input PUB itself when the part is whole).
        part: Which input PUB it is part of, and which rows or shots of it.
    """

    pub: SamplerPub | EstimatorPub
    part: PubPart


class PubJobResult(Result):
    """The result of one job of PUBs: a ``Result`` that carries a ``PrimitiveResult``.

    It has no experiment results of its own; :attr:`primitive_result` holds
    one ``PubResult`` per PUB of the job, in order.

    Args:
        primitive_result: What the primitive's job returned.
        backend_name: Where the job ran.
        job_id: The job's id.
    """

    def __init__(
        self,
        primitive_result: PrimitiveResult[Any],
        *,
        backend_name: str | None = None,
        job_id: str | None = None,
    ) -> None:
        super().__init__(
            backend_name=backend_name,
            backend_version=None,
            job_id=job_id,
            success=True,
            results=[],
            status="DONE",
        )
        self.primitive_result = primitive_result

    def __repr__(self) -> str:
        return (
            f"<PubJobResult job_id={self.job_id!r} backend={self.backend_name!r} "
            f"pubs={len(self.primitive_result)}>"
        )


def plan_of_items(slices: Sequence[Sequence[PubItem]]) -> PubPlan:
    """Rebuild the plan a set of jobs runs from the items of each job, in job order.

    Each item's part is taken with the job and position it has in
    ``slices``; a PUB's parts come in job order, which is the order the
    planner makes them in.

    Raises:
        ValueError: If an input PUB has no part (a job's items are missing).
    """
    jobs = tuple(
        tuple(
            PubPart(item.part.pub, job, position, item.part.rows, item.part.shots)
            for position, item in enumerate(items)
        )
        for job, items in enumerate(slices)
    )
    count = 1 + max((part.pub for parts in jobs for part in parts), default=-1)
    parts: list[list[PubPart]] = [[] for _ in range(count)]
    for job_parts in jobs:
        for part in job_parts:
            parts[part.pub].append(part)
    missing = [index for index, pub_parts in enumerate(parts) if not pub_parts]
    if missing:
        raise ValueError(f"PUBs {missing} have no part in any job")
    return PubPlan(jobs, tuple(tuple(pub_parts) for pub_parts in parts))
