"""Context around a candidate secret: who it belongs to and which Jenkins it is for.

Each extractor is a plain function over a ``TextView`` (the decoded content with line offsets),
returning what it could prove from the text. Rules choose which extractors apply.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar
from urllib.parse import urlsplit

from scanner.findings import redact
from scanner.shapes import in_hash_string, is_other_service, names_other_vendor, plausible_user

# Scheme case-insensitive: "Http://" names a Jenkins as surely as "http://" does.
T = TypeVar("T")

URL_RE = re.compile(r"""(?i:https?)://[^\s'"<>`\\|^{}]+""")
# Paths under a Jenkins root that are never part of the root itself.
JENKINS_PATH_MARKERS = re.compile(
    r"/(?:job|view|user|me|whoAmI|api|crumbIssuer|computer|cli|jnlpJars|login|manage|script|scriptText|"
    r"queue|descriptorByName|createItem|pluginManager|buildByToken|securityRealm|configureSecurity|"
    r"tcpSlaveAgentListener|asynchPeople|people|blue|credentials|restart|safeRestart|configure)(?:[/?#]|$)"
)
JENKINS_WORD = re.compile(r"(?i)jenkins|hudson")
USER_RE = r"[A-Za-z0-9][A-Za-z0-9._@+\-]{0,63}"

CREDENTIAL_KEY = re.compile(r"(?i)(token|passw(?:or)?d|pwd|secret|api[_\-.]?key|auth|credential|pass$)")
NOT_CREDENTIAL_KEY = re.compile(r"(?i)(crumb|hash|sha\d*|md5|checksum|digest|uuid|fingerprint|integrity|nonce|salt)")
USER_KEY = re.compile(r"(?i)^(?:jenkins|jjb|hudson)?[_\-.]?(?:user(?:[_\-.]?(?:name|id))?|login|username)$")
URL_KEY = re.compile(r"(?i)^(?:jenkins|jjb|hudson)?[_\-.]?(?:url|host|server|base[_\-.]?url|endpoint|root[_\-.]?url|master|uri)$")

# Content regexes must run in linear time on hostile input (tests/test_regex_linear.py): a key
# starts where its run of key characters starts, and possessive quantifiers (*+, ++) never give
# back what they took, so no position is retried once per earlier start.
KEY_START = r"(?<![A-Za-z0-9_.\-])[0-9.\-]*+"  # a run of key characters, up to its first letter
ASSIGN_RES = (
    # key = value, key: value, "key": "value", key => 'value', export KEY=value (also JSON-escaped quotes)
    re.compile(
        KEY_START + r"""(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*+)\\?["']?[ \t]*+(?::=|=>|=|:)[ \t]*+(?:\\?["'])?"""
        r"""(?P<value>[^\s"'\\,;)}\]>]++)"""
    ),
    # <key>value</key>
    re.compile(r"<(?P<key>[A-Za-z_][\w.\-]*+)>\s*+(?P<value>[^<\s]++)\s*+</(?P=key)>"),
    # Dockerfile: ENV KEY value
    re.compile(r"^[^\S\n]*+ENV\s++(?P<key>[A-Za-z_]\w*+)\s++[\"']?(?P<value>[^\s\"']++)", re.M),
)
# Kubernetes / compose env lists: "- name: KEY" followed by "value: ..." (blank space holding a newline between)
K8S_ENV_RE = re.compile(
    r"""name:\s*+["']?(?P<key>[A-Za-z_]\w*+)["']?[^\S\n]*+\n\s*+value:\s*+["']?(?P<value>[^\s"']++)"""
)
PLACEHOLDER_VALUE = re.compile(
    r"^(?:\$|%|\{|<|@\{|#\{)|(?:\}|>)$|^(?i:your|xxx|changeme|example|<)|^(?i:user(?:name)?|null|none|true|false|undefined)$"
)


