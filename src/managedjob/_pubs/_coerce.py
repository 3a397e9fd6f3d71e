"""User input as Sampler and Estimator PUBs, checked before anything is submitted.

The coercion accepts what :meth:`BaseSamplerV2.run` and
:meth:`BaseEstimatorV2.run` accept: a list of PUBs or PUB-like tuples, with
``shots`` (``precision``) given per call applying to the PUBs that set none.
It checks more than Qiskit does (a NaN or infinite precision, observables
given to a sampler, a single PUB not wrapped in a list) and says which PUB is
wrong, as ``pub 3: ...`` followed by a short description of the bad value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence, Sized
from numbers import Integral, Real
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.observables_array import ObservablesArray
from qiskit.primitives.containers.sampler_pub import SamplerPub
from qiskit.quantum_info import Pauli, PauliList, SparseObservable, SparsePauliOp

from managedjob.exceptions import InvalidInputError

__all__ = [
    "check_precision",
    "check_shots",
    "coerce_estimator_pubs",
    "coerce_sampler_pubs",
    "describe",
    "observable_terms",
]

_OBSERVABLE_TYPES = (str, Pauli, PauliList, SparsePauliOp, SparseObservable, ObservablesArray)
_PAULI_LABEL = re.compile(r"[IXYZ]+")


def describe(value: object) -> str:
    """Name ``value`` briefly for an error message: its type and size, not its content."""
    if isinstance(value, QuantumCircuit):
        return (
            f"QuantumCircuit {value.name!r} ({value.num_qubits} qubits, "
            f"{value.num_parameters} parameters)"
        )
    if isinstance(value, (SparsePauliOp, SparseObservable, Pauli)):
        return f"{type(value).__name__} on {value.num_qubits} qubits"
    if isinstance(value, np.generic):
        value = value.item()
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        return f"{type(value).__name__} of shape {shape}"
    if isinstance(value, (str, int, float)) or value is None:
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    if isinstance(value, Sized):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def observable_terms(observables: ObservablesArray) -> list[dict[str, float]]:
    """Return each observable of the array, flattened, as ``{Pauli label: coefficient}``.

    This is the form every supported Qiskit version gives (Qiskit 2.0 stores
    these dicts, later versions ``SparseObservable``s).
    """
    terms: list[dict[str, float]] = np.asarray(observables).ravel().tolist()
    return terms


def _width(observables: ObservablesArray) -> int:
    """The number of qubits the (non-empty) observables act on."""
    first = observables[(0,) * observables.ndim]
    return len(next(iter(first)))


def check_shots(shots: object, what: str = "shots") -> int | None:
    """Return ``shots`` as an ``int``, or ``None`` when it is ``None``.

    Args:
        shots: A number of shots.
        what: How to name the value in the error ("shots", "pub 3: shots").

    Raises:
        InvalidInputError: If ``shots`` is not a positive integer (a ``bool``
            or a whole ``float`` is not one).
    """
    if shots is None:
        return None
    if isinstance(shots, bool) or not isinstance(shots, Integral) or int(shots) < 1:
        raise InvalidInputError(f"{what} must be a positive integer, not {describe(shots)}")
    return int(shots)


def check_precision(precision: object, what: str = "precision") -> float | None:
    """Return ``precision`` as a ``float``, or ``None`` when it is ``None``.

    Args:
        precision: A target precision of expectation values.
        what: How to name the value in the error.

    Raises:
        InvalidInputError: If ``precision`` is not a finite, non-negative real
            number (zero asks for exact values, as Qiskit allows).
    """
    if precision is None:
        return None
    if (
        isinstance(precision, bool)
        or not isinstance(precision, Real)
        or not math.isfinite(float(precision))
        or float(precision) < 0
    ):
        raise InvalidInputError(
            f"{what} must be a finite, non-negative real number, not {describe(precision)}"
        )
    return float(precision)


def _pub_list(pubs: object, kind: str) -> list[Any]:
    """Return the PUB-likes of ``pubs``, refusing a single PUB that is not in a list."""
    # A tuple that starts with a circuit is one PUB unless it is all circuits
    # (a tuple of circuits is a valid list of sampler PUBs).
    single = isinstance(pubs, (QuantumCircuit, SamplerPub, EstimatorPub)) or (
        isinstance(pubs, tuple)
        and bool(pubs)
        and isinstance(pubs[0], QuantumCircuit)
        and not all(isinstance(item, QuantumCircuit) for item in pubs)
    )
    if single:
        raise InvalidInputError(
            f"pubs must be a list of {kind} PUBs, not one PUB ({describe(pubs)}): "
            f"wrap a single PUB in a list, as in run([pub])"
        )
    if isinstance(pubs, (str, bytes, Mapping)) or not isinstance(pubs, Iterable):
        raise InvalidInputError(f"pubs must be a list of {kind} PUBs, not {describe(pubs)}")
    return list(pubs)


def _parts(item: object, index: int, kind: str, sizes: range) -> Sequence[Any]:
    if isinstance(item, (str, bytes, Mapping)) or not isinstance(item, Sequence):
        raise InvalidInputError(f"pub {index}: not a {kind} PUB: {describe(item)}")
    if len(item) not in sizes:
        article = "an" if kind[0] in "aeiou" else "a"
        raise InvalidInputError(
            f"pub {index}: {article} {kind} PUB tuple has {sizes.start} to {sizes.stop - 1} "
            f"items, this one has {len(item)}"
        )
    if not isinstance(item[0], QuantumCircuit):
        raise InvalidInputError(
            f"pub {index}: the first item of a {kind} PUB must be a QuantumCircuit, "
            f"not {describe(item[0])}"
        )
    return item


def _looks_like_observables(value: object, circuit: QuantumCircuit) -> bool:
    """Tell observables given to a sampler from parameter values, without coercing."""
    if isinstance(value, _OBSERVABLE_TYPES):
        return True
    if isinstance(value, Mapping):
        names = {parameter.name for parameter in circuit.parameters}
        return bool(value) and all(
            isinstance(key, Pauli)
            or (isinstance(key, str) and key not in names and _PAULI_LABEL.fullmatch(key))
            for key in value
        )
    if isinstance(value, (list, tuple)) and value:
        return _looks_like_observables(value[0], circuit)
    return False


def _bindings(values: object, circuit: QuantumCircuit, index: int) -> BindingsArray | None:
    """Coerce parameter values as the PUB classes do, and check them against the circuit."""
    if values is None:
        bindings = BindingsArray()
    else:
        try:
            if not isinstance(values, (BindingsArray, Mapping)):
                values = {tuple(circuit.parameters): values}
            bindings = BindingsArray.coerce(values)
        except (TypeError, ValueError) as err:
            raise InvalidInputError(
                f"pub {index}: parameter values {describe(values)} do not fit the "
                f"circuit's {circuit.num_parameters} parameters: {err}"
            ) from err
    if bindings.num_parameters != circuit.num_parameters:
        raise InvalidInputError(
            f"pub {index}: parameter values bind {bindings.num_parameters} parameters, "
            f"the circuit {circuit.name!r} has {circuit.num_parameters}"
        )
    missing = {parameter.name for parameter in circuit.parameters}.difference(
        name for names in bindings.data for name in names
    )
    if missing:
        raise InvalidInputError(
            f"pub {index}: parameter values bind no value to {sorted(missing)} "
            f"of the circuit {circuit.name!r}"
        )
    return bindings if bindings.num_parameters or bindings.shape else None


def _sampler_pub(item: object, index: int, shots: int | None) -> SamplerPub:
    if isinstance(item, EstimatorPub):
        raise InvalidInputError(f"pub {index}: an EstimatorPub was given to a sampler")
    if isinstance(item, SamplerPub):
        circuit, values, own = item.circuit, item.parameter_values, item.shots
    elif isinstance(item, QuantumCircuit):
        circuit, values, own = item, None, None
    else:
        parts = _parts(item, index, "sampler", range(1, 4))
        circuit = parts[0]
        values = parts[1] if len(parts) > 1 else None
        own = parts[2] if len(parts) > 2 else None
        if values is not None and _looks_like_observables(values, circuit):
            raise InvalidInputError(
                f"pub {index}: a sampler takes no observables, got {describe(values)}; "
                f"run observables with an estimator"
            )
    bindings = _bindings(values, circuit, index)
    own = check_shots(own, f"pub {index}: shots")
    return SamplerPub(circuit, bindings, own if own is not None else shots, validate=False)


def _observables(value: object, circuit: QuantumCircuit, index: int) -> ObservablesArray:
    try:
        observables = ObservablesArray.coerce(value)
        observables.validate()
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            f"pub {index}: observables {describe(value)} are not valid: {err}"
        ) from err
    width = _width(observables) if observables.size else circuit.num_qubits
    if width != circuit.num_qubits:
        raise InvalidInputError(
            f"pub {index}: observables act on {width} qubits, "
            f"the circuit {circuit.name!r} has {circuit.num_qubits}"
        )
    return observables


def _estimator_pub(item: object, index: int, precision: float | None) -> EstimatorPub:
    if isinstance(item, SamplerPub):
        raise InvalidInputError(f"pub {index}: a SamplerPub was given to an estimator")
    if isinstance(item, QuantumCircuit):
        raise InvalidInputError(
            f"pub {index}: an estimator PUB needs observables: "
            f"(circuit, observables[, parameter_values[, precision]]), not a bare circuit"
        )
    if isinstance(item, EstimatorPub):
        circuit, observables, values, own = (
            item.circuit,
            item.observables,
            item.parameter_values,
            item.precision,
        )
    else:
        parts = _parts(item, index, "estimator", range(2, 5))
        circuit, observables = parts[0], parts[1]
        values = parts[2] if len(parts) > 2 else None
        own = parts[3] if len(parts) > 3 else None
    observables = _observables(observables, circuit, index)
    bindings = _bindings(values, circuit, index)
    own = check_precision(own, f"pub {index}: precision")
    try:
        return EstimatorPub(
            circuit,
            observables,
            bindings,
            own if own is not None else precision,
            validate=False,
        )
    except ValueError as err:
        shape = bindings.shape if bindings is not None else ()
        raise InvalidInputError(
            f"pub {index}: observables of shape {observables.shape} and parameter values "
            f"of shape {shape} do not broadcast together"
        ) from err


def coerce_sampler_pubs(pubs: Iterable[object], shots: int | None = None) -> list[SamplerPub]:
    """Turn what a user passes to ``BaseSamplerV2.run`` into checked ``SamplerPub``s.

    Args:
        pubs: Circuits, ``(circuit[, parameter_values[, shots]])`` tuples or
            ``SamplerPub``s, in a list.
        shots: Shots for every PUB that sets none; ``None`` leaves those PUBs
            to the primitive's default.

    Returns:
        One ``SamplerPub`` per item, in order; a PUB that needed no change
        is returned as it was given.

    Raises:
        InvalidInputError: Naming the first bad PUB by its index and the bad
            value: something that is not a PUB, parameter values that do not
            fit the circuit, observables, or shots that are not a positive
            integer (``shots`` itself included).
    """
    default = check_shots(shots)
    coerced = []
    for index, item in enumerate(_pub_list(pubs, "sampler")):
        pub = _sampler_pub(item, index, default)
        # Keep a PUB that needed nothing: same object, and no needless copy.
        same = isinstance(item, SamplerPub) and item.shots == pub.shots
        coerced.append(item if same else pub)
    return coerced


def coerce_estimator_pubs(
    pubs: Iterable[object], precision: float | None = None
) -> list[EstimatorPub]:
    """Turn what a user passes to ``BaseEstimatorV2.run`` into checked ``EstimatorPub``s.

    Args:
        pubs: ``(circuit, observables[, parameter_values[, precision]])``
            tuples or ``EstimatorPub``s, in a list.
        precision: Target precision for every PUB that sets none; ``None``
            leaves those PUBs to the primitive's default.

    Returns:
        One ``EstimatorPub`` per item, in order.

    Raises:
        InvalidInputError: Naming the first bad PUB by its index and the bad
            value: something that is not a PUB, observables that are not valid
            or do not act on as many qubits as the circuit has, parameter
            values that do not fit the circuit or do not broadcast with the
            observables, or a precision that is negative, NaN or infinite
            (``precision`` itself included).
    """
    default = check_precision(precision)
    coerced = []
    for index, item in enumerate(_pub_list(pubs, "estimator")):
        pub = _estimator_pub(item, index, default)
        same = isinstance(item, EstimatorPub) and item.precision == pub.precision
        coerced.append(item if same else pub)
    return coerced
