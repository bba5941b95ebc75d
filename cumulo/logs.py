"""Log text sized by us, not by clients.

A value a client sent (a user name, a path, an error message quoting either) goes into a
log line through `clip`, so a 100 KB user name costs a log line of a few hundred bytes;
`ClippingFormatter` bounds whatever slips past (a traceback quoting the same value).
"""

from __future__ import annotations

import logging
from typing import Any

# Long enough for any legitimate name or path prefix to identify the request.
CLIP = 200
# The most a formatted record's message, or one line of its traceback, may hold.
MAX_LINE = 4000


def clip(value: object, limit: int = CLIP) -> str:
    """`repr(value)` (escapes control characters and lone surrogates, so nothing a
    client sends can forge a line) cut to `limit` characters, saying how much was cut."""
    text = value if isinstance(value, str) else str(value)
    shown = repr(text[:limit])
    if len(text) > limit:
        return f"{shown}…(+{len(text) - limit} chars)"
    return shown


def _cap(text: str) -> str:
    if len(text) <= MAX_LINE:
        return text
    return f"{text[:MAX_LINE]}…(+{len(text) - MAX_LINE} chars)"


class ClippingFormatter(logging.Formatter):
    """A formatter whose message, and each line of the traceback, is at most MAX_LINE."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _cap(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        text = super().formatException(ei)
        return "\n".join(_cap(line) for line in text.splitlines())
