"""Reading a set as a whole: experiment lookups, reports, names and tags."""

from __future__ import annotations

import logging
from typing import Any

from qiskit.providers import JobStatus

from managedjob._job_set._state import SetState, validate_tags
from managedjob._job_set._submission import Submitter
from managedjob._managed_job import ManagedJob
from managedjob._report import format_job_details, format_status_counts
from managedjob._results import Experiment, ExperimentIndex
from managedjob.exceptions import InvalidInputError, JobManagerInvalidStateError
from managedjob.targets import resolve_target

__all__ = ["Lookups"]

logger = logging.getLogger("managedjob._job_set")


class Lookups:
    """Finds experiments in a set, reports on it, renames and retags it.

    Args:
        state: The set's state.
        submitter: Tells when the submissions are over.
    """

    def __init__(self, state: SetState, submitter: Submitter) -> None:
        self._state = state
        self._submitter = submitter

    def experiment_index(self) -> ExperimentIndex:
        """Return the table from experiment to job, built once per list of jobs."""
        state = self._state
        with state.lock:
            if state.index is None:
                slices = [(mjob.start_index, mjob.end_index) for mjob in state.managed_jobs]
                state.index = ExperimentIndex(slices, self._experiment_names())
            return state.index

    def _experiment_names(self) -> list[str | None]:
        state = self._state
        workload = state.workload
        if state.experiments is not None:
            return [workload.item_name(item) for item in state.experiments]
        if state.names_hint is not None:
            return list(state.names_hint)
        names: list[str | None] = []
        for mjob in state.managed_jobs:
            count = mjob.experiments_count
            result = mjob._raw_result
            told = None if result is None else workload.result_item_names(result, count)
            names.extend(told if told is not None else [None] * count)
        return names

    def locate(self, experiment: Experiment) -> tuple[int, int]:
        """Return the number of the job that ran ``experiment``, and its index there."""
        self._submitter.require_jobs()
        return self.experiment_index().locate(experiment)

    def backend_name(self) -> str:
        """Return the name of the set's target, or the best guess at it."""
        state = self._state
        if state.target is not None:
            return state.target.name
        backend = state.backend
        if backend is None:
            return state.backend_name_hint or "unknown"
        try:
            return resolve_target(backend).name
        except Exception:
            return type(backend).__name__

    def report(self, statuses: list[JobStatus | None], detailed: bool) -> str:
        """Return the set's report for ``statuses``."""
        state = self._state
        lines = [
            f"Job set name: {state.name}",
            f"          ID: {state.id}",
            f"        tags: {list(state.tags)}",
            "Summary report:",
            *format_status_counts(statuses),
        ]
        if detailed:
            lines.append("\nDetail report:")
            lines.extend(format_job_details(statuses, state.managed_jobs))
        return "\n".join(lines)

    def error_messages(self) -> str | None:
        """Return one block per failed job, or ``None`` if none failed."""
        self._submitter.require_jobs()
        report: list[str] = []
        for number, mjob in enumerate(self._state.managed_jobs):
            message = mjob.error_message()
            if not message:
                continue
            job_id = mjob.job.job_id() if mjob.job is not None else None
            report.append(
                f"Experiments {mjob.start_index}-{mjob.end_index}, "
                f"job index={number}, job ID={job_id}:"
            )
            report.extend("  " + line for line in message.split("\n"))
        return "\n".join(report) if report else None

    def update_name(self, name: str) -> str:
        """Rename the set and its jobs (see ``ManagedJobSet.update_name``)."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"name must be a non-empty str, not {name!r}")
        state = self._state
        self._submitter.require_jobs()
        state.name = name
        for number, mjob in enumerate(state.managed_jobs):
            new_name = state.job_name(number)
            mjob.job_name = new_name
            self._push_to_job(mjob, "update_name", "rename", new_name)
        if state.recorder is not None:
            state.recorder.update(name=name)
        return state.name

    def update_tags(
        self,
        replacement_tags: list[str] | None,
        additional_tags: list[str] | None,
        removal_tags: list[str] | None,
    ) -> list[str]:
        """Change the set's tags (see ``ManagedJobSet.update_tags``)."""
        if replacement_tags is None and additional_tags is None and removal_tags is None:
            raise JobManagerInvalidStateError(
                "The tags cannot be updated since none of the parameters are specified."
            )
        state = self._state
        tags = (
            validate_tags(replacement_tags, "replacement_tags")
            if replacement_tags is not None
            else list(state.tags)
        )
        if additional_tags is not None:
            tags.extend(
                tag for tag in validate_tags(additional_tags, "additional_tags") if tag not in tags
            )
        if removal_tags is not None:
            removed = set(validate_tags(removal_tags, "removal_tags"))
            tags = [tag for tag in tags if tag not in removed]
        tags = [tag for tag in dict.fromkeys(tags) if tag != state.id_long]
        if state.managed_jobs:
            self._submitter.wait_for_submissions()
        for mjob in state.managed_jobs:
            self._push_to_job(
                mjob, "update_tags", "update the tags of", replacement_tags=[*tags, state.id_long]
            )
        state.tags = tags
        if state.recorder is not None:
            state.recorder.update(tags=tags)
        return list(state.tags)

    def _push_to_job(
        self, mjob: ManagedJob, method: str, what: str, *args: Any, **kwargs: Any
    ) -> None:
        """Call ``method`` on the job if its target keeps such things; log a failure."""
        update = getattr(mjob.job, method, None)
        if not callable(update):
            return
        try:
            update(*args, **kwargs)
        except Exception as err:
            logger.warning(
                "Unable to %s job %s of job set %s: %s",
                what,
                mjob.job.job_id() if mjob.job is not None else None,
                self._state.id,
                err,
            )
