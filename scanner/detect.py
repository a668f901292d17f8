"""The detection engine: cheap prefilter, rule patterns, filters and context -> ``Hit``.

One ``Detector`` is built per process from a picklable ``DetectorSpec`` and then fed raw bytes
(a file, a git blob, stdin), so every source shares exactly the same detection.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from scanner.context import (
    BASIC_RE,
    JENKINS_NAMING_SHAPE,
    TextView,
    could_name_jenkins,
    decode_basic,
    extract,
    has_jenkins_context,
)
from scanner.findings import is_high_entropy, some_of
from scanner.placeholders import is_placeholder
from scanner.prefilter import Facts, Prefilter, Questions, Trigger, hex_runs
from scanner.rules import Rule, load_rules

ALLOW_MARKERS = ("jts:allow", "pragma: allowlist secret")
ALLOW_NEXT_MARKER = "pragma: allowlist nextline secret"
# Line breaks other than \n (which ends the detector's line): CR, VT, FF, FS/GS/RS, NEL, LS, PS.
# An editor, a diff view or detect-secrets (str.splitlines) may start a new line at any of them, so a
# marker never reaches past one: it covers the token's line as every reader sees it, never more.
OTHER_BREAKS_RE = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
BINARY_SNIFF = 8192
# a whole run of hex digits (32 or more): where a found token can appear again
HEX_WORD_RE = re.compile(r"(?<![0-9a-fA-F])[0-9a-fA-F]{32,}+")
PATH_CACHE_MAX = 1 << 16
CHOSEN_MEMO_MAX = 1 << 12
BASIC_WORDS = (b"asic", b"ASIC")  # BASIC_RE's "basic" in its usual spellings
# The bytes of every BASIC_RE match: "basic" in any case (U+017F folds to "s", U+0130/U+0131 to
# "i"), whitespace (\s: the ASCII ones, or the UTF-8 of U+0085, U+00A0, U+1680, U+2000-U+200A,
# U+2028, U+2029, U+202F, U+205F, U+3000), 8 base64 characters. Unambiguous, so Python's re
# runs it in linear time too. "Basic" in prose is common, followed by a credential much less so.
BASIC_SHAPE = (rb"[Bb][Aa](?:[Ss]|\xc5\xbf)(?:[Ii]|\xc4[\xb0\xb1])[Cc]"
               rb"(?:[\x09-\x0d\x1c-\x20]|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f"
               rb"|\xe3\x80\x80)+[A-Za-z0-9+/]{8}")


@dataclass
class Hit:
    """One secret match inside one blob or file."""

    rule_id: str
    secret: str = field(repr=False)
    line: int  # 1-based
    column: int  # 1-based
    end_column: int
    user: str | None = None
    jenkins_url: str | None = None
    confidence: str = "high"
    problem: str | None = None  # why the context could not be read (the hit is reported without it)


@dataclass(frozen=True)
class DetectorSpec:
    """Picklable recipe for a Detector, so worker processes can build their own."""

    extra_rule_dirs: tuple[str, ...] = ()
    only_rules: tuple[str, ...] = ()

    def build(self) -> Detector:
        rules = load_rules(self.extra_rule_dirs)
        if self.only_rules:
            rules = [r for r in rules if r.id in self.only_rules]
        return Detector(rules)


def path_matches(path: str, globs: tuple[str, ...]) -> bool:
    path = path.replace("\\", "/")
    return any(fnmatchcase(path, g) or fnmatchcase(path, "*/" + g) for g in globs)


def is_binary(data: bytes) -> bool:
    return data.find(b"\x00", 0, BINARY_SNIFF) != -1  # no copy of the first bytes, once per blob


# Hex runs that send a binary blob's printable text to the text rules: legacy and API tokens (with an
# escape before them) up to agent secrets
TEXT_IN_BINARY_RUNS = (32, 64)
# Control bytes (NUL included) as spaces, tab, newlines and every other byte kept (UTF-8 stays UTF-8)
PRINTABLE_ONLY = bytes(b if b in b"\t\n\r" or 0x20 <= b != 0x7F else 0x20 for b in range(256))


def utf16_as_utf8(data: bytes) -> bytes | None:
    """UTF-16 text (a byte-order mark, or ASCII with every other byte NUL) as UTF-8; None otherwise."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        codec = "utf-16"
    else:
        sample = data[:BINARY_SNIFF]
        even, odd = sample[0::2], sample[1::2]
        if len(sample) < 8:
            return None
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
            codec = "utf-16-le"
        elif even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
            codec = "utf-16-be"
        else:
            return None
    return data.decode(codec, "replace").encode("utf-8", "surrogatepass")


