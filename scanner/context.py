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
from scanner.shapes import (
    host_of,
    in_hash_string,
    is_other_service,
    is_url_key,
    is_user_key,
    looks_like_jenkins_host,
    names_other_vendor,
    plausible_user,
    services_on_line,
)

# Scheme case-insensitive: "Http://" names a Jenkins as surely as "http://" does.
T = TypeVar("T")

URL_RE = re.compile(r"""(?i:https?)://[^\s'"<>`\\|^{}]+""")
# Paths under a Jenkins root that are never part of the root itself.
JENKINS_PATHS = (
    "job", "view", "user", "me", "whoAmI", "api", "crumbIssuer", "computer", "cli", "jnlpJars", "login", "manage",
    "script", "scriptText", "queue", "descriptorByName", "createItem", "pluginManager", "buildByToken",
    "securityRealm", "configureSecurity", "tcpSlaveAgentListener", "asynchPeople", "people", "blue", "credentials",
    "restart", "safeRestart", "configure", "generic-webhook-trigger", "github-webhook", "bitbucket-hook",
    "ghprbhook", "git/notifyCommit", "multibranch-webhook-trigger", "gitlab/build_now",
)
JENKINS_PATH_MARKERS = re.compile(r"/(?:" + "|".join(map(re.escape, JENKINS_PATHS)) + r")(?:[/?#]|$)")
JENKINS_WORD = re.compile(r"(?i)jenkins|hudson")
USER_RE = r"[A-Za-z0-9][A-Za-z0-9._@+\-]{0,63}"

CREDENTIAL_KEY = re.compile(r"(?i)(token|passw(?:or)?d|pwd|secret|api[_\-.]?key|auth|credential|pass$)")
NOT_CREDENTIAL_KEY = re.compile(r"(?i)(crumb|hash|sha\d*|md5|checksum|digest|uuid|fingerprint|integrity|nonce|salt)")


class KeyTest:
    """A key predicate with ``search``, where the lookups expect a regex (and cache by it)."""

    def __init__(self, test: Callable[[str], bool]) -> None:
        self.test = test

    def search(self, key: str) -> bool:
        return self.test(key)


# Keys judged by their words (scanner/shapes.py): JENKINS_USER, jenkins_admin_username, server_url, endPoint
USER_KEY = KeyTest(is_user_key)
URL_KEY = KeyTest(is_url_key)

