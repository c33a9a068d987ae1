"""How the ``hpdeco`` command writes: table cells, durations and dates, plain-text tables,
and the escaping that keeps what the store holds from acting on the terminal.

Everything printed comes from a store that anyone may have written, so :func:`main
<hpdeco.cli.main>` sends standard output through :class:`EscapedStream` and every error
line through :func:`escape`.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
from collections.abc import Collection, Sequence
from typing import Any, TextIO


def fmt(value: Any, digits: int = 6) -> str:
    """A cell of a table: numbers to ``digits`` significant digits, None as ``-``.

    >>> fmt(0.000123456789), fmt(None), fmt(True)
    ('0.000123457', '-', 'True')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}g}"
    return str(value)


def fmt_duration(seconds: float | None) -> str:
    """``0.4s``, ``12.3s``, ``4m05s``, ``2h03m``; ``-`` when unknown.

    >>> fmt_duration(245.2)
    '4m05s'
    """
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fmt_time(ts: float | None) -> str:
    """A local date and time to the minute, ``-`` when unknown.

    >>> fmt_time(1767225600.0)
    '2026-01-01 00:00'
    """
    if ts is None:
        return "-"
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Collection[int] = frozenset()
) -> str:
    """A plain-text table: columns padded to their widest cell, ``right`` ones right-aligned.

    >>> print(table(["#", "state"], [["0", "COMPLETE"]], right={0}))
    #  state
    0  COMPLETE
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


# Characters that would act on a terminal instead of being shown: C0 and C1 controls (ANSI
# escape sequences start with ESC), DEL, and the invisible ones that reorder or hide text
# (bidi overrides and isolates, marks, line separators, zero-width and tag characters).
def _unsafe(char: str) -> bool:
    return not char.isprintable() and char not in "\n "


def _escape_char(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return {"\t": "\\t", "\r": "\\r"}.get(char, f"\\x{code:02x}")
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    # A surrogate pair, as JSON writes it: the JSON export to standard output stays valid.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def escape(text: str) -> str:
    """``text`` safe to print on a terminal: control and invisible formatting characters
    (ANSI escapes, NUL, right-to-left overrides...) are written as escapes such as ``\\x1b``
    and ``\\u202e``; newlines are kept (a traceback keeps its lines).

    >>> print(escape("loss" + chr(27) + "[2J" + chr(0x202E)))
    loss\\x1b[2J\\u202e
    """
    if text.isprintable() and "\n" not in text:
        return text
    return "".join(_escape_char(c) if _unsafe(c) else c for c in text)


class EscapedStream(io.TextIOBase):
    """Standard output or error with :func:`escape` applied to everything written: names,
    values, reasons and tracebacks come from the store, which anyone may have written."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(escape(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def writable(self) -> bool:
        return True


def short(text: str | None, width: int = 50) -> str:
    """``text`` on one line, cut to ``width`` characters with ``...``; empty for None.

    >>> short("out of memory   while allocating", 20)
    'out of memory whi...'
    """
    if not text:
        return ""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."