NAMING: Trigger = (("shape", JENKINS_NAMING_SHAPE),)  # could_name_jenkins' byte-level superset

# (patterns, (shortest, longest) hex run): run them on the lines around runs of lowercase hex of
# that length (longest 0: any), or over the whole content when shortest is 0
Runs = tuple[int, int]
Group = tuple[tuple, Runs]
WHOLE: Runs = (0, 0)


class Detector:
    def __init__(self, rules: list[Rule], shortcuts: bool = True, accelerate: bool | None = None):
        self.rules = rules
        # False: search every pattern over the whole content and skip the whole-content gates;
        # the reference the tests hold the fast paths to (same hits, more time)
        self.shortcuts = shortcuts
        self.hex_runs = sorted({r.prefilter_hex_run for r in rules if r.prefilter_hex_run}
                               | {d.hex_run for r in rules for d in r.derived if d.hex_run})
        self.basic_rules = [r for r in rules if "basic_auth" in r.extract]
        # accelerate: None = Hyperscan when installed (see prefilter); the answers are the same
        self.prefilter = Prefilter(Questions(
            literals=tuple(k for r in rules for k in r.prefilter_keywords)
            + tuple(k for r in rules for d in r.derived for k in (d.gate_bytes, *d.keyword_bytes, *d.near_bytes))
            + BASIC_WORDS,
            hex_runs=tuple(self.hex_runs),
            hex_windows=tuple({(r.prefilter_hex_run, r.prefilter_hex_run_max) for r in rules if r.prefilter_hex_run_max}
                              | {(d.hex_run, d.hex_run_max) for r in rules for d in r.derived if d.hex_run_max}),
            base64_runs=tuple(d.base64_run for r in rules for d in r.derived),
            shapes=((BASIC_SHAPE,) if self.basic_rules else ())
            + ((JENKINS_NAMING_SHAPE,) if any(r.jenkins_context for r in rules) else ())), accelerate)
        # per rule: questions one of which must be a yes for its content patterns to run; an
        # accelerated prefilter answers them all at once, so most rules cost nothing per blob
        self.triggers = [_trigger(rule) for rule in rules]
        self.binary_rule_ids = {rule.id for rule in rules if rule.binary}
        self.allowed_lines: list[int] = []  # see scan_blob
        # path -> per rule (excluded, on its paths): a history holds many versions of each path
        self.path_verdicts: dict[str, tuple[tuple[bool, bool], ...]] = {}
        self._verdict_forms: dict[tuple[tuple[bool, bool], ...], tuple[tuple[bool, bool], ...]] = {}
        self._chosen_memo: dict[tuple[int, frozenset[int], bool], list[tuple[Rule, list[Group]]]] = {}

    def _path_verdicts(self, path: str) -> tuple[tuple[bool, bool], ...]:
        verdicts = self.path_verdicts.get(path)
        if verdicts is None:
            verdicts = tuple((bool(r.exclude_paths) and path_matches(path, r.exclude_paths),
                              bool(r.paths) and path_matches(path, r.paths)) for r in self.rules)
            # a handful of distinct verdicts: one shared tuple each (~400 bytes less per path)
            verdicts = self._verdict_forms.setdefault(verdicts, verdicts)
            if len(self.path_verdicts) >= PATH_CACHE_MAX:
                self.path_verdicts.clear()
            self.path_verdicts[path] = verdicts
        return verdicts

    def path_key(self, path: str) -> tuple[object, ...]:
        """All a path contributes to a blob's verdict: equal keys, equal hits for the same content.
        A blob at two paths with different keys (secrets/master.key and a backup name, "jenkins"
        in one directory name) must be judged at each."""
        lowered = path.lower()
        return (self._path_verdicts(path), could_name_jenkins(path), "jenkins" in lowered or "hudson" in lowered)

    def candidate_rules(self, path: str, data: bytes, binary: bool) -> list[Rule]:
        """Rules worth running on this content; most blobs get none."""
        return [rule for rule, _ in self._chosen(path, data, binary)[0]]

    def _chosen(self, path: str, data: bytes, binary: bool) -> tuple[list[tuple[Rule, list[Group]]], Facts]:
        """Each rule worth running with what to run where, and the hex map when one was made.

        A group is (patterns, hex run N): N > 0 runs the patterns only on the lines around runs
        of N hex digits, 0 over the whole content. A hex rule's own patterns need its run, so
        they go to its windows whatever keywords the content holds; a derived pattern found by
        its keywords (encoded, context-gated) may sit anywhere and gets the whole content; one
        with a hex run of its own (a split token) sits beside the shorter runs.
        """
        facts = self.prefilter.facts(data)
        verdicts = self._path_verdicts(path)
        # Blobs whose accelerated pass found the same things at paths with the same verdicts get the
        # same rules: remembered, unless some answer came from searching the content itself.
        found = facts.pass_key()
        key = None if found is None else (id(verdicts), found, binary)  # verdicts: one shared tuple each
        if key is not None and (known := self._chosen_memo.get(key)) is not None:
            return known, facts
        chosen: list[tuple[Rule, list[Group]]] = []
        for rule, (excluded, on_path), trigger in zip(self.rules, verdicts, self.triggers):
            if (binary and not rule.binary) or excluded:
                continue
            if rule.path_only or on_path:
                if on_path:
                    chosen.append((rule, [(rule.patterns, WHOLE)]))
                continue
            if self.shortcuts and not facts.may_hold_any(trigger):
                continue
            groups: list[Group] = []
            run = rule.prefilter_hex_run
            if rule.hex_windows and self.shortcuts:
                if facts.hex_run(run):
                    groups.append((rule.plain_patterns, (run, rule.prefilter_hex_run_max)))
            elif (run and facts.hex_run(run)) or any(facts.has(k) for k in rule.prefilter_keywords):
                groups.append((rule.plain_patterns, WHOLE))
            anywhere = tuple(d for d in rule.derived if not d.hex_run and d.applies(facts))
            if anywhere:
                groups.append((anywhere, WHOLE))
            for derived in rule.derived:
                if derived.hex_run and derived.applies(facts):
                    windowed = rule.hex_windows and self.shortcuts
                    groups.append(((derived,), (derived.hex_run, derived.hex_run_max) if windowed else WHOLE))
            if groups:
                chosen.append((rule, groups))
        if key is not None and not facts.searched():
            if len(self._chosen_memo) >= CHOSEN_MEMO_MAX:
                self._chosen_memo.clear()
            self._chosen_memo[key] = chosen
        return chosen, facts

    def scan_blob(self, path: str, data: bytes, line_offset: int = 0) -> list[Hit]:
        """The hits of one blob; ``self.allowed_lines``: after it, the lines (1-based, with
        ``line_offset``) where an inline allow marker kept a would-be hit out, for the caller's report."""
        self.allowed_lines: list[int] = []
        if not is_binary(data):
            return self._scan(path, data, line_offset, False)[0]
        # key files are read as bytes; a NUL does not make the rest of a file unreadable, though:
        # UTF-16 text (PowerShell's > and Out-File), a .env behind one NUL, a SQLite page, a .pyc
        hits, facts = self._scan(path, data, line_offset, True)
        text = utf16_as_utf8(data)
        if text is None and facts.hex_window(*TEXT_IN_BINARY_RUNS):  # most binaries hold no such run
            text = data.translate(PRINTABLE_ONLY)  # same length, same lines: positions stay true
        if text is not None:
            found = self._scan(path, text, line_offset, is_binary(text))[0]
            hits += [h for h in found if h.rule_id not in self.binary_rule_ids]
        return hits

    def _scan(self, path: str, data: bytes, line_offset: int, binary: bool) -> tuple[list[Hit], Facts]:
        chosen, facts = self._chosen(path, data, binary)
        if not binary and any(rule.binary for rule, _ in chosen) and not _is_utf8(data):
            # Key files such as hudson.util.Secret are random bytes that often hold no NUL at all.
            binary = True
            chosen = [(rule, [(rule.patterns, WHOLE)]) for rule, _ in chosen if rule.binary]
        # BASIC_RE's "basic" in its usual spellings, then (fast paths) the byte shape of a whole match
        has_basic = bool(self.basic_rules) and not binary and any(facts.has(w) for w in BASIC_WORDS) \
            and (not self.shortcuts or facts.has_shape(BASIC_SHAPE))
        if not chosen and not has_basic:
            return [], facts
        text = data.hex() if binary else data.decode("utf-8", "replace")
        view = TextView(text, path)
        offsets = _TextOffsets(data)
        hits: list[Hit] = []
        hex_spans: dict[Runs, list[tuple[int, int]]] = {}  # hex run lengths -> text spans around such runs
        for rule, groups in chosen:
            # a windowed group has somewhere to look only where a whole run of its lengths is
            live = [(patterns, runs) for patterns, runs in groups
                    if not runs[0] or binary or not runs[1] or facts.hex_window(*runs)]
            # the whole-content gates after that (sha1 runs hold no window) but before the spans
            # (hex-dense content without a Jenkins word has thousands)
            if not live or (self.shortcuts and self._rule_gated_out(rule, view, facts)):
                continue
            for patterns, runs in live:
                if runs[0] and not binary:
                    if runs not in hex_spans:
                        hex_spans[runs] = offsets.spans(_line_spans(data, hex_runs(facts.hex_translated(), *runs)))
                    spans = hex_spans[runs]
                else:
                    spans = [(0, len(text))]
                for pattern in patterns:
                    for start, end in spans:
                        for m in pattern.finditer(text, start, end):
                            hit = self._check_or_keep(rule, view, m.group("secret"), m.start("secret"),
                                                      m.end("secret"))
                            if hit:
                                hits.append(hit)
        if has_basic:
            spans = offsets.spans(_line_spans(data, _basic_words(data))) if self.shortcuts else [(0, len(text))]
            hits.extend(self._basic_auth_hits(view, spans))
        if hits:
            hits.extend(_every_occurrence(view, hits))
        self.allowed_lines.extend(sorted(line + 1 + line_offset for line in view.allowed_lines))
        return _dedupe(hits, line_offset), facts

    def _basic_auth_hits(self, view: TextView, spans: list[tuple[int, int]]) -> list[Hit]:
        """Decode ``Basic base64(user:token)`` and hand the decoded pair to the rules that want it."""
        hits = []
        for m in (m for start, end in spans for m in BASIC_RE.finditer(view.text, start, end)):
            pair = decode_basic(m.group("b64"))
            if not pair:
                continue
            user, secret = pair
            for rule in self.basic_rules:
                if not any(_fullmatch_secret(p, secret) for p in rule.patterns):
                    continue
                hit = self._check_or_keep(rule, view, secret, m.start("b64"), m.end("b64"), basic_user=user)
                if hit:
                    hits.append(hit)
        return hits

    def _check_or_keep(self, rule: Rule, view: TextView, secret: str, start: int, end: int,
                       basic_user: str | None = None) -> Hit | None:
        """``_check``, failing closed: a candidate whose filters or context raise is still reported."""
        try:
            return self._check(rule, view, secret, start, end, basic_user)
        except Exception as exc:  # noqa: BLE001 - hostile content must never turn a crash into a miss
            line = view.line_of(start)
            if _marked(view, line, start):
                view.allowed_lines.add(line)
                return None
            column = start - view.line_starts[line] + 1
            return Hit(rule_id=rule.id, secret=secret, line=line + 1, column=column,
                       end_column=column + (end - start), user=basic_user or rule.default_user,
                       confidence="medium", problem=f"its context could not be read ({type(exc).__name__})")

    def _rule_gated_out(self, rule: Rule, view: TextView, facts: Facts) -> bool:
        """The whole-content gates before any pattern runs: hex-dense content without a Jenkins
        word costs no search at all for a rule that needs one."""
        try:
            on_path = _on_path(rule, view)
            return self._gated_out(rule, view, on_path, facts)
        except Exception:  # noqa: BLE001 - fail closed: the candidates are checked (and kept) one by one
            return False

    @staticmethod
    def _gated_out(rule: Rule, view: TextView, on_path: bool, facts: Facts | None = None) -> bool:
        """Whole-content gates, computed once per blob: they drop every candidate of a rule at once
        (hex-dense content holds thousands) before any per-candidate work. ``facts``: an
        accelerated prefilter may already know the content cannot name a Jenkins."""
        if rule.nearby and not on_path and not view.gate(
                ("nearby", rule.id), lambda text: any(p.search(text) for p in rule.nearby)):
            return True
        return rule.jenkins_context and not view.gate(
            "jenkins", lambda text: could_name_jenkins(view.path)
            or ((facts is None or facts.may_hold_any(NAMING)) and could_name_jenkins(text)))

    def _check(self, rule: Rule, view: TextView, secret: str, start: int, end: int,
               basic_user: str | None = None) -> Hit | None:
        on_path = _on_path(rule, view)
        if self.shortcuts and self._gated_out(rule, view, on_path):
            return None
        line = view.line_of(start)
        # line-level answers are shared by every candidate of the line (see TextView.memo); an allowed
        # candidate is checked to the end all the same, so the report can say a marker kept a hit out
        allowed = _marked(view, line, start)
        if rule.exclude_line and view.memo(("excluded", rule.id, line), lambda: any(
                p.search(view.line_text(line)) for p in rule.exclude_line)):
            return None
        if rule.exclude_value and _in_excluded_value(view, rule, line, start, end):
            return None
        if any(p.search(secret) for p in rule.exclude_secret):
            return None
        if rule.placeholders and is_placeholder(secret, rule.min_distinct_chars):
            return None
        if rule.nearby and not on_path and not view.memo(("nearby", rule.id, line), lambda: any(
                p.search(view.span_text(line - rule.window, line + rule.window)) for p in rule.nearby)):
            return None
        ctx = extract(view, start, end, secret, rule.extract, rule.window,
                      credential_required=rule.credential_position and basic_user is None)
        if basic_user is not None:
            ctx.user = basic_user
            ctx.credential_position = True
        if ctx.not_a_token or (rule.credential_position and (not ctx.credential_position or ctx.hash_key)):
            return None
        if rule.jenkins_context and not has_jenkins_context(view, line, rule.window, ctx):
            return None
        if allowed:
            view.allowed_lines.add(line)
            return None
        column = start - view.line_starts[line] + 1
        return Hit(
            rule_id=rule.id,
            secret=secret,
            line=line + 1,
            column=column,
            end_column=column + (end - start),
            user=ctx.user or rule.default_user,
            jenkins_url=ctx.url,
            confidence="high" if (ctx.credential_position or ctx.user or ctx.url or on_path) else "medium",
        )


