"""What a blob holds, as the rules' prefilters ask it: keywords, runs of hex or base64 characters.

Most blobs hold no candidate, so these answers decide most of a scan's cost. Without an
accelerator each answer is one lazy C-level search of the bytes (a substring test, or a
translate to "x"/" " and a substring test for runs). With the optional Hyperscan package
(``pip install 'jenkins-token-scanner[fast]'``) one pass over the blob answers every question at
once (the hex windows and base64 runs, asked of few blobs, from passes of their own); the answers
are the same either way (``tests/test_prefilter.py`` holds them equal).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Lowercase hex -> "x", everything else -> " ": a long hex run becomes a plain substring search.
HEX_TABLE = bytes(ord("x") if chr(i) in "0123456789abcdef" else ord(" ") for i in range(256))
# base64 alphabet -> "x", everything else -> " "
BASE64_TABLE = bytes(ord("x") if chr(i).isascii() and (chr(i).isalnum() or chr(i) in "+/") else ord(" ")
                     for i in range(256))
# set to 1 to use the pure-Python prefilter even where Hyperscan is installed (benchmarks, tests)
NO_ACCELERATOR_ENV = "JTS_NO_HYPERSCAN"
# Compiling the database costs ~50-80 ms: a pre-commit hook over a few files would pay more than it
# saves, so an automatic accelerator is built once a process has looked at this much content.
ACCELERATE_AFTER_BYTES = 8 << 20


# A question as the accelerator indexes it: ("literal", b"oken"), ("hex", 34), ("base64", 86),
# ("shape", rb"...")
Question = tuple[str, object]
Trigger = tuple[Question, ...]


@dataclass(frozen=True)
class Questions:
    """Every question the rules ask of a blob, known when the detector is built."""

    literals: tuple[bytes, ...] = ()
    hex_runs: tuple[int, ...] = ()
    hex_windows: tuple[tuple[int, int], ...] = ()  # (shortest, longest) whole runs
    base64_runs: tuple[int, ...] = ()
    shapes: tuple[bytes, ...] = ()  # byte regexes both engines run as they are (no lookaround)


class Facts:
    """The answers for one blob, each searched when first asked (and remembered)."""

    def __init__(self, data: bytes):
        self.data = data
        self._known: dict[Question, bool] = {}
        self._hex: bytes | None = None

    def has(self, literal: bytes) -> bool:
        return not literal or self._asked(("literal", literal))  # every content holds b""

    def hex_run(self, length: int) -> bool:
        return self._asked(("hex", length))

    def hex_window(self, shortest: int, longest: int) -> bool:
        """A whole run of lowercase hex (no hex digit either side) of ``shortest`` to ``longest``."""
        return self._asked(("window", (shortest, longest)))

    def base64_run(self, length: int) -> bool:
        return self._asked(("base64", length))

    def has_shape(self, shape: bytes) -> bool:
        return self._asked(("shape", shape))

    def may_hold_any(self, questions: Trigger) -> bool:
        """False only when none of ``questions`` can be a yes, known without a search; True
        otherwise (the caller then asks them one by one)."""
        return True

    def pass_key(self) -> frozenset[int] | None:
        """What one accelerated pass found (every answer it gives follows from it); None without one."""
        return None

    def searched(self) -> bool:
        """Did an answer come from a search of the content itself (a question the pass was not asked)?"""
        return bool(self._known)

    def hex_translated(self) -> bytes:
        """The content through HEX_TABLE: where the windows around hex runs are found."""
        if self._hex is None:
            self._hex = self.data.translate(HEX_TABLE)
        return self._hex

    def _asked(self, question: Question) -> bool:
        found = self._known.get(question)
        if found is None:
            found = self._known[question] = self._search(question)
        return found

    def _search(self, question: Question) -> bool:
        kind, key = question
        if kind == "literal":
            return key in self.data  # type: ignore[operator]
        if kind == "hex":
            return b"x" * key in self.hex_translated()  # type: ignore[operator]
        if kind == "window":
            return next(hex_runs(self.hex_translated(), *key), None) is not None  # type: ignore[misc]
        if kind == "base64":
            return b"x" * key in self.data.translate(BASE64_TABLE)  # type: ignore[operator]
        return re.search(key, self.data) is not None  # type: ignore[call-overload]  # a shape


class _Answered(Facts):
    """Answers found by one Hyperscan pass: a question it was not asked falls back to a search."""

    def __init__(self, data: bytes, found: set[int], index: dict[Question, int],
                 triggers: dict[Trigger, frozenset[int] | None], later: tuple[_Later, ...] = ()):
        super().__init__(data)
        self._found = found
        self._index = index  # question -> its pattern id (looked up when asked: most never are)
        self._triggers = triggers
        self._later = later
        self._later_found: dict[int, set[int] | None] = {}  # per later database: what its pass found

    def _search(self, question: Question) -> bool:
        for number, later in enumerate(self._later):
            if question not in later.index:
                continue
            if number not in self._later_found:  # its first question asked of this blob: one pass for all
                self._later_found[number] = later.matcher.matches(self.data)
            found = self._later_found[number]
            if found is None:
                break  # the accelerator failed: a search, as without it
            return later.index[question] in found
        return super()._search(question)

    def pass_key(self) -> frozenset[int] | None:
        return frozenset(self._found)

    def may_hold_any(self, questions: Trigger) -> bool:
        ids = self._triggers.get(questions, ())
        if ids == ():
            ids = self._triggers[questions] = _ids_of(questions, self._index)
        return ids is None or not self._found.isdisjoint(ids)

    def _asked(self, question: Question) -> bool:
        number = self._index.get(question)
        return super()._asked(question) if number is None else number in self._found


class Prefilter:
    """Hands out a blob's Facts; with Hyperscan, all of them from a single pass."""

    def __init__(self, questions: Questions, accelerate: bool | None = None):
        """``accelerate``: True builds the Hyperscan database now, False never, None once
        ``ACCELERATE_AFTER_BYTES`` were asked about (unless $JTS_NO_HYPERSCAN is set)."""
        self.questions = questions
        self._ids: list[tuple[str, object]] = []
        self._matcher: _Matcher | None = None
        self._later: tuple[_Later, ...] = ()
        self._index: dict[Question, int] = {}
        self._triggers: dict[Trigger, frozenset[int] | None] = {}  # per Trigger: its questions' ids
        self._until_compile = -1  # bytes still to see before compiling; -1: never (again)
        if accelerate is None and os.environ.get(NO_ACCELERATOR_ENV, "") in ("", "0"):
            self._until_compile = ACCELERATE_AFTER_BYTES
        elif accelerate:
            self._accelerate()

    def _accelerate(self) -> None:
        """Build the main database (and the later ones beside it), or stay in Python."""
        self._matcher = _compile(self.questions, self._ids)
        self._index = {question: number for number, question in enumerate(self._ids)}
        self._triggers.clear()
        self._later = _later(self.questions) if self._matcher is not None else ()

    @property
    def engine(self) -> str:
        return "hyperscan" if self._matcher is not None else "python"

    def facts(self, data: bytes) -> Facts:
        if self._until_compile >= 0:
            self._until_compile -= len(data)
            if self._until_compile < 0:
                self._accelerate()
        if self._matcher is None or not data:
            return Facts(data)
        found = self._matcher.matches(data)
        if found is None:
            return Facts(data)
        return _Answered(data, found, self._index, self._triggers, self._later)