# Content regexes must run in linear time on hostile input (tests/test_regex_linear.py): a key
# starts where its run of key characters starts, and possessive quantifiers (*+, ++) never give
# back what they took, so no position is retried once per earlier start.
KEY_START = r"(?<![A-Za-z0-9_.\-])[0-9.\-]*+"  # a run of key characters, up to its first letter
ASSIGN_RES = (
    # key = value, key: value, "key": "value", key => 'value', export KEY=value (also JSON-escaped quotes),
    # Makefile KEY ?= value, KEY ::= value, KEY += value
    re.compile(
        KEY_START + r"""(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*+)\\?["']?[ \t]*+(?:::=|:=|\?=|\+=|=>|=|:)[ \t]*+(?:\\?["'])?"""
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
# a user starts after no user character, and not inside a \uXXXX escape (\u0027admin:) but right after it
USER_COLON_RE = re.compile(rf"(?:(?<![A-Za-z0-9._@+\-/])(?!(?<=\\)u[0-9a-fA-F]{{4}})|(?<=\\u[0-9a-fA-F]{{4}}))"
                           rf"(?P<user>{USER_RE}):(?P<secret>[A-Za-z0-9_\-]+)(?![A-Za-z0-9+/=])")
# ('user', 'secret'), also a shell array ("user" "secret")
AUTH_TUPLE_RE = re.compile(
    rf"""\(\s*+\\?["'](?P<user>{USER_RE})\\?["']\s*+,?\s*+\\?["'](?P<secret>{SECRET_CHARS})\\?["']\s*+\)""")
# Perl LWP: $ua->credentials('host:port', 'realm', 'user', 'secret')
LWP_CREDENTIALS_RE = re.compile(
    rf"""credentials\(\s*+["'](?P<host>[A-Za-z0-9.\-]++(?::\d{{1,5}})?)["']\s*+,\s*+["'][^"'\n]*+["']\s*+,"""
    rf"""\s*+["'](?P<user>{USER_RE})["']\s*+,\s*+["'](?P<secret>{SECRET_CHARS})["']"""
)
# An environment variable's fallback literal: process.env.X || 'v', os.environ.get('X', 'v'),
# os.getenv('X', 'v'), ENV.fetch('X', 'v'), ENV['X'] || 'v', System.getenv('X') ?: 'v', ${X:-v}
ENV_FALLBACK_RES = (
    re.compile(r"""process\.env(?:\.(?P<key>\w++)|\[["'](?P<key2>\w++)["']\])[ \t]*+(?:\|\||\?\?)[ \t]*+["'`](?P<secret>[^"'`\s]++)"""),
    re.compile(r"""(?:environ\.get|getenv|ENV\.fetch)\([ \t]*+["'](?P<key>\w++)["'][ \t]*+,[ \t]*+["'](?P<secret>[^"'\s]++)"""),
    re.compile(r"""(?:ENV\[["'](?P<key>\w++)["']\]|getenv\([ \t]*+["'](?P<key2>\w++)["'][ \t]*+\))[ \t]*+(?:\|\||\?:|or)[ \t]*+["'](?P<secret>[^"'\s]++)"""),
    re.compile(r"""\$\{(?P<key>\w++):?[-=](?P<secret>[^}\s"'${]++)\}"""),
)
ENV_FALLBACK_WORDS = ("process.env", "environ", "getenv", "ENV", "${")
# jenkins-cli-like flags: --http-password=SECRET / --password SECRET, and the user flag beside it
FLAG_SECRET_RE = re.compile(
    rf"""(?:^|\s)(?:--http-password|--http-passwd|--password|--passwd|--api-token|--token|-password|-token|-p)"""
    rf"""(?:=|[ \t]++)["']?(?P<secret>{SECRET_CHARS})""")
FLAG_USER_RE = re.compile(
    rf"""(?:^|\s)(?:--http-user|--user|--username|--login|-user|-username|-u)(?:=|[ \t]++)["']?(?P<user>{USER_RE})["']?(?=\s|$)""")
# a client built from (URL, user, secret): Jenkins("https://ci", "u", "s"), new JenkinsServer(new URI(url), "u", "s")
CALL_TRIPLE_RE = re.compile(
    rf"""["'](?P<url>https?://[^"'\s]++)["'][ \t]*+\)?[ \t]*+,[ \t]*+["'](?P<user>{USER_RE})["'][ \t]*+,"""
    rf"""[ \t]*+["'](?P<secret>{SECRET_CHARS})["']""")
# a URL handed to a call: .endPoint("http://..."), jenkins.Jenkins('http://...'), new URI("http://...")
CALL_URL_RE = re.compile(r"""\b(?P<key>[A-Za-z_]\w*+)[ \t]*+\([ \t]*+["'](?P<value>https?://[^"'\s]++)["']""")
# the key right before a value: `KEY = ('`, `KEY: "`, `key => '`, `fromString('`, `password("` (end of the text)
KEY_BEFORE_RE = re.compile(
    KEY_START + r"""(?P<key>[A-Za-z_][\w.\-]*+)\\?["']?[ \t]*+(?:::=|:=|\?=|\+=|=>|=|:|\()[ \t]*+(?:[(\[][ \t]*+)?(?:\\?["'])?$""")
TF_VARIABLE_RE = re.compile(r"""\bvariable[ \t]++["'](?P<key>[\w\-]++)["']""")
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
    allowed_lines: set = field(default_factory=set, repr=False)  # where an allow marker kept a would-be hit out

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
        entries = self.assignments
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
    url_evidence: bool = False  # the URL itself says Jenkins (/job/, /whoAmI, a ci./jenkins. host)
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
    # "_" as in docker-compose service names (jenkins_master): httpx connects to them
    if not re.fullmatch(r"[A-Za-z0-9_.\-:]+", host) or "$" in parts.netloc or "{" in parts.netloc:
        return None
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal: brackets keep the port apart from the address
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path
    marker = JENKINS_PATH_MARKERS.search(path)
    if marker:
        path = path[:marker.start()]
    if "$" in path or "{" in path:  # a template (${PREFIX}): not a URL yet; a query's $1 does not matter
        return None
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


# A value that means to name a server: a scheme, then something that is not yet a template.
URL_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,15}+://")
URL_USERINFO_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]{0,15}+://)[^/@\s]*+@")
URL_TEMPLATE_RE = re.compile(r"[$<>{}]|%[A-Za-z_]\w*+%")  # ${HOST}, <host>, %JENKINS_HOST%: still to be filled in


