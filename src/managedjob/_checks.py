"""Checks of arguments shared by the job manager, its job sets and jobs."""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from typing import Any

from managedjob.exceptions import InvalidInputError

__all__ = [
    "HIDDEN_CRN",
    "check_positive_int",
    "check_run_values",
    "check_timeout",
    "drop_unset_options",
    "hide_account_details",
    "secret_options",
    "warn_job_share_level",
]

# Run options whose name says they hold a credential; never written to disk.
_SECRET_NAME = re.compile(
    r"(^|_)(api_?key|token|password|passwd|secret|credentials?|auth|private_key)($|_)",
    re.IGNORECASE,
)

# An IBM Cloud resource name: it names the account and the service instance.
_CRN = re.compile(r"\bcrn:v1:[^\s'\"<>,;()\[\]{}]*")
HIDDEN_CRN = "crn:v1:<hidden>"
"""What a hidden cloud resource name is shown as."""


def check_timeout(timeout: object) -> None:
    """Reject a timeout that is not ``None`` or a number of seconds at least 0.

    Raises:
        InvalidInputError: Naming the value (a string, a bool, NaN, a negative).
    """
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise InvalidInputError(f"timeout must be a number of seconds or None, not {timeout!r}")
    if math.isnan(timeout) or timeout < 0:
        raise InvalidInputError(f"timeout must not be negative, not {timeout!r}")


def drop_unset_options(run_config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the run options without those set to ``None``.

    In the legacy API, as in the backends' ``run()`` of that time, an option
    given as ``None`` meant "not set": such options are left out rather than
    checked against the target.
    """
    return {key: value for key, value in run_config.items() if value is not None}


def check_run_values(run_config: Mapping[str, Any]) -> None:
    """Reject values of the common run options that no target could honour.

    ``shots`` must be a positive ``int`` (not a bool, a float or a string);
    ``memory`` a bool.

    Raises:
        InvalidInputError: Naming the option and its value.
    """
    if "shots" in run_config:
        shots = run_config["shots"]
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 1:
            raise InvalidInputError(
                f"run option 'shots' must be a positive integer, not {shots!r}"
            )
    if "memory" in run_config and not isinstance(run_config["memory"], bool):
        raise InvalidInputError(
            f"run option 'memory' must be True or False, not {run_config['memory']!r}"
        )


def secret_options(run_config: Mapping[str, Any]) -> list[str]:
    """Return the names of run options that look like credentials (``api_key``, ``token``, ...)."""
    return sorted(key for key in run_config if _SECRET_NAME.search(key))


def hide_account_details(text: str) -> str:
    """Return ``text`` with cloud resource names (instance CRNs) replaced.

    A CRN names the user's IBM Cloud account and service instance; reports
    are pasted into chats and issue trackers, so they show
    ``crn:v1:<hidden>`` unless asked to show it.
    """
    return _CRN.sub(HIDDEN_CRN, text)


def check_positive_int(name: str, value: object) -> None:
    """Reject anything but a positive ``int`` (``bool`` included).

    Raises:
        InvalidInputError: Naming the setting and the value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive integer, not {value!r}")


def warn_job_share_level(job_share_level: object, stacklevel: int = 3) -> None:
    """Warn that ``job_share_level`` is ignored, when it is given."""
    if job_share_level is not None:
        warnings.warn(
            "job_share_level is no longer supported and is ignored",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
