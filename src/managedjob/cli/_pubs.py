"""The commands on journaled PUB sets: their results as JSON, and their retry on a primitive.

A PUB set's results are one ``PrimitiveResult``; ``managedjob results``
writes, per input PUB, its data fields (arrays as nested lists; a
``BitArray`` as its counts, per element of its shape) and its metadata, or
``null`` for a PUB without a result. ``managedjob retry`` reruns a PUB set's
failed jobs on a primitive: a Statevector primitive for a set that ran on
one, else the ``--backend`` wrapped in ``BackendSamplerV2`` or
``BackendEstimatorV2`` (runtime ``SamplerV2``/``EstimatorV2`` for an IBM
Quantum backend).
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

import numpy as np
from qiskit.primitives import (
    BackendEstimatorV2,
    BackendSamplerV2,
    BitArray,
    PrimitiveResult,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.primitives.containers.sampler_pub import SamplerPub

from managedjob._job_set import ManagedJobSet
from managedjob._journal import JobSetRecord, Journal
from managedjob.cli._backends import make_backend
from managedjob.cli._errors import CliError
from managedjob.cli._output import Output, emit_document, plural, print_summary
from managedjob.cli._sets import backend_for
from managedjob.cli._view import pub_lines

__all__ = [
    "is_pub_record",
    "is_pub_set",
    "primitive_for",
    "print_pub_summary",
    "pub_result_document",
    "show_pub_results",
]

_PUBS = "pubs"


def is_pub_set(job_set: ManagedJobSet) -> bool:
    """Whether ``job_set`` runs PUBs."""
    return job_set._workload_kind == _PUBS


def is_pub_record(journal: Journal, record: JobSetRecord) -> bool:
    """Whether the journaled set of ``record`` runs PUBs."""
    return journal.stored_job_set(record.job_set_id).workload == _PUBS


def _runs_sampler(journal: Journal, record: JobSetRecord) -> bool:
    items = journal.load_circuits(record.job_set_id, 0)
    return bool(items) and isinstance(items[0].pub, SamplerPub)


def primitive_for(journal: Journal, record: JobSetRecord, spec: str | None) -> tuple[Any, str]:
    """Return the primitive a PUB set's failed jobs rerun on, and its spec.

    Raises:
        CliError: If no spec is given and none makes what the set ran on.
    """
    sampler = _runs_sampler(journal, record)
    if spec is None and record.backend_name in ("statevector_sampler", "statevector_estimator"):
        return (StatevectorSampler() if sampler else StatevectorEstimator()), "statevector"
    backend, spec = backend_for(record, spec) if spec is None else (make_backend(spec), spec)
    if type(backend).__module__.startswith("qiskit_ibm_runtime"):
        from qiskit_ibm_runtime import EstimatorV2, SamplerV2

        return (SamplerV2(mode=backend) if sampler else EstimatorV2(mode=backend)), spec
    if sampler:
        return BackendSamplerV2(backend=backend), spec
    return BackendEstimatorV2(backend=backend), spec


def _field(value: Any) -> Any:
    if isinstance(value, BitArray):
        if value.shape == ():
            counts: Any = value.get_counts()
        else:
            counts = np.empty(value.shape, dtype=object)
            for index in np.ndindex(value.shape):
                counts[index] = value.get_counts(index)
            counts = counts.tolist()
        return {"num_bits": value.num_bits, "num_shots": value.num_shots, "counts": counts}
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return {"real": value.real.tolist(), "imag": value.imag.tolist()}
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def pub_result_document(
    job_set: ManagedJobSet, result: PrimitiveResult[Any], only: int | None = None
) -> dict[str, Any]:
    """Return a PUB set's merged result as JSON data, one entry per PUB (``None`` if none).

    With ``only``, the entry of that PUB alone.
    """
    pubs: list[dict[str, Any] | None] = []
    for index in range(len(result)) if only is None else [only]:
        pub_result = result[index]
        if pub_result is None:
            pubs.append(None)
            continue
        data = pub_result.data
        pubs.append(
            {
                "index": index,
                "shape": list(data.shape),
                "data": {name: _field(value) for name, value in data.items()},
                "metadata": pub_result.metadata,
            }
        )
    return {"job_set_id": job_set.job_set_id(), "name": job_set.name(), "pubs": pubs}


def show_pub_results(
    job_set: ManagedJobSet,
    result: PrimitiveResult[Any],
    output: Output,
    *,
    limit: int | None = None,
    only: int | None = None,
) -> None:
    """Write a PUB set's results as JSON where ``output`` says, or show them as a table.

    Raises:
        CliError: If CSV is asked for: PUB data are JSON only.
    """
    if not output.table and output.fmt != "json":
        raise CliError("the results of a PUB set are JSON only (--json, or -o FILE.json)")
    if output.table:
        print("\n".join(pub_lines(result, sys.stdout, limit, only)))
        return
    document = pub_result_document(job_set, result, only)

    def write(out: TextIO) -> None:
        out.write(json.dumps(document, indent=1, default=repr) + "\n")

    emit_document(output, write)


def print_pub_summary(
    job_set: ManagedJobSet,
    result: PrimitiveResult[Any],
    backend_name: str,
    output: Output,
    journal: Journal | None,
    elapsed: float | None = None,
    *,
    retry_hint: str,
    attached: bool = True,
) -> int:
    """Print a PUB set's summary (unless quiet); return the exit code (1 if a PUB has none).

    ``retry_hint`` is the command that reruns the set's failed jobs.
    """
    missing = [index for index, pub in enumerate(result) if pub is None]
    pubs = str(len(result)) + (f" ({len(missing)} without a result)" if missing else "")
    print_summary(
        job_set, backend_name, ("PUBs", pubs), output, journal, elapsed, attached=attached
    )
    if missing and output.info is not None:
        print(
            f"{plural(len(missing), 'PUB')} of the set have no result; "
            f"{retry_hint} reruns their jobs",
            file=sys.stderr,
        )
    return 1 if missing else 0