def unusable_url(value: str, secret: str, git_remote: bool = True) -> str | None:
    """The text of a URL that names a server ``jenkins_base_url`` cannot read (bad port, IPv6 zone,
    odd host, other scheme), made fit for a report (the secret redacted, userinfo cut off).

    Carried as the finding's URL so verification says "unknown" instead of trying an allowed
    Jenkins, whose 401 would wrongly call the token dead. None for a usable URL, a non-URL, a
    template, an empty host, or another service's URL.
    """
    scheme = URL_SCHEME_RE.match(value)
    if not scheme or is_other_service(value, git_remote=git_remote):
        return None
    shown = URL_USERINFO_RE.sub(r"\1", value.replace(secret, redact(secret)) if secret else value)
    rest = shown[scheme.end():]
    marker = JENKINS_PATH_MARKERS.search(rest)
    root = (rest[:marker.start()] if marker else rest).split("?", 1)[0].split("#", 1)[0]
    if not root.strip("/") or URL_TEMPLATE_RE.search(root):
        return None
    return shown if jenkins_base_url(shown) is None else None


def content_url(base: str | None, value: str, secret: str, git_remote: bool = True) -> str | None:
    """The Jenkins root a URL from content names, else its text if it cannot be used, else None."""
    return base if base is not None else unusable_url(value, secret, git_remote)


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
    secret's surroundings show none, stop before the (dearer) user and URL lookups.
    """
    ctx = Context()
    line = view.line_of(start)
    first, last = view.memo(("logical", line), lambda: view.logical_span(line))
    split = view.text[start:end] != secret  # a derived candidate: split over lines or literals, or encoded
    if split:
        last = max(last, view.line_of(end))
        # '11ab' 'cd' -> '11abcd': the shapes below see the token whole
        logical = SPLIT_JOINER_RE.sub("", view.span_text(first, last))
    else:
        logical = view.memo(("text", first, last), lambda: view.span_text(first, last))
    line_text = view.memo(("line", line), lambda: view.line_text(line))
    column = start - view.line_starts[line]
    if not split and in_hash_string(line_text, column, end - view.line_starts[line]):
        ctx.not_a_token = True
        return ctx
    # a split candidate's text is its own (joiners removed): not shared with the line's other candidates
    services = services_on_line(logical) if split else view.memo(("other_service", first, last),
                                                                 lambda: services_on_line(logical))
    if services.at(max(logical.find(secret), 0) if split else start - view.line_starts[first]):
        ctx.not_a_token = True  # a credential on a line calling api.rollbar.com or registry.npmjs.org is theirs
        return ctx

    def find(regex: re.Pattern[str], lines: tuple[int, int] = (first, last)) -> re.Match[str] | None:
        if split:
            return _find(regex, logical, secret)
        return view.matches(regex, lines[0], lines[1]).get(secret)

    _credential_shapes(ctx, find, logical, extractors)
    if "netrc" in extractors and not ctx.credential_position:
        m = find(NETRC_RE, (line - 3, line + 3)) or find(NETRC_SWAPPED_RE, (line - 3, line + 3))
        if m:
            ctx.user = clean_user(m.group("user") or "")
            host = m.group("host")
            ctx.netrc_host = host if "://" in host else f"https://{host}"
            ctx.url = content_url(jenkins_base_url(ctx.netrc_host), ctx.netrc_host, secret)
            ctx.credential_position = True
            ctx.not_a_token = is_other_service(ctx.netrc_host)
    if "assignments" in extractors:
        keys = [_block_name(view, line, key) for _, key, _, _ in view.assignments_holding(start, end)]
        m = KEY_BEFORE_RE.search(line_text[max(0, column - 160):column])
        if m:  # TOKEN = ('11ab'..., Secret.fromString('...'), password('...'): the key right before the value
            keys.append(_block_name(view, line, m.group("key")))
        for key in keys:  # Terraform: default = takes the name of its variable "x" block
            _classify_key(ctx, key)
    if "env_fallback" in extractors and not ctx.credential_position:
        for regex in ENV_FALLBACK_RES:
            m = find(regex)
            if m:
                _classify_key(ctx, _fallback_key(m))
                break
    if "table_row" in extractors and not ctx.credential_position:
        _table_row(view, line, secret, ctx)
    if ctx.not_a_token or (credential_required and (not ctx.credential_position or ctx.hash_key)):
        return ctx  # the caller drops it: no need to look for its user and URL
    if "assignments" in extractors and (ctx.user is None or ctx.url is None):
        # a secret stored base64-encoded (a Kubernetes Secret's data) has encoded neighbours: read them decoded
        encoded = split and decode_base64_value(view.text[start:end]) == secret
        _user_and_url_keys(ctx, view, line, window, secret, decode_base64_value if encoded else str)
        if ctx.url is not None and jenkins_base_url(ctx.url) is None:
            # an unreadable URL key nearby loses to a readable URL on the token's own line (curl ... URL)
            own = next((base for u in URL_RE.finditer(logical) if not is_other_service(u.group(0))
                        and (base := jenkins_base_url(u.group(0)))), None)
            if own:
                ctx.url, ctx.url_evidence = own, looks_like_jenkins_evidence(own)
    if ctx.url is None and "cli_url" in extractors:
        cli_url = view.memo(("cli_url", first, last), lambda: CLI_URL_RE.search(logical)) if not split \
            else CLI_URL_RE.search(logical)
        if cli_url:
            ctx.url = content_url(jenkins_base_url(cli_url.group(1)), cli_url.group(1), secret)
            ctx.url_evidence = ctx.url is not None
    if ctx.url is None:
        _url_from_text(ctx, view, line, window, first, last, logical, secret)
    return ctx


def _credential_shapes(ctx: Context, find: Callable[..., re.Match[str] | None], logical: str,
                       extractors: tuple[str, ...]) -> None:
    """Shapes that put a user right beside the secret: URL userinfo, user:secret, flags, call arguments."""
    if "userinfo" in extractors:
        m = find(USERINFO_RE)
        if m:
            ctx.user = clean_user(m.group("user"))
            url = f"{m.group('scheme')}://{m.group('rest')}"
            ctx.url = content_url(jenkins_base_url(url), url, m.group("secret"), git_remote=False)
            ctx.url_evidence = ctx.url is not None and looks_like_jenkins_evidence(url)
            ctx.credential_position = True
            ctx.not_a_token = is_other_service(url, git_remote=False)
            return
    if "user_colon_secret" in extractors:
        m = find(USER_COLON_RE)
        if m:
            ctx.user = clean_user(m.group("user"))
            ctx.credential_position = True
            return
        m = find(FLAG_SECRET_RE)
        if m:  # wget --http-user=u --http-password=SECRET, jenkins-jobs --user u --password SECRET
            user = FLAG_USER_RE.search(logical)
            ctx.user = clean_user(user.group("user")) if user else None
            ctx.credential_position = True
            return
    if "auth_tuple" in extractors:
        m = find(AUTH_TUPLE_RE)
        if m:
            ctx.user = clean_user(m.group("user"))
            ctx.credential_position = True
            return
        m = find(CALL_TRIPLE_RE)
        if m:  # Jenkins("https://ci", "user", "SECRET"), CreateJenkins(nil, url, user, SECRET)
            ctx.user = clean_user(m.group("user"))
            ctx.url = content_url(jenkins_candidate_url(m.group("url")), m.group("url"), m.group("secret"))
            ctx.url_evidence = ctx.url is not None
            ctx.credential_position = True
            return
        m = find(LWP_CREDENTIALS_RE)
        if m:
            ctx.user = clean_user(m.group("user"))
            host = m.group("host")
            scheme = "https" if host.endswith(":443") else "http"
            url = f"{scheme}://{host.removesuffix(':443').removesuffix(':80')}"
            ctx.url = content_url(jenkins_base_url(url), url, m.group("secret"))
            ctx.credential_position = True


def _user_and_url_keys(ctx: Context, view: TextView, line: int, window: int, secret: str,
                       decode: Callable[[str], str] = str) -> None:
    """The nearest user and URL keys: assignments, Terraform variables and environment fallbacks.

    ``decode``: how a neighbour's value reads (a base64-encoded secret's neighbours are encoded too)."""
    extra = view.memo(("extra_keys", line, window), lambda: _extra_entries(view, line, window))
    if ctx.user is None:
        near = view.assignments_around(line, window, USER_KEY) + [e for e in extra if is_user_key(e[1])]
        hit = _nearest(near, line, window, USER_KEY,
                       lambda v: clean_user(decode(v)) is not None and secret not in decode(v))
        if hit:
            ctx.user = clean_user(decode(hit[1]))
    if ctx.url is None:
        url_window = max(window, 20)
        near = view.assignments_around(line, url_window, URL_KEY) + [e for e in extra if is_url_key(e[1])]
        # an unusable URL counts too (carried as text), so it is never passed over for a farther one
        hit = _nearest(near, line, url_window, URL_KEY,
                       lambda v: content_url(jenkins_candidate_url(decode(v)), decode(v), secret) is not None)
        if hit:
            ctx.url = content_url(jenkins_candidate_url(decode(hit[1])), decode(hit[1]), secret)
            ctx.url_evidence = looks_like_jenkins_evidence(decode(hit[1])) or bool(JENKINS_WORD.search(hit[0]))


def decode_base64_value(value: str) -> str:
    """A Kubernetes Secret's data value decoded (``ZGVwbG95`` -> ``deploy``); "" when it is not base64 text."""
    try:
        return base64.b64decode(value, validate=True).decode("utf-8").rstrip("\r\n")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


