"""The command's usage error, and errors and warnings as one line of text."""

from __future__ import annotations

__all__ = ["CliError", "one_line"]


class CliError(Exception):
    """Bad usage or input; the message is shown as one line and the exit code is 2."""


def one_line(err: BaseException | Warning | str) -> str:
    """Return the text of an error or warning on one line, without surrounding quotes."""
    # Qiskit's errors show their message as a repr; their ``message`` is the text.
    message = getattr(err, "message", None)
    text = message if isinstance(message, str) else str(err)
    text = " ".join(text.split())
    quoted = len(text) >= 2 and text[0] == text[-1] and text[0] in "'\""
    if quoted and text[0] not in text[1:-1]:  # one quoted whole, not 'a' ... 'b'
        text = text[1:-1]
    return text or type(err).__name__
