"""How Jenkins spells item names in URLs and directories (facts sheet 9.2 and 9.6).

``raw_encode`` is ``hudson.Util.rawEncode`` (URL segments), ``name_encode`` is branch-api's
``NameEncoder`` (a multibranch child's item name), ``mangle`` is ``NameMangler`` (its directory).
"""
from __future__ import annotations

import hashlib

# Util.rawEncode leaves these as they are; everything else is %XX of its UTF-8 bytes, uppercase hex.
RAW_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!$&'()*+,-.=@_")
# NameEncoder.encode: the characters a branch name may hold that an item name may not.
NAME_ENCODED = {"%": "%25", "/": "%2F", "?": "%3F", "#": "%23", "[": "%5B", "]": "%5D", "\\": "%5C"}
MAX_SAFE_LENGTH = 32
MIN_HASH_LENGTH = 6
MAX_HASH_LENGTH = 12
RESERVED = {".", "..", "con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def raw_encode(segment: str) -> str:
    return "".join(c if c in RAW_SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in segment)


def name_encode(branch: str) -> str:
    if branch in (".", ".."):
        return branch.replace(".", "%2E")
    return "".join(NAME_ENCODED.get(c, c) for c in branch)


def name_decode(item_name: str) -> str:
    """NameEncoder.decode: the branch name back from the item name."""
    result = item_name
    for char, code in NAME_ENCODED.items():
        if char != "%":
            result = result.replace(code, char)
    return result.replace("%2E", ".").replace("%25", "%")


def _safe(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "-")


def _digest(name: str) -> str:
    """NameMangler's SHA-1 tail: 5 bits at a time, least significant first, digits 0-9a-v."""
    bits = data = 0
    out = []
    for byte in hashlib.sha1(name.encode("utf-8")).digest():
        while bits >= 5:
            n = data & 0x1F
            out.append(chr(ord("0") + n) if n < 10 else chr(ord("a") + n - 10))
            bits -= 5
            data >>= 5
        data |= byte << bits
        bits += 8
    return "".join(out)


def mangle(name: str) -> str:
    """NameMangler.apply: short safe names stay, others become safe text plus a hash tail."""
    if (len(name) <= MAX_SAFE_LENGTH and name and not name.startswith("-") and all(_safe(c) for c in name)
            and name.lower() not in RESERVED):
        return name
    buf = ""
    for c in name:
        if _safe(c):
            buf += c
        elif c in "/\\ ._":
            buf += "-" if buf else "0-"
        else:
            code = ord(c)
            buf += "_" if buf else "0_"
            buf += f"{code & 0xFF:02x}"
            if code > 0xFF:
                buf += f"_{(code >> 8) & 0xFF:02x}"
    digest = _digest(name)
    if len(buf) <= MAX_SAFE_LENGTH - MIN_HASH_LENGTH - 1:
        return f"{buf}.{digest[-MIN_HASH_LENGTH:]}"
    overage = len(buf) - MAX_SAFE_LENGTH
    size = MIN_HASH_LENGTH if overage <= MIN_HASH_LENGTH else MAX_HASH_LENGTH if overage > MAX_HASH_LENGTH else overage
    tail = f".{digest[-size:]}."
    start = (MAX_SAFE_LENGTH - len(tail)) // 2
    return buf[:start] + tail + buf[start + len(tail) + overage:]