def _extra_entries(view: TextView, line: int, window: int) -> list[tuple[int, str, str, int]]:
    """Key/value pairs the assignment regexes do not see: Terraform variables, environment fallbacks."""
    extra: list[tuple[int, str, str, int]] = []
    window_text = view.span_text(line - window, line + window)
    if "variable" in window_text:
        extra += _block_defaults(view, line, window)
    if any(word in window_text for word in ENV_FALLBACK_WORDS):
        extra += _fallback_entries(view, line, window)
    return extra


def _url_from_text(ctx: Context, view: TextView, line: int, window: int, first: int, last: int, logical: str,
                   secret: str) -> None:
    """A URL on the secret's own line, else a Jenkins-looking one (or one handed to a client) nearby."""
    own = view.memo(("urls", first, last, logical), lambda: [
        u.group(0) for u in URL_RE.finditer(logical) if not is_other_service(u.group(0))])
    urls = own or view.memo(("jenkins_urls", line, window), lambda: _nearby_urls(view, line, window))
    for candidate in urls:
        base = jenkins_base_url(candidate)
        if base:
            ctx.url = base
            ctx.url_evidence = looks_like_jenkins_evidence(candidate)
            return
    if own:
        # The secret's own line names a server we cannot read (bad port, odd host): carry it
        # as it is, so verification says "unknown" there instead of trying an allowed Jenkins
        # whose 401 would wrongly call the token dead. Never with the secret inside it.
        ctx.url = own[0].replace(secret, redact(secret))
        return
    # the same for a Jenkins URL nearby that cannot be read
    ctx.url = next((raw for raw in (unusable_url(u, secret) for u in urls) if raw is not None), None)


