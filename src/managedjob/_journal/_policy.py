"""What a journal failure does: raise it when the journal is required, else warn and go on."""

from __future__ import annotations

import logging
import threading
import warnings

from managedjob.exceptions import JournalError

__all__ = ["JournalPolicy", "JournalWarning", "journal_warning"]

logger = logging.getLogger(__name__)


class JournalWarning(UserWarning):
    """Something could not be journaled; the run goes on without it."""


def journal_warning(message: str, *, stacklevel: int = 2) -> None:
    """Warn, even from a worker thread where a filter turns warnings into errors.

    Args:
        message: The warning.
        stacklevel: As for :func:`warnings.warn`, counted from the caller.
    """
    try:
        warnings.warn(message, JournalWarning, stacklevel=stacklevel + 1)
    except Warning:
        logger.warning(message)


class JournalPolicy:
    """The one place that decides what a journal failure does.

    With ``journal_required`` (the default of :class:`~managedjob.JobManager`)
    a failure raises, so that nothing runs that the journal does not know;
    without it, a :class:`JournalWarning` says what goes on without the
    journal, and the caller carries on.

    Args:
        required: Whether the journal is required.
        once: Warn at most once (a set that runs on without its journal says
            so once, not for every job); raising is not affected.
    """

    def __init__(self, required: bool, *, once: bool = False) -> None:
        self.required = required
        self._once = once
        self._warned = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JournalPolicy(required={self.required!r})"

    def once(self) -> JournalPolicy:
        """Return a policy like this one that warns at most once."""
        return JournalPolicy(self.required, once=True)

    def failed(
        self,
        error: BaseException,
        consequence: str,
        *,
        raise_as: JournalError | None = None,
    ) -> None:
        """Deal with a failure of the journal.

        Args:
            error: What went wrong.
            consequence: What goes on without the journal, for the warning
                (``"{consequence}: {error}"``).
            raise_as: The error to raise (``from error``) instead of
                ``error`` itself, when the journal is required.

        Raises:
            JournalError: ``raise_as`` or ``error``, if the journal is required.
        """
        if self.required:
            if raise_as is not None:
                raise raise_as from error
            raise error
        if self._once:
            with self._lock:
                if self._warned:
                    return
                self._warned = True
        journal_warning(f"{consequence}: {error}", stacklevel=3)
