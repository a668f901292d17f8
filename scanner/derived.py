"""Rule patterns whose secret is not the matched text itself: split, encoded or gated by context.

A token split over lines or literals (``11ab\\<newline>cd``, Python's ``"11ab" "cd"``) is found
by a pattern capturing its parts (``p1``, ``p2``...) and reported as their concatenation; an
agent secret stored base64-encoded in a Kubernetes Secret is reported decoded. Such a pattern
behaves like a compiled regex where the engine uses one (``finditer`` and ``group("secret")``,
``start("secret")``, ``end("secret")``), so the engine needs no special case: the reported span
is where the split or encoded form sits, the secret is the real value.

Every derived pattern is gated by keywords (plain substring checks), so content without them
costs one ``in`` per keyword.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from scanner.prefilter import Facts

VALUE_KINDS = ("secret", "join", "base64")
PART_NAMES = tuple(f"p{i}" for i in range(1, 10))


@dataclass(frozen=True)
class DerivedMatch:
    """What the engine reads from a match: the secret's value and where its form sits."""

    value: str
    span_start: int
    span_end: int

    def group(self, name: str) -> str:
        assert name == "secret"
        return self.value

    def start(self, name: str) -> int:
        return self.span_start

    def end(self, name: str) -> int:
        return self.span_end


@dataclass(frozen=True)
class DerivedPattern:
    regex: re.Pattern[str]
    value: str = "secret"  # secret: the group as is; join: p1 + p2 + ...; base64: the group decoded
    keywords: tuple[str, ...] = ()  # the pattern runs only on content holding one of them
    hex_run: int = 0  # ...and (when set) a run of this many lowercase hex characters
    hex_run_max: int = 0  # ...and no longer than this (0 = any): where one of its parts can be
    base64_run: int = 0  # ...and (when set) a run of this many base64 characters (A-Z a-z 0-9 + /)
    near: tuple[str, ...] = ()  # a match counts only with one of these within near_chars of it
    near_chars: int = 2000
    value_pattern: re.Pattern[str] | None = None  # the value must match this whole
    gate: str = ""  # one keyword every match holds, searched before the (several) keywords
    keyword_bytes: tuple[bytes, ...] = field(init=False, default=())
    gate_bytes: bytes = field(init=False, default=b"")
    near_bytes: tuple[bytes, ...] = field(init=False, default=())

    @property
    def pattern(self) -> str:
        return self.regex.pattern

    @property
    def flags(self) -> int:
        return self.regex.flags

    def __post_init__(self) -> None:
        object.__setattr__(self, "keyword_bytes", tuple(k.encode() for k in self.keywords))
        object.__setattr__(self, "gate_bytes", self.gate.encode())
        object.__setattr__(self, "near_bytes", tuple(w.encode() for w in self.near))

    def applies(self, facts: Facts) -> bool:
        """Whether content (its prefilter answers, shared by the rules) is worth this pattern's look."""
        if self.hex_run and not facts.hex_run(self.hex_run):
            return False
        if self.gate and not facts.has(self.gate_bytes):
            return False
        if not any(facts.has(k) for k in self.keyword_bytes):
            return False
        if self.near and not any(facts.has(w) for w in self.near_bytes):
            return False  # no match can have one near it: a pattern run over code full of "def "
        return not self.base64_run or facts.base64_run(self.base64_run)

    def search(self, _text: str) -> None:
        """A whole value (a decoded Basic pair) is never in a derived form."""
        return None

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[DerivedMatch]:
        end = len(text) if endpos is None else endpos
        # a hex-gated pattern runs on the few lines around a hex run once its keywords were found
        # in the content (see Detector): its regex is cheaper there than a search for each keyword
        if not self.hex_run and not any(text.find(k, pos, end) != -1 for k in self.keywords):
            return
        for m in self.regex.finditer(text, pos, end):
            if self.near and not self._is_near(text, m.start(), m.end()):
                continue
            value = self._value(m)
            if value is not None and (self.value_pattern is None or self.value_pattern.fullmatch(value)):
                yield DerivedMatch(value, m.start("secret"), m.end("secret"))

    def _is_near(self, text: str, start: int, end: int) -> bool:
        first, last = max(0, start - self.near_chars), end + self.near_chars
        return any(text.find(word, first, last) != -1 for word in self.near)

    def _value(self, m: re.Match[str]) -> str | None:
        if self.value == "join":
            return "".join(m.group(name) or "" for name in PART_NAMES if name in self.regex.groupindex)
        if self.value == "base64":
            try:
                decoded = base64.b64decode(m.group("secret"), validate=True).decode("ascii")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return None
            return decoded.rstrip("\r\n")  # `echo SECRET | base64` keeps the newline
        return m.group("secret")