def _nearby_urls(view: TextView, line: int, window: int) -> list[str]:
    around = view.span_text(line - window, line + window)
    urls = [u.group(0) for u in URL_RE.finditer(around)
            if looks_like_jenkins_url(u.group(0)) and not is_other_service(u.group(0))]
    if urls:
        return urls
    # .endPoint("http://10.0.0.5:8080"), Jenkins('http://ci:8080'): a URL handed to a client
    return [m.group("value") for m in CALL_URL_RE.finditer(around)
            if (is_url_key(m.group("key")) or JENKINS_WORD.search(m.group("key")))
            and not is_other_service(m.group("value"))]


# Joiners of a split token: a shell continuation inside a word, and the quotes (and +) between literals.
SPLIT_JOINER_RE = re.compile(r"""\\\r?\n|["'][ \t]*+\+?[ \t]*+(?:\\?\r?\n[ \t]*+\+?[ \t]*+)?["']""")
TABLE_USER_WORDS = ("user", "username", "login", "userid", "user_id", "account")
TABLE_SECRET_WORDS = ("token", "apitoken", "api_token", "password", "secret", "key", "apikey", "api_key", "pass")
TABLE_HOST_WORDS = ("host", "hostname", "url", "server", "jenkins", "master", "controller", "instance", "endpoint")


