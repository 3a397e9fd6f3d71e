"""The read-only records of the Qobj view: headers, configs and instructions.

Each record holds frozen copies of its fields and hands back fresh plain
values (lists for tuples, floats or strings for parameters), in the legacy
``to_dict()`` schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn, cast

import numpy as np
from qiskit.circuit import (
    Delay,
    Gate,
    IfElseOp,
    ParameterExpression,
    QuantumCircuit,
    SwitchCaseOp,
    WhileLoopOp,
)
from typing_extensions import Self

__all__ = [
    "QasmQobjConfig",
    "QasmQobjExperimentConfig",
    "QasmQobjExperimentHeader",
    "QasmQobjInstruction",
    "QobjHeader",
    "circuit_instructions",
]

#: Control flow whose condition reads classical bits (the legacy "conditional experiment").
_CONDITIONED_FLOW = (IfElseOp, WhileLoopOp, SwitchCaseOp)

#: Order of the legacy instruction fields in ``to_dict()``; anything else follows.
_INSTRUCTION_ORDER = ("name", "params", "qubits", "register", "memory", "label", "unit")

#: Types ``_plain`` and ``_thaw`` hand back untouched (exact types, for speed).
_ATOMS = frozenset({str, int, float, bool, type(None)})


def _thaw(value: Any) -> Any:
    """Return ``value`` with every tuple turned into a fresh list, recursively."""
    if type(value) is tuple:
        return [_thaw(item) for item in value]
    return value


def _freeze(value: Any) -> Any:
    """Return ``value`` with every list or tuple turned into a tuple, recursively."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value


