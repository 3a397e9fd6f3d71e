"""The journal's codec: how circuits, results and run options become bytes and back.

Circuits are ``zlib``-compressed QPY. Results are ``zlib``-compressed JSON of
``Result.to_dict()``, with numpy arrays, complex numbers and Qiskit state
objects (``Statevector``, ``DensityMatrix``, ``Operator``) tagged so that
they come back as they were; anything else that is not JSON is kept as its
``repr`` string. Run options are JSON; ``parameter_binds`` keys are stored
by parameter name and matched to the circuits' parameters when read back. A
run option that is not JSON is reported, not stored. Nothing is ever
unpickled: only QPY and JSON are read.

What a set's slices hold is its *workload* (recorded per set): each kind
has a :class:`WorkloadCodec`: ``circuits`` is the above; ``pubs`` (a set of
Sampler or Estimator PUBs, see :class:`PubsCodec`) stores each job's PUB
parts and each job's ``PrimitiveResult`` in the pickle-free form of
:mod:`managedjob._pubs` (QPY, ``.npy`` arrays, textual Pauli observables),
``zlib``-compressed.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from qiskit.circuit import Parameter, QuantumCircuit
from qiskit.result import Result
from qiskit.result.models import ExperimentResult

from managedjob._journal._circuits import decode_circuits, encode_circuits
from managedjob._journal._results import MAGIC as RESULT_COLUMNS
from managedjob._journal._results import columns_of, experiments_from_columns
from managedjob._pubs import (
    PubJobResult,
    decode_items,
    encode_items,
)
from managedjob._pubs import decode_result as decode_primitive_result
from managedjob._pubs import encode_result as encode_primitive_result

if TYPE_CHECKING:
    from managedjob.targets import Target

__all__ = [
    "CIRCUITS",
    "PUBS",
    "CircuitsCodec",
    "PubsCodec",
    "WorkloadCodec",
    "decode_circuits",
    "decode_result",
    "decode_run_config",
    "describe_target",
    "encode_circuits",
    "encode_result",
    "encode_run_config",
    "register_workload",
    "stored_result_dict",
    "workload_codec",
]

_TAG = "$mj"
_SCALARS = frozenset({str, int, float, bool, type(None)})


class _NotJournalable(TypeError):
    """A value has no JSON form."""


def _encode(value: Any, strict: bool) -> Any:
    """Return ``value`` as plain JSON data, tagging what JSON cannot say.

    With ``strict``, a value of an unknown type raises
    :class:`_NotJournalable`; otherwise it is kept as its ``repr``.
    """
    # Fast paths for what results are mostly made of: plain dicts and lists of
    # scalars. They keep leaves out of the recursion (results hold ~50 values
    # per experiment); everything else takes the general path below.
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is dict and _TAG not in value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str:
                break
            out[key] = item if type(item) in _SCALARS else _encode(item, strict)
        else:
            return out
    if kind is list:
        return [item if type(item) in _SCALARS else _encode(item, strict) for item in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, complex):
        return {_TAG: "complex", "v": [value.real, value.imag]}
    if isinstance(value, np.ndarray):
        return _encode_array(value, strict)
    if isinstance(value, np.generic):
        return _encode(value.item(), strict)
    if isinstance(value, Parameter):
        return {_TAG: "parameter", "v": value.name}
    if isinstance(value, datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, Mapping):
        if _TAG not in value and all(isinstance(key, str) for key in value):
            return {key: _encode(item, strict) for key, item in value.items()}
        pairs = [[_encode(key, strict), _encode(item, strict)] for key, item in value.items()]
        return {_TAG: "dict", "v": pairs}
    if isinstance(value, list):
        return [_encode(item, strict) for item in value]
    if isinstance(value, tuple):
        return {_TAG: "tuple", "v": [_encode(item, strict) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {_TAG: "set", "v": [_encode(item, strict) for item in value]}
    if isinstance(value, Enum):
        return _encode(value.value, strict)
    state = _encode_quantum_info(value, strict)
    if state is not None:
        return state
    if strict:
        raise _NotJournalable(type(value).__qualname__)
    return {_TAG: "repr", "v": repr(value)}


def _encode_array(array: np.ndarray[Any, Any], strict: bool) -> dict[str, Any]:
    kind = array.dtype.kind
    encoded: dict[str, Any] = {
        _TAG: "ndarray",
        "dtype": array.dtype.str,
        "shape": list(array.shape),
    }
    if kind in "biuf":
        encoded["v"] = array.ravel().tolist()
    elif kind == "c":
        encoded["re"] = array.real.ravel().tolist()
        encoded["im"] = array.imag.ravel().tolist()
    else:
        encoded["dtype"] = "|O"
        encoded["v"] = [_encode(item, strict) for item in array.ravel().tolist()]
    return encoded


def _encode_quantum_info(value: object, strict: bool) -> dict[str, Any] | None:
    from qiskit.quantum_info import DensityMatrix, Operator, Statevector

    if isinstance(value, (Statevector, DensityMatrix)):
        kind = "Statevector" if isinstance(value, Statevector) else "DensityMatrix"
        return {_TAG: kind, "v": _encode(value.data, strict), "dims": list(value.dims())}
    if isinstance(value, Operator):
        return {
            _TAG: "Operator",
            "v": _encode(value.data, strict),
            "input_dims": list(value.input_dims()),
            "output_dims": list(value.output_dims()),
        }
    return None


def _decode(value: Any, parameters: Mapping[str, Parameter]) -> Any:
    """Undo :func:`_encode`; parameters are looked up by name in ``parameters``."""
    if isinstance(value, list):
        return [_decode(item, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    tag = value.get(_TAG)
    if tag is None:
        return {key: _decode(item, parameters) for key, item in value.items()}
    data: Any = value.get("v")
    if tag == "complex":
        return complex(data[0], data[1])
    if tag == "ndarray":
        return _decode_array(value, parameters)
    if tag == "parameter":
        return parameters.get(data) or Parameter(data)
    if tag == "datetime":
        return datetime.fromisoformat(data)
    if tag == "dict":
        return {_decode(key, parameters): _decode(item, parameters) for key, item in data}
    if tag == "tuple":
        return tuple(_decode(item, parameters) for item in data)
    if tag == "set":
        return {_decode(item, parameters) for item in data}
    if tag == "repr":
        return data
    if tag in ("Statevector", "DensityMatrix", "Operator"):
        return _decode_quantum_info(tag, value, parameters)
    raise ValueError(f"unknown tag {tag!r} in journaled data")


def _decode_array(value: dict[str, Any], parameters: Mapping[str, Parameter]) -> Any:
    dtype = np.dtype(value["dtype"])
    shape = tuple(value["shape"])
    if dtype.kind == "c":
        array = np.asarray(value["re"], dtype=float) + 1j * np.asarray(value["im"], dtype=float)
        return array.astype(dtype).reshape(shape)
    if dtype.kind == "O":
        items = [_decode(item, parameters) for item in value["v"]]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(shape)
    return np.asarray(value["v"], dtype=dtype).reshape(shape)


def _decode_quantum_info(tag: str, value: dict[str, Any], parameters: Mapping[str, Any]) -> Any:
    from qiskit.quantum_info import DensityMatrix, Operator, Statevector

    data = _decode(value["v"], parameters)
    if tag == "Statevector":
        return Statevector(data, dims=tuple(value["dims"]))
    if tag == "DensityMatrix":
        return DensityMatrix(data, dims=tuple(value["dims"]))
    return Operator(
        data,
        input_dims=tuple(value["input_dims"]),
        output_dims=tuple(value["output_dims"]),
    )


# Journal blobs are compressed for speed, not size: level 1 takes a quarter of
# the default level's time; QPY and counts shrink about as much, per-shot
# memory takes about a quarter more room.
_ZLIB_LEVEL = 1


def _pack_json(data: Any) -> bytes:
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode("utf-8"), _ZLIB_LEVEL)


def _unpack_json(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob).decode("utf-8"))


# What ExperimentResult.to_dict() writes when the instance has it, in its order.
_OPTIONAL_EXPERIMENT_FIELDS = ("header", "status", "seed", "meas_return")


def _experiment_dict(experiment: ExperimentResult) -> dict[str, Any]:
    """Return what ``experiment.to_dict()`` returns, without its cost.

    ``ExperimentResult.to_dict`` probes its optional fields with ``hasattr``,
    and each absent one raises an exception inside ``__getattr__``: that was
    half the cost of journaling a result. The fields are read from the
    instance's dictionary instead; a subclass, or an instance laid out in a
    way this does not know, is asked for ``to_dict()``.
    """
    fields = getattr(experiment, "__dict__", None)
    if type(experiment) is not ExperimentResult or fields is None:
        return dict(experiment.to_dict())
    try:
        out = {
            "shots": fields["shots"],
            "success": fields["success"],
            "data": fields["data"].to_dict(),
            "meas_level": fields["meas_level"],
        }
        metadata = fields["_metadata"]
    except (KeyError, AttributeError):
        return dict(experiment.to_dict())
    for key in _OPTIONAL_EXPERIMENT_FIELDS:
        if key in fields:
            out[key] = fields[key]
    out.update(metadata)
    return out


def _result_fields(result: Result) -> dict[str, Any]:
    """Return what ``result.to_dict()`` returns but its experiments (a plain ``Result``)."""
    out = {
        "backend_name": result.backend_name,
        "backend_version": result.backend_version,
        "date": result.date,
        "header": result.header,
        "job_id": result.job_id,
        "status": result.status,
        "success": result.success,
    }
    out.update(result._metadata)
    return out


def _result_dict(result: Result) -> dict[str, Any]:
    """Return what ``result.to_dict()`` returns (see :func:`_experiment_dict`)."""
    if type(result) is not Result:
        return dict(result.to_dict())
    out = _result_fields(result)
    out["results"] = [_experiment_dict(experiment) for experiment in result.results]
    return out


def _dumps(data: Any) -> bytes:
    # Results are trees (Result.to_dict() gives one), so the encoder need not
    # track every container it enters for cycles: half its time.
    text = json.dumps(
        data,
        separators=(",", ":"),
        default=lambda value: _encode(value, strict=False),
        check_circular=False,
    )
    return zlib.compress(text.encode("utf-8"), _ZLIB_LEVEL)


def encode_result(result: Result) -> bytes:
    """Return ``result`` as compressed JSON.

    Results are large and mostly plain JSON, so the JSON encoder walks them
    itself and only asks :func:`_encode` about what it cannot write (numpy
    values, complex numbers, ...); tuples in a result come back as lists.
    A result whose experiments have the same fields (and headers with the
    same fields) is written as columns
    (:mod:`managedjob._journal._results`): a fraction of the values to
    encode.
    """
    columns = None
    if type(result) is Result:
        columns = columns_of(result.results, _experiment_dict)
    if columns is None:
        return _dumps(_result_dict(result))
    columns["result"] = _result_fields(result)
    return RESULT_COLUMNS + _dumps(columns)


def stored_result_dict(blob: bytes) -> Any:
    """Return the JSON data of a result written by :func:`encode_result`, as one mapping.

    Either form gives the mapping ``Result.to_dict()`` gave, with what JSON
    cannot say still tagged (see :func:`_encode`).
    """
    if not blob.startswith(RESULT_COLUMNS):
        return _unpack_json(blob)
    columns = _unpack_json(blob[len(RESULT_COLUMNS) :])
    data = dict(columns["result"])
    data["results"] = experiments_from_columns(columns)
    return data


def decode_result(blob: bytes) -> Result:
    """Rebuild a result written by :func:`encode_result` (either form)."""
    return Result.from_dict(_decode(stored_result_dict(blob), {}))


def encode_run_config(run_config: Mapping[str, Any]) -> tuple[str, list[str]]:
    """Return the JSON of the run options that have one, and the names of those that don't."""
    stored: dict[str, Any] = {}
    unsaved: list[str] = []
    for key, value in run_config.items():
        try:
            stored[key] = _encode(value, strict=True)
        except _NotJournalable:
            unsaved.append(key)
    return json.dumps(stored, separators=(",", ":")), unsaved