# Shapes that put a user next to a secret; the secret group is compared to the candidate, so
# these compile once instead of once per candidate.
SECRET_CHARS = r"[^\s:@'\"`<>\\,;()]+"
USERINFO_RE = re.compile(rf"(?P<scheme>https?)://(?P<user>{USER_RE}):(?P<secret>{SECRET_CHARS})@(?P<rest>[^\s'\"<>`\\]+)")
USER_COLON_RE = re.compile(rf"(?<![A-Za-z0-9._@+\-/])(?P<user>{USER_RE}):(?P<secret>[A-Za-z0-9_\-]+)(?![A-Za-z0-9+/=])")
AUTH_TUPLE_RE = re.compile(rf"""\(\s*\\?["'](?P<user>{USER_RE})\\?["']\s*,\s*\\?["'](?P<secret>{SECRET_CHARS})\\?["']\s*\)""")
NETRC_RE = re.compile(r"machine\s+(?P<host>\S+)(?:\s+login\s+(?P<user>\S+))?\s+password\s+(?P<secret>\S+)")
NETRC_SWAPPED_RE = re.compile(r"machine\s+(?P<host>\S+)\s+password\s+(?P<secret>\S+)\s+login\s+(?P<user>\S+)")
# jenkins-cli.jar -s URL, agent.jar -url URL, jenkins-jobs --url URL ...
CLI_URL_RE = re.compile(r"""(?:^|\s)(?:-s|--url|-url|-jnlpUrl|--server|--jenkins-url)[\s=]++["']?(https?://[^\s'"]++)""")


def _find(regex: re.Pattern[str], text: str, secret: str) -> re.Match[str] | None:
    """First match of ``regex`` in ``text`` whose ``secret`` group is exactly the candidate."""
    if secret not in text:
        return None
    for m in regex.finditer(text):
        if m.group("secret") == secret:
            return m
    return None


# Files up to this size are searched whole for a USER=/URL= key (env files, configs); in bigger
# content (logs, dumps) only this many lines around the secret, so one hit costs no full pass.
WHOLE_FILE_ASSIGNMENTS = 256 * 1024
HOLDING_LOOKBACK = 8
ASSIGN_RADIUS = 200