def _trigger(rule: Rule) -> Trigger:
    """What ``Detector._chosen`` asks before it runs any of the rule's patterns on content: for
    each way in, one question it needs (the rarest, where it needs several)."""
    questions: list[tuple[str, object]] = []
    if rule.prefilter_hex_run:
        questions.append(("hex", rule.prefilter_hex_run))
    if not rule.hex_windows:  # a windowed rule's plain patterns need its run, whatever the keywords
        questions += [("literal", k) for k in rule.prefilter_keywords]
    for derived in rule.derived:
        if derived.hex_run:
            questions.append(("hex", derived.hex_run))
        elif derived.gate:
            questions.append(("literal", derived.gate_bytes))
        else:
            questions += [("literal", k) for k in derived.keyword_bytes]
    return tuple(dict.fromkeys(questions))


def _on_path(rule: Rule, view: TextView) -> bool:
    """Is the content at one of the rule's own paths? Once per blob: a glob match per candidate
    would repeat for every candidate of the blob."""
    return bool(rule.paths) and view.memo(("on_path", rule.id), lambda: path_matches(view.path, rule.paths))


def _allowed(view: TextView, line: int) -> bool:
    """Could a marker apply on this line (one on it, or the next-line marker on the line before)?
    Once per line, and all clean content ever pays: ``_allowed_at`` then decides per candidate."""
    text = view.line_text(line)
    if any(marker in text for marker in ALLOW_MARKERS):
        return True
    return line > 0 and ALLOW_NEXT_MARKER in view.line_text(line - 1)