def decode_run_config(text: str, circuits: Sequence[QuantumCircuit]) -> dict[str, Any]:
    """Rebuild run options; parameter names become the circuits' parameters."""
    parameters: dict[str, Parameter] = {}
    for circuit in circuits:
        for parameter in circuit.parameters:
            parameters.setdefault(parameter.name, parameter)
    decoded = _decode(json.loads(text), parameters)
    if not isinstance(decoded, dict):
        raise ValueError("journaled run options are not a mapping")
    return decoded


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def describe_target(target: Target) -> dict[str, str]:
    """Describe a target by names only: nothing that could hold a credential."""
    return {
        "name": target.name,
        "adapter": _qualname(type(target)),
        "class": _qualname(type(target.wrapped)),
    }


# ---------------------------------------------------------------------- workloads

CIRCUITS = "circuits"
"""The workload of a job set of circuits whose results are ``qiskit.result.Result``."""


class WorkloadCodec(Protocol):
    """How the slices and results of one kind of job set are stored.

    A job set records its workload kind; its slices, results and run options
    are written and read by the codec registered for that kind.
    """

    @property
    def kind(self) -> str:
        """The workload kind, as the journal records it."""
        ...

    def encode_slice(self, items: Sequence[Any]) -> bytes:
        """Return the experiments of one slice as bytes."""
        ...

    def decode_slice(self, blob: bytes) -> list[Any]:
        """Rebuild the experiments of one slice."""
        ...

    def names(self, items: Sequence[Any]) -> list[str | None]:
        """Return the names of the experiments of one slice."""
        ...

    def encode_result(self, result: Any) -> bytes:
        """Return the result of one job as bytes."""
        ...

    def decode_result(self, blob: bytes) -> Any:
        """Rebuild the result of one job."""
        ...

    def decode_run_config(self, text: str, items: Sequence[Any]) -> dict[str, Any]:
        """Rebuild the run options of a slice of ``items``."""
        ...


