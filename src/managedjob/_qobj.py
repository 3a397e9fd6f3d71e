"""A legacy-shaped, read-only Qobj view of circuits and run options.

Qiskit 2 removed ``qiskit.qobj`` and ``assemble``, but code written for the
legacy job manager reads ``ManagedJob.qobj()``: ``qobj.config.shots``,
``qobj.experiments[0].header.name``, ``qobj.to_dict()``. :func:`build_qobj`
gives that code what it expects: a :class:`QasmQobj` with the attributes and
the ``to_dict()`` schema (``schema_version`` 1.3.0) of the one the legacy
``assemble()`` built, computed from the circuits and the run options that
were submitted.

The view is cheap. It keeps references to the circuits (never copies), builds
each experiment's header on first access and its instructions on first
access, and caches both. Change a circuit after building the view and the
view may or may not see the change, so don't.

Read-only means no attribute can be set or deleted. Sequences the view
computes come back as fresh lists on every access (the legacy JSON shape), so
changing one changes nothing in the view. Values passed in by the caller
(run options such as ``parameter_binds``, ``qobj_header`` fields) are handed
back as given, except that lists and tuples come back as fresh lists.

How circuits map to instructions, and where this differs from the legacy:

* One instruction per circuit operation, in order, with ``name``, ``qubits``
  (indices into ``circuit.qubits``), ``memory`` (indices into
  ``circuit.clbits``) when the operation touches classical bits, ``params``
  when it has any and ``label`` when it is labelled. Barriers, resets and
  measurements are ordinary instructions, as the legacy ``assemble()`` kept
  them (``{"name": "barrier", "qubits": [0, 1]}``).
* Gate parameters are plain floats; a parameter expression that is still
  unbound becomes its string (``"2*theta"``); complex numbers become
  ``[real, imag]`` pairs and arrays nested lists, as the legacy JSON
  encoder wrote them. Parameters of other instructions keep their type, so a
  delay's duration in ``dt`` stays an integer.
* ``delay`` carries its duration in ``params``; when its unit is not ``dt``
  (the legacy refused such circuits) the instruction also has a ``unit``.
* Measurements get a ``register`` (equal to ``memory``) only in circuits with
  classically conditioned control flow (``if_else``, ``while_loop``,
  ``switch_case``), which is when the legacy added one. The legacy
  ``conditional``/``bfunc`` pair has no counterpart: ``c_if`` is gone from
  Qiskit 2, so a control-flow operation is one instruction with its
  ``name``, ``qubits`` and ``memory`` (the bits its condition and blocks
  use), and no ``params``; its blocks are not expanded.
* ``n_qubits`` and ``memory_slots`` count ``circuit.num_qubits`` and
  ``circuit.num_clbits``. The legacy summed register sizes, which is the
  same for circuits whose bits all belong to one register each. Labels and
  sizes list the registers, as before.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, NoReturn, cast

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

from managedjob.exceptions import InvalidInputError

__all__ = [
    "QasmQobj",
    "QasmQobjConfig",
    "QasmQobjExperiment",
    "QasmQobjExperimentConfig",
    "QasmQobjExperimentHeader",
    "QasmQobjInstruction",
    "QobjHeader",
    "build_qobj",
]

#: The schema version the legacy ``QasmQobj`` reported.
SCHEMA_VERSION = "1.3.0"

#: Shots when the run options name none, as the legacy ``assemble()`` used.
DEFAULT_SHOTS = 1024

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


def _instructions(circuit: QuantumCircuit) -> tuple[QasmQobjInstruction, ...]:
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


class QasmQobjExperiment:
    """One experiment of a Qobj: a circuit's header, config and instructions.

    Made from a circuit by :meth:`from_circuit`, the header and config are
    built on first access and the instructions on theirs, then kept.

    Args:
        header: The experiment's header.
        config: The experiment's config; by default its ``n_qubits`` and
            ``memory_slots`` are the header's.
        instructions: The experiment's instructions, in order.
    """

    __slots__ = ("_circuit", "_config", "_header", "_instructions")

    _circuit: QuantumCircuit | None
    _config: QasmQobjExperimentConfig | None
    _header: QasmQobjExperimentHeader | None
    _instructions: tuple[QasmQobjInstruction, ...] | None

    def __init__(
        self,
        header: QasmQobjExperimentHeader,
        config: QasmQobjExperimentConfig | None = None,
        instructions: Iterable[QasmQobjInstruction] = (),
    ) -> None:
        object.__setattr__(self, "_circuit", None)
        object.__setattr__(self, "_header", header)
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_instructions", tuple(instructions))

    @classmethod
    def from_circuit(cls, circuit: QuantumCircuit) -> QasmQobjExperiment:
        """Make a lazy experiment view of ``circuit``.

        Args:
            circuit: The circuit; it is referenced, not copied.

        Returns:
            The experiment; nothing is computed until an attribute is read.
        """
        experiment = cls.__new__(cls)
        object.__setattr__(experiment, "_circuit", circuit)
        object.__setattr__(experiment, "_header", None)
        object.__setattr__(experiment, "_config", None)
        object.__setattr__(experiment, "_instructions", None)
        return experiment

    @property
    def header(self) -> QasmQobjExperimentHeader:
        """The experiment's header (name, registers, labels, metadata...)."""
        header = self._header
        if header is None:
            # Two threads may both build it; they build equal headers, and either may stay.
            header = QasmQobjExperimentHeader.from_circuit(cast(QuantumCircuit, self._circuit))
            object.__setattr__(self, "_header", header)
        return header

    @property
    def config(self) -> QasmQobjExperimentConfig:
        """The experiment's config (``n_qubits`` and ``memory_slots``)."""
        config = self._config
        if config is None:
            header = self.header
            config = QasmQobjExperimentConfig(
                n_qubits=header.n_qubits, memory_slots=header.memory_slots
            )
            object.__setattr__(self, "_config", config)
        return config

    @property
    def instructions(self) -> tuple[QasmQobjInstruction, ...]:
        """The experiment's instructions, one per circuit operation, in order."""
        instructions = self._instructions
        if instructions is None:
            instructions = _instructions(cast(QuantumCircuit, self._circuit))
            object.__setattr__(self, "_instructions", instructions)
        return instructions

    def to_dict(self) -> dict[str, Any]:
        """Return the experiment as a new dict of plain values, in the legacy schema.

        Returns:
            ``{"config": ..., "header": ..., "instructions": [...]}``.
        """
        return {
            "config": self.config.to_dict(),
            "header": self.header.to_dict(),
            "instructions": [instruction.to_dict() for instruction in self.instructions],
        }

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"QasmQobjExperiment is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"QasmQobjExperiment is read-only; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        if self._circuit is not None:
            return (QasmQobjExperiment.from_circuit, (self._circuit,))
        return (QasmQobjExperiment, (self.header, self.config, self.instructions))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QasmQobjExperiment):
            return NotImplemented
        return (
            self.header == other.header
            and self.config == other.config
            and self.instructions == other.instructions
        )

    def __repr__(self) -> str:
        if self._instructions is not None:
            count = len(self._instructions)
        else:
            count = len(cast(QuantumCircuit, self._circuit).data)
        header = self.header
        return (
            f"QasmQobjExperiment(name={header.name!r}, n_qubits={header.n_qubits}, "
            f"memory_slots={header.memory_slots}, instructions={count})"
        )


