"""Prove found tokens live or dead with who-am-i, sending each only where it belongs.

Verdicts are tri-state: ``live`` (Jenkins says who the token authenticates as), ``invalid``
(Jenkins answered 401 for the user the finding names) and ``unknown`` for everything else. A
token is sent only to a Jenkins the user allowed; a URL found in content is used only when it
falls under an allowed one, unless the user opted in with ``verify_found_urls``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone

from scanner.context import jenkins_base_url
from scanner.findings import Finding, Verification
from scanner.jenkins.client import Answer, HttpSettings, make_client, who_am_i
from scanner.jenkins.urls import HttpUrl, UnusableUrl, describe, has_unsafe_characters, parse_http_url

WHOAMI_CLASS = "hudson.security.WhoAmI"
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+_~-]{0,63}")  # X-Jenkins: 2.578, 2.479.3, 2.500-SNAPSHOT
MAX_AUTHORITIES = 100


@dataclass(frozen=True)
class AllowedJenkins:
    """A Jenkins root the user allowed tokens to be sent to: scheme, host, port and path prefix."""

    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> AllowedJenkins:
        try:
            parsed = parse_http_url(url.strip())
        except UnusableUrl as exc:  # a ValueError: the CLI shows it as a one-line usage error
            raise UnusableUrl(f"{describe(url)}: {exc}") from None
        if parsed.query or "#" in url:
            raise ValueError(f"a Jenkins URL has no query or fragment: {describe(url)}")
        return cls(url=parsed.root, scheme=parsed.scheme, host=parsed.host, port=parsed.port,
                   path=parsed.path.rstrip("/"))

    @property
    def parsed(self) -> HttpUrl:
        return HttpUrl(self.scheme, self.host, self.port, self.path or "/")

    def allows(self, url: str) -> bool:
        """Same scheme, host and port, and the path under ours once dot segments are resolved."""
        try:
            return parse_http_url(url).under(self.parsed)
        except UnusableUrl:
            return False


@dataclass
class VerifyOptions:
    allowed: list[AllowedJenkins] = field(default_factory=list)
    verify_found_urls: bool = False
    user_hints: list[str] = field(default_factory=list)
    guess_users: bool = False
    per_host: int = 4
    rate: float = 20.0  # requests per second, over all hosts
    http: HttpSettings = field(default_factory=HttpSettings)


@dataclass(frozen=True)
class Attempt:
    url: str
    user: str
    secret: str = field(repr=False)
    user_named: bool  # the finding itself names this user (only then can a 401 prove "invalid")


class RateLimiter:
    """At most ``rate`` request starts per second across all threads."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.lock = threading.Lock()
        self.next_at = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_at)
            self.next_at = start + self.interval
        if start > now:
            time.sleep(start - now)


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def candidate_urls(finding: Finding, options: VerifyOptions, warn: Callable[[str], None]) -> tuple[list[str], str | None]:
    """Where this finding's token may be sent, or why nowhere.

    A URL in the content that cannot be parsed or used makes the finding unknown: the token is
    then never tried at another Jenkins, whose 401 would wrongly call it invalid.
    """
    if finding.jenkins_url:
        found, problem = found_url(finding.jenkins_url)
        if found is None:
            return [], (f"the Jenkins URL found with this token ({describe(finding.jenkins_url)}) cannot be used: "
                        f"{problem}; the token was not sent anywhere")
        if any(a.allows(found.root) for a in options.allowed):
            return [found.root], None
        if options.verify_found_urls:
            warn(f"sending a token to {found.root}, a URL found in the scanned content (--verify-found-urls)")
            return [found.root], None
        return [], (f"found with {found.root}, which is not an allowed Jenkins; pass --jenkins-url {found.root} "
                    "(or --verify-found-urls) to check it there")
    if not options.allowed:
        return [], "no Jenkins URL in the content and none given with --jenkins-url"
    return [a.url for a in options.allowed], None


