"""The results of a job set, read as one."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from qiskit.circuit import QuantumCircuit
from qiskit.exceptions import QiskitError
from qiskit.result import Result

from managedjob._report import format_html_table
from managedjob.exceptions import (
    InvalidInputError,
    JobManagerError,
    JobNotFoundError,
    ResultDataNotAvailableError,
    error_text,
)

if TYPE_CHECKING:
    from managedjob._job_set import ManagedJobSet

__all__ = ["ExperimentIndex", "ManagedResults"]

T = TypeVar("T")

#: How an experiment can be named: its index, its name, or its circuit.
Experiment: TypeAlias = int | str | QuantumCircuit


class ExperimentIndex:
    """Finds the job of an experiment in constant time.

    Built once per job set: a table from experiment index to job, and a
    table from experiment name to the first experiment of that name.

    Args:
        slices: ``(start_index, end_index)`` of each job, in order.
        names: Each experiment's name (``None`` where unknown), in order.
    """

    def __init__(self, slices: Sequence[tuple[int, int]], names: Sequence[str | None]) -> None:
        self._starts = [start for start, _ in slices]
        self._job_of = array("l")
        for number, (start, end) in enumerate(slices):
            self._job_of.extend([number] * (end - start + 1))
        self._by_name: dict[str, int] = {}
        for index, name in enumerate(names):
            if name is not None:
                self._by_name.setdefault(name, index)

    def __len__(self) -> int:
        return len(self._job_of)

    def index_of(self, experiment: Experiment) -> int:
        """Return the index of ``experiment`` in the job set.

        Raises:
            JobNotFoundError: If no experiment matches.
            InvalidInputError: If ``experiment`` is not an int, str or circuit.
        """
        if isinstance(experiment, bool):
            raise InvalidInputError(
                f"an experiment is an index, name or circuit, not {experiment!r}"
            )
        if isinstance(experiment, int):
            if 0 <= experiment < len(self._job_of):
                return experiment
            raise JobNotFoundError(
                f"Unable to find the job for experiment {experiment}: the job set has "
                f"experiments 0-{len(self._job_of) - 1}."
            )
        name = experiment.name if isinstance(experiment, QuantumCircuit) else experiment
        if not isinstance(name, str):
            raise InvalidInputError(
                f"an experiment is an index, name or circuit, not {type(experiment).__name__}"
            )
        try:
            return self._by_name[name]
        except KeyError:
            raise JobNotFoundError(
                f"Unable to find the job for experiment {name!r}: no experiment has that name."
            ) from None

    def locate(self, experiment: Experiment) -> tuple[int, int]:
        """Return the number of the job running ``experiment`` and its index in that job.

        Raises:
            JobNotFoundError: If no experiment matches.
        """
        index = self.index_of(experiment)
        number = self._job_of[index]
        return number, index - self._starts[number]


class ManagedResults:
    """The results of every job of a job set, read as one ``Result``.

    It has the reading methods of :class:`qiskit.result.Result`, with the same
    argument names, addressing experiments across the whole set by index,
    name or circuit; and :meth:`combine_results` for one plain ``Result``.

    Reading an experiment whose job failed, was cancelled or was never
    submitted raises :class:`~managedjob.exceptions.IBMQManagedResultDataNotAvailable`;
    the other experiments stay readable.

    Args:
        job_set: The job set the results belong to.
        backend_name: Name of the backend the experiments ran on.
        success: Whether every job succeeded.
        results: Each job's result (``None`` for a job without one), in
            order. Without it, each job is asked for its cached result.

    Attributes:
        backend_name: Name of the backend the experiments ran on.
        success: ``True`` if every experiment's data is available.
    """

    def __init__(
        self,
        job_set: ManagedJobSet,
        backend_name: str,
        success: bool,
        *,
        results: Sequence[Result | None] | None = None,
    ) -> None:
        self._job_set = job_set
        self.backend_name = backend_name
        self.success = success
        self._results = list(results) if results is not None else None
        self._partial = False

    def __repr__(self) -> str:
        return (
            f"<ManagedResults job set {self._job_set.job_set_id()!r} "
            f"backend={self.backend_name!r} success={self.success}>"
        )

    def _repr_html_(self) -> str:
        jobs = self._job_set.managed_jobs()
        failed = sum(
            1
            for number in range(len(jobs))
            if (result := self._job_result(number)) is None or not result.success
        )
        rows: list[tuple[str, object]] = [
            ("job set", f"{self._job_set.name()} ({self._job_set.job_set_id()})"),
            ("backend", self.backend_name),
            ("success", self.success),
            ("experiments", jobs[-1].end_index + 1 if jobs else 0),
            ("jobs", f"{len(jobs)}, {failed} without a whole result"),
        ]
        return format_html_table("ManagedResults", rows)

    def _job_result(self, number: int) -> Result | None:
        if self._results is not None:
            return self._results[number]
        return self._job_set.managed_jobs()[number].result(partial=True)

    def _get_result(self, experiment: Experiment) -> tuple[Result, int]:
        """Return the result of the job that ran ``experiment``, and its index there.

        Raises:
            IBMQManagedResultDataNotAvailable: If the data cannot be had.
            IBMQJobManagerJobNotFound: If no experiment matches.
        """
        number, index = self._job_set._experiment_index().locate(experiment)
        mjob = self._job_set.managed_jobs()[number]
        where = f"experiments {mjob.start_index}-{mjob.end_index}"
        result = self._job_result(number)
        if result is None:
            if mjob.submit_error is not None:
                why = f"the job for {where} was not submitted: {mjob.submit_error}"
            else:
                message = mjob.error_message()
                why = f"the job for {where} has no result" + (f": {message}" if message else "")
            raise ResultDataNotAvailableError(
                f"Result data for experiment {_label(experiment)} is not available: {why}"
            )
        experiments = result.results
        if index >= len(experiments) or not experiments[index].success:
            status = (
                getattr(experiments[index], "status", None) if index < len(experiments) else None
            )
            raise ResultDataNotAvailableError(
                f"Result data for experiment {_label(experiment)} is not available: it failed "
                f"in the job for {where}" + (f": {status}" if status else "")
            )
        return result, index

    def _one_or_all(self, experiment: Experiment | None, read: Callable[[Experiment], T]) -> Any:
        if experiment is not None:
            return read(experiment)
        count = len(self._job_set._experiment_index())
        if count == 1:
            return read(0)
        raise InvalidInputError(
            f"the job set has {count} experiments: say which one (an index, name or circuit)"
        )

    def _read(
        self, experiment: Experiment, what: str, getter: Callable[[Result, int], Any]
    ) -> Any:
        """Read ``what`` of an experiment from its job's result.

        Raises:
            IBMQManagedResultDataNotAvailable: If the result has no such data
                (Qiskit's own error, such as "No counts for experiment", is
                its cause).
        """
        result, index = self._get_result(experiment)
        try:
            return getter(result, index)
        except JobManagerError:
            raise
        except QiskitError as err:
            raise ResultDataNotAvailableError(
                f"Experiment {experiment!r} has no {what}: {error_text(err)}"
            ) from err

    def data(self, experiment: Experiment | None = None) -> dict[str, Any]:
        """Return the raw data of an experiment, as ``Result.data`` does.

        Args:
            experiment: The experiment's index in the set, its name, or its
                circuit; may be left out when the set has one experiment.

        Raises:
            IBMQManagedResultDataNotAvailable: If its data cannot be had.
            IBMQJobManagerJobNotFound: If no experiment matches.
        """

        def read(exp: Experiment) -> dict[str, Any]:
            result, index = self._get_result(exp)
            return result.data(index)  # type: ignore[no-any-return]

        return self._one_or_all(experiment, read)  # type: ignore[no-any-return]

    def get_memory(self, experiment: Experiment | None = None) -> Any:
        """Return the memory (one readout per shot) of an experiment.

        Args:
            experiment: As for :meth:`data`.

        Raises:
            IBMQManagedResultDataNotAvailable: If its data cannot be had.
            IBMQJobManagerJobNotFound: If no experiment matches.
        """

        def read(exp: Experiment) -> Any:
            return self._read(exp, "memory", lambda result, index: result.get_memory(index))

        return self._one_or_all(experiment, read)

    def get_counts(self, experiment: Experiment | None = None) -> Any:
        """Return the counts of an experiment, as ``Result.get_counts`` does.

        Args:
            experiment: As for :meth:`data`. When left out, the counts of
                every experiment are returned, in order (a single dict when the
                set has one experiment).

        Raises:
            IBMQManagedResultDataNotAvailable: If the data cannot be had.
            IBMQJobManagerJobNotFound: If no experiment matches.
        """

        def read(exp: Experiment) -> Any:
            return self._read(exp, "counts", lambda result, index: result.get_counts(index))

        if experiment is not None:
            return read(experiment)
        counts = [read(index) for index in range(len(self._job_set._experiment_index()))]
        return counts[0] if len(counts) == 1 else counts

    def get_statevector(
        self, experiment: Experiment | None = None, decimals: int | None = None
    ) -> Any:
        """Return the final statevector of an experiment.

        Args:
            experiment: As for :meth:`data`.
            decimals: Digits to round to; ``None`` does not round.

        Raises:
            IBMQManagedResultDataNotAvailable: If its data cannot be had.
            IBMQJobManagerJobNotFound: If no experiment matches.
        """

        def read(exp: Experiment) -> Any:
            return self._read(
                exp,
                "statevector",
                lambda result, index: result.get_statevector(experiment=index, decimals=decimals),
            )

        return self._one_or_all(experiment, read)

    def get_unitary(
        self, experiment: Experiment | None = None, decimals: int | None = None
    ) -> Any:
        """Return the final unitary of an experiment.

        Args:
            experiment: As for :meth:`data`.
            decimals: Digits to round to; ``None`` does not round.

        Raises:
            IBMQManagedResultDataNotAvailable: If its data cannot be had.
            IBMQJobManagerJobNotFound: If no experiment matches.
        """

        def read(exp: Experiment) -> Any:
            return self._read(
                exp,
                "unitary",
                lambda result, index: result.get_unitary(experiment=index, decimals=decimals),
            )

        return self._one_or_all(experiment, read)

    def combine_results(self) -> Result:
        """Return one ``Result`` holding every experiment, in input order.

        The experiment results are shared with the jobs' results, not copied.

        Returns:
            The combined result.

        Raises:
            IBMQManagedResultDataNotAvailable: If any job has no result, or any
                experiment failed.
        """
        jobs = self._job_set.managed_jobs()
        parts: list[Result] = []
        missing: list[str] = []
        for number, mjob in enumerate(jobs):
            result = self._job_result(number)
            if result is None or not result.success:
                missing.append(f"{mjob.start_index}-{mjob.end_index}")
            else:
                parts.append(result)
        if missing:
            raise ResultDataNotAvailableError(
                "Cannot combine the results: the jobs for experiments "
                f"{', '.join(missing)} have no successful result."
            )
        experiments = [experiment for part in parts for experiment in part.results]
        first = parts[0]
        return Result(
            backend_name=self.backend_name,
            backend_version=first.backend_version,
            job_id=self._job_set.job_set_id(),
            success=True,
            results=experiments,
            date=first.date,
            status=first.status,
            header=first.header,
        )


def _label(experiment: Experiment) -> str:
    if isinstance(experiment, QuantumCircuit):
        return repr(experiment.name)
    return repr(experiment)