class QasmQobj:
    """A legacy-shaped, read-only view of a QASM Qobj.

    Args:
        qobj_id: The Qobj's identifier.
        config: The run configuration.
        experiments: One experiment per circuit, in order.
        header: The Qobj's header; empty by default.

    Attributes:
        qobj_id: The Qobj's identifier.
        type: Always ``"QASM"``.
        schema_version: The legacy schema version, ``"1.3.0"``.
    """

    __slots__ = ("_config", "_experiments", "_header", "_qobj_id")

    type: ClassVar[str] = "QASM"
    schema_version: ClassVar[str] = SCHEMA_VERSION

    _config: QasmQobjConfig
    _experiments: tuple[QasmQobjExperiment, ...]
    _header: QobjHeader
    _qobj_id: str

    def __init__(
        self,
        qobj_id: str,
        config: QasmQobjConfig,
        experiments: Iterable[QasmQobjExperiment],
        header: QobjHeader | None = None,
    ) -> None:
        object.__setattr__(self, "_qobj_id", qobj_id)
        object.__setattr__(self, "_config", config)
        object.__setattr__(self, "_experiments", tuple(experiments))
        object.__setattr__(self, "_header", header if header is not None else QobjHeader())

    @property
    def qobj_id(self) -> str:
        """The Qobj's identifier."""
        return self._qobj_id

    @property
    def config(self) -> QasmQobjConfig:
        """The run configuration (``shots``, ``memory_slots``, run options...)."""
        return self._config

    @property
    def header(self) -> QobjHeader:
        """The Qobj's header (free-form fields)."""
        return self._header

    @property
    def experiments(self) -> tuple[QasmQobjExperiment, ...]:
        """The experiments, one per circuit, in order."""
        return self._experiments

    def to_dict(self) -> dict[str, Any]:
        """Return the Qobj as a new dict of plain values, in the legacy schema.

        Everything the view computed is JSON-serialisable; values passed in
        by the caller are too once they are made of numbers, strings, lists,
        dicts, numpy values or parameters.

        Returns:
            ``{"qobj_id", "header", "config", "schema_version", "type",
            "experiments"}`` as the legacy ``QasmQobj.to_dict()`` gave them.
        """
        return {
            "qobj_id": self.qobj_id,
            "header": self.header.to_dict(),
            "config": self.config.to_dict(),
            "schema_version": self.schema_version,
            "type": self.type,
            "experiments": [experiment.to_dict() for experiment in self.experiments],
        }

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"QasmQobj is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"QasmQobj is read-only; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (QasmQobj, (self.qobj_id, self.config, self.experiments, self.header))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QasmQobj):
            return NotImplemented
        return (
            self.qobj_id == other.qobj_id
            and self.header == other.header
            and self.config == other.config
            and self.experiments == other.experiments
        )

    def __repr__(self) -> str:
        count = len(self.experiments)
        noun = "experiment" if count == 1 else "experiments"
        return (
            f"QasmQobj(qobj_id={self.qobj_id!r}, config={self.config!r}, "
            f"header={self.header!r}, experiments=<{count} {noun}>)"
        )


