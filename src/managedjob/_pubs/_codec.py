"""PUBs and primitive results as bytes and back, without pickle.

PUBs: their circuits as one QPY blob (a circuit shared by several PUBs is
stored once), parameter values as ``.npy`` arrays keyed by parameter names,
observables as text (a nested list of ``{"Pauli label": coefficient}``
dicts, as ``ObservablesArray.tolist()`` gives them), shots and precision as
numbers.

Job items (:class:`~._jobs.PubItem`): a JSON list of their parts, as in
plans (with the job and position they were planned at), followed by their
PUBs as above.

Plans: JSON, each part as ``[pub, rows start, rows stop, shots start, shots
stop]`` (``null`` for a range the part does not cut), job by job.

Results: each ``BitArray`` as its ``uint8`` array and ``num_bits``, other
arrays as ``.npy``, metadata as tagged JSON (see :mod:`._wire`). A result
read back compares equal to the one written, field by field; a ``None`` in
the place of a PUB result (a partial result) stays ``None``.

The bytes are not compressed: whoever stores them may.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from qiskit import qpy
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import BitArray, DataBin, PrimitiveResult, PubResult, SamplerPubResult
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.primitives.containers.sampler_pub import SamplerPub

from managedjob._pubs._jobs import PubItem
from managedjob._pubs._plan import PubPart, PubPlan
from managedjob._pubs._wire import BlobReader, BlobWriter
from managedjob.exceptions import InvalidInputError

__all__ = [
    "decode_items",
    "decode_plan",
    "decode_pubs",
    "decode_result",
    "encode_items",
    "encode_plan",
    "encode_pubs",
    "encode_result",
]

_PUBS_MAGIC = b"MJPUBS\x00\x01"
_RESULT_MAGIC = b"MJPRES\x00\x01"
_PUBS = "PUBs written by managedjob"
_RESULT = "a primitive result written by managedjob"
_PLAN = "a plan written by managedjob"
_ITEMS = "job items written by managedjob"
_ITEMS_LENGTH = 8


def _circuit_indexes(
    pubs: Sequence[SamplerPub | EstimatorPub],
) -> tuple[list[QuantumCircuit], list[int]]:
    """Return the distinct circuits (by identity) and each PUB's index into them."""
    seen: dict[int, int] = {}
    circuits: list[QuantumCircuit] = []
    indexes = []
    for pub in pubs:
        index = seen.get(id(pub.circuit))
        if index is None:
            index = seen[id(pub.circuit)] = len(circuits)
            circuits.append(pub.circuit)
        indexes.append(index)
    return circuits, indexes


def _encode_bindings(writer: BlobWriter, bindings: BindingsArray) -> dict[str, Any]:
    return {
        "shape": list(bindings.shape),
        "data": [[list(names), writer.array(values)] for names, values in bindings.data.items()],
    }


def encode_pubs(pubs: Sequence[SamplerPub | EstimatorPub]) -> bytes:
    """Return ``pubs`` (all Sampler or all Estimator PUBs) as bytes.

    Raises:
        InvalidInputError: If the PUBs are of both kinds, or a circuit cannot
            be written as QPY.
    """
    kinds = {isinstance(pub, SamplerPub) for pub in pubs}
    if len(kinds) > 1:
        raise InvalidInputError("Sampler and Estimator PUBs cannot be written together")
    writer = BlobWriter(_PUBS_MAGIC)
    circuits, indexes = _circuit_indexes(pubs)
    buffer = io.BytesIO()
    try:
        qpy.dump(circuits, buffer)
    except Exception as err:
        raise InvalidInputError(f"a circuit cannot be written as QPY: {err}") from err
    entries = []
    for pub, index in zip(pubs, indexes, strict=True):
        entry: dict[str, Any] = {
            "circuit": index,
            "values": _encode_bindings(writer, pub.parameter_values),
        }
        if isinstance(pub, SamplerPub):
            entry["shots"] = pub.shots
        else:
            observables = pub.observables
            entry["precision"] = pub.precision
            entry["observables"] = {
                "shape": list(observables.shape),
                "terms": observables.tolist(),
            }
        entries.append(entry)
    header = {
        "kind": "sampler" if kinds == {True} else "estimator",
        "circuits": writer.blob(buffer.getvalue()),
        "pubs": entries,
    }
    return writer.finish(header)


