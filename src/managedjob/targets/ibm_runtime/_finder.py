"""Finding a job set's runtime jobs again, by the set's id tag."""

from __future__ import annotations

import logging
from typing import Any

from qiskit.providers import JobV1

from managedjob._checks import check_positive_int
from managedjob._naming import job_name
from managedjob.exceptions import InvalidInputError, JobManagerInvalidStateError
from managedjob.targets._base import FoundJob
from managedjob.targets.ibm_runtime._client import is_ibm_runtime, service_of
from managedjob.targets.ibm_runtime._job import IBMRuntimeJobV1, backend_name_of
from managedjob.targets.ibm_runtime._tags import parse_tags, runtime_tags

__all__ = ["DEFAULT_PAGE_SIZE", "IBMRuntimeJobFinder"]

logger = logging.getLogger(__name__)

#: Jobs asked for per ``service.jobs()`` call when a job set is looked up.
DEFAULT_PAGE_SIZE = 1000


def _pub_job(runtime_job: Any, tags: list[str], index: int, set_name: str | None) -> JobV1 | None:
    """Return a job of PUBs as a ``PubJobV1`` with its items; ``None`` if it runs circuits.

    Raises:
        JobManagerInvalidStateError: If its inputs cannot be read or do not
            match its tags.
    """
    from managedjob._pubs import items_from_service, parse_pubs_tag
    from managedjob.targets.primitives import PubJobV1

    try:
        if parse_pubs_tag(tags) is None:
            return None
        items = items_from_service(runtime_job.inputs["pubs"], tags, index)
    except Exception as err:
        raise JobManagerInvalidStateError(
            f"Job {runtime_job.job_id()} runs PUBs of a job set, but its PUBs cannot be "
            f"read back from the service: {err}"
        ) from err
    assert items is not None
    backend = getattr(runtime_job, "backend", None)
    return PubJobV1(
        runtime_job,
        items,
        backend_name=backend_name_of(runtime_job) or "unknown",
        backend=backend() if callable(backend) else None,
        job_name=job_name(set_name, index) if set_name is not None else None,
        job_tags=tags,
    )


class IBMRuntimeJobFinder:
    """Finds the jobs of a job set on IBM Quantum Runtime by the set's id tag.

    Pages through ``service.jobs(job_tags=[tag], limit=page_size, skip=n,
    descending=False)`` until a page comes back short, oldest first so that
    jobs created meanwhile do not shift the pages, and returns the jobs
    newest first: when a slice was submitted more than once, its latest job
    comes first. Each job's place in its
    set, its count of experiments and the set's name come from managedjob's
    tags; jobs carrying the set's tag but none of those are left out, with a
    warning. Jobs download their circuits only when their results are asked
    for; jobs of PUBs (tagged ``managedjob:pubs:...``) read their inputs when
    they are found, since the set's plan is made of them. Failed and
    cancelled jobs are found like the others: their status and error message
    say what happened.

    Args:
        provider: A ``QiskitRuntimeService``, or a backend, batch or session
            whose ``service`` is one (or the fakes of :mod:`managedjob.testing`).
        page_size: Jobs asked for per call.

    Raises:
        InvalidInputError: If ``provider`` has no runtime service, or
            ``page_size`` is not a positive integer.
    """

    def __init__(self, provider: object, *, page_size: int = DEFAULT_PAGE_SIZE) -> None:
        check_positive_int("page_size", page_size)
        service: Any = service_of(provider) if is_ibm_runtime(provider) else provider
        if not callable(getattr(service, "jobs", None)):
            raise InvalidInputError(
                f"{provider!r} cannot list IBM Quantum runtime jobs: it is no "
                "QiskitRuntimeService, and has no service that is one"
            )
        self._service = service
        self._page_size = page_size

    @property
    def service(self) -> Any:
        """The service jobs are looked up on."""
        return self._service

    def find_job_set_jobs(self, job_set_tag: str) -> list[FoundJob]:
        """Return every job carrying ``job_set_tag`` that managedjob's tags place in a set.

        Args:
            job_set_tag: The set's long id tag.

        Returns:
            The jobs, newest first.
        """
        found: list[FoundJob] = []
        skip = 0
        while True:
            page = list(
                self._service.jobs(
                    job_tags=[job_set_tag],
                    limit=self._page_size,
                    skip=skip,
                    descending=False,
                )
            )
            skip += len(page)
            for runtime_job in page:
                item = self._found(runtime_job, job_set_tag)
                if item is not None:
                    found.append(item)
            if len(page) < self._page_size:
                found.reverse()
                return found

    def retrieve_job(self, job_id: str) -> IBMRuntimeJobV1 | None:
        """Find one job by id with ``service.job(job_id)``, or ``None`` if it cannot."""
        try:
            found = self._service.job(job_id)
        except Exception as err:
            logger.debug("The service cannot retrieve job %s: %s", job_id, err)
            return None
        return IBMRuntimeJobV1(found)

    @staticmethod
    def _found(runtime_job: Any, job_set_tag: str) -> FoundJob | None:
        tags = runtime_tags(runtime_job) or []
        info = parse_tags(tags)
        if info.index is None:
            logger.warning(
                "Job %s carries tag %s but no managedjob slice tag; it is left out.",
                runtime_job.job_id(),
                job_set_tag,
            )
            return None
        job = _pub_job(runtime_job, tags, info.index, info.set_name)
        return FoundJob(
            index=info.index,
            job=job if job is not None else IBMRuntimeJobV1(runtime_job, job_tags=tags),
            experiments_count=info.count,
            start_index=info.start,
            set_name=info.set_name,
            tags=tuple(tags),
        )
