"""The workload of a job set of Sampler or Estimator PUBs."""

from __future__ import annotations

from typing import Any

from managedjob._job_set._workload import register_workload
from managedjob._pubs import PubItem, PubJobResult
from managedjob.targets import Target
from managedjob.targets.primitives import PubTarget

__all__ = ["PUBS", "PubWorkload"]


class PubWorkload:
    """PUB parts in (:class:`~managedjob._pubs.PubItem`), ``PubJobResult`` out."""

    #: The journal's name of the workload.
    kind = "pubs"
    #: Items are parts of PUBs.
    item_kind = "PubItem"

    def target_for(self, backend: Any) -> Target:
        """Return ``backend`` if it is a :class:`PubTarget`, else a new one wrapping it.

        Raises:
            InvalidInputError: If ``backend`` is not a Sampler or Estimator V2 primitive.
        """
        return backend if isinstance(backend, PubTarget) else PubTarget(backend)

    def is_item(self, item: object) -> bool:
        """Whether ``item`` is a :class:`~managedjob._pubs.PubItem`."""
        return isinstance(item, PubItem)

    def item_name(self, item: object) -> str | None:
        """Return ``None``: PUBs have no names (their circuits' names are not theirs)."""
        return None

    def result_item_names(self, result: object, count: int) -> list[str | None] | None:
        """Return ``None``: a primitive result names no PUB."""
        return None

    def succeeded(self, result: object) -> bool:
        """Whether ``result`` is a job's PUB results."""
        return isinstance(result, PubJobResult)


#: The workload of PUB sets.
PUBS = PubWorkload()
register_workload(PUBS)
