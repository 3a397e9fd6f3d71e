"""The worker process of :class:`~managedjob.targets.WorkerPool`: it runs simulator jobs.

Started as ``python -m managedjob.targets._worker_main PARENT_PID`` (never through
:mod:`multiprocessing`, whose "spawn" start method imports the user's main
script again). It reads tasks from standard input and writes replies to its
original standard output, one frame each: eight bytes of length, then a
pickle. A task is ``(backend_key, backend_blob, qpy_blob, run_config)``: the
backend pickled (sent once per worker, ``None`` afterwards), the circuits as
QPY, the run options. A reply is ``("ok", result_dict)`` or
``("error", text)``.

The worker ignores Ctrl-C (the parent decides what an interrupt means), ends
when its standard input closes, and on Linux is killed when its parent dies.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import signal
import sys
import warnings
from typing import Any

from managedjob.targets._frames import read_frame, write_frame

__all__ = ["main"]


def _die_with_parent() -> None:
    """On Linux, ask the kernel to kill this process when its parent ends."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except Exception:  # no prctl: the closed standard input ends the worker instead
        return


def _run(task: tuple[Any, ...], backends: dict[bytes, Any]) -> tuple[str, Any]:
    from qiskit import qpy

    key, blob, circuits_blob, run_config = task
    if blob is not None:
        backends[key] = pickle.loads(blob)
    backend = backends[key]
    circuits = qpy.load(io.BytesIO(circuits_blob))
    result = backend.run(circuits, **run_config).result()
    return ("ok", result.to_dict())


def main(argv: list[str] | None = None) -> None:
    """Serve tasks until standard input closes.

    Args:
        argv: The arguments: the pid of the process that started the worker.
    """
    args = sys.argv[1:] if argv is None else argv
    parent = int(args[0]) if args and args[0].isdigit() else os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    if os.getppid() != parent:  # the parent died before the kernel was asked
        return
    # Replies go to the original standard output; anything the simulator
    # prints goes to standard error instead of corrupting a frame.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    tasks = sys.stdin.buffer
    # The parent reports failures from the results; the simulator's own
    # warnings and log lines would only repeat them.
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    backends: dict[bytes, Any] = {}
    while True:
        frame = read_frame(tasks)
        if frame is None:
            return
        try:
            reply: tuple[str, Any] = _run(pickle.loads(frame), backends)
        except BaseException as err:  # anything the job raised is the job's failure
            reply = ("error", f"{type(err).__name__}: {err}")
        try:
            payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as err:
            payload = pickle.dumps(("error", f"the result cannot be sent back: {err}"))
        write_frame(replies, payload)


if __name__ == "__main__":
    main()
