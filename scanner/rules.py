"""Load and validate detection rules from ``rules/*.toml``.

Rules are data: what a credential looks like, where it may appear and what context it needs.
The engine in ``detect.py`` is the only code that interprets them.
"""

from __future__ import annotations

from scanner.errors import JtsError

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scanner.derived import PART_NAMES, VALUE_KINDS, DerivedPattern
from scanner.findings import SEVERITIES

CONTEXT_EXTRACTORS = ("userinfo", "user_colon_secret", "basic_auth", "netrc", "assignments", "auth_tuple", "cli_url",
                      "env_fallback", "table_row")
TOP_KEYS = {"id", "title", "severity", "description", "remediation", "verifiable", "detect", "filters", "examples"}
DETECT_KEYS = {
    "patterns", "prefilter_hex_run", "prefilter_hex_run_max", "prefilter_keywords", "paths", "path_only", "nearby", "window",
    "credential_position", "jenkins_context", "extract", "default_user", "binary", "companions",
    "alone_severity", "derived",
}
DERIVED_KEYS = {"pattern", "value", "keywords", "gate", "hex_run", "hex_run_max", "base64_run", "near", "near_chars", "value_pattern"}
FILTER_KEYS = {"placeholders", "min_distinct_chars", "exclude_line", "exclude_value", "exclude_secret", "exclude_paths"}


class RuleError(JtsError):
    """A rule file is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Example:
    text: str
    user: str | None = None
    jenkins_url: str | None = None
    path: str = "example.txt"


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    description: str
    remediation: str
    verifiable: bool
    patterns: tuple[re.Pattern[str] | DerivedPattern, ...]  # plain regexes, then the derived ones
    prefilter_hex_run: int  # 0 = no hex-run prefilter
    prefilter_keywords: tuple[bytes, ...]
    paths: tuple[str, ...]
    path_only: bool
    nearby: tuple[re.Pattern[str], ...]
    window: int
    credential_position: bool
    jenkins_context: bool
    extract: tuple[str, ...]
    default_user: str | None
    binary: bool
    companions: tuple[str, ...]  # paths that must all be found under one root for full severity
    alone_severity: str | None  # severity when some companion is missing from the scan
    placeholders: bool
    min_distinct_chars: int
    exclude_line: tuple[re.Pattern[str], ...]
    exclude_secret: tuple[re.Pattern[str], ...]
    exclude_paths: tuple[str, ...]
    # regexes whose (?P<secret>...) group spans a value that is not a secret (a crumb, a stored hash):
    # only a candidate inside that group is dropped, never the other candidates of its line
    exclude_value: tuple[re.Pattern[str], ...] = field(default=())
    derived: tuple[DerivedPattern, ...] = field(default=())
    plain_patterns: tuple[re.Pattern[str], ...] = field(default=())
    # what runs around short hex runs when a split token may be there: plain and hex-gated derived ones
    window_patterns: tuple[re.Pattern[str] | DerivedPattern, ...] = field(default=())
    positive: tuple[Example, ...] = field(default=())
    negative: tuple[Example, ...] = field(default=())
    source: str = ""
    # patterns may run only on the lines around each hex run (see detect): true for a hex-run
    # rule whose patterns do not anchor at the end ($, \Z would see a span's end as the text's)
    hex_windows: bool = False
    # the longest run of lowercase hex a match of the plain patterns can sit in (0 = no bound):
    # longer runs (sha1, sha256 sums) get no window at all
    prefilter_hex_run_max: int = 0


def builtin_rules_dir() -> Path:
    """The shipped rules: ``rules/`` in a source checkout, ``scanner/builtin_rules`` in a wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "builtin_rules", here.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise RuleError("built-in rules directory not found (broken installation)")