class CircuitsCodec:
    """Circuits as QPY, results as tagged JSON of ``Result.to_dict()``."""

    kind = CIRCUITS

    def encode_slice(self, items: Sequence[Any]) -> bytes:
        """Return circuits as compressed QPY."""
        return encode_circuits(items)

    def decode_slice(self, blob: bytes) -> list[Any]:
        """Rebuild circuits from compressed QPY."""
        return decode_circuits(blob)

    def names(self, items: Sequence[Any]) -> list[str | None]:
        """Return the circuits' names."""
        return [circuit.name for circuit in items]

    def encode_result(self, result: Any) -> bytes:
        """Return a ``Result`` as compressed JSON."""
        return encode_result(result)

    def decode_result(self, blob: bytes) -> Any:
        """Rebuild a ``Result``."""
        return decode_result(blob)

    def decode_run_config(self, text: str, items: Sequence[Any]) -> dict[str, Any]:
        """Rebuild run options; parameter names become the circuits' parameters."""
        return decode_run_config(text, items)


PUBS = "pubs"
"""The workload of a job set of Sampler or Estimator PUBs."""

_RESULT_HEAD = 8


class PubsCodec:
    """PUB parts and primitive results, without pickle (see :mod:`managedjob._pubs`)."""

    kind = PUBS

    def encode_slice(self, items: Sequence[Any]) -> bytes:
        """Return a job's PUB parts as compressed bytes."""
        return zlib.compress(encode_items(items), _ZLIB_LEVEL)

    def decode_slice(self, blob: bytes) -> list[Any]:
        """Rebuild a job's PUB parts."""
        return list(decode_items(zlib.decompress(blob)))

    def names(self, items: Sequence[Any]) -> list[str | None]:
        """Return no names: PUBs have none."""
        return [None] * len(items)

    def encode_result(self, result: Any) -> bytes:
        """Return a job's :class:`~managedjob._pubs.PubJobResult` as compressed bytes."""
        head = json.dumps({"backend_name": result.backend_name, "job_id": result.job_id})
        text = head.encode("utf-8")
        body = encode_primitive_result(result.primitive_result)
        return zlib.compress(len(text).to_bytes(_RESULT_HEAD, "little") + text + body, _ZLIB_LEVEL)

    def decode_result(self, blob: bytes) -> Any:
        """Rebuild a job's :class:`~managedjob._pubs.PubJobResult`."""
        data = zlib.decompress(blob)
        length = int.from_bytes(data[:_RESULT_HEAD], "little")
        head = json.loads(data[_RESULT_HEAD : _RESULT_HEAD + length])
        return PubJobResult(
            decode_primitive_result(data[_RESULT_HEAD + length :]),
            backend_name=head.get("backend_name"),
            job_id=head.get("job_id"),
        )

    def decode_run_config(self, text: str, items: Sequence[Any]) -> dict[str, Any]:
        """Rebuild the options of ``run()``."""
        return decode_run_config(text, [])


_WORKLOADS: dict[str, WorkloadCodec] = {CIRCUITS: CircuitsCodec(), PUBS: PubsCodec()}


def register_workload(codec: WorkloadCodec) -> None:
    """Make ``codec`` the one that stores job sets of its workload kind."""
    _WORKLOADS[codec.kind] = codec


def workload_codec(kind: str) -> WorkloadCodec:
    """Return the codec of a workload kind.

    Raises:
        ValueError: If no codec knows the kind (a set written by a newer
            managedjob).
    """
    try:
        return _WORKLOADS[kind]
    except KeyError:
        raise ValueError(
            f"its workload {kind!r} is not one this version of managedjob can read"
        ) from None