@dataclass
class TextView:
    """Decoded content plus lazily built line index; shared by all rules for one blob."""

    text: str
    path: str
    _memo: dict = field(default_factory=dict, repr=False)
    _subsets: dict = field(default_factory=dict, repr=False)
    _matches: dict = field(default_factory=dict, repr=False)

    @cached_property
    def line_starts(self) -> list[int]:
        starts = [0]
        find = self.text.find
        pos = find("\n")
        while pos != -1:
            starts.append(pos + 1)
            pos = find("\n", pos + 1)
        return starts

    def line_of(self, offset: int) -> int:
        """0-based line index of a character offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

    def line_text(self, index: int) -> str:
        starts = self.line_starts
        end = starts[index + 1] - 1 if index + 1 < len(starts) else len(self.text)
        return self.text[starts[index]:end]

    def span_text(self, first: int, last: int) -> str:
        first = max(first, 0)
        last = min(last, len(self.line_starts) - 1)
        starts = self.line_starts
        end = starts[last + 1] - 1 if last + 1 < len(starts) else len(self.text)
        return self.text[starts[first]:end]

    def logical_span(self, index: int) -> tuple[int, int]:
        """Lines joined by trailing backslashes (shell continuations) around line ``index``."""
        first = index
        while first > 0 and self.line_text(first - 1).rstrip().endswith("\\"):
            first -= 1
        last = index
        count = len(self.line_starts)
        while last + 1 < count and self.line_text(last).rstrip().endswith("\\") and last - index < 30:
            last += 1
        return first, last

    def gate(self, key: object, test: Callable[[str], bool]) -> bool:
        """``test(text)``, computed once per blob under ``key``: a whole-content precondition."""
        return self.memo(("gate", key), lambda: test(self.text))

    def memo(self, key: object, compute: Callable[[], T]) -> T:
        """``compute()`` once per blob under ``key``: line- and span-level answers that every
        candidate of a line shares, so a line of thousands of tokens is read once, not per token."""
        try:
            return self._memo[key]
        except KeyError:
            found = self._memo[key] = compute()
            return found

    @cached_property
    def assignments(self) -> list[tuple[int, str, str, int]]:
        """(line, key, value, value offset) for every key/value pair in the content, in text order.

        One pass per blob, made only when a candidate survives the cheap checks; every lookup
        below is a bisection of it (or of its keyed subsets), so a candidate costs its window,
        never the whole content, nor every pair of a long line, again.
        """
        return self._assignments_in(0, len(self.text))

    def _keyed(self, key_re: re.Pattern[str] | None) -> tuple[list[tuple[int, str, str, int]], list[int]]:
        """The pairs whose key matches ``key_re`` (all when None), and their lines, built once."""
        found = self._subsets.get(key_re)
        if found is None:
            entries = [e for e in self.assignments if key_re is None or key_re.search(e[1])]
            found = self._subsets[key_re] = (entries, [e[0] for e in entries])
        return found

    def _slice(self, key_re: re.Pattern[str] | None, first: int, last: int) -> list[tuple[int, str, str, int]]:
        entries, lines = self._keyed(key_re)
        return entries[bisect.bisect_left(lines, first):bisect.bisect_right(lines, last)]

    def assignments_holding(self, start: int, end: int) -> list[tuple[int, str, str, int]]:
        """The pairs whose value holds the text at [start, end)."""
        entries, _ = self._keyed(None)
        offsets = self._value_offsets
        out = []
        # a value holding [start, end) starts at or before ``start``: only the last few pairs that
        # do can reach it (the regexes overlap little), so a long line of pairs costs no scan
        index = bisect.bisect_right(offsets, start) - 1
        for entry in entries[max(index - HOLDING_LOOKBACK, 0):index + 1]:
            if entry[3] + len(entry[2]) >= end:
                out.append(entry)
        return out

    @cached_property
    def _value_offsets(self) -> list[int]:
        return [e[3] for e in self.assignments]

    def assignments_around(self, line: int, window: int, key_re: re.Pattern[str]) -> list[tuple[int, str, str, int]]:
        """The pairs with a key matching ``key_re`` that a user/URL lookup for ``line`` can choose
        from: those within ``window`` lines, plus those whose key names Jenkins, which count from
        anywhere in a small file (env files, configs) and from ``ASSIGN_RADIUS`` lines around in
        bigger content (logs, dumps)."""
        near = self._slice(key_re, line - window, line + window)
        named = [e for e in self._keyed(key_re)[0] if JENKINS_WORD.search(e[1])]
        if len(self.text) > WHOLE_FILE_ASSIGNMENTS:
            named = [e for e in named if abs(e[0] - line) <= ASSIGN_RADIUS]
        return near + named

    def _assignments_in(self, start: int, end: int) -> list[tuple[int, str, str, int]]:
        found: list[tuple[int, str, str, int]] = []
        for regex in (*ASSIGN_RES, K8S_ENV_RE):
            for m in regex.finditer(self.text, start, end):
                found.append((self.line_of(m.start("value")), m.group("key"), m.group("value"), m.start("value")))
        found.sort(key=lambda e: (e[3], e[1]))
        return found

    def matches(self, regex: re.Pattern[str], first: int, last: int) -> dict[str, re.Match[str]]:
        """The first match of ``regex`` per ``secret`` group in lines [first, last], found once.

        Many candidates share a line (a long line of tokens): each looks its own up here instead
        of searching the line again.
        """
        key = (regex, first, last)
        found = self._matches.get(key)
        if found is None:
            found = {}
            for m in regex.finditer(self.span_text(first, last)):
                found.setdefault(m.group("secret"), m)
            self._matches[key] = found
        return found


@dataclass
class Context:
    user: str | None = None
    url: str | None = None
    credential_position: bool = False
    jenkins_key: bool = False  # the secret sits under a key that names Jenkins
    hash_key: bool = False  # the secret sits under a key naming a hash/digest/crumb: not a credential
    # not a Jenkins credential whatever the rule: a hash string's salt or digest, another vendor's key,
    # a .netrc entry for a code host
    not_a_token: bool = False
    netrc_host: str | None = None  # the .netrc entry's host: its own context, not its neighbours'
    notes: list[str] = field(default_factory=list)


def jenkins_base_url(url: str) -> str | None:
    """Reduce a URL found in content to the Jenkins root it most likely belongs to.

    Never raises: content is hostile, and one unusable URL must not cost the other candidates.
    """
    url = url.rstrip(".,;:)]}'\"")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for "host:port", "host:99999", "host:<token>"
        host = parts.hostname
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        return None
    if not re.fullmatch(r"[A-Za-z0-9.\-:]+", host) or "$" in url or "{" in url:
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal: brackets keep the port apart from the address
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path
    marker = JENKINS_PATH_MARKERS.search(path)
    if marker:
        path = path[:marker.start()]
    return f"{scheme}://{netloc}{path.rstrip('/')}"


def looks_like_jenkins_url(url: str) -> bool:
    try:
        path = urlsplit(url).path or ""
    except ValueError:
        path = url
    return bool(JENKINS_WORD.search(url) or JENKINS_PATH_MARKERS.search(path))


def clean_value(value: str) -> str | None:
    value = value.strip().strip("\"'`")
    if not value or PLACEHOLDER_VALUE.search(value):
        return None
    return value


def clean_user(value: str) -> str | None:
    """A user id from content, or None for a placeholder or a code fragment posing as one."""
    cleaned = clean_value(value)
    return cleaned if cleaned is not None and plausible_user(cleaned) else None


def jenkins_candidate_url(value: str) -> str | None:
    """The Jenkins root a URL near a secret points to; None for git remotes and other services' sites."""
    base = jenkins_base_url(value)
    return None if base is None or is_other_service(value) else base