def _classify_key(ctx: Context, key: str) -> None:
    """What the key a secret sits under says about it."""
    if NOT_CREDENTIAL_KEY.search(key):
        ctx.hash_key = True
    elif names_other_vendor(key):
        ctx.not_a_token = True  # DD_API_KEY, SENTRY_TOKEN...: that vendor's key, whatever CI words surround it
    elif CREDENTIAL_KEY.search(key):
        ctx.credential_position = True
        ctx.jenkins_key = ctx.jenkins_key or bool(JENKINS_WORD.search(key))


JENKINS_EVIDENCE_PATH = re.compile(
    r"/(?:job|view|whoAmI|crumbIssuer|computer|jnlpJars|buildByToken|scriptText|createItem|pluginManager|"
    r"asynchPeople|generic-webhook-trigger|github-webhook|descriptorByName|securityRealm|configureSecurity|"
    r"tcpSlaveAgentListener|queue|manage)(?:[/?#]|$)")


def looks_like_jenkins_evidence(url: str) -> bool:
    """The URL itself says Jenkins: a Jenkins-only path, or a host named like a build server."""
    if JENKINS_WORD.search(url) or looks_like_jenkins_host(host_of(url)):
        return True
    try:
        path = urlsplit(url).path or ""
    except ValueError:
        return False
    return bool(JENKINS_EVIDENCE_PATH.search(path))


def _fallback_key(m: re.Match[str]) -> str:
    return m.group("key") or (m.group("key2") if "key2" in m.re.groupindex else None) or ""


def _fallback_entries(view: TextView, line: int, window: int) -> list[tuple[int, str, str, int]]:
    """(line, variable, fallback) around ``line``: process.env.JENKINS_USER || 'alice' names a user."""
    first = max(line - window, 0)
    text = view.span_text(first, line + window)
    base = view.line_starts[first]
    found = []
    for regex in ENV_FALLBACK_RES:
        for m in regex.finditer(text):
            found.append((view.line_of(base + m.start()), _fallback_key(m), m.group("secret"), base + m.start()))
    return found


BLOCK_VALUE_KEYS = ("default", "value")


def _block_name(view: TextView, line: int, key: str) -> str:
    """A Terraform ``default =`` takes the name of its ``variable "jenkins_token" {`` block."""
    if key not in BLOCK_VALUE_KEYS:
        return key
    for index in range(line, max(line - 8, -1), -1):
        m = TF_VARIABLE_RE.search(view.line_text(index))
        if m:
            return m.group("key")
    return key


def _block_defaults(view: TextView, line: int, window: int) -> list[tuple[int, str, str, int]]:
    """(line, variable name, default) for the Terraform variables around ``line``."""
    found = []
    for index in range(max(line - window, 0), min(line + window, len(view.line_starts) - 1) + 1):
        m = TF_VARIABLE_RE.search(view.line_text(index))
        if not m:
            continue
        for inner in range(index, min(index + 8, len(view.line_starts) - 1) + 1):
            text = view.line_text(inner)
            if inner > index and "variable" in text:
                break
            value = ASSIGN_RES[0].search(text)
            if value and value.group("key") == "default":
                found.append((inner, m.group("key"), value.group("value"), view.line_starts[inner]))
                break
    return found


def _cells(line: str) -> list[str]:
    """A table row's cells: Markdown pipes, else whitespace."""
    if "|" in line:
        return [cell.strip() for cell in line.strip().strip("|").split("|")]
    return [w for w in line.split() if w != "#"]


