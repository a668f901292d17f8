"""Text from outside made safe to show on a terminal.

File names, git authors, commit data, Jenkins answers (token names, authorities, error pages),
settings files and exception text are written by whoever controls them. Printed raw, an escape
sequence in one of them can move the cursor, erase lines, retitle the terminal, plant an OSC 8
link, and a ``\\r``, ``\\n`` or bidi control can make a line say something else than what it
holds. ``safe`` shows every such character as a visible escape instead (``\\x1b``, ``\\r``,
``\\u202e``) and leaves everything else, accented letters and CJK included, as it is.

Escape at the point where external text is formatted into terminal output. JSON reports (JSON,
JSONL, SARIF, GitLab, the audit log) go through ``json_dumps``: ``json.dumps`` escapes C0 controls
itself but not DEL, C1 or bidi characters, which ``cat report.json`` would hand to the terminal.
"""

from __future__ import annotations

import dataclasses
import json
import re
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


# Characters json.dumps(ensure_ascii=False) leaves raw that a terminal acts on: DEL, C1, and the
# format (bidi, zero-width), line/paragraph separator and surrogate characters.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u180e\u200b-\u200f"
                          "\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff"
                          "\U000110bd\U0001d173-\U0001d17a\U000e0001-\U000e007f]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells astral characters as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def json_dumps(value: object, **kwargs: object) -> str:
    """``json.dumps`` with readable Unicode, but every terminal-active character as a ``\\uXXXX`` escape.

    The escapes are JSON's own, so a parser reads back exactly the same values.
    """
    return _JSON_UNSAFE.sub(_json_escape, json.dumps(value, ensure_ascii=False, **kwargs))  # type: ignore[arg-type]
