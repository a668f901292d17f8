"""Text from outside made safe to show on a terminal.

File names, git authors, commit data, Jenkins answers (token names, authorities, error pages),
settings files and exception text are written by whoever controls them. Printed raw, an escape
sequence in one of them can move the cursor, erase lines, retitle the terminal, plant an OSC 8
link, and a ``\\r``, ``\\n`` or bidi control can make a line say something else than what it
holds. ``safe`` shows every such character as a visible escape instead (``\\x1b``, ``\\r``,
``\\u202e``) and leaves everything else, accented letters and CJK included, as it is.

Escape at the point where external text is formatted into terminal output; JSON, SARIF and
GitLab reports need no help (``json.dumps`` escapes control characters itself).
"""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import TypeVar

# Cc: C0, DEL, C1. Cf: bidi embeddings/overrides/isolates, LRM/RLM/ALM, zero-width characters,
# BOM, soft hyphen, tags. Cs: lone surrogates (undecodable file names). Zl/Zp: U+2028/U+2029,
# which some terminals and editors treat as line breaks.
ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

T = TypeVar("T")


def _escape_char(char: str) -> str:
    if unicodedata.category(char) not in ESCAPED_CATEGORIES:
        return char
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe(text: object) -> str:
    """``text`` (any value, as ``str()``) with every control or format character made visible."""
    value = text if isinstance(text, str) else str(text)
    if value.isprintable():  # the common case: str.isprintable() is False for every escaped category
        return value
    return "".join(_escape_char(char) for char in value)


def safe_value(value: T) -> T:
    """A copy of a plain value (dataclass, list, tuple, dict, str) with every string passed through ``safe``.

    Dataclasses are copied field by field, so a field added to the model later is escaped
    without anyone having to remember it.
    """
    if isinstance(value, str):
        return safe(value)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: safe_value(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, list):
        return [safe_value(item) for item in value]  # type: ignore[return-value]
    if isinstance(value, tuple):
        items = [safe_value(item) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)  # type: ignore[return-value]
    if isinstance(value, dict):
        return {safe_value(k): safe_value(v) for k, v in value.items()}  # type: ignore[return-value]
    return value
