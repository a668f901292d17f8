"""Is a candidate secret a placeholder or decoy rather than a credential?

Reuses detect-secrets' heuristic filters where they fit, and adds the shapes Jenkins docs and
templates use (repeated or sequential hex, documentation examples).
"""

from __future__ import annotations

import re

PLACEHOLDER_WORDS = re.compile(
    r"(?i)(your|my)[_\-]?(api)?[_\-]?(token|secret|password)|changeme|change[_\-]me|example|placeholder|"
    r"redacted|dummy|sample|secret[_\-]?here|token[_\-]?here|^x{3,}|x{4,}|\*{3,}|^\.\.\.|^(api_?)?token$|^secret$|^password$"
)
DOC_HEX = ("1234567890abcdef", "0123456789abcdef", "abcdef0123456789", "fedcba9876543210", "deadbeef", "cafebabe")


def is_periodic(value: str, max_unit: int = 8) -> bool:
    """'abababab…' style strings: a short unit repeated."""
    n = len(value)
    for unit in range(1, min(max_unit, n // 2) + 1):
        chunk = value[:unit]
        if (chunk * (n // unit + 1))[:n] == value:
            return True
    return False


def is_doc_hex(value: str) -> bool:
    """Hex built from well-known documentation runs (e.g. 1234567890abcdef repeated)."""
    lowered = value.lower()
    for run in DOC_HEX:
        if run in lowered and len(lowered.replace(run, "")) <= len(lowered) // 2:
            return True
    return False


HEX_ORDER = "0123456789abcdef"


def is_run_hex(value: str) -> bool:
    """Hex typed by hand for a document: most characters repeat or step from the previous one.

    ``aaaabbbbccccdddd...``, ``00112233...``, ``abcdef0123...``: in random hex a character equals
    or neighbours the previous one about 3 times in 16; here at least 3 times in 4.
    """
    lowered = value.lower()
    if len(lowered) < 16 or any(c not in HEX_ORDER for c in lowered):
        return False
    steps = 0
    for previous, current in zip(lowered, lowered[1:]):
        distance = (HEX_ORDER.index(current) - HEX_ORDER.index(previous)) % 16
        if distance in (0, 1, 15):
            steps += 1
    return steps * 4 >= 3 * (len(lowered) - 1)


def is_placeholder(secret: str, min_distinct_chars: int = 0) -> bool:
    # Imported here: detect-secrets pulls in requests (~0.1-0.2 s), too slow for every pre-commit run.
    from detect_secrets.filters import heuristic

    core = secret[2:] if len(secret) == 34 and secret.startswith("11") else secret
    if heuristic.is_templated_secret(secret) or heuristic.is_prefixed_with_dollar_sign(secret):
        return True
    if "{{" in secret or "}}" in secret or "${" in secret or secret.startswith("%") and secret.endswith("%"):
        return True
    if heuristic.is_sequential_string(core) or is_periodic(core) or is_doc_hex(core) or is_run_hex(core):
        return True
    if len(core) >= 32 and is_run_hex(core[0::2]) and is_run_hex(core[1::2]):  # a1b2c3d4...: two runs interleaved
        return True
    if min_distinct_chars and len(set(core.lower())) < min_distinct_chars:
        return True
    return bool(PLACEHOLDER_WORDS.search(secret))