def _count(value: Any, what: str) -> int:
    """Return ``value`` as a positive int, or raise naming ``what``."""
    try:
        number = operator.index(value)
    except TypeError as err:
        raise InvalidInputError(
            f"run option {what!r} must be an integer, not {value!r} ({type(value).__name__})"
        ) from err
    if number < 1:
        raise InvalidInputError(f"run option {what!r} must be at least 1, not {number}")
    return number


def build_qobj(
    circuits: Sequence[QuantumCircuit] | QuantumCircuit,
    run_config: Mapping[str, Any] | None = None,
    *,
    qobj_id: str | None = None,
    qobj_header: Mapping[str, Any] | None = None,
) -> QasmQobj:
    """Build the legacy Qobj view of ``circuits`` run with ``run_config``.

    Nothing is copied and little is computed here: the config now, each
    experiment's header and instructions when first read (see the module
    documentation). Building the view of a thousand circuits costs about as
    much as reading their sizes.

    Args:
        circuits: The circuits, one experiment each, in order; a single
            circuit is one experiment.
        run_config: The run options as given to the target. ``shots``
            defaults to 1024 and ``memory`` to ``False``; ``memory_slots``
            and ``n_qubits`` are computed (the largest over the circuits) and
            override any given; every other option is kept as is. A
            ``qobj_id`` or ``qobj_header`` option is used as the arguments of
            those names are, when those are not given.
        qobj_id: The Qobj's identifier; a new UUID4 string by default.
        qobj_header: Fields of the Qobj header, such as ``backend_name``.

    Returns:
        The read-only Qobj view.

    Raises:
        InvalidInputError: If there are no circuits, an item is not a
            :class:`~qiskit.circuit.QuantumCircuit`, a run option name is not
            a string, or ``shots`` is not a positive integer.
    """
    circuits = [circuits] if isinstance(circuits, QuantumCircuit) else list(circuits)
    if not circuits:
        raise InvalidInputError("cannot build a qobj from no circuits")
    for index, circuit in enumerate(circuits):
        if not isinstance(circuit, QuantumCircuit):
            raise InvalidInputError(
                f"circuits[{index}] is a {type(circuit).__name__}, not a QuantumCircuit"
            )

    options = dict(run_config or {})
    for key in options:
        if not isinstance(key, str):
            raise InvalidInputError(f"run option names must be strings, not {key!r}")
    given_id = options.pop("qobj_id", None)
    given_header = options.pop("qobj_header", None)
    if qobj_id is None:
        qobj_id = str(given_id) if given_id is not None else str(uuid.uuid4())
    if qobj_header is None:
        qobj_header = given_header or {}
    if not isinstance(qobj_header, Mapping):
        raise InvalidInputError(f"qobj_header must be a mapping, not {qobj_header!r}")

    shots = options.pop("shots", None)
    memory = options.pop("memory", None)
    options.pop("memory_slots", None)
    options.pop("n_qubits", None)
    seed = options.get("seed_simulator")
    if seed is not None:
        try:
            options["seed_simulator"] = operator.index(seed)
        except TypeError as err:
            raise InvalidInputError(
                f"run option 'seed_simulator' must be an integer, not {seed!r}"
            ) from err

    config = QasmQobjConfig(
        shots=DEFAULT_SHOTS if shots is None else _count(shots, "shots"),
        memory=False if memory is None else bool(memory),
        memory_slots=max(circuit.num_clbits for circuit in circuits),
        n_qubits=max(circuit.num_qubits for circuit in circuits),
        **options,
    )
    header = QobjHeader(**{str(key): value for key, value in qobj_header.items()})
    experiments = [QasmQobjExperiment.from_circuit(circuit) for circuit in circuits]
    return QasmQobj(qobj_id=qobj_id, config=config, experiments=experiments, header=header)
