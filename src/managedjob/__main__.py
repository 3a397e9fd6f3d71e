"""``python -m managedjob`` runs the ``managedjob`` command."""

import sys

from managedjob.cli import main

__all__: list[str] = []

sys.exit(main())
