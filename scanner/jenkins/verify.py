"""Prove found tokens live or dead with who-am-i, sending each only where it belongs.

Verdicts are tri-state: ``live`` (Jenkins says who the token authenticates as), ``invalid``
(Jenkins answered 401 for the user the finding names) and ``unknown`` for everything else. A
token is sent only to a Jenkins the user allowed; a URL found in content is used only when it
falls under an allowed one, unless the user opted in with ``verify_found_urls``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from scanner.context import jenkins_base_url
from scanner.findings import Finding, Verification
from scanner.jenkins.client import Answer, HttpSettings, make_client, origin, who_am_i


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
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) Jenkins URL: {url!r}")
        if parts.username or parts.password:
            raise ValueError("a Jenkins URL must not carry credentials")
        scheme, host, port = origin(url)
        path = parts.path.rstrip("/")
        netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        return cls(url=f"{scheme}://{netloc}{path}", scheme=scheme, host=host, port=port, path=path)

    def allows(self, url: str) -> bool:
        if origin(url) != (self.scheme, self.host, self.port):
            return False
        path = urlsplit(url).path.rstrip("/")
        return path == self.path or path.startswith(self.path + "/")


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
    """Where this finding's token may be sent, or why nowhere."""
    found = jenkins_base_url(finding.jenkins_url) if finding.jenkins_url else None
    if found:
        if any(a.allows(found) for a in options.allowed):
            return [found], None
        if options.verify_found_urls:
            warn(f"sending a token to {found}, a URL found in the scanned content (--verify-found-urls)")
            return [found], None
        return [], (f"found with {found}, which is not an allowed Jenkins; pass --jenkins-url {found} "
                    "(or --verify-found-urls) to check it there")
    if not options.allowed:
        return [], "no Jenkins URL in the content and none given with --jenkins-url"
    return [a.url for a in options.allowed], None


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
    base = Verification(status="unknown", jenkins_url=attempt.url, user=attempt.user, checked_at=_now(),
                        jenkins_version=answer.headers.get("x-jenkins"))
    if answer.error:
        base.reason = answer.error + (f": {answer.redirect_to}" if answer.redirect_to else "")
        return base
    status = answer.status
    if status == 200:
        data = answer.json()
        if data is None or "name" not in data or "anonymous" not in data:
            base.reason = "200 but not a Jenkins who-am-i response"
            return base
        if data.get("anonymous"):
            base.reason = "Jenkins answered as anonymous (security disabled?): the token cannot be judged"
            return base
        name = data.get("name")
        if not isinstance(name, str):
            base.reason = "200 but who-am-i names no user (not a Jenkins who-am-i response)"
            return base
        if name.lower() != attempt.user.lower():
            base.reason = f"authenticated as {name!r}, not {attempt.user!r}"
            return base
        base.status = "live"
        base.authenticated_as = name
        authorities = data.get("authorities")  # informative only: a list of group names, or nothing
        base.authorities = [a for a in authorities if isinstance(a, str)] if isinstance(authorities, list) else []
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
    hosts = {origin(a.url) for a in attempts}
    gates = {h: threading.BoundedSemaphore(max(1, options.per_host)) for h in hosts}
    results: dict[Attempt, Verification] = {}
    with make_client(options.http) as client:
        def one(attempt: Attempt) -> tuple[Attempt, Verification]:
            with gates[origin(attempt.url)]:
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


def verify_secret(url: str, user: str, secret: str, http: HttpSettings | None = None) -> str:
    """One check for callers outside the pipeline (the detect-secrets plugin): live/invalid/unknown."""
    allowed = AllowedJenkins.parse(url)
    options = VerifyOptions(allowed=[allowed], http=http or HttpSettings())
    attempt = Attempt(allowed.url, user, secret, True)
    return run_attempts([attempt], options)[attempt].status