def _nearest(entries: list[tuple[int, str, str, int]], line: int, window: int, key_re: re.Pattern[str],
             value_ok) -> tuple[str, str] | None:
    best: tuple[int, str, str] | None = None
    for entry_line, key, value, _ in entries:
        distance = abs(entry_line - line)
        jenkins_named = bool(JENKINS_WORD.search(key))
        if distance > window and not jenkins_named:
            continue
        if not key_re.search(key) or not value_ok(value):
            continue
        score = distance - (1000 if jenkins_named else 0)
        if best is None or score < best[0]:
            best = (score, key, value)
    return (best[1], best[2]) if best else None


def extract(view: TextView, start: int, end: int, secret: str, extractors: tuple[str, ...], window: int,
            credential_required: bool = False) -> Context:
    """Find the user and Jenkins URL that go with the secret at [start, end).

    ``credential_required``: the rule keeps only secrets in a credential position, so when the
    secret's own line shows none, stop before the (dearer) user and URL lookups.
    """
    ctx = Context()
    line = view.line_of(start)
    first, last = view.memo(("logical", line), lambda: view.logical_span(line))
    logical = view.memo(("text", first, last), lambda: view.span_text(first, last))
    line_start = view.line_starts[line]
    if in_hash_string(view.line_text(line), start - line_start, end - line_start):
        ctx.not_a_token = True
        return ctx
    if "userinfo" in extractors:
        m = view.matches(USERINFO_RE, first, last).get(secret)
        if m:
            ctx.user = clean_user(m.group("user"))
            url = f"{m.group('scheme')}://{m.group('rest')}"
            ctx.url = jenkins_base_url(url)
            ctx.credential_position = True
            ctx.not_a_token = is_other_service(url, git_remote=False)
    if "user_colon_secret" in extractors and not ctx.credential_position:
        m = view.matches(USER_COLON_RE, first, last).get(secret)
        if m:
            ctx.user = clean_user(m.group("user"))
            ctx.credential_position = True
    if "auth_tuple" in extractors and not ctx.credential_position:
        m = view.matches(AUTH_TUPLE_RE, first, last).get(secret)
        if m:
            ctx.user = clean_user(m.group("user"))
            ctx.credential_position = True
    if "netrc" in extractors and not ctx.credential_position:
        m = (view.matches(NETRC_RE, line - 3, line + 3).get(secret)
             or view.matches(NETRC_SWAPPED_RE, line - 3, line + 3).get(secret))
        if m:
            ctx.user = clean_user(m.group("user") or "")
            host = m.group("host")
            ctx.netrc_host = host if "://" in host else f"https://{host}"
            ctx.url = jenkins_base_url(ctx.netrc_host)
            ctx.credential_position = True
            ctx.not_a_token = is_other_service(ctx.netrc_host)
    if "assignments" in extractors:
        for _, key, _value, _ in view.assignments_holding(start, end):
            if NOT_CREDENTIAL_KEY.search(key):
                ctx.hash_key = True
            elif names_other_vendor(key):
                ctx.not_a_token = True  # DD_API_KEY, SENTRY_TOKEN...: that vendor's key, whatever CI words surround it
            elif CREDENTIAL_KEY.search(key):
                ctx.credential_position = True
                ctx.jenkins_key = ctx.jenkins_key or bool(JENKINS_WORD.search(key))
    if ctx.not_a_token:
        return ctx  # the caller drops it
    if credential_required and (not ctx.credential_position or ctx.hash_key):
        return ctx  # the caller drops it: no need to look for its user and URL
    if "assignments" in extractors:
        if ctx.user is None:
            hit = _nearest(view.assignments_around(line, window, USER_KEY), line, window, USER_KEY,
                           lambda v: clean_user(v) is not None and secret not in v)
            if hit:
                ctx.user = clean_user(hit[1])
        if ctx.url is None:
            url_window = max(window, 20)
            hit = _nearest(view.assignments_around(line, url_window, URL_KEY), line, url_window, URL_KEY,
                           lambda v: jenkins_candidate_url(v) is not None)
            if hit:
                ctx.url = jenkins_base_url(hit[1])
    if ctx.url is None and "cli_url" in extractors:
        cli_url = view.memo(("cli_url", first, last), lambda: CLI_URL_RE.search(logical))
        if cli_url:
            ctx.url = jenkins_base_url(cli_url.group(1))
    if ctx.url is None:
        own = view.memo(("urls", first, last), lambda: [
            u.group(0) for u in URL_RE.finditer(logical) if not is_other_service(u.group(0))])
        urls = own or view.memo(("jenkins_urls", line, window), lambda: [
            u.group(0) for u in URL_RE.finditer(view.span_text(line - window, line + window))
            if looks_like_jenkins_url(u.group(0)) and not is_other_service(u.group(0))])
        ctx.url = view.memo(("first_base", first, last, line, window), lambda: next(
            (base for base in map(jenkins_base_url, urls) if base), None))
        if ctx.url is None and own:
            # The secret's own line names a server we cannot read (bad port, odd host): carry it
            # as it is, so verification says "unknown" there instead of trying an allowed Jenkins
            # whose 401 would wrongly call the token dead. Never with the secret inside it.
            ctx.url = own[0].replace(secret, redact(secret))
    return ctx