def found_url(text: str) -> tuple[HttpUrl | None, str | None]:
    """The Jenkins root a URL from content (or a report) points to, normalised; or why there is none."""
    if has_unsafe_characters(text):
        return None, "it holds spaces, control or non-ASCII characters"
    try:
        base = jenkins_base_url(text)
    except ValueError:  # whatever the context extractor makes of it, a bad URL is a reason, not a crash
        base = None
    if not base:
        return None, "not an http(s) Jenkins URL this tool can read"
    try:
        parsed = parse_http_url(base)
    except UnusableUrl as exc:
        return None, str(exc)
    if parsed.query:
        return None, "a Jenkins root URL has no query"
    return parsed, None


def candidate_users(finding: Finding, options: VerifyOptions) -> list[tuple[str, bool]]:
    """(user, named by the content) pairs to try: every user the content names, then the hints.

    Hints are tried even when the content names a user, since context extraction can pick the
    wrong one; only the named users' answers can prove a token dead (see ``combine``).
    """
    named = [u for u in [finding.user, *finding.other_users] if u]
    users = [(u, True) for u in dict.fromkeys(named)]
    users += [(u, False) for u in options.user_hints if u not in named]
    if named:
        return users
    if options.guess_users:
        for loc in finding.locations:
            for guess in (loc.email.split("@")[0] if loc.email else None, loc.author):
                if guess and (guess, False) not in users:
                    users.append((guess, False))
    return users


def judge(answer: Answer, attempt: Attempt) -> Verification:
    """Turn one who-am-i answer into a verdict; anything short of proof is ``unknown``."""
    version = answer.headers.get("x-jenkins", "").strip()
    base = Verification(status="unknown", jenkins_url=attempt.url, user=attempt.user, checked_at=_now(),
                        jenkins_version=version if _VERSION.fullmatch(version) else None)
    if answer.error:
        base.reason = answer.error + (f": {answer.redirect_to}" if answer.redirect_to else "")
        return base
    status = answer.status
    if status == 200:
        data = answer.json()
        problem = _whoami_problem(data, base.jenkins_version)
        if problem or data is None:
            base.reason = problem
            return base
        if data["anonymous"]:
            base.reason = "Jenkins answered as anonymous (security disabled?): the token cannot be judged"
            return base
        name = data["name"]
        if name.lower() != attempt.user.lower():
            base.reason = f"authenticated as {_short(name)}, not {attempt.user!r}"
            return base
        base.status = "live"
        base.authenticated_as = name
        authorities = data.get("authorities")  # informative only: a list of group names, or nothing
        if isinstance(authorities, list):
            base.authorities = [a[:200] for a in authorities if isinstance(a, str)][:MAX_AUTHORITIES]
        return base
    if status == 401:
        realm = answer.headers.get("www-authenticate", "")
        if "jenkins" not in realm.lower():
            base.reason = "401 without Jenkins' Basic realm (a proxy in front?)"
            return base
        if not attempt.user_named:
            base.reason = f"rejected for {attempt.user!r}, a user the content does not name"
            return base
        base.status = "invalid"
        base.reason = "401: Jenkins rejected the token for this user"
        return base
    if status in (301, 302, 303, 307, 308):
        base.reason = f"redirected ({status}) to {answer.redirect_to or answer.headers.get('location', '?')}"
    elif status == 403:
        base.reason = "403: access denied before authentication (login page, SSO or proxy in front?)"
    elif status == 404:
        base.reason = "404: no who-am-i here (not a Jenkins root URL?)"
    elif status and status >= 500:
        base.reason = f"server error {status}"
    else:
        base.reason = f"unexpected status {status}"
    return base