class _Matcher:
    """One compiled Hyperscan database (each pattern reported once per scan) and its scratches."""

    def __init__(self, expressions: list[bytes]):
        import hyperscan

        self.database = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self.database.compile(expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions),
                              flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(expressions))
        self._local = threading.local()  # a Hyperscan scratch is one thread's at a time

    def matches(self, data: bytes) -> set[int] | None:
        """The ids of the patterns found in ``data``; None when Hyperscan failed (ask Python)."""
        found: set[int] = set()

        def on_match(match_id: int, _start: int, _end: int, _flags: int, _context: object) -> None:
            found.add(match_id)

        try:
            scratch = getattr(self._local, "scratch", None)
            if scratch is None:
                import hyperscan

                scratch = self._local.scratch = hyperscan.Scratch(self.database)
            self.database.scan(data, match_event_handler=on_match, scratch=scratch)
        except Exception:  # noqa: BLE001 - the accelerator failing must cost speed, never answers
            return None
        return found


def _matcher(expressions: list[bytes]) -> _Matcher | None:
    """A matcher, or None where Hyperscan is missing or cannot compile them (e.g. an unsupported CPU)."""
    try:
        return _Matcher(expressions)
    except Exception:  # noqa: BLE001 - the pure-Python path answers instead
        return None


