"""Names and tags that mark a job as part of a job set, in one place.

The legacy job manager named each job ``"{set name}_{index}_"`` and tagged
it with the set's long id, ``"ibmq_jobset_{id}"``; scripts and providers
still look jobs up by both, so they stay exactly as they were. Tags that
start with :data:`INTERNAL_TAG_PREFIX` are managedjob's own bookkeeping on
targets that keep tags (the slice a job runs, the set's name); they are
never shown as the set's tags.
"""

from __future__ import annotations

import re

__all__ = [
    "INTERNAL_TAG_PREFIX",
    "JOB_NAME_FORMAT",
    "JOB_NAME_RE",
    "JOB_SET_ID_PREFIX",
    "LOOSE_CLBIT_PREFIX",
    "MEMORY_TAG",
    "NAME_TAG_PREFIX",
    "PUBS_TAG_PREFIX",
    "SLICE_TAG_PREFIX",
    "is_internal_tag",
    "job_name",
    "parse_job_name",
]

JOB_NAME_FORMAT = "{}_{}_"
"""A job's name: the set's name, then the job's index in the set."""
JOB_NAME_RE = re.compile(r"(.*)_([0-9]+)_$")
"""Matches a job name; group 1 is the set's name, group 2 the job's index."""
JOB_SET_ID_PREFIX = "ibmq_jobset_"
"""The start of a set's long id, the tag every job of the set carries."""

INTERNAL_TAG_PREFIX = "managedjob:"
"""Tags that targets add for their own bookkeeping."""
NAME_TAG_PREFIX = INTERNAL_TAG_PREFIX + "name:"
"""A job's tag naming its set (where job names do not survive)."""
SLICE_TAG_PREFIX = INTERNAL_TAG_PREFIX + "slice:"
"""A job's tag naming its index and experiments in its set."""
PUBS_TAG_PREFIX = INTERNAL_TAG_PREFIX + "pubs:"
"""A job's tag naming the input PUBs (and their rows or shots) it runs."""
MEMORY_TAG = INTERNAL_TAG_PREFIX + "memory"
"""A job's tag saying its per-shot memory was asked for."""

LOOSE_CLBIT_PREFIX = "mj_loose_clbit_"
"""Names of the one-bit registers given to clbits outside every register."""


def job_name(set_name: str, index: int) -> str:
    """Return the name of job ``index`` of the set named ``set_name``."""
    return JOB_NAME_FORMAT.format(set_name, index)


def parse_job_name(name: str) -> tuple[str, int] | None:
    """Return the set's name and the job's index from a job name, or ``None``."""
    matched = JOB_NAME_RE.match(name)
    if matched is None:
        return None
    return matched.group(1), int(matched.group(2))


def is_internal_tag(tag: str) -> bool:
    """Whether ``tag`` is managedjob's own bookkeeping rather than a user's tag."""
    return tag.startswith(INTERNAL_TAG_PREFIX)