def _decode_bindings(reader: BlobReader, entry: dict[str, Any]) -> BindingsArray:
    data = {tuple(names): reader.array(array) for names, array in entry["data"]}
    return BindingsArray(data or None, shape=tuple(entry["shape"]))


def _decode_observables(entry: dict[str, Any]) -> ObservablesArray:
    shape = tuple(entry["shape"])
    observables = ObservablesArray(entry["terms"])
    # An empty array's text ([] or [[], []]) may not say all of its shape.
    return observables if observables.shape == shape else observables.reshape(shape)


def decode_pubs(data: bytes) -> list[SamplerPub] | list[EstimatorPub]:
    """Read PUBs written by :func:`encode_pubs`.

    Raises:
        InvalidInputError: If ``data`` was not written by :func:`encode_pubs`
            or is damaged.
    """
    reader = BlobReader(data, _PUBS_MAGIC, _PUBS)
    header = reader.header
    try:
        circuits = qpy.load(io.BytesIO(reader.blob(header["circuits"])))
        if header["kind"] == "sampler":
            return [
                SamplerPub(
                    circuits[entry["circuit"]],
                    _decode_bindings(reader, entry["values"]),
                    entry["shots"],
                    validate=False,
                )
                for entry in header["pubs"]
            ]
        return [
            EstimatorPub(
                circuits[entry["circuit"]],
                _decode_observables(entry["observables"]),
                _decode_bindings(reader, entry["values"]),
                entry["precision"],
                validate=False,
            )
            for entry in header["pubs"]
        ]
    except InvalidInputError:
        raise
    except Exception as err:
        raise reader.error(err) from err


def _encode_field(writer: BlobWriter, value: Any) -> dict[str, Any]:
    if isinstance(value, BitArray):
        return {"bits": writer.array(value.array), "num_bits": value.num_bits}
    return {"value": writer.value(value)}