BASIC_RE = re.compile(r"(?i)\bbasic\s+(?P<b64>[A-Za-z0-9+/]{8,}={0,2})")


def decode_basic(b64: str) -> tuple[str, str] | None:
    """``Authorization: Basic base64(user:secret)`` -> (user, secret), as Jenkins splits it."""
    try:
        raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, secret = raw.partition(":")
    if not sep or not secret or not user.isprintable() or not secret.isprintable():
        return None
    return user, secret


def could_name_jenkins(text: str) -> bool:
    """False only when nothing in ``text`` can give a candidate Jenkins context: no Jenkins word
    (key, URL or nearby text) and no Jenkins path marker (a URL such as ``/job/x``)."""
    lowered = text.lower()
    return "jenkins" in lowered or "hudson" in lowered or JENKINS_PATH_MARKERS.search(text) is not None


def has_jenkins_context(view: TextView, line: int, window: int, ctx: Context) -> bool:
    if ctx.netrc_host is not None:
        # each .netrc entry is its own context: a Jenkins entry does not vouch for its neighbours
        return bool(ctx.jenkins_key or looks_like_jenkins_url(ctx.netrc_host) or JENKINS_WORD.search(view.path)
                    or JENKINS_WORD.search(view.line_text(line)))
    if ctx.jenkins_key or JENKINS_WORD.search(view.path):
        return True
    if ctx.url and looks_like_jenkins_url(ctx.url):
        return True
    return view.memo(("jenkins_word", line, window),
                     lambda: bool(JENKINS_WORD.search(view.span_text(line - window, line + window))))
