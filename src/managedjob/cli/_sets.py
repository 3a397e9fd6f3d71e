"""Finding a journaled job set: the journal, an id or its start, the backend it ran on."""

from __future__ import annotations

import argparse
import logging
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from managedjob._job_set import ManagedJobSet
from managedjob._journal import ENV_VAR, JobSetRecord, Journal, default_journal_path
from managedjob._journal._store import OlderJournalError
from managedjob._manager import JobManager
from managedjob._manager_sets import full_job_set_id
from managedjob.cli._backends import backend_choices, backend_spec_for, make_backend
from managedjob.cli._errors import CliError
from managedjob.exceptions import InvalidInputError, JournalError, UnknownJobSetError

__all__ = [
    "backend_for",
    "command_line",
    "experiment_index",
    "experiment_names",
    "journal_path",
    "open_for_listing",
    "open_journal",
    "resolve_job_set_id",
    "retrieve",
]

logger = logging.getLogger(__name__)


def journal_path(args: argparse.Namespace) -> Path:
    """Return the journal the command uses: ``--journal``, else the library's default.

    The default is the file named by ``MANAGEDJOB_JOURNAL``, else
    ``journal.sqlite3`` in the user data directory.
    """
    given: str | None = getattr(args, "journal", None)
    if given is None:
        return default_journal_path()
    if not given.strip():
        raise CliError(f"--journal takes the path of a file, not {given!r}")
    return Path(given).expanduser()


def command_line(args: argparse.Namespace, *words: str) -> str:
    """A ``managedjob`` command that works as printed: the journal given to this one included."""
    given: str | None = getattr(args, "journal", None)
    journal = ["--journal", given] if given else []
    return shlex.join(["managedjob", *journal, *words])


def open_for_listing(path: Path, read_only: bool = True) -> Journal:
    """Open the journal at ``path``; one an older managedjob wrote is migrated first.

    A read-only journal cannot be migrated, so one of an older schema is
    opened for writing, once: the migration keeps every set.
    """
    try:
        return Journal(path, read_only=read_only)
    except OlderJournalError:
        return Journal(path)


def open_journal(args: argparse.Namespace) -> Journal:
    """Open the journal for reading a job set; a journal that does not exist is not made.

    Raises:
        IBMQJobManagerUnknownJobSet: If there is no journal.
    """
    path = journal_path(args)
    if not path.exists():
        raise UnknownJobSetError(
            f"{args.id} is not a known job set: there is no journal at {path} "
            f"(set {ENV_VAR} or pass --journal PATH)"
        )
    return Journal(path)


def resolve_job_set_id(journal: Journal, text: str) -> JobSetRecord:
    """Return the journaled set whose id is ``text``, or the only one that starts with it.

    Raises:
        IBMQJobManagerUnknownJobSet: If no journaled set matches.
        CliError: If several do, or ``text`` is blank (it would match every set).
    """
    if not text.strip():
        raise CliError(f"a job set id is needed, not {text!r} (managedjob list shows them)")
    try:
        record = journal.job_set(full_job_set_id(text, (), journal, journal_required=True))
    except InvalidInputError as err:  # the start of several ids
        raise CliError(str(err)) from None
    if record is not None:
        return record
    raise UnknownJobSetError(
        f"{text} is not a known job set: it is not in the journal {journal.path} "
        "(managedjob list shows the sets it has)"
    )


def backend_for(record: JobSetRecord, spec: str | None) -> tuple[Any, str]:
    """Return the backend of ``--backend``, else the one the set ran on, and its spec.

    Raises:
        CliError: If no spec is given and none makes the backend the set ran on.
    """
    if spec is None:
        spec = backend_spec_for(record.backend_name)
        if spec is None:
            raise CliError(
                f"job set {record.job_set_id} ran on {record.backend_name!r}, which the "
                f"command cannot make; pass --backend ({backend_choices()})"
            )
    return make_backend(spec), spec


def experiment_names(journal: Journal, job_set: ManagedJobSet) -> list[str]:
    """The names of the set's experiments, from the journal ("" where it has none)."""
    try:
        names = journal.experiment_names(job_set.job_set_id())
    except JournalError as err:
        logger.debug("No experiment names for job set %s: %s", job_set.job_set_id(), err)
        count = sum(mjob.experiments_count for mjob in job_set.managed_jobs())
        return [""] * count
    return [name or "" for name in names]


def retrieve(
    manager: JobManager, journal: Journal, args: argparse.Namespace, *, need_backend: bool
) -> tuple[JobSetRecord, ManagedJobSet, str | None]:
    """Rebuild the set named by ``args.id``; with a backend, its unfinished jobs are looked up.

    Returns:
        The set's record, the set, and the spec of the backend its unfinished
        jobs were looked up on (``None`` if they were not).
    """
    record = resolve_job_set_id(journal, args.id)
    spec: str | None = getattr(args, "backend", None)
    backend = None
    if spec is not None or need_backend:
        backend, spec = backend_for(record, spec)
    job_set = manager.retrieve_job_set(record.job_set_id, provider=backend)
    return record, job_set, spec if backend is not None else None


def experiment_index(text: str, names: Sequence[str], job_set_id: str) -> int:
    """The index of the experiment (or PUB) ``--experiment`` names: a name, or an index."""
    if text in names:
        return list(names).index(text)
    if text.isdigit() and int(text) < len(names):
        return int(text)
    known = ", ".join(repr(name) for name in list(dict.fromkeys(names))[:5] if name)
    raise CliError(
        f"job set {job_set_id} has no experiment {text!r} (give a name or an index below "
        f"{len(names)}" + (f"; its experiments include {known})" if known else ")")
    )