def _encode_pub_result(writer: BlobWriter, result: PubResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    data = result.data
    return {
        "sampler": isinstance(result, SamplerPubResult),
        "shape": list(data.shape),
        "fields": [[name, _encode_field(writer, value)] for name, value in data.items()],
        "metadata": writer.value(result.metadata),
    }


def encode_result(result: PrimitiveResult) -> bytes:
    """Return a ``PrimitiveResult`` (``None`` allowed in place of PUB results) as bytes."""
    writer = BlobWriter(_RESULT_MAGIC)
    header = {
        "metadata": writer.value(result.metadata),
        "pubs": [_encode_pub_result(writer, pub_result) for pub_result in result],
    }
    return writer.finish(header)


def _decode_pub_result(reader: BlobReader, entry: dict[str, Any] | None) -> PubResult | None:
    if entry is None:
        return None
    fields = {}
    for name, field in entry["fields"]:
        if "bits" in field:
            fields[name] = BitArray(reader.array(field["bits"]), field["num_bits"])
        else:
            fields[name] = field["value"]
    data = DataBin(shape=tuple(entry["shape"]), **fields)
    kind = SamplerPubResult if entry["sampler"] else PubResult
    return kind(data, metadata=entry["metadata"])


def decode_result(data: bytes) -> PrimitiveResult:
    """Read a result written by :func:`encode_result`.

    Raises:
        InvalidInputError: If ``data`` was not written by :func:`encode_result`
            or is damaged.
    """
    reader = BlobReader(data, _RESULT_MAGIC, _RESULT)
    header = reader.header
    try:
        pub_results = [_decode_pub_result(reader, entry) for entry in header["pubs"]]
        return PrimitiveResult(pub_results, metadata=header["metadata"])
    except InvalidInputError:
        raise
    except Exception as err:
        raise reader.error(err) from err


def _bounds(span: range | None) -> list[int | None]:
    return [None, None] if span is None else [span.start, span.stop]


def _span(start: int | None, stop: int | None) -> range | None:
    return None if start is None or stop is None else range(start, stop)


def encode_plan(plan: PubPlan) -> bytes:
    """Return ``plan`` as JSON bytes."""
    jobs = [
        [[part.pub, *_bounds(part.rows), *_bounds(part.shots)] for part in job]
        for job in plan.jobs
    ]
    text = json.dumps({"version": 1, "pubs": len(plan.parts), "jobs": jobs}, separators=(",", ":"))
    return text.encode("utf-8")


def _read_part(job: int, position: int, entry: list[int | None]) -> PubPart:
    pub, rows_start, rows_stop, shots_start, shots_stop = entry
    if not isinstance(pub, int) or pub < 0:
        raise TypeError(f"a part's PUB index is {pub!r}")
    return PubPart(
        pub, job, position, _span(rows_start, rows_stop), _span(shots_start, shots_stop)
    )


def decode_plan(data: bytes) -> PubPlan:
    """Read a plan written by :func:`encode_plan`.

    Raises:
        InvalidInputError: If ``data`` is not such a plan, or it is damaged.
    """
    try:
        document = json.loads(data)
        if document["version"] != 1:
            raise ValueError(f"version {document['version']!r}")
        jobs = tuple(
            tuple(_read_part(job, position, entry) for position, entry in enumerate(entries))
            for job, entries in enumerate(document["jobs"])
        )
        parts: list[list[PubPart]] = [[] for _ in range(document["pubs"])]
        for job_parts in jobs:
            for part in job_parts:
                parts[part.pub].append(part)
    except (ValueError, KeyError, TypeError, IndexError) as err:
        raise InvalidInputError(f"these bytes are not {_PLAN}: {err}") from err
    if not all(parts):
        raise InvalidInputError(f"these bytes are not {_PLAN}: a PUB has no part")
    return PubPlan(jobs, tuple(tuple(pub_parts) for pub_parts in parts))


def encode_items(items: Sequence[PubItem]) -> bytes:
    """Return the items of one job (their PUBs and parts) as bytes.

    Raises:
        InvalidInputError: As :func:`encode_pubs`.
    """
    parts = [
        [
            item.part.pub,
            item.part.job,
            item.part.position,
            *_bounds(item.part.rows),
            *_bounds(item.part.shots),
        ]
        for item in items
    ]
    text = json.dumps({"version": 1, "parts": parts}, separators=(",", ":")).encode("utf-8")
    pubs = encode_pubs([item.pub for item in items])
    return len(text).to_bytes(_ITEMS_LENGTH, "little") + text + pubs


def decode_items(data: bytes) -> list[PubItem]:
    """Read the items of one job written by :func:`encode_items`.

    Raises:
        InvalidInputError: If ``data`` is not such items, or it is damaged.
    """
    try:
        length = int.from_bytes(data[:_ITEMS_LENGTH], "little")
        document = json.loads(data[_ITEMS_LENGTH : _ITEMS_LENGTH + length])
        if document["version"] != 1:
            raise ValueError(f"version {document['version']!r}")
        parts = []
        for entry in document["parts"]:
            pub, job, position, rows_start, rows_stop, shots_start, shots_stop = entry
            parts.append(
                PubPart(
                    pub,
                    job,
                    position,
                    _span(rows_start, rows_stop),
                    _span(shots_start, shots_stop),
                )
            )
    except (ValueError, KeyError, TypeError) as err:
        raise InvalidInputError(f"these bytes are not {_ITEMS}: {err}") from err
    pubs = decode_pubs(data[_ITEMS_LENGTH + length :])
    if len(pubs) != len(parts):
        raise InvalidInputError(
            f"these bytes are not {_ITEMS}: {len(parts)} parts but {len(pubs)} PUBs"
        )
    return [PubItem(pub, part) for pub, part in zip(pubs, parts, strict=True)]
