"""The one exception type the command line turns into a one-line error and exit code 2."""

from __future__ import annotations

import reprlib

#: The longest message a :class:`GlorotError` carries: a value that a user wrote can be any size
#: (a 200 KB string, a YAML alias bomb), the line that names it cannot.
MAX_MESSAGE = 1000
#: The longest rendering of an offending value inside a message (:func:`shorten`).
MAX_VALUE = 80

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxtuple = _REPR.maxlist = _REPR.maxarray = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 4
_REPR.maxdeque = 4
_REPR.maxstring = _REPR.maxlong = _REPR.maxother = MAX_VALUE


def shorten(value: object) -> str:
    """``repr(value)`` cut to about :data:`MAX_VALUE` characters, ``reprlib``-style (``'aaa...aaa'``,
    ``[1, 2, 3, 4, ...]``), in memory and time bounded by that size, not by the value's."""
    text = _REPR.repr(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 3] + "..."


def bounded(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` on one line of at most ``limit`` characters (its middle cut out if longer)."""
    line = " ".join(message.splitlines())
    if len(line) <= limit:
        return line
    half = (limit - 5) // 2
    return f"{line[:half]} ... {line[-half:]}"


class GlorotError(Exception):
    """A problem the user can fix: a bad value, a missing or corrupt file, an unreachable server.

    Its message is a single line that names the offending field or file and, where it
    makes sense, the allowed values; it is bounded (:func:`bounded`) whatever the input was.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(bounded(str(message)))
