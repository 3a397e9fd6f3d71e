"""What managedjob writes in a runtime job's tags, and reads back from them.

Runtime jobs have no names, so everything a job set needs to be rebuilt
from the service alone goes in the job's tags: the set's name, the job's
place in its set and its experiments, and whether it keeps each shot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from managedjob._naming import JOB_NAME_RE, MEMORY_TAG, NAME_TAG_PREFIX, SLICE_TAG_PREFIX

__all__ = ["MAX_NAME_CHARS", "TagInfo", "parse_tags", "runtime_tags", "slice_tags"]

#: Set names longer than this are cut to it in the name tag.
MAX_NAME_CHARS = 100

_SLICE_RE = re.compile(rf"^{re.escape(SLICE_TAG_PREFIX)}(\d+):(?:(\d+)-(\d+)|(\d+))$")


@dataclass(frozen=True)
class TagInfo:
    """What managedjob's tags on a runtime job say.

    Attributes:
        index: The job's place in its set.
        start: The index of its first experiment in the set, when recorded.
        count: How many experiments it runs.
        set_name: The name of its set.
        memory: Whether the job keeps each shot's outcome.
    """

    index: int | None = None
    start: int | None = None
    count: int | None = None
    set_name: str | None = None
    memory: bool = False


def parse_tags(tags: Sequence[str]) -> TagInfo:
    """Read managedjob's tags among ``tags``; others are ignored."""
    index = start = count = None
    set_name = None
    memory = False
    for tag in tags:
        if tag == MEMORY_TAG:
            memory = True
        elif tag.startswith(NAME_TAG_PREFIX):
            set_name = tag[len(NAME_TAG_PREFIX) :]
        else:
            matched = _SLICE_RE.match(tag)
            if matched is None:
                continue
            index = int(matched.group(1))
            if matched.group(2) is not None:
                start, end = int(matched.group(2)), int(matched.group(3))
                count = end - start + 1
            else:
                count = int(matched.group(4))
    return TagInfo(index, start, count, set_name, memory)


def slice_tags(job_name: str, count: int, start_index: int | None, memory: bool) -> list[str]:
    """Return managedjob's own tags for one job.

    Args:
        job_name: ``"{set name}_{index}_"``; another name gives no name or slice tag.
        count: How many circuits the job runs.
        start_index: The index of its first circuit in the set, when known.
        memory: Whether the job keeps each shot's outcome.
    """
    tags: list[str] = []
    matched = JOB_NAME_RE.match(job_name)
    if matched is not None:
        tags.append(NAME_TAG_PREFIX + matched.group(1)[:MAX_NAME_CHARS])
        index = int(matched.group(2))
        if start_index is None:
            tags.append(f"{SLICE_TAG_PREFIX}{index}:{count}")
        else:
            tags.append(f"{SLICE_TAG_PREFIX}{index}:{start_index}-{start_index + count - 1}")
    if memory:
        tags.append(MEMORY_TAG)
    return tags


def runtime_tags(runtime_job: Any) -> list[str] | None:
    """Return a runtime job's tags, or ``None`` if it cannot tell."""
    try:
        tags = getattr(runtime_job, "tags", None)
        if callable(tags):
            tags = tags()
    except Exception:  # a job that cannot tell
        return None
    if isinstance(tags, (list, tuple)):
        return [str(tag) for tag in tags]
    return None