def _marked(view: TextView, line: int, start: int) -> bool:
    """Does an inline allow marker cover the candidate at ``start``? (once per line, then per candidate)"""
    return view.memo(("allowed", line), lambda: _allowed(view, line)) and _allowed_at(view, line, start)


def _allowed_at(view: TextView, line: int, start: int) -> bool:
    """A marker on the candidate's line (the detector's line, cut at any other line break, so a CR-only
    file's marker covers one line, not the rest of the file), or the next-line marker at the end of
    the line before, when nothing breaks the line between it and the candidate."""
    text = view.line_text(line)
    pos = start - view.line_starts[line]
    before = [m.end() for m in OTHER_BREAKS_RE.finditer(text, 0, pos)]
    after = OTHER_BREAKS_RE.search(text, pos)
    segment = text[before[-1] if before else 0:after.start() if after else len(text)]
    if any(marker in segment for marker in ALLOW_MARKERS):
        return True
    if before or line == 0:
        return False
    previous = view.line_text(line - 1).removesuffix("\r")  # CRLF: the \r ends that same line
    return ALLOW_NEXT_MARKER in OTHER_BREAKS_RE.split(previous)[-1]


def allowed_note(places: dict[str, set[int]]) -> list[str]:
    """One warning naming where inline allow markers kept would-be findings out ({path: lines}), if any:
    a marker in scanned content must not hide a finding without the report saying so."""
    named = [f"{path}:{line}" for path in sorted(places) for line in sorted(places[path])]
    if not named:
        return []
    return [f"{len(named)} place(s) where an inline allow marker (jts:allow, pragma: allowlist secret) kept a "
            f"finding out of this report: {some_of(named)}"]


