"""A job's PUB parts in one tag, so a PUB set can be rebuilt from the service alone.

Runtime jobs keep their tags and their inputs (the PUBs they ran). What the
inputs do not say is which input PUB each of them is part of, and which rows
or shots of it: that is the tag ``managedjob:pubs:<parts>``, one entry per
PUB of the job, in order, separated by commas:

* ``7`` or ``7-12``: whole input PUBs, one or a run of them (inclusive);
* ``7r20-39``: rows 20 to 39 of the leading axis of input PUB 7;
* ``7s0-4999``: shots 0 to 4999 of input PUB 7 (``r`` and ``s`` combine,
  rows first).

With the job's inputs, that is every item of the job (see
:func:`items_from_service`). A tag longer than :data:`MAX_PUBS_TAG_CHARS`
is not written: such a set (many PUBs of different shots interleaved in one
job) is rebuilt from the journal only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from qiskit.primitives.containers.estimator_pub import EstimatorPub
from qiskit.primitives.containers.sampler_pub import SamplerPub

from managedjob._naming import PUBS_TAG_PREFIX
from managedjob._pubs._jobs import PubItem
from managedjob._pubs._plan import PubPart

__all__ = ["MAX_PUBS_TAG_CHARS", "items_from_service", "parse_pubs_tag", "pubs_tag"]

#: The longest PUBs tag written.
MAX_PUBS_TAG_CHARS = 240

_WHOLE = re.compile(r"^(\d+)(?:-(\d+))?$")
_PART = re.compile(r"^(\d+)(?:r(\d+)-(\d+))?(?:s(\d+)-(\d+))?$")


def _span(values: range) -> str:
    if values.step != 1 or not values:
        raise ValueError(f"a part's rows and shots are a non-empty run, not {values!r}")
    return f"{values.start}-{values.stop - 1}"


def pubs_tag(parts: Sequence[PubPart]) -> str | None:
    """Return the tag naming ``parts`` (a job's, in order), or ``None`` if it is too long."""
    entries: list[str] = []
    run: list[int] = []

    def close_run() -> None:
        if run:
            entries.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run.clear()

    for part in parts:
        if part.whole:
            if run and part.pub != run[-1] + 1:
                close_run()
            run.append(part.pub)
            continue
        close_run()
        entry = str(part.pub)
        if part.rows is not None:
            entry += "r" + _span(part.rows)
        if part.shots is not None:
            entry += "s" + _span(part.shots)
        entries.append(entry)
    close_run()
    tag = PUBS_TAG_PREFIX + ",".join(entries)
    return tag if len(tag) <= MAX_PUBS_TAG_CHARS else None


def _range(start: str | None, end: str | None) -> range | None:
    return None if start is None or end is None else range(int(start), int(end) + 1)


def parse_pubs_tag(tags: Sequence[str]) -> list[tuple[int, range | None, range | None]] | None:
    """Return ``(input PUB, rows, shots)`` per PUB of the job, from its tags; ``None`` if none.

    Raises:
        ValueError: If the tag is there but malformed.
    """
    tag = next((tag for tag in tags if tag.startswith(PUBS_TAG_PREFIX)), None)
    if tag is None:
        return None
    parts: list[tuple[int, range | None, range | None]] = []
    for entry in tag[len(PUBS_TAG_PREFIX) :].split(","):
        whole = _WHOLE.match(entry)
        if whole is not None:
            first = int(whole.group(1))
            last = int(whole.group(2)) if whole.group(2) is not None else first
            if last < first:
                raise ValueError(f"malformed PUBs tag {tag!r}: {entry!r} runs backwards")
            parts.extend((pub, None, None) for pub in range(first, last + 1))
            continue
        cut = _PART.match(entry)
        if cut is None:
            raise ValueError(f"malformed PUBs tag {tag!r}: cannot read {entry!r}")
        rows = _range(cut.group(2), cut.group(3))
        shots = _range(cut.group(4), cut.group(5))
        parts.append((int(cut.group(1)), rows, shots))
    return parts


def _coerce(raw: Any) -> SamplerPub | EstimatorPub:
    """One PUB as a runtime service gives it back: a Sampler or an Estimator PUB's tuple."""
    if isinstance(raw, (SamplerPub, EstimatorPub)):
        return raw
    values = list(raw)
    circuit = values[0]
    if len(values) == 3:  # (circuit, parameter values, shots)
        parameters = values[1] if circuit.num_parameters else None
        return SamplerPub.coerce((circuit, parameters, values[2]))
    if len(values) == 4:  # (circuit, observables, parameter values, precision)
        parameters = values[2] if circuit.num_parameters else None
        return EstimatorPub.coerce((circuit, values[1], parameters, values[3]))
    raise ValueError(f"a PUB of {len(values)} fields is neither a Sampler nor an Estimator PUB")


def items_from_service(
    raw_pubs: Sequence[Any], tags: Sequence[str], job: int
) -> list[PubItem] | None:
    """Return the items of job ``job`` from its inputs' PUBs and its tags.

    Args:
        raw_pubs: ``inputs["pubs"]`` of the runtime job: a tuple per PUB.
        tags: The job's tags.
        job: The job's index in its set.

    Returns:
        The items, or ``None`` if the tags have no PUBs tag.

    Raises:
        ValueError: If the tag does not match the inputs, or a PUB cannot be read.
    """
    parts = parse_pubs_tag(tags)
    if parts is None:
        return None
    if len(parts) != len(raw_pubs):
        raise ValueError(f"the tags name {len(parts)} PUBs but the job ran {len(raw_pubs)}")
    return [
        PubItem(_coerce(raw), PubPart(pub, job, position, rows, shots))
        for position, (raw, (pub, rows, shots)) in enumerate(zip(raw_pubs, parts, strict=True))
    ]
