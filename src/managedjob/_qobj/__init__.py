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

from managedjob._qobj._records import (
    QasmQobjConfig,
    QasmQobjExperimentConfig,
    QasmQobjExperimentHeader,
    QasmQobjInstruction,
    QobjHeader,
)
from managedjob._qobj._view import QasmQobj, QasmQobjExperiment, build_qobj

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
