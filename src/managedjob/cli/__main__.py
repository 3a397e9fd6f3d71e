"""``python -m managedjob.cli`` runs the ``managedjob`` command."""

import signal
import sys

from managedjob.cli import main

__all__: list[str] = []

# Ctrl-C must raise KeyboardInterrupt even where the parent process ignores SIGINT.
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.exit(main())