def _table_row(view: TextView, line: int, secret: str, ctx: Context) -> None:
    """A whitespace-separated table row (host user token) under a header naming its columns."""
    fields = view.memo(("cells", line), lambda: _cells(view.line_text(line)[:4096]))
    if len(fields) < 2 or len(fields) > 12 or secret not in fields:
        return  # a table row has a few cells (a long line of tokens is no table)
    column = fields.index(secret)
    for index in range(line - 1, max(line - 40, -1), -1):
        header = [w.strip("#:`*").lower() for w in _cells(view.line_text(index))]
        if len(header) != len(fields) or all(set(w) <= set("-: ") for w in header):
            continue
        if header[column] not in TABLE_SECRET_WORDS:
            return
        ctx.credential_position = True
        ctx.jenkins_key = ctx.jenkins_key or header[column] == "jenkins"
        for position, name in enumerate(header):
            if name in TABLE_USER_WORDS and ctx.user is None:
                ctx.user = clean_user(fields[position])
            elif name in TABLE_HOST_WORDS and ctx.url is None:
                value = fields[position]
                url = value if "://" in value else f"https://{value}"
                ctx.url = content_url(jenkins_candidate_url(url), url, secret)
        return

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
    (key, URL or nearby text), no Jenkins path marker (a URL such as ``/job/x``) and no host named
    like a build server (``ci.corp.local``, ``build-01.example.org``)."""
    lowered = text.lower()
    return ("jenkins" in lowered or "hudson" in lowered or JENKINS_PATH_MARKERS.search(text) is not None
            or _names_build_host(lowered))


# Code points outside ASCII whose str.lower() holds an ASCII letter (tests/test_prefilter.py checks
# the list against the running Python's Unicode tables): KELVIN SIGN -> "k", U+0130 -> "i" + U+0307.
LOWERS_TO_ASCII = {"k": ("\u212a",), "i": ("\u0130",)}


def _caseless(word: str) -> bytes:
    """A byte regex matching every spelling of ``word`` that str.lower() turns into it."""
    parts = []
    for ch in word:
        spellings = {ch, ch.upper(), *LOWERS_TO_ASCII.get(ch, ())} if ch.isalpha() else {ch}
        parts.append(b"(?:" + b"|".join(sorted(_byte_escape(c) for c in spellings)) + b")")
    return b"".join(parts)


def _byte_escape(text: str) -> bytes:
    return b"".join(b"\\x%02x" % byte for byte in text.encode())


# Bytes that must be present for could_name_jenkins to be true of their UTF-8 decoding (invalid
# bytes become U+FFFD and never swallow an ASCII byte): a superset, asked of the accelerated
# prefilter, so most content is ruled out by the one Hyperscan pass instead of a lower() and searches.
JENKINS_NAMING_SHAPE = b"|".join(
    [_caseless(w) for w in ("jenkins", "hudson", "//ci", "//build", "@ci.", "@build", "machine ci", "machine build")]
    + [_byte_escape("/" + path) for path in JENKINS_PATHS])


def _names_build_host(lowered: str) -> bool:
    # each family behind a one-character (memchr) test: content without "/", "@" or "machine" pays little
    return (("//" in lowered and ("//ci" in lowered or "//build" in lowered))
            or ("@" in lowered and ("@ci." in lowered or "@build" in lowered))
            or ("machine " in lowered and ("machine ci" in lowered or "machine build" in lowered)))


def has_jenkins_context(view: TextView, line: int, window: int, ctx: Context) -> bool:
    if ctx.netrc_host is not None:
        # each .netrc entry is its own context: a Jenkins entry does not vouch for its neighbours
        return bool(ctx.jenkins_key or looks_like_jenkins_host(host_of(ctx.netrc_host)) or JENKINS_WORD.search(view.path)
                    or JENKINS_WORD.search(view.line_text(line)))
    if ctx.jenkins_key or JENKINS_WORD.search(view.path):
        return True
    if ctx.url and (ctx.url_evidence or looks_like_jenkins_url(ctx.url)):
        return True
    return view.memo(("jenkins_word", line, window),
                     lambda: bool(JENKINS_WORD.search(view.span_text(line - window, line + window))))
