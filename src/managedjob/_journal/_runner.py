"""Which process a job computes in, and whether that process still runs.

A job of an in-process simulator (Aer, ``BasicSimulator``, a fake device,
or the worker processes of :class:`~managedjob.targets.WorkerPool`) lives
only as long as the process that submitted it. The journal records that
process with each such submission, as ``host:pid:start`` (``start`` is the
process's start time as the system counts it, so that a pid used again by
a later process is not taken for it; empty where the system does not say).
A job without a final state whose process has ended is *lost*: nothing
will ever finish it.
"""

from __future__ import annotations

import os
import socket
from functools import cache

__all__ = ["runner_alive", "this_runner"]


def _start_time(pid: int) -> str:
    """The start time of process ``pid`` (Linux ``/proc``); ``""`` where unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return ""
    # The second field (the command) is in parentheses and may hold spaces.
    fields = text[text.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


@cache
def _host() -> str:
    return socket.gethostname()


def this_runner() -> str:
    """This process, as the journal records it: ``host:pid:start``."""
    pid = os.getpid()
    return f"{_host()}:{pid}:{_start_time(pid)}"


def runner_alive(runner: str) -> bool | None:
    """Whether the process ``runner`` names still runs; ``None`` if this host cannot tell.

    Args:
        runner: ``host:pid:start``, as :func:`this_runner` gives it.

    Returns:
        ``True`` if it runs, ``False`` if it has ended (or its pid now
        belongs to another process), ``None`` for a process of another host
        or a text that is not a runner.
    """
    parts = runner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    host, pid_text, start = parts
    if host != _host():
        return None
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it runs, as another user
        pass
    except OSError:
        return None
    now = _start_time(pid)
    return not (start and now and now != start)
