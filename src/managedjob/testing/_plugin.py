"""The ``scripted:<seconds>`` backends of the ``managedjob`` command.

The package registers :data:`scripted_backend_spec` in the
``managedjob.backends`` entry-point group under the prefix ``scripted``, the
way any package adds backend specs to the command, so that
``managedjob run --backend scripted:10 ...`` tries the command out on a
scripted backend whose jobs take ten (real) seconds.
"""

from __future__ import annotations

import math

from managedjob._wait import SystemClock
from managedjob.testing._backend import ScriptedBackend

__all__ = ["ScriptedBackendSpec", "scripted_backend_spec"]

# The name of every backend :class:`ScriptedBackendSpec` makes (the default name).
_NAME = "scripted_backend"


class ScriptedBackendSpec:
    """Makes the backend of ``scripted:<seconds>``: a :class:`ScriptedBackend` on the real clock.

    Its jobs take that many seconds (none when the argument is empty), and it
    has 32 qubits, so that every example circuit fits.
    """

    def __call__(self, argument: str) -> ScriptedBackend:
        """Return a scripted backend whose jobs take ``argument`` seconds.

        Raises:
            ValueError: If ``argument`` is not a number of seconds, or is negative.
        """
        try:
            run_time = float(argument) if argument else 0.0
        except ValueError:
            raise ValueError(
                f"scripted:<seconds> takes a number of seconds, not {argument!r}"
            ) from None
        if not math.isfinite(run_time):
            raise ValueError(
                f"scripted:<seconds> takes a finite number of seconds, not {argument!r}"
            )
        if run_time < 0:
            raise ValueError(f"scripted:<seconds> takes no negative time, not {argument!r}")
        return ScriptedBackend(clock=SystemClock(), run_time=run_time, num_qubits=32)

    def argument_for(self, backend_name: str) -> str | None:
        """Return ``"0"`` for the scripted backends' name, else ``None``.

        A set's jobs are rerun on a backend whose jobs take no time: how long
        the first ones took is not recorded.
        """
        return "0" if backend_name == _NAME else None


#: What the ``scripted`` entry point names.
scripted_backend_spec = ScriptedBackendSpec()
