"""What the commands show people: counts and PUB data as terminal tables, and colour.

Colour (bold headings, failures in red) is used only on a terminal, and
never when ``NO_COLOR`` is set (https://no-color.org) or ``TERM`` is
``dumb``; piped output is always plain text.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any, TextIO

import numpy as np
from qiskit.primitives import BitArray, PrimitiveResult

__all__ = [
    "SHORT_VIEW_EXPERIMENTS",
    "colour",
    "counts_lines",
    "experiment_lines",
    "pub_lines",
    "table_lines",
]

#: How many experiments the short view of ``run`` and ``retry`` shows.
SHORT_VIEW_EXPERIMENTS = 5
#: How many outcomes (most frequent first) a line of the counts table shows.
OUTCOMES_PER_LINE = 4
#: How many values of an array a line of the PUB table shows whole.
VALUES_PER_LINE = 6

_CODES = {"bold": "1", "red": "31"}


def _uses_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def colour(text: str, style: str, stream: TextIO) -> str:
    """Return ``text`` in ``style`` (``bold`` or ``red``) when ``stream`` shows colour."""
    if not text or not _uses_colour(stream):
        return text
    return f"\033[{_CODES[style]}m{text}\033[0m"


def table_lines(
    rows: Sequence[Sequence[str]],
    stream: TextIO,
    right: Sequence[int] = (),
    failed: Collection[int] = (),
) -> list[str]:
    """Line up ``rows`` (the first is the heading, in bold).

    ``right`` columns are right-aligned; the rows numbered in ``failed``
    (counting the heading as 0) are red.
    """
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        line = "  ".join(cells).rstrip()
        style = "bold" if number == 0 else "red" if number in failed else None
        lines.append(line if style is None else colour(line, style, stream))
    return lines


def _more(left: int, what: str) -> list[str]:
    """The line that says how many were not shown, if any."""
    return [f"... and {left} more {what}{'s' if left != 1 else ''}"] if left > 0 else []


def _ranked(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """The outcomes, the most frequent first (ties by outcome)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _outcomes(counts: Mapping[str, int], most: int) -> str:
    ranked = _ranked(counts)
    shown = "  ".join(f"{outcome}: {count}" for outcome, count in ranked[:most])
    more = len(ranked) - most
    return shown + (f"  (+{more} more)" if more > 0 else "")


def counts_lines(
    rows: Sequence[Mapping[str, Any]], stream: TextIO, total: int | None = None
) -> list[str]:
    """The counts table: one line per experiment, its most frequent outcomes first.

    Args:
        rows: The experiments shown (``index``, ``name``, ``success``,
            ``counts`` or ``error``).
        stream: Where the lines go (it decides on colour).
        total: How many experiments there are, if more than those shown:
            a last line says how many are left.
    """
    table = [("#", "NAME", "SHOTS", "COUNTS (most frequent first)")]
    failed: set[int] = set()
    for row in rows:
        index, name = str(row["index"]), row["name"] or "-"
        if row["success"]:
            counts = row["counts"]
            outcomes = _outcomes(counts, OUTCOMES_PER_LINE)
            table.append((index, name, str(sum(counts.values())), outcomes))
        else:
            failed.add(len(table))
            table.append((index, name, "-", f"no counts: {row['error']}"))
    lines = table_lines(table, stream, right=(0, 2), failed=failed)
    return lines + _more((total or len(rows)) - len(rows), "experiment")


def experiment_lines(row: Mapping[str, Any], stream: TextIO) -> list[str]:
    """One experiment in full: every outcome, its count and its share of the shots."""
    title = f"experiment {row['index']} ({row['name'] or 'no name'})"
    if not row["success"]:
        return [title, colour(f"no counts: {row['error']}", "red", stream)]
    counts: Mapping[str, int] = row["counts"]
    total = sum(counts.values())
    ranked = _ranked(counts)
    table = [("OUTCOME", "COUNT", "SHARE")]
    table += [(outcome, str(count), f"{count / total:.4f}") for outcome, count in ranked]
    return [f"{title}: {total} shots", *table_lines(table, stream, right=(1, 2))]


def _values(array: np.ndarray[Any, Any], whole: bool) -> str:
    flat = array.reshape(-1)
    if not whole and flat.size > VALUES_PER_LINE:
        return f"array of shape {tuple(array.shape)}"
    return np.array2string(array, precision=4, separator=", ", threshold=10**9)


def _field(value: Any, whole: bool) -> str:
    if isinstance(value, BitArray):
        if value.shape == ():
            counts = value.get_counts()
            return _outcomes(counts, len(counts) if whole else OUTCOMES_PER_LINE)
        return f"{value.num_shots} shots of {value.num_bits} bits per element, shape {value.shape}"
    if isinstance(value, np.ndarray):
        return _values(value, whole)
    return str(value)


def pub_lines(
    result: PrimitiveResult[Any],
    stream: TextIO,
    limit: int | None = None,
    only: int | None = None,
) -> list[str]:
    """The PUB table: one line per PUB and data field (``only``: that PUB, in full)."""
    if only is not None:
        return _one_pub(result, only, stream)
    shown = len(result) if limit is None else min(limit, len(result))
    table = [("#", "SHAPE", "FIELD", "DATA")]
    failed: set[int] = set()
    for index in range(shown):
        pub = result[index]
        if pub is None:
            failed.add(len(table))
            table.append((str(index), "-", "-", "no result"))
            continue
        for number, (name, value) in enumerate(pub.data.items()):
            first = number == 0
            table.append(
                (
                    str(index) if first else "",
                    str(tuple(pub.data.shape)) if first else "",
                    name,
                    _field(value, whole=False),
                )
            )
    lines = table_lines(table, stream, right=(0,), failed=failed)
    return lines + _more(len(result) - shown, "PUB")


def _one_pub(result: PrimitiveResult[Any], index: int, stream: TextIO) -> list[str]:
    """One PUB in full: each data field, its values or outcomes on the lines below it."""
    pub = result[index]
    if pub is None:
        return [f"PUB {index}", colour("no result", "red", stream)]
    lines = [f"PUB {index}: shape {tuple(pub.data.shape)}"]
    for name, value in pub.data.items():
        lines.append(colour(f"{name}:", "bold", stream))
        lines += ["  " + line for line in _field(value, whole=True).splitlines()]
    return lines