def _whoami_problem(data: dict | None, version: str | None) -> str | None:
    """Why a 200 is not a who-am-i answer Jenkins wrote, or None.

    Jenkins sends X-Jenkins on its REST answers and who-am-i's JSON names its class; a body
    with neither (a proxy's page, another application) proves nothing.
    """
    if data is None:
        return "200 but not a Jenkins who-am-i response (not a JSON object)"
    klass = data.get("_class")
    if klass is not None and klass != WHOAMI_CLASS:
        return f"200 but not a Jenkins who-am-i response (_class {_short(klass)})"
    if klass is None and not version:
        return "not a Jenkins response: no X-Jenkins header and no who-am-i _class"
    if (not isinstance(data.get("name"), str) or not isinstance(data.get("anonymous"), bool)
            or data.get("authenticated", True) is not True):
        return "200 but a malformed who-am-i response (name or anonymous missing or of the wrong type)"
    return None


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def combine(results: list[Verification], named: list[bool] | None = None) -> Verification:
    """Live if any attempt was; invalid only if every attempt for a user the content names proved it.

    A 401 for a hinted user only says "not this user's token", so those attempts never make a
    finding invalid, and cannot stop the named users' 401s from doing so.
    """
    for result in results:
        if result.status == "live":
            return result
    flags = named or [True] * len(results)
    proofs = [r for r, is_named in zip(results, flags) if is_named]
    if proofs and all(r.status == "invalid" for r in proofs):
        return proofs[0]
    unknown = [r for r in results if r.status == "unknown"]
    if unknown:
        merged = unknown[0]
        if len(results) > 1:
            merged.reason = "; ".join(f"{r.user}@{r.jenkins_url}: {r.reason}" for r in results if r.reason)
        return merged
    return results[0]


def verify_findings(findings: list[Finding], verifiable: set[str], options: VerifyOptions,
                    warn: Callable[[str], None] = lambda _m: None) -> None:
    """Attach a Verification to every finding of a verifiable rule (others stay unverified)."""
    plans: dict[int, list[Attempt]] = {}
    for index, finding in enumerate(findings):
        if finding.rule_id not in verifiable:
            continue
        urls, reason = candidate_urls(finding, options, warn)
        users = candidate_users(finding, options)
        if not urls or not users:
            finding.verification = Verification(
                status="unknown", checked_at=_now(), jenkins_url=finding.jenkins_url, user=finding.user,
                reason=reason or "no user known for this token (give --user, or --guess-users)")
            continue
        plans[index] = [Attempt(u, user, finding.secret, named) for u in urls for user, named in users]
    unique = {a: None for attempts in plans.values() for a in attempts}
    answers = run_attempts(list(unique), options)
    for index, attempts in plans.items():
        findings[index].verification = combine([answers[a] for a in attempts], [a.user_named for a in attempts])


def run_attempts(attempts: list[Attempt], options: VerifyOptions) -> dict[Attempt, Verification]:
    """Each unique (url, user, secret) once, bounded per host, rate limited overall."""
    if not attempts:
        return {}
    for attempt in attempts:  # last line of defence: nothing goes to a host the plan did not allow
        if not options.verify_found_urls and not any(a.allows(attempt.url) for a in options.allowed):
            raise AssertionError("refusing to send a token to a Jenkins that is not allowed")
    limiter = RateLimiter(options.rate)
    hosts = {_host_key(a.url) for a in attempts}
    gates = {h: threading.BoundedSemaphore(max(1, options.per_host)) for h in hosts}
    results: dict[Attempt, Verification] = {}
    with make_client(options.http) as client:
        def one(attempt: Attempt) -> tuple[Attempt, Verification]:
            with gates[_host_key(attempt.url)]:
                limiter.wait()
                answer = who_am_i(client, attempt.url, attempt.user, attempt.secret, options.http)
            try:
                return attempt, judge(answer, attempt)
            except Exception as exc:  # noqa: BLE001 - an answer of a shape nobody foresaw: this finding only
                return attempt, Verification(status="unknown", jenkins_url=attempt.url, user=attempt.user,
                                             checked_at=_now(),
                                             reason=f"who-am-i answer not understood ({type(exc).__name__})")

        workers = min(len(attempts), max(1, options.per_host) * len(hosts), 64)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for attempt, verdict in pool.map(one, attempts):
                results[attempt] = verdict
    return results


def _host_key(url: str) -> tuple[str, str, int] | str:
    try:
        return parse_http_url(url).origin
    except UnusableUrl:
        return url  # who_am_i turns it into an "unusable URL" answer


def verify_secret(url: str, user: str, secret: str, http: HttpSettings | None = None) -> str:
    """One check for callers outside the pipeline (the detect-secrets plugin): live/invalid/unknown."""
    allowed = AllowedJenkins.parse(url)
    options = VerifyOptions(allowed=[allowed], http=http or HttpSettings())
    attempt = Attempt(allowed.url, user, secret, True)
    return run_attempts([attempt], options)[attempt].status
