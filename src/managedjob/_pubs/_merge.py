"""The results of a plan's jobs joined back into one ``PrimitiveResult``.

The merged result has one ``PubResult`` per input PUB, in input order, as
one run of all the PUBs would have given it: the parts of a PUB cut by shots
are joined along the shots axis (``BitArray.concatenate_shots``), the parts
cut along the leading axis are stacked back along it (``BitArray.concatenate``
and ``numpy.concatenate``), so shapes, dtypes and bit order are the run's. A
PUB run whole keeps its ``PubResult`` object as the job returned it.

Metadata: a PUB made of several parts keeps the first part's metadata, with
``shots`` counting all its shots, and the metadata of every part in order
under ``"parts"``. The merged result of several jobs keeps the first
finished job's metadata, and every job's (``None`` for a failed one) under
``"jobs"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qiskit.primitives import BitArray, DataBin, PrimitiveResult, PubResult

from managedjob._pubs._plan import PubPart, PubPlan
from managedjob.exceptions import InvalidInputError, ResultDataNotAvailableError

__all__ = ["format_indexes", "merge_pub_results"]


def format_indexes(indexes: Sequence[int]) -> str:
    """Write sorted indexes briefly, runs as ranges: ``"0-4, 7, 9-10"``."""
    runs: list[list[int]] = []
    for index in indexes:
        if runs and index == runs[-1][1] + 1:
            runs[-1][1] = index
        else:
            runs.append([index, index])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def _join_shots(pub: int, results: Sequence[PubResult]) -> DataBin:
    """Join the data of parts that ran the same rows for different shots."""
    first = results[0].data
    axis = len(first.shape)
    fields: dict[str, Any] = {}
    for name, value in first.items():
        values = [result.data[name] for result in results]
        if isinstance(value, BitArray):
            fields[name] = BitArray.concatenate_shots(values)
        elif isinstance(value, np.ndarray) and value.ndim > axis:
            # Per-shot arrays (kerneled or classified data) hold shots after the shape.
            fields[name] = np.concatenate(values, axis=axis)
        else:
            raise InvalidInputError(
                f"pub {pub}: its field {name!r} ({type(value).__name__}) has no shots "
                f"axis, so its parts run with different shots cannot be joined"
            )
    return DataBin(shape=first.shape, **fields)


def _stack_rows(pub: int, bins: Sequence[DataBin]) -> DataBin:
    """Stack the data of parts that ran consecutive leading-axis rows."""
    first = bins[0]
    shape = (sum(data.shape[0] for data in bins), *first.shape[1:])
    fields: dict[str, Any] = {}
    for name, value in first.items():
        values = [data[name] for data in bins]
        if isinstance(value, BitArray):
            fields[name] = BitArray.concatenate(values, axis=0)
        elif isinstance(value, np.ndarray) and value.ndim >= 1:
            fields[name] = np.concatenate(values, axis=0)
        else:
            raise InvalidInputError(
                f"pub {pub}: its field {name!r} ({type(value).__name__}) has no leading "
                f"axis, so its parts cannot be stacked"
            )
    return DataBin(shape=shape, **fields)


def _merge_parts(pub: int, parts: Sequence[PubPart], results: Sequence[PubResult]) -> PubResult:
    """Join the results of a PUB's parts (ordered by rows, then shots)."""
    groups: list[list[PubResult]] = []
    previous: range | bool | None = False  # no part seen yet
    for part, result in zip(parts, results, strict=True):
        if part.rows != previous:
            groups.append([])
            previous = part.rows
        groups[-1].append(result)
    bins = [group[0].data if len(group) == 1 else _join_shots(pub, group) for group in groups]
    data = bins[0] if len(bins) == 1 else _stack_rows(pub, bins)
    first = results[0]
    metadata = dict(first.metadata)
    if isinstance(metadata.get("shots"), int) and len(groups[0]) > 1:
        metadata["shots"] = sum(result.metadata.get("shots", 0) for result in groups[0])
    metadata["parts"] = [result.metadata for result in results]
    return type(first)(data, metadata=metadata)


def _check_results(plan: PubPlan, job_results: Sequence[PrimitiveResult | None]) -> None:
    if len(job_results) != plan.num_jobs:
        raise InvalidInputError(
            f"the plan has {plan.num_jobs} jobs, but {len(job_results)} results were given"
        )
    for job, (parts, result) in enumerate(zip(plan.jobs, job_results, strict=True)):
        if result is not None and len(result) != len(parts):
            raise InvalidInputError(
                f"job {job} returned {len(result)} PUB results for its {len(parts)} PUBs"
            )


def merge_pub_results(
    plan: PubPlan,
    job_results: Sequence[PrimitiveResult | None],
    partial: bool = False,
    reasons: Mapping[int, str] | None = None,
) -> PrimitiveResult:
    """Join the results of the jobs of ``plan`` into one result of the input PUBs.

    Args:
        plan: The plan the jobs ran.
        job_results: Each job's result, in job order; ``None`` for a job
            that failed (or has no result).
        partial: Whether to give ``None`` in the place of each PUB with a
            part in a failed job, instead of raising.
        reasons: Why jobs failed, by job index, for the error message.

    Returns:
        One ``PubResult`` per input PUB, in input order (``None`` for PUBs of
        failed jobs when ``partial``).

    Raises:
        ResultDataNotAvailableError: If a job failed and ``partial`` is false;
            the message names the PUBs without a result and why.
        InvalidInputError: If the results do not match the plan, or a field
            of a PUB's parts cannot be joined.
    """
    _check_results(plan, job_results)
    failed_jobs = [job for job, result in enumerate(job_results) if result is None]
    failed = set(plan.pubs_in_jobs(failed_jobs))
    if failed and not partial:
        why = "; ".join(
            f"job {job}: {(reasons or {}).get(job, 'no result')}" for job in failed_jobs
        )
        raise ResultDataNotAvailableError(
            f"PUBs {format_indexes(sorted(failed))} have no result ({why})"
        )
    pub_results: list[PubResult | None] = []
    for pub, parts in enumerate(plan.parts):
        if pub in failed:
            pub_results.append(None)
            continue
        results = [job_results[part.job][part.position] for part in parts]  # type: ignore[index]
        if len(parts) == 1 and parts[0].whole:
            pub_results.append(results[0])
        else:
            pub_results.append(_merge_parts(pub, parts, results))
    done = [result for result in job_results if result is not None]
    if len(job_results) == 1 and done:
        metadata = dict(done[0].metadata)
    else:
        metadata = dict(done[0].metadata) if done else {}
        metadata["jobs"] = [None if result is None else result.metadata for result in job_results]
    return PrimitiveResult(pub_results, metadata=metadata)