@dataclass(frozen=True)
class _Later:
    """A Hyperscan database of questions few blobs ask, run over a blob only when it asks one.

    The hex windows cost the main pass ~5x: a few blobs (hex-dense ones, after a hex run was
    found) ask them, and there one pass answers them all, ~2x faster than walking the runs.
    Base64 runs cost it ~17% (jenkinsci/jenkins): asked only after a derived pattern's keywords
    were found, where their own pass (~4.8 GB/s) is cheaper than any search.
    """

    index: dict[Question, int]  # question -> its pattern id in this database
    matcher: _Matcher


def _later(questions: Questions) -> tuple[_Later, ...]:
    windows = [("window", w) for w in _unique(w for w in questions.hex_windows if 0 < w[0] <= w[1])]
    runs = [("base64", n) for n in _unique(questions.base64_runs)]
    made = []
    for asked, pattern in ((windows, b"(?:^|[^0-9a-f])[0-9a-f]{%d,%d}(?:[^0-9a-f]|$)"),
                           (runs, b"[A-Za-z0-9+/]{%d}")):
        matcher = _matcher([pattern % key for _kind, key in asked]) if asked else None
        if matcher is not None:
            made.append(_Later({question: number for number, question in enumerate(asked)}, matcher))
    return tuple(made)


def _ids_of(questions: Trigger, index: dict[Question, int]) -> frozenset[int] | None:
    """The pattern ids of ``questions``; None when one was not put to the accelerator (always a maybe)."""
    ids = [index.get(question) for question in questions]
    return None if None in ids else frozenset(ids)  # type: ignore[arg-type]


def _compile(questions: Questions, ids: list[tuple[str, object]]) -> _Matcher | None:
    """One Hyperscan database for every question but the later ones (windows, base64 runs), or
    None (not installed, or it cannot compile here); ``ids`` gets each pattern's question."""
    expressions: list[bytes] = []
    for literal in _unique(questions.literals):
        ids.append(("literal", literal))
        expressions.append(b"".join(b"\\x%02x" % byte for byte in literal))
    for length in _unique(questions.hex_runs):
        ids.append(("hex", length))
        expressions.append(b"[0-9a-f]{%d}" % length)
    # No hex windows: "a run of 16 to 33 with no hex either side" starts at almost every byte and
    # slowed the whole pass from ~1.3 GB/s to 160 MB/s on git/git. They are asked only of content
    # whose hex_run was a yes, and answered there by a database of their own (_Later), as are
    # base64 runs.
    for shape in _unique(questions.shapes):
        ids.append(("shape", shape))
        expressions.append(shape)
    matcher = _matcher(expressions) if expressions else None
    if matcher is None:
        ids.clear()
    return matcher


def _unique(values: Iterable) -> list:
    return list(dict.fromkeys(v for v in values if v))


def hex_runs(translated: bytes, shortest: int, longest: int = 0) -> Iterator[tuple[int, int]]:
    """(start, end) byte offsets of each run of at least ``shortest`` (and, unless 0, at most
    ``longest``) lowercase hex digits.

    ``translated`` is the content through HEX_TABLE ("x" for a hex digit): bytes.find is a C
    substring search, where a regex would try its character class at every position.
    """
    needle = b"x" * shortest
    find = translated.find
    pos = find(needle)
    while pos != -1:
        end = find(b" ", pos + shortest)
        end = len(translated) if end == -1 else end
        if not longest or end - pos <= longest:
            yield pos, end
        pos = find(needle, end)
