"""How a list of PUBs is packed into jobs, and cut when one is too big for a job.

A plan says, for every job, which PUB parts it runs (in order), and for
every input PUB, which parts make it up. Jobs are filled greedily in input
order, up to a count of PUBs, a budget of executions and a budget of payload
bytes; all PUBs of a job share their shots (Sampler) or precision
(Estimator), as given on the PUB (a part cut by shots runs its own count of
shots, and shares a job only with PUBs of that count).

A PUB that does not fit in a job of its own is cut:

- a Sampler PUB whose broadcast shape fits at one shot is cut by shots:
  each part runs the whole shape for as many shots as one job may hold;
- otherwise the PUB is cut along its leading axis into runs of rows, the
  first filling what is left of the current job; a Sampler PUB whose single
  row is over the budget at all its shots is cut into blocks of rows, each
  cut by shots.

The smallest unit is one leading-axis row (the whole PUB when it has no
axis) at one shot; a job holding a unit alone may be over a budget, and a
PUB one row of which is over the byte budget on its own is cut by
executions only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub

from managedjob._checks import check_positive_int
from managedjob._pubs._cost import PubCost, has_leading_axis

__all__ = ["PubPart", "PubPlan", "job_pubs", "part_pub", "plan_pub_jobs"]


@dataclass(frozen=True)
class PubPart:
    """One part of an input PUB, run as one PUB of one job.

    Attributes:
        pub: The index of the input PUB.
        job: The index of the job that runs the part.
        position: The part's index in that job's list of PUBs.
        rows: The leading-axis rows of the PUB the part runs; ``None`` for all.
        shots: The shots of the PUB the part runs, as a range of shot
            indexes; ``None`` for the PUB's own shots (not cut by shots).
    """

    pub: int
    job: int
    position: int
    rows: range | None = None
    shots: range | None = None

    @property
    def whole(self) -> bool:
        """Whether the part is the whole PUB."""
        return self.rows is None and self.shots is None


@dataclass(frozen=True)
class PubPlan:
    """Where every PUB runs.

    Attributes:
        jobs: The parts each job runs, in the order of the job's PUBs.
        parts: The parts of each input PUB, in input order; a PUB's parts are
            ordered by rows, then by shots, which is the order they are
            joined back in.
    """

    jobs: tuple[tuple[PubPart, ...], ...]
    parts: tuple[tuple[PubPart, ...], ...]

    @property
    def num_jobs(self) -> int:
        """The number of jobs."""
        return len(self.jobs)

    def pubs_in_jobs(self, jobs: Iterable[int]) -> list[int]:
        """Return the input PUBs that have a part in any of ``jobs``, in order.

        These are the PUBs a failure of those jobs leaves without a result.
        """
        return sorted({part.pub for job in jobs for part in self.jobs[job]})


class _Packer:
    """Fills jobs in order, closing one when the next part does not fit."""

    def __init__(
        self, max_pubs: int | None, max_executions: int | None, max_bytes: int | None
    ) -> None:
        self.max_pubs = max_pubs
        self.max_executions = max_executions
        self.max_bytes = max_bytes
        self.jobs: list[list[PubPart]] = []
        self._current: list[PubPart] = []
        self._key: float | None = None
        self._executions = 0
        self._bytes = 0

    def _open_to(self, key: float | None) -> bool:
        """Whether the current job may take one more part with ``key``."""
        if not self._current:
            return True
        full = self.max_pubs is not None and len(self._current) >= self.max_pubs
        return not full and key == self._key

    def fits(self, key: float | None, executions: int, nbytes: int) -> bool:
        """Whether a part of this cost fits in the current job."""
        return (
            self._open_to(key)
            and (
                self.max_executions is None or self._executions + executions <= self.max_executions
            )
            and (self.max_bytes is None or self._bytes + nbytes <= self.max_bytes)
        )

    def fits_alone(self, executions: int, nbytes: int) -> bool:
        """Whether a part of this cost fits in a job of its own."""
        return (self.max_executions is None or executions <= self.max_executions) and (
            self.max_bytes is None or nbytes <= self.max_bytes
        )

    def rows_that_fit(self, cost: PubCost, row_executions: int) -> int:
        """How many rows of ``cost`` (at all their shots) fit in the current job."""
        if not self._open_to(cost.key):
            return 0
        count = cost.rows or 0
        if self.max_executions is not None and row_executions > 0:
            count = min(count, (self.max_executions - self._executions) // row_executions)
        unit_over = cost.fixed_bytes + cost.row_bytes > (self.max_bytes or 0)
        # A row over the byte budget on its own makes every part over it:
        # then only executions decide how many rows a part (alone in its job) holds.
        if self.max_bytes is not None and not (unit_over and not self._current):
            room = self.max_bytes - self._bytes - cost.fixed_bytes
            if room < 0:
                count = 0
            elif cost.row_bytes > 0:
                count = min(count, room // cost.row_bytes)
        return max(count, 0)

    @property
    def empty(self) -> bool:
        """Whether the current job has no part yet."""
        return not self._current

    def close(self) -> None:
        """End the current job, if it has parts."""
        if self._current:
            self.jobs.append(self._current)
            self._current = []
            self._executions = self._bytes = 0

    def add(
        self,
        pub: int,
        key: float | None,
        executions: int,
        nbytes: int,
        rows: range | None = None,
        shots: range | None = None,
    ) -> PubPart:
        """Put a part in the current job, closing it first if it holds other keys."""
        if self._current and key != self._key:
            self.close()
        part = PubPart(pub, len(self.jobs), len(self._current), rows, shots)
        self._current.append(part)
        self._key = key
        self._executions += executions
        self._bytes += nbytes
        return part


def _shot_parts(
    packer: _Packer, index: int, cost: PubCost, rows: range | None, limit: int, total: int
) -> list[PubPart]:
    """Cut the rows ``rows`` of a Sampler PUB of ``total`` shots by shots, one job per part.

    ``limit`` is the execution budget of a job.
    """
    elements = cost.size if rows is None else len(rows) * cost.row_size
    nbytes = cost.payload_bytes(None if rows is None else len(rows))
    step = max(1, limit // elements)
    parts = []
    for start in range(0, total, step):
        shots = range(start, min(start + step, total))
        packer.close()
        parts.append(packer.add(index, len(shots), elements * len(shots), nbytes, rows, shots))
    return parts


def _row_parts(packer: _Packer, index: int, cost: PubCost, per_element: int) -> list[PubPart]:
    """Cut a PUB along its leading axis, filling the current job first."""
    rows = cost.rows or 0
    row_executions = cost.row_size * per_element
    parts = []
    start = 0
    while start < rows:
        count = packer.rows_that_fit(cost, row_executions)
        if count == 0 and not packer.empty:
            packer.close()
            continue
        count = min(max(count, 1), rows - start)
        part_rows = range(start, start + count)
        parts.append(
            packer.add(
                index,
                cost.key,
                count * row_executions,
                cost.payload_bytes(count),
                rows=part_rows,
            )
        )
        start += count
    return parts


def _block_parts(
    packer: _Packer, index: int, cost: PubCost, limit: int, total: int
) -> list[PubPart]:
    """Cut a Sampler PUB into blocks of rows that fit at one shot, each cut by shots."""
    rows = cost.rows or 0
    block = max(1, limit // max(cost.row_size, 1))
    if packer.max_bytes is not None and cost.row_bytes > 0:
        room = packer.max_bytes - cost.fixed_bytes
        if room >= cost.row_bytes:
            block = min(block, room // cost.row_bytes)
    parts = []
    for start in range(0, rows, block):
        part_rows = range(start, min(start + block, rows))
        parts.extend(_shot_parts(packer, index, cost, part_rows, limit, total))
    return parts


def _place(packer: _Packer, index: int, cost: PubCost) -> list[PubPart]:
    """Put one PUB in jobs, whole if it fits, else in parts."""
    # Executions only matter under a budget; without one, shots may be unknown.
    per_element = 0 if packer.max_executions is None else cost.executions_per_element(index)
    executions = cost.size * per_element
    nbytes = cost.payload_bytes()
    if packer.fits(cost.key, executions, nbytes):
        return [packer.add(index, cost.key, executions, nbytes)]
    if packer.fits_alone(executions, nbytes):
        packer.close()
        return [packer.add(index, cost.key, executions, nbytes)]
    splittable = (cost.rows or 0) > 1
    limit = packer.max_executions
    if limit is not None and cost.sampler:
        # Under an execution budget, a Sampler PUB's per_element is its shots.
        if executions > limit and (not splittable or packer.fits_alone(cost.size, nbytes)):
            return _shot_parts(packer, index, cost, None, limit, per_element)
        if splittable and cost.row_size * per_element > limit:
            return _block_parts(packer, index, cost, limit, per_element)
    if not splittable:
        packer.close()
        return [packer.add(index, cost.key, executions, nbytes)]
    return _row_parts(packer, index, cost, per_element)


def plan_pub_jobs(
    costs: Sequence[PubCost],
    max_pubs_per_job: int | None = None,
    max_executions_per_job: int | None = None,
    max_payload_bytes: int | None = None,
) -> PubPlan:
    """Pack PUBs into jobs, cutting those too big for one job.

    Args:
        costs: The cost of each PUB, in input order (see :func:`pub_costs`).
        max_pubs_per_job: Most PUBs (parts) in one job; ``None`` for no limit.
        max_executions_per_job: Most executions in one job; ``None`` for no limit.
        max_payload_bytes: Most payload bytes in one job; ``None`` for no limit.

    Returns:
        The plan. An empty list of PUBs gives a plan without jobs.

    Raises:
        InvalidInputError: If a limit is not a positive integer, or a Sampler
            PUB's shots are unknown under an execution budget (naming its index).
    """
    for name, limit in (
        ("max_pubs_per_job", max_pubs_per_job),
        ("max_executions_per_job", max_executions_per_job),
        ("max_payload_bytes", max_payload_bytes),
    ):
        if limit is not None:
            check_positive_int(name, limit)
    packer = _Packer(max_pubs_per_job, max_executions_per_job, max_payload_bytes)
    parts = [tuple(_place(packer, index, cost)) for index, cost in enumerate(costs)]
    packer.close()
    return PubPlan(tuple(tuple(job) for job in packer.jobs), tuple(parts))


def part_pub(pub: SamplerPub | EstimatorPub, part: PubPart) -> SamplerPub | EstimatorPub:
    """Return the PUB that runs ``part`` of ``pub``; ``pub`` itself for a whole part."""
    if part.whole:
        return pub
    rows = part.rows
    bindings = pub.parameter_values
    if rows is not None and has_leading_axis(bindings.shape, pub.shape):
        bindings = bindings[rows.start : rows.stop]
    if isinstance(pub, SamplerPub):
        shots = pub.shots if part.shots is None else len(part.shots)
        return SamplerPub(pub.circuit, bindings, shots, validate=False)
    observables = pub.observables
    if rows is not None and has_leading_axis(observables.shape, pub.shape):
        observables = observables[rows.start : rows.stop]
    return EstimatorPub(pub.circuit, observables, bindings, pub.precision, validate=False)


def job_pubs(
    pubs: Sequence[SamplerPub | EstimatorPub], plan: PubPlan
) -> list[list[SamplerPub | EstimatorPub]]:
    """Return the PUBs each job of ``plan`` runs, in order."""
    return [[part_pub(pubs[part.pub], part) for part in job] for job in plan.jobs]