def scan_or_error(detector: Detector, path: str, data: bytes, line_offset: int = 0) -> tuple[list[Hit], str | None]:
    """``scan_blob`` that never raises: content that cannot be scanned is named, not dropped.

    The message carries the exception's type only: its text may quote the content (a token).
    """
    try:
        return (detector.scan_blob(path, data, line_offset) if line_offset else detector.scan_blob(path, data)), None
    except Exception as exc:  # noqa: BLE001 - one odd blob must not lose the rest of the scan
        return [], f"detection failed ({type(exc).__name__})"


def problem_warnings(hits: list[tuple[Hit, object]]) -> list[str]:
    """One warning per hit reported without its context, naming the place (never the secret)."""
    out = []
    for hit, location in hits:
        problem = getattr(hit, "problem", None)
        if problem:
            out.append(f"{getattr(location, 'path', '?')}:{hit.line}: a candidate was reported without "
                       f"user or URL: {problem}")
    return out


def _basic_words(data: bytes) -> Iterator[tuple[int, int]]:
    """Byte offsets of every "basic", any case: where BASIC_RE can start."""
    lowered = data.lower()
    pos = lowered.find(b"basic")
    while pos != -1:
        yield pos, pos + 5
        pos = lowered.find(b"basic", pos + 5)


def _line_spans(data: bytes, places: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merged byte spans from the start of the line before to the end of the line after each place.

    Every pattern that runs in spans keeps its match on one or two lines, so searching the spans
    finds what searching the whole content finds, at the cost of the lines that matter.
    """
    spans: list[tuple[int, int]] = []
    rfind, find, size = data.rfind, data.find, len(data)
    line_end = -1  # the newline ending the line of the last place (-1: none yet or no newline)
    for start, end in places:
        if spans and (start < line_end or line_end == -1):
            continue  # on the same line as the last place: its span covers this one (never rescan a long line)
        line_end = find(b"\n", end)
        next_end = -1 if line_end == -1 else find(b"\n", line_end + 1)
        last = size if next_end == -1 else next_end + 1
        if spans and start < spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))  # its line before is in the span already
            continue
        line_start = rfind(b"\n", 0, start)
        first = 0 if line_start <= 0 else rfind(b"\n", 0, line_start) + 1
        if spans and first <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            spans.append((first, last))
    return spans


class _TextOffsets:
    """Byte offsets of the content -> offsets in its decoded text (equal when it is ASCII).

    Spans start and end just after a newline or at a hex digit or "b": ASCII bytes, where
    decoding the pieces apart gives exactly the text decoding the whole gave.
    """

    def __init__(self, data: bytes):
        self.data = data
        self.ascii = data.isascii()  # then each byte decodes to one character

    def spans(self, byte_spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        if self.ascii:
            return byte_spans
        out = []
        byte_pos = text_pos = 0
        for start, end in byte_spans:  # ascending: decode each gap once
            text_pos += len(self.data[byte_pos:start].decode("utf-8", "replace"))
            text_start = text_pos
            text_pos += len(self.data[start:end].decode("utf-8", "replace"))
            byte_pos = end
            out.append((text_start, text_pos))
        return out


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _fullmatch_secret(pattern: re.Pattern[str], secret: str) -> bool:
    m = pattern.search(secret)
    return bool(m and m.group("secret") == secret)


def _in_excluded_value(view: TextView, rule: Rule, line: int, start: int, end: int) -> bool:
    """Does the candidate at [start, end) sit inside a value the rule says is no secret (a crumb)?"""
    found = view.memo(("excluded_values", rule.id, line), lambda: _excluded_values(view, rule, line))
    for starts, ends in found:  # one pattern's values do not overlap: the last one starting before is the one
        index = bisect.bisect_right(starts, start) - 1
        if index >= 0 and end <= ends[index]:
            return True
    return False


def _excluded_values(view: TextView, rule: Rule, line: int) -> list[tuple[list[int], list[int]]]:
    """Per pattern, the starts and ends of the line's excluded values, found once per line (a line may
    hold thousands of candidates: each looks its own up by bisection)."""
    base = view.line_starts[line]
    text = view.line_text(line)
    found = []
    for pattern in rule.exclude_value:
        spans = [(base + m.start("secret"), base + m.end("secret")) for m in pattern.finditer(text)]
        found.append(([first for first, _ in spans], [last for _, last in spans]))
    return found


def _every_occurrence(view: TextView, hits: list[Hit]) -> list[Hit]:
    """The other places of each random token found in this content: every occurrence is a location.

    A token's second mention may sit where no rule would look (``echo TOKEN``); once the content
    is known to hold it, that place leaks it too. Only high-entropy tokens (hex of 32 or more):
    a guessable trigger word also appears in job names and prose. One pass over the hex runs of
    the content, however many tokens were found.
    """
    first: dict[str, list[Hit]] = {}
    for hit in hits:
        if is_high_entropy(hit.secret) and hit.problem is None:
            found = first.setdefault(hit.secret, [])
            if all(h.rule_id != hit.rule_id for h in found):
                found.append(hit)
    if not first:
        return []
    seen = {(h.line, h.column, h.secret) for h in hits}
    extra = []
    for m in HEX_WORD_RE.finditer(view.text):
        for hit in first.get(m.group(0), ()):
            line = view.line_of(m.start())
            column = m.start() - view.line_starts[line] + 1
            if (line + 1, column, hit.secret) in seen:
                continue
            if _marked(view, line, m.start()):
                view.allowed_lines.add(line)
                continue
            extra.append(Hit(rule_id=hit.rule_id, secret=hit.secret, line=line + 1, column=column,
                             end_column=column + len(hit.secret), user=hit.user, jenkins_url=hit.jenkins_url,
                             confidence=hit.confidence))
    return extra


def _dedupe(hits: list[Hit], line_offset: int) -> list[Hit]:
    seen: set[tuple] = set()
    out = []
    for hit in hits:
        key = (hit.rule_id, hit.secret, hit.line, hit.column)
        if key in seen:
            continue
        seen.add(key)
        if line_offset:
            hit.line += line_offset
        out.append(hit)
    return out