def load_rules(extra_dirs: tuple[str, ...] | list[str] = (), include_builtin: bool = True) -> list[Rule]:
    dirs = ([builtin_rules_dir()] if include_builtin else []) + [Path(d) for d in extra_dirs]
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for directory in dirs:
        if not directory.is_dir():
            raise RuleError(f"{directory}: rules directory does not exist")
        for path in sorted(directory.glob("*.toml")):
            rule = load_rule_file(path)
            if rule.id in seen:
                raise RuleError(f"{path}: id: duplicate rule id {rule.id!r} (also in {seen[rule.id]})")
            seen[rule.id] = str(path)
            rules.append(rule)
    return rules


def load_rule_file(path: Path) -> Rule:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: invalid TOML: {exc}") from None
    return parse_rule(data, str(path))


def _field(src: str, name: str, value: object, kind: type | tuple[type, ...], required: bool = True) -> object:
    if value is None:
        if required:
            raise RuleError(f"{src}: {name}: missing required field")
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        expected = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise RuleError(f"{src}: {name}: expected {expected}, got {type(value).__name__}")
    return value


def _str_list(src: str, name: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(f"{src}: {name}: expected a list of strings")
    return list(value)


def _regexes(src: str, name: str, values: list[str]) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for i, text in enumerate(values):
        try:
            compiled.append(re.compile(text))
        except re.error as exc:
            raise RuleError(f"{src}: {name}[{i}]: invalid regex: {exc}") from None
    return tuple(compiled)


def _value_regexes(src: str, name: str, value: object) -> tuple[re.Pattern[str], ...]:
    """Regexes that each name the excluded value with a (?P<secret>...) group."""
    compiled = _regexes(src, name, _str_list(src, name, value))
    for i, pattern in enumerate(compiled):
        if "secret" not in pattern.groupindex:
            raise RuleError(f"{src}: {name}[{i}]: needs a named group (?P<secret>...) spanning the excluded value")
    return compiled


def _unknown(src: str, section: str, table: dict, allowed: set[str]) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise RuleError(f"{src}: {section}{extra[0]}: unknown field")


def _tables(src: str, name: str, value: object, keys: set[str]) -> Iterator[tuple[str, dict]]:
    """(``name[i]``, table) for each table of an array of tables, its fields checked against ``keys``."""
    if value is None:
        return
    if not isinstance(value, list):
        raise RuleError(f"{src}: {name}: expected an array of tables")
    for i, item in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(item, dict):
            raise RuleError(f"{src}: {where}: expected a table")
        _unknown(src, f"{where}.", item, keys)
        yield where, item


def _examples(src: str, name: str, value: object) -> tuple[Example, ...]:
    out = []
    for where, item in _tables(src, name, value, {"text", "user", "jenkins_url", "path"}):
        out.append(Example(
            text=str(_field(src, f"{where}.text", item.get("text"), str)),
            user=_field(src, f"{where}.user", item.get("user"), str, required=False),  # type: ignore[arg-type]
            jenkins_url=_field(src, f"{where}.jenkins_url", item.get("jenkins_url"), str, required=False),  # type: ignore[arg-type]
            path=str(_field(src, f"{where}.path", item.get("path", "example.txt"), str)),
        ))
    return tuple(out)


def _derived(src: str, value: object) -> tuple[DerivedPattern, ...]:
    """``[[detect.derived]]`` tables: patterns whose secret is joined, decoded or gated by context."""
    out = []
    for where, item in _tables(src, "detect.derived", value, DERIVED_KEYS):
        (regex,) = _regexes(src, f"{where}.pattern", [str(_field(src, f"{where}.pattern", item.get("pattern"), str))])
        if "secret" not in regex.groupindex:
            raise RuleError(f"{src}: {where}.pattern: needs a named group (?P<secret>...)")
        kind = str(_field(src, f"{where}.value", item.get("value", "secret"), str))
        if kind not in VALUE_KINDS:
            raise RuleError(f"{src}: {where}.value: must be one of {', '.join(VALUE_KINDS)}")
        if kind == "join" and not any(name in regex.groupindex for name in PART_NAMES):
            raise RuleError(f"{src}: {where}.pattern: value = \"join\" needs groups (?P<p1>...), (?P<p2>...)")
        keywords = _str_list(src, f"{where}.keywords", item.get("keywords"))
        if not keywords:
            raise RuleError(f"{src}: {where}.keywords: a derived pattern needs keywords (its prefilter)")
        value_pattern = item.get("value_pattern")
        out.append(DerivedPattern(
            regex=regex, value=kind, keywords=tuple(keywords),
            hex_run=int(_field(src, f"{where}.hex_run", item.get("hex_run", 0), int)),  # type: ignore[arg-type]
            hex_run_max=_run_max(src, f"{where}.hex_run", item),
            base64_run=int(_field(src, f"{where}.base64_run", item.get("base64_run", 0), int)),  # type: ignore[arg-type]
            gate=str(_field(src, f"{where}.gate", item.get("gate", ""), str)),
            near=tuple(_str_list(src, f"{where}.near", item.get("near"))),
            near_chars=int(_field(src, f"{where}.near_chars", item.get("near_chars", 2000), int)),  # type: ignore[arg-type]
            value_pattern=_regexes(src, f"{where}.value_pattern", [value_pattern])[0] if value_pattern else None,
        ))
    return tuple(out)


def parse_rule(data: dict, src: str) -> Rule:
    _unknown(src, "", data, TOP_KEYS)
    rule_id = str(_field(src, "id", data.get("id"), str))
    if not re.fullmatch(r"[a-z][a-z0-9_]*", rule_id):
        raise RuleError(f"{src}: id: must be lowercase letters, digits and underscores")
    severity = str(_field(src, "severity", data.get("severity"), str))
    if severity not in SEVERITIES:
        raise RuleError(f"{src}: severity: must be one of {', '.join(SEVERITIES)}")
    detect = _field(src, "detect", data.get("detect"), dict)
    assert isinstance(detect, dict)
    _unknown(src, "detect.", detect, DETECT_KEYS)
    filters = _field(src, "filters", data.get("filters", {}), dict)
    assert isinstance(filters, dict)
    _unknown(src, "filters.", filters, FILTER_KEYS)
    examples = _field(src, "examples", data.get("examples", {}), dict)
    assert isinstance(examples, dict)
    _unknown(src, "examples.", examples, {"positive", "negative"})

    patterns = _regexes(src, "detect.patterns", _str_list(src, "detect.patterns", detect.get("patterns")))
    if not patterns:
        raise RuleError(f"{src}: detect.patterns: at least one pattern is required")
    for i, pattern in enumerate(patterns):
        if "secret" not in pattern.groupindex:
            raise RuleError(f"{src}: detect.patterns[{i}]: needs a named group (?P<secret>...)")
    derived = _derived(src, detect.get("derived"))
    extract = _str_list(src, "detect.extract", detect.get("extract"))
    for name in extract:
        if name not in CONTEXT_EXTRACTORS:
            raise RuleError(f"{src}: detect.extract: unknown extractor {name!r} (known: {', '.join(CONTEXT_EXTRACTORS)})")
    hex_run = int(_field(src, "detect.prefilter_hex_run", detect.get("prefilter_hex_run", 0), int))  # type: ignore[arg-type]
    keywords = _str_list(src, "detect.prefilter_keywords", detect.get("prefilter_keywords"))
    paths = _str_list(src, "detect.paths", detect.get("paths"))
    if not hex_run and not keywords and not paths and not derived:
        raise RuleError(f"{src}: detect: needs a prefilter (prefilter_hex_run, prefilter_keywords or paths)")
    path_only = bool(_field(src, "detect.path_only", detect.get("path_only", False), bool))
    if path_only and not paths:
        raise RuleError(f"{src}: detect.path_only: requires detect.paths")

    companions = tuple(_str_list(src, "detect.companions", detect.get("companions")))
    alone_severity = _field(src, "detect.alone_severity", detect.get("alone_severity"), str, required=False)
    if alone_severity is not None and alone_severity not in SEVERITIES:
        raise RuleError(f"{src}: detect.alone_severity: must be one of {', '.join(SEVERITIES)}")
    if bool(companions) != (alone_severity is not None):
        raise RuleError(f"{src}: detect.companions: goes together with detect.alone_severity")

    return Rule(
        id=rule_id,
        title=str(_field(src, "title", data.get("title"), str)),
        severity=severity,
        description=str(_field(src, "description", data.get("description", ""), str)),
        remediation=str(_field(src, "remediation", data.get("remediation"), str)),
        verifiable=bool(_field(src, "verifiable", data.get("verifiable", False), bool)),
        patterns=patterns + derived,
        derived=derived,
        plain_patterns=patterns,
        window_patterns=patterns + tuple(d for d in derived if d.hex_run),
        prefilter_hex_run=hex_run,
        prefilter_keywords=tuple(k.encode() for k in keywords),
        paths=tuple(paths),
        path_only=path_only,
        nearby=_regexes(src, "detect.nearby", _str_list(src, "detect.nearby", detect.get("nearby"))),
        window=int(_field(src, "detect.window", detect.get("window", 10), int)),  # type: ignore[arg-type]
        credential_position=bool(_field(src, "detect.credential_position", detect.get("credential_position", False), bool)),
        jenkins_context=bool(_field(src, "detect.jenkins_context", detect.get("jenkins_context", False), bool)),
        extract=tuple(extract),
        default_user=_field(src, "detect.default_user", detect.get("default_user"), str, required=False),  # type: ignore[arg-type]
        binary=bool(_field(src, "detect.binary", detect.get("binary", False), bool)),
        companions=companions,
        alone_severity=alone_severity,
        placeholders=bool(_field(src, "filters.placeholders", filters.get("placeholders", True), bool)),
        min_distinct_chars=int(_field(src, "filters.min_distinct_chars", filters.get("min_distinct_chars", 0), int)),  # type: ignore[arg-type]
        exclude_line=_regexes(src, "filters.exclude_line", _str_list(src, "filters.exclude_line", filters.get("exclude_line"))),
        exclude_value=_value_regexes(src, "filters.exclude_value", filters.get("exclude_value")),
        exclude_secret=_regexes(src, "filters.exclude_secret", _str_list(src, "filters.exclude_secret", filters.get("exclude_secret"))),
        exclude_paths=tuple(_str_list(src, "filters.exclude_paths", filters.get("exclude_paths"))),
        positive=_examples(src, "examples.positive", examples.get("positive")),
        negative=_examples(src, "examples.negative", examples.get("negative")),
        source=src,
        hex_windows=bool(hex_run) and not any(_anchored(p.pattern) for p in patterns),
        prefilter_hex_run_max=_run_max(src, "detect.prefilter_hex_run", detect),
    )


def _run_max(src: str, where: str, table: dict) -> int:
    """``<where>_max``: at least the run itself, and only beside it."""
    name = where.rsplit(".", 1)[1]
    longest = int(_field(src, f"{where}_max", table.get(f"{name}_max", 0), int))  # type: ignore[arg-type]
    shortest = table.get(name, 0)
    if longest and (not shortest or longest < shortest):
        raise RuleError(f"{src}: {where}_max: needs {where} and must be at least it")
    return longest


_ESCAPES_AND_CLASSES = re.compile(r"\\.|\[(?:\\.|[^\]\\])*+\]")


def _anchored(pattern: str) -> bool:
    """Does the pattern anchor at the end ($, \\Z, outside character classes)?

    A span ends where the search stops, and $ or \\Z would take that for the text's end. ^ and
    \\A are safe: spans start at line starts, and Python's ^ never matches at a search's start
    position unless the text really starts (or, with (?m), a line starts) there.
    """
    if "\\Z" in pattern:
        return True
    return "$" in _ESCAPES_AND_CLASSES.sub("", pattern)
