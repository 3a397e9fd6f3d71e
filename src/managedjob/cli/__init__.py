"""The ``managedjob`` command: run circuit files as one job set, and follow job sets.

``run`` records each set in the journal (``--journal PATH``, else
``$MANAGEDJOB_JOURNAL``, else the library's default file); ``list``,
``status``, ``report``, ``results``, ``retry``, ``cancel`` and ``plot`` work
on the sets kept there, from this process or another.

``--backend`` takes the built-in specs (``aer``, ``basic``, ``fake:<name>``,
``ibm:<name>``) and any prefix a package registers in the
``managedjob.backends`` entry-point group (``scripted:<seconds>`` from
:mod:`managedjob.testing`, for one).

Exit codes: 0 on success, 1 when some experiments have no results (or some
jobs could not be cancelled), 2 for bad usage or input (an unknown job set
included) and for any other error, 130 when interrupted. Errors are one
line on stderr; ``--debug`` shows the traceback too. Output cut short by a
reader that went away (``managedjob list | head -1``) ends quietly with 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TextIO

from managedjob.cli._errors import CliError, one_line
from managedjob.cli._parser import build_parser
from managedjob.exceptions import JobManagerError

__all__ = ["main"]


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"managedjob: warning: {one_line(message)}", file=file or sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``managedjob`` command.

    Args:
        argv: The arguments, without the program name; ``sys.argv[1:]`` if not given.

    Returns:
        The exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG
        if args.debug
        else logging.INFO
        if args.verbose
        else logging.ERROR
        if args.quiet
        else logging.WARNING,
        format="managedjob: %(levelname)s: %(message)s",
    )
    command: Callable[[argparse.Namespace], int] = args.func
    shown = warnings.showwarning
    if not args.debug:
        warnings.showwarning = _show_warning
    try:
        code = command(args)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``managedjob list | head -1``): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (CliError, JobManagerError, OSError) as err:
        if args.debug:
            raise
        print(f"managedjob: error: {one_line(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # anything else: still one line, the traceback on request
        if args.debug:
            raise
        print(
            f"managedjob: error: {type(err).__name__}: {one_line(err)} "
            "(--debug shows the traceback)",
            file=sys.stderr,
        )
        return 2
    finally:
        warnings.showwarning = shown
