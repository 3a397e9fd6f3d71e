"""A run plan: everything a job set's run needs, validated once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qiskit.circuit import QuantumCircuit

from managedjob._job_set._policy import ResubmitPolicy
from managedjob._job_set._state import validate_tags
from managedjob._job_set._workload import CIRCUITS, Workload
from managedjob._managed_job import CheckedRun
from managedjob.exceptions import InvalidInputError

__all__ = ["RunPlan"]


@dataclass(frozen=True)
class RunPlan:
    """What one run submits, checked before anything is: target, options, slices, tags.

    A slice holds items of the plan's :attr:`workload`: circuits for the
    legacy API.

    :meth:`JobManager.run <managedjob.JobManager.run>` builds one after its
    own checks and hands it to the job set, which hands its
    :attr:`checked` run to each job, so that the target is resolved and the
    run options are checked once per run.

    Attributes:
        checked: The backend, its target, and the run options it accepted.
        slices: The items (circuits) of each job, in order.
        job_tags: The set's tags.
        resubmit: How often a failed job is resubmitted by itself.
        workload: What the items and the results are.
    """

    checked: CheckedRun
    slices: tuple[tuple[Any, ...], ...]
    job_tags: tuple[str, ...] = ()
    resubmit: ResubmitPolicy = field(default_factory=ResubmitPolicy)
    workload: Workload = CIRCUITS

    @property
    def run_config(self) -> dict[str, Any]:
        """The run options as given: the target's and the Qobj-only ones."""
        return {**self.checked.run_config, **self.checked.qobj_options}

    @property
    def sizes(self) -> list[int]:
        """The number of experiments of each job."""
        return [len(circuits) for circuits in self.slices]

    @classmethod
    def build(
        cls,
        experiment_list: Sequence[Sequence[QuantumCircuit]],
        backend: Any,
        job_tags: list[str] | None,
        max_resubmits: int,
        run_config: dict[str, Any],
        *,
        checked: CheckedRun | None = None,
        workload: Workload = CIRCUITS,
    ) -> RunPlan:
        """Check every part of a run and return its plan.

        Args:
            experiment_list: The circuits of each job.
            backend: What to run on.
            job_tags: The set's tags.
            max_resubmits: How often a failed job is resubmitted by itself.
            run_config: Run options for every job.
            checked: The target and options, when the caller checked them already.
            workload: What the items of a slice are.

        Raises:
            InvalidInputError: Naming what is not valid.
        """
        tags = validate_tags(job_tags) if job_tags is not None else []
        resubmit = ResubmitPolicy(max_resubmits)
        if checked is None:
            checked = CheckedRun.check(backend, run_config)
        slices: list[tuple[Any, ...]] = []
        for number, experiments in enumerate(experiment_list):
            circuits = tuple(experiments)
            if not circuits:
                raise InvalidInputError(f"experiment_list[{number}] is empty")
            for index, item in enumerate(circuits):
                if not workload.is_item(item):
                    raise InvalidInputError(
                        f"experiment_list[{number}][{index}] is a "
                        f"{type(item).__name__}, not a {workload.item_kind}"
                    )
            slices.append(circuits)
        if not slices:
            raise InvalidInputError("experiment_list holds no experiments")
        return cls(checked, tuple(slices), tuple(tags), resubmit, workload)