def _plain(value: Any) -> Any:
    """Return ``value`` made of JSON types where it is made of known types.

    Numpy scalars and arrays become Python numbers and lists, complex numbers
    ``[real, imag]``, tuples and sets lists, bound parameter expressions
    numbers and unbound ones strings; mapping keys that are parameters become
    their names. Objects of other types are returned as they are.
    """
    kind = type(value)
    # Exact-type checks first: the view's own values are all of these, and a qobj of
    # a thousand circuits goes through here tens of thousands of times.
    if kind in _ATOMS:
        return value
    if kind is tuple or kind is list:
        return [_plain(item) for item in value]
    if kind is dict:
        return {_plain_key(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, ParameterExpression):
        return _plain(value.numeric()) if not value.parameters else str(value)
    if isinstance(value, (np.ndarray, np.generic)):
        return _plain(value.tolist())
    if isinstance(value, Mapping):
        return {_plain_key(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    return value


def _plain_key(key: Any) -> Any:
    """Return a mapping key as JSON can hold it where it is a parameter."""
    return str(key) if isinstance(key, ParameterExpression) else key


def _param(value: Any, *, gate: bool) -> Any:
    """Return one instruction parameter in its legacy, JSON-ready form.

    Args:
        value: The parameter as the operation holds it.
        gate: Whether the operation is a gate, whose real parameters are
            always floats.

    Returns:
        A float, an int (non-gate operations only), a string (unbound
        expressions and labels), ``[real, imag]``, or nested lists. Values of
        types JSON cannot hold are given as their string.
    """
    if isinstance(value, ParameterExpression) and value.parameters:
        return str(value)
    plain = _plain(value)
    if gate and isinstance(plain, (int, float)) and not isinstance(plain, bool):
        return float(plain)
    if _is_json(plain):
        return plain
    return str(value)


def _is_json(value: Any) -> bool:
    """Whether ``value`` is made only of JSON types (lists, numbers, strings...)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return False


def _phase(value: Any) -> float | str:
    """Return a global phase as a float, or as a string while it is unbound."""
    if isinstance(value, ParameterExpression):
        if value.parameters:
            return str(value)
        value = value.numeric()
    # A phase is real; a bound expression can still come back complex with no imaginary part.
    return float(value.real) if isinstance(value, complex) else float(value)


class _Record:
    """A read-only set of named fields, read as attributes and by ``to_dict()``.

    Subclasses add typed properties for the fields they always have; any
    other field (the legacy's free-form ones) is an attribute too, and a field
    that is absent raises :class:`AttributeError`, so ``hasattr`` works as it
    did on the legacy objects.
    """

    __slots__ = ("_fields",)

    _fields: dict[str, Any]

    def __init__(self, **fields: Any) -> None:
        object.__setattr__(self, "_fields", {key: _freeze(val) for key, val in fields.items()})

    @classmethod
    def _from_fields(cls, fields: dict[str, Any]) -> Self:
        """Wrap ``fields`` as they are: the caller has frozen them and gives them up."""
        record = cls.__new__(cls)
        object.__setattr__(record, "_fields", fields)
        return record

    def _field(self, name: str) -> Any:
        try:
            return _thaw(self._fields[name])
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not methods, properties or slots. Private and
        # dunder names are never fields: copy and pickle probe them before _fields exists.
        if name.startswith("_"):
            raise AttributeError(name)
        return self._field(name)

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is read-only; cannot delete {name!r}")

    def __dir__(self) -> Iterable[str]:
        return sorted({*super().__dir__(), *self._fields})

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_record, (type(self), _thaw(self._fields)))

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a new dict of plain values, in the legacy schema.

        Returns:
            A fresh dict; changing it does not change this object.
        """
        return {key: _plain(value) for key, value in self._fields.items()}

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        body = ", ".join(f"{key}={_thaw(value)!r}" for key, value in self._fields.items())
        return f"{type(self).__name__}({body})"


def _rebuild_record(cls: type[_Record], fields: dict[str, Any]) -> _Record:
    """Recreate a record when it is unpickled or copied."""
    return cls(**fields)


class QobjHeader(_Record):
    """The header of a whole Qobj: free-form fields given by the caller.

    The legacy ``assemble()`` put ``backend_name`` and ``backend_version``
    here, plus whatever the ``qobj_header`` option held. Every field is an
    attribute (``qobj.header.backend_name``).
    """

    __slots__ = ()


class QasmQobjConfig(_Record):
    """The run configuration of a Qobj.

    Always has ``shots``, ``memory``, ``memory_slots`` and ``n_qubits``; every
    other run option given (``seed_simulator``, ``parameter_binds``, ...) is
    a field too, readable as an attribute and present in :meth:`to_dict`.

    Args:
        shots: Shots per experiment.
        memory: Whether per-shot results were asked for.
        memory_slots: The most classical bits any experiment has.
        n_qubits: The most qubits any experiment has.
        **fields: Any other run option, by name.
    """

    __slots__ = ()

    def __init__(
        self, *, shots: int, memory: bool, memory_slots: int, n_qubits: int, **fields: Any
    ) -> None:
        super().__init__(
            shots=shots, memory=memory, **fields, memory_slots=memory_slots, n_qubits=n_qubits
        )

    @property
    def shots(self) -> int:
        """Shots per experiment."""
        return cast(int, self._field("shots"))

    @property
    def memory(self) -> bool:
        """Whether per-shot results were asked for."""
        return cast(bool, self._field("memory"))

    @property
    def memory_slots(self) -> int:
        """The most classical bits any experiment has."""
        return cast(int, self._field("memory_slots"))

    @property
    def n_qubits(self) -> int:
        """The most qubits any experiment has."""
        return cast(int, self._field("n_qubits"))


class QasmQobjExperimentConfig(_Record):
    """The configuration of one experiment: its ``n_qubits`` and ``memory_slots``.

    Args:
        n_qubits: Qubits in the experiment's circuit.
        memory_slots: Classical bits in the experiment's circuit.
        **fields: Any other field, by name.
    """

    __slots__ = ()

    def __init__(self, *, n_qubits: int, memory_slots: int, **fields: Any) -> None:
        super().__init__(n_qubits=n_qubits, memory_slots=memory_slots, **fields)

    @property
    def n_qubits(self) -> int:
        """Qubits in the experiment's circuit."""
        return cast(int, self._field("n_qubits"))

    @property
    def memory_slots(self) -> int:
        """Classical bits in the experiment's circuit."""
        return cast(int, self._field("memory_slots"))


class QasmQobjExperimentHeader(_Record):
    """The header of one experiment, describing its circuit.

    Built by :meth:`from_circuit` with the legacy fields: ``qubit_labels``,
    ``n_qubits``, ``qreg_sizes``, ``clbit_labels``, ``memory_slots``,
    ``creg_sizes``, ``name``, ``global_phase`` and ``metadata``. Sizes are
    ``[register name, size]`` pairs and labels ``[register name, index]``
    pairs, one per bit of each register in order.
    """

    __slots__ = ()

    @classmethod
    def from_circuit(cls, circuit: QuantumCircuit) -> QasmQobjExperimentHeader:
        """Describe ``circuit`` as the legacy ``assemble()`` did.

        Args:
            circuit: The circuit of the experiment; it is only read.

        Returns:
            The experiment's header.
        """
        qregs = circuit.qregs
        cregs = circuit.cregs
        return cls._from_fields(
            {
                "qubit_labels": tuple((reg.name, i) for reg in qregs for i in range(reg.size)),
                "n_qubits": circuit.num_qubits,
                "qreg_sizes": tuple((reg.name, reg.size) for reg in qregs),
                "clbit_labels": tuple((reg.name, i) for reg in cregs for i in range(reg.size)),
                "memory_slots": circuit.num_clbits,
                "creg_sizes": tuple((reg.name, reg.size) for reg in cregs),
                "name": circuit.name,
                "global_phase": _phase(circuit.global_phase),
                "metadata": dict(circuit.metadata or {}),
            }
        )

    @property
    def name(self) -> str:
        """The circuit's name."""
        return cast(str, self._field("name"))

    @property
    def n_qubits(self) -> int:
        """Qubits in the circuit."""
        return cast(int, self._field("n_qubits"))

    @property
    def memory_slots(self) -> int:
        """Classical bits in the circuit."""
        return cast(int, self._field("memory_slots"))

    @property
    def qreg_sizes(self) -> list[list[Any]]:
        """``[name, size]`` for each quantum register, in order."""
        return cast("list[list[Any]]", self._field("qreg_sizes"))

    @property
    def creg_sizes(self) -> list[list[Any]]:
        """``[name, size]`` for each classical register, in order."""
        return cast("list[list[Any]]", self._field("creg_sizes"))

    @property
    def qubit_labels(self) -> list[list[Any]]:
        """``[register name, index]`` for each qubit of each quantum register."""
        return cast("list[list[Any]]", self._field("qubit_labels"))

    @property
    def clbit_labels(self) -> list[list[Any]]:
        """``[register name, index]`` for each bit of each classical register."""
        return cast("list[list[Any]]", self._field("clbit_labels"))

    @property
    def global_phase(self) -> float | str:
        """The circuit's global phase; a string while it is an unbound expression."""
        return cast("float | str", self._field("global_phase"))

    @property
    def metadata(self) -> dict[str, Any]:
        """The circuit's metadata (a shallow copy taken when the header was built)."""
        return dict(self._field("metadata"))


class QasmQobjInstruction(_Record):
    """One operation of an experiment.

    ``name`` is always there; ``params``, ``qubits``, ``memory``,
    ``register``, ``label`` and ``unit`` only where they apply, so
    ``hasattr(instruction, "memory")`` answers as it did on the legacy
    objects. See the module documentation for how operations map.

    Args:
        name: The operation's name.
        **fields: The other fields; ``None`` values are left out.
    """

    __slots__ = ()

    def __init__(self, name: str, **fields: Any) -> None:
        ordered = {key: fields[key] for key in _INSTRUCTION_ORDER[1:] if key in fields}
        ordered.update(fields)
        super().__init__(
            name=name, **{key: val for key, val in ordered.items() if val is not None}
        )

    @property
    def name(self) -> str:
        """The operation's name (``"cx"``, ``"measure"``, ``"barrier"``...)."""
        return cast(str, self._field("name"))


def circuit_instructions(circuit: QuantumCircuit) -> tuple[QasmQobjInstruction, ...]:
    """Translate every operation of ``circuit`` into a legacy instruction."""
    qubit_index = {bit: i for i, bit in enumerate(circuit.qubits)}
    clbit_index = {bit: i for i, bit in enumerate(circuit.clbits)}
    rows: list[dict[str, Any]] = []
    conditioned = False
    for item in circuit.data:
        operation = item.operation
        # Fields go in the legacy order: name, params, qubits, register, memory, label.
        row: dict[str, Any] = {"name": operation.name}
        if item.is_control_flow():
            conditioned = conditioned or isinstance(operation, _CONDITIONED_FLOW)
        else:
            params = getattr(operation, "params", None)
            if params:
                gate = isinstance(operation, Gate)
                row["params"] = _freeze([_param(param, gate=gate) for param in params])
        if item.qubits:
            row["qubits"] = tuple(qubit_index[bit] for bit in item.qubits)
        if item.clbits:
            row["memory"] = tuple(clbit_index[bit] for bit in item.clbits)
        label = getattr(operation, "label", None)
        if label:
            row["label"] = label
        if isinstance(operation, Delay) and operation.unit != "dt":
            row["unit"] = operation.unit
        rows.append(row)
    if conditioned:
        rows = [_with_register(row) if row["name"] == "measure" else row for row in rows]
    return tuple(QasmQobjInstruction._from_fields(row) for row in rows)


def _with_register(row: dict[str, Any]) -> dict[str, Any]:
    """Give a measure row a ``register`` equal to its ``memory``, before it."""
    memory = row.pop("memory", None)
    if memory is None:
        return row
    row["register"] = memory
    row["memory"] = memory
    for key in ("label", "unit"):
        if key in row:
            row[key] = row.pop(key)
    return row
