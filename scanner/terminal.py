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
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt; Python has no API for it): drawn as
# nothing, some of them letters (Hangul fillers U+115F, U+1160, U+3164, U+FFA0), so a name made of them
# looks empty or like another name. Also the braille blank U+2800, which draws as a space.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_INVISIBLE = re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in DEFAULT_IGNORABLE) + "\u2800]")
_SPACE_RUN = re.compile(" {2,}")
# A name shown in a line someone confirms (the revocation plan) is cut here: a longer one is an attack or useless.
MAX_NAME = 64

T = TypeVar("T")


def _escape_char(char: str) -> str:
    category = unicodedata.category(char)
    # spaces other than " " (no-break, em, ideographic...) pad a line unseen, as do invisible characters
    if category not in ESCAPED_CATEGORIES and not (category == "Zs" and char != " ") and not _INVISIBLE.match(char):
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
    # the common case: str.isprintable() is False for every escaped category and space but " "
    if value.isprintable() and not _INVISIBLE.search(value):
        return value
    return "".join(_escape_char(char) for char in value)


def bounded(text: object, limit: int = MAX_NAME) -> str:
    """``safe`` text that cannot pass for layout: runs of spaces escaped (``\\x20``; padding could wrap
    the rest of a name onto a line of its own), and at most ``limit`` characters (an ellipsis ends a cut)."""
    shown = _SPACE_RUN.sub(lambda run: "\\x20" * len(run.group()), safe(text))
    return shown if len(shown) <= limit else shown[:limit - 1] + "…"


def quoted(text: object, limit: int = MAX_NAME) -> str:
    """A name someone else chose (a Jenkins token name), ``bounded`` between quotes it cannot close."""
    value = text if isinstance(text, str) else str(text)
    return "'" + bounded(value.replace("'", "\\'"), limit) + "'"


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
