"""Every regex that runs on scanned content takes time linear in its input (issue 13, item 2).

Scanned content is hostile: one line shaped to make a backtracking regex go quadratic would hang
a pre-commit hook, a CI gate or a sweep. The regexes are enumerated, not listed by hand (module
globals of the detection modules, regex literals inside their functions, every pattern of every
shipped rule), so a new pattern is covered as soon as it exists. Each one is fed 1 MiB lines built
from its own pieces (every prefix of a match followed by a long run of what the next element
accepts, partial matches repeated) and from generic shapes, and must finish within RATIO times a
plain ``re.search`` that tries a match at every position of the same text.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from types import ModuleType

import pytest

from scanner import context, detect, placeholders, shapes
from scanner.rules import load_rules
from tests.helpers import TimeLimit, jts, new_token, time_limit

LINE = 1 << 20
RATIO = 200  # a linear pattern costs some regex steps per character (up to ~50 for many alternatives); a quadratic one, ~LINE
FLOOR = 0.25  # seconds: timer noise on a loaded 2-core machine, far below any quadratic run
# A regex attempt at every position (no literal prefix to jump to): the cost of one plain pass.
PLAIN = re.compile(r"(?<!\x00)\x00")
CONTENT_MODULES: tuple[ModuleType, ...] = (context, detect, placeholders, shapes)
RULE_FIELDS = ("patterns", "exclude_line", "exclude_value", "exclude_secret", "nearby")
# One character of each kind the patterns care about (letters, hex, separators, quotes, space).
ALPHABET = "xaAF01_.-/:=@+&?#%$~!,;()[]{}<>|^*`'\"\\ \t\n\r\u00e9"
GENERIC_UNITS = (
    "x", "1", "f", "_", ".", "-", "/", ":", "=", "@", "<", ">", "&", "?", "\"", "'", "\\", " ", "\t", "\n",
    " \t", "\n\n ", "a=", "a:", "a=a=", "::", "<<", "<a>", "a.", "http://", "https://a:", "https://a:b",
    "/job/", "/job/a", "/job/a/build", "/job/a/build/", "basic ", "machine a ", "name: a\n", " -s ", "11",
    "ab" * 17, "'", "\"\\\"", "(\"a\", \"", "ENV a ", "<authToken>", "jenkins ",
)


def _literal_regexes(module: ModuleType) -> Iterator[tuple[str, re.Pattern[str]]]:
    """Regex string literals passed to ``re.*`` inside the module's functions (globals are seen as values)."""
    functions = [node for node in ast.walk(ast.parse(inspect.getsource(module)))
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for node in (inner for function in functions for inner in ast.walk(function)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield f"{module.__name__}:{node.lineno}", re.compile(node.args[0].value)


def content_regexes() -> list[tuple[str, re.Pattern[str]]]:
    found: list[tuple[str, re.Pattern[str]]] = []
    for module in CONTENT_MODULES:
        for name, value in vars(module).items():
            values = value if isinstance(value, (tuple, list)) else (value,)
            for i, item in enumerate(values):
                if isinstance(item, re.Pattern):
                    found.append((f"{module.__name__}.{name}" + (f"[{i}]" if values is value else ""), item))
        found.extend(_literal_regexes(module))
    for rule in load_rules():
        for field in RULE_FIELDS:
            for i, pattern in enumerate(getattr(rule, field)):
                if isinstance(pattern, re.Pattern):  # derived patterns are listed below, by their regex
                    found.append((f"{rule.id}.{field}[{i}]", pattern))
        for i, derived in enumerate(rule.derived):
            found.append((f"{rule.id}.derived[{i}]", derived.regex))
            if derived.value_pattern is not None:
                found.append((f"{rule.id}.derived[{i}].value_pattern", derived.value_pattern))
    unique: dict[tuple[str, int], tuple[str, re.Pattern[str]]] = {}
    for name, pattern in found:
        unique.setdefault((pattern.pattern, pattern.flags), (name, pattern))
    return list(unique.values())


# --- adversarial text built from a pattern's own pieces ------------------------------------------

def _members(node: tuple, flags: int) -> str:
    """Characters of ALPHABET that one single-character element matches."""
    try:
        single = re.compile(sre_parse_to_str(node), flags)
    except (re.error, ValueError):
        return ""
    return "".join(c for c in ALPHABET if single.fullmatch(c))


def sre_parse_to_str(node: tuple) -> str:
    """Regex source for one single-character element of a parsed pattern."""
    op, arg = node
    if op is sre_c.LITERAL:
        return re.escape(chr(arg))
    if op is sre_c.NOT_LITERAL:
        return "[^" + re.escape(chr(arg)) + "]"
    if op is sre_c.ANY:
        return "."
    if op is sre_c.IN:
        return "[" + "".join(_set_item(item) for item in arg) + "]"
    raise ValueError(op)


def _set_item(item: tuple) -> str:
    op, arg = item
    if op is sre_c.NEGATE:
        return "^"
    if op is sre_c.LITERAL:
        return re.escape(chr(arg))
    if op is sre_c.RANGE:
        return re.escape(chr(arg[0])) + "-" + re.escape(chr(arg[1]))
    if op is sre_c.CATEGORY:
        return {sre_c.CATEGORY_DIGIT: r"\d", sre_c.CATEGORY_NOT_DIGIT: r"\D", sre_c.CATEGORY_SPACE: r"\s",
                sre_c.CATEGORY_NOT_SPACE: r"\S", sre_c.CATEGORY_WORD: r"\w",
                sre_c.CATEGORY_NOT_WORD: r"\W"}.get(arg, "")
    return ""


SINGLE = (sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.ANY, sre_c.IN)
REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", sre_c.MAX_REPEAT))


def _flatten(items: list, flags: int) -> list[tuple[str, str]]:
    """The pattern as a list of (one sample match, characters the element can repeat) steps."""
    steps: list[tuple[str, str]] = []
    for op, arg in items:
        if op is sre_c.LITERAL:
            steps.append((chr(arg), ""))
        elif op in SINGLE:
            steps.append((_members((op, arg), flags)[:1], ""))
        elif op in REPEATS:
            low, high, sub = arg
            inner = _flatten(list(sub), flags)
            sample = "".join(s for s, _ in inner)
            runs = "".join(chr(n[1]) if n[0] is sre_c.LITERAL else _members(n, flags)
                           for n in sub if n[0] in SINGLE) or sample
            steps.append((sample * max(low, 1), runs))
        elif op is sre_c.SUBPATTERN:
            steps.extend(_flatten(list(arg[-1]), flags))
        elif op is getattr(sre_c, "ATOMIC_GROUP", None):
            steps.extend(_flatten(list(arg), flags))
        elif op is sre_c.BRANCH:
            steps.extend(_flatten(list(arg[1][0]), flags))
        # anchors, lookarounds, group references: no text of their own here
    return steps


def derived_lines(pattern: re.Pattern[str]) -> Iterator[tuple[str, str]]:
    """(label, 1 MiB text): each prefix of a sample match that ends before a repeated element,
    followed by a long run of what that element accepts, alone and repeated; the whole sample repeated."""
    steps = _flatten(list(sre_parse.parse(pattern.pattern, pattern.flags)), pattern.flags)
    prefix = ""
    for sample, runs in steps:
        if runs and prefix:
            yield f"({prefix[-20:]!r})*", _fill(prefix)
        for char in dict.fromkeys(runs[:1] + "".join(c for c in " \n" if c in runs)):
            yield f"{prefix[-20:]!r}+{char!r}*", prefix + char * (LINE - len(prefix))
            yield f"({prefix[-20:]!r}+{char!r}*8)*", _fill(prefix + char * 8)
        prefix += sample
    if prefix:
        yield f"({prefix[-20:]!r})*", _fill(prefix)


def _fill(unit: str) -> str:
    return (unit * (LINE // max(len(unit), 1) + 1))[:LINE]


def generic_lines() -> Iterator[tuple[str, str]]:
    for unit in GENERIC_UNITS:
        yield f"({unit!r})*", _fill(unit)


# --- timing ---------------------------------------------------------------------------------------

def _timed_scan(pattern: re.Pattern[str], text: str, budget: float) -> float | None:
    """Seconds ``finditer`` takes over ``text``, or None once it passes ``budget`` (the re engine
    checks signals, so the alarm stops a runaway match instead of hanging the suite)."""
    start = time.perf_counter()
    try:
        with time_limit(budget):
            for _ in pattern.finditer(text):
                pass
    except TimeLimit:
        return None
    return time.perf_counter() - start


def _plain_seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        PLAIN.search(text)
        best = min(best, time.perf_counter() - start)
    return best


@functools.lru_cache(maxsize=1)
def _alarm_seconds() -> float:
    """When to stop a run for good: RATIO plain passes of a reference line, twice over for noise."""
    return max(2 * RATIO * _plain_seconds("x" * LINE), 4 * FLOOR)


def _too_slow(pattern: re.Pattern[str], text: str) -> bool:
    """Slower than RATIO plain searches over the same text (and than FLOOR, below which timing is noise)."""
    for _attempt in range(2):  # a second chance: another job may have had the core
        took = _timed_scan(pattern, text, _alarm_seconds())
        if took is not None and (took <= FLOOR or took <= RATIO * _plain_seconds(text)):
            return False
    return True


REGEXES = content_regexes()


def test_enumeration_finds_the_detection_regexes():
    names = {name for name, _ in REGEXES}
    assert {"scanner.context.ASSIGN_RES[0]", "scanner.context.K8S_ENV_RE", "scanner.context.USERINFO_RE",
            "scanner.context.CLI_URL_RE", "scanner.placeholders.PLACEHOLDER_WORDS"} <= names
    assert any(name.startswith("build_trigger_token.patterns") for name in names)
    assert any(name.startswith("api_token.exclude_value") for name in names)


@pytest.mark.parametrize("name,pattern", REGEXES, ids=[name for name, _ in REGEXES])
def test_regex_is_linear_on_adversarial_lines(name, pattern):
    slow = []
    seen: set[str] = set()
    for label, text in (*derived_lines(pattern), *generic_lines()):
        if text in seen:
            continue
        seen.add(text)
        if _too_slow(pattern, text):
            slow.append(label)
    assert not slow, f"{name} ({pattern.pattern!r}) is not linear on 1 MiB lines of: {', '.join(slow[:5])}"


def _scan_seconds(path: Path, timeout: float = 600) -> float:
    start = time.perf_counter()
    try:
        run = jts("scan", "--no-progress", str(path), timeout=timeout)
    except subprocess.TimeoutExpired:
        return float("inf")
    took = time.perf_counter() - start
    assert run.code == 1, run.output  # the token is still found
    return took


def test_token_beside_a_long_run_scans_like_ordinary_text(tmp_path):
    """Issue 13: a token plus one 24 KiB line of `x` took 22.7 s (quadratic in ASSIGN_RES)."""
    token = new_token()
    head = f"JENKINS_URL=https://jenkins.example.com/\nJENKINS_API_TOKEN={token}\n"
    words = ("lorem ipsum dolor sit amet, consectetur adipiscing elit " * (LINE // 50))[:LINE]
    (tmp_path / "run").mkdir()
    (tmp_path / "plain").mkdir()
    (tmp_path / "run" / "f.env").write_text(head + "x" * LINE + "\n")
    (tmp_path / "plain" / "f.env").write_text(head + words + "\n")
    plain = min(_scan_seconds(tmp_path / "plain") for _ in range(2))
    limit = 3 * plain + 1
    run = _scan_seconds(tmp_path / "run", timeout=limit + 5)
    assert run < limit, f"1 MiB of x: {run:.2f} s (stopped at {limit + 5:.0f} s), 1 MiB of words: {plain:.2f} s"
