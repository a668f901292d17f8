"""Prove found tokens live or dead with who-am-i, sending each only where it belongs.

Verdicts are tri-state: ``live`` (Jenkins says who the token authenticates as), ``invalid``
(dead for everyone who could own it: with ``--find-owner``, every user of that Jenkins answered
401) and ``unknown`` for everything else, including a 401 for the user the content names, which
only proves the token is not that user's. A token is sent only to a Jenkins the user allowed; a
URL found in content is used only when it falls under an allowed one, unless the user opted in
with ``verify_found_urls``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from scanner.context import jenkins_base_url
from scanner.findings import Finding, Verification, redact, scrub
from scanner.jenkins.client import Answer, HttpSettings, make_client, who_am_i
from scanner.jenkins.owners import Roster, list_users
from scanner.jenkins.urls import HttpUrl, UnusableUrl, describe, has_unsafe_characters, parse_http_url, public_url

WHOAMI_CLASS = "hudson.security.WhoAmI"
_VERSION = re.compile(r"[0-9][0-9A-Za-z.+_~-]{0,63}")  # X-Jenkins: 2.578, 2.479.3, 2.500-SNAPSHOT
MAX_AUTHORITIES = 100
# Jenkins' 401 (spring-security's BasicAuthenticationEntryPoint) carries exactly this one challenge;
# scheme and parameter name are case-insensitive (RFC 7235), the realm value is not.
JENKINS_CHALLENGE = re.compile(r'[ \t]*+(?i:basic)[ \t]++(?i:realm)[ \t]*+=[ \t]*+(?:"Jenkins"|Jenkins)[ \t]*+')


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
    # Jenkins a sweep crawls: a token that names one is checked there, but a token naming no Jenkins
    # is never tried at one, and the admin credential never goes to one (only to ``allowed``)
    found_on: list[AllowedJenkins] = field(default_factory=list)
    verify_found_urls: bool = False
    user_hints: list[str] = field(default_factory=list)
    guess_users: bool = False
    per_host: int = 4
    rate: float = 20.0  # requests per second, over all hosts
    http: HttpSettings = field(default_factory=HttpSettings)
    find_owner: bool = False  # list each Jenkins' users with the admin credential and try them all
    admin_user: str | None = None
    admin_token: str | None = field(default=None, repr=False)

    def permits(self, url: str) -> bool:
        """Whether a token whose finding names ``url`` may be sent there (the admin credential: ``allowed`` only)."""
        return any(a.allows(url) for a in (*self.allowed, *self.found_on))


@dataclass(frozen=True)
class Attempt:
    url: str
    user: str
    secret: str = field(repr=False)
    user_named: bool  # the finding itself names this user (reported when the token is someone else's)


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
        if options.permits(found.root):
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
        return None, _why_unreadable(text)
    try:
        parsed = parse_http_url(base)
    except UnusableUrl as exc:
        return None, str(exc)
    if parsed.query:
        return None, "a Jenkins root URL has no query"
    return parsed, None


def _why_unreadable(text: str) -> str:
    """The parser's own reason (bad port, IPv6 zone...) when it has one: it tells the user what to fix."""
    try:
        parse_http_url(text)
    except UnusableUrl as exc:
        return str(exc)
    return "not an http(s) Jenkins URL this tool can read"


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
        base.reason = answer.error + (f": {_shown_location(answer.redirect_to, attempt)}" if answer.redirect_to else "")
        return base
    status = answer.status
    if status == 200:
        if _has_duplicate_keys(answer.body):
            base.reason = "200 but a malformed who-am-i response (a key given twice: which one counts is a guess)"
            return base
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
        if not is_jenkins_challenge(answer.headers.get("www-authenticate", "")):
            base.reason = "401 without Jenkins' Basic realm (a proxy in front?)"
            return base
        # One user's 401: the token is not (or no longer) this user's; combine() decides what it proves.
        base.status = "invalid"
        base.reason = f"401: not {attempt.user}'s token"
        return base
    if status in (301, 302, 303, 307, 308):
        where = _shown_location(answer.redirect_to or answer.headers.get("location", "?"), attempt)
        base.reason = f"redirected ({status}) to {where}"
    elif status == 403:
        base.reason = "403: access denied before authentication (login page, SSO or proxy in front?)"
    elif status == 404:
        base.reason = "404: no who-am-i here (not a Jenkins root URL?)"
    elif status and status >= 500:
        base.reason = f"server error {status}"
    else:
        base.reason = f"unexpected status {status}"
    return base


class _DuplicateKey(ValueError):
    pass


def _unique(pairs: list[tuple[str, object]]) -> dict[str, object]:
    if len({key for key, _ in pairs}) != len(pairs):
        raise _DuplicateKey
    return dict(pairs)


def _has_duplicate_keys(body: bytes) -> bool:
    """{"name": "alice", "name": "bob"}: parsers disagree on which wins, so such an answer proves nothing."""
    try:
        json.loads(body, object_pairs_hook=_unique)
    except _DuplicateKey:
        return True
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False  # not JSON at all: Answer.json() and _whoami_problem say so
    return False


def is_jenkins_challenge(value: str) -> bool:
    """``Basic realm="Jenkins"`` alone: a Bearer or Negotiate challenge, or several, come from something else."""
    return JENKINS_CHALLENGE.fullmatch(value) is not None


def _shown_location(url: str, attempt: Attempt) -> str:
    """A server's redirect in a reason: it may reflect credentials (an SSO's ``?t=<token>``), so no userinfo,
    query or fragment, no token-shaped run (admin, crawl or checked token), and not the checked token."""
    shown = public_url(url)
    if len(attempt.secret) >= 8:
        shown = shown.replace(attempt.secret, redact(attempt.secret))
    return scrub(shown)


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


def combine(results: list[Verification], named: list[bool] | None = None,
            rosters: dict[str, Roster] | None = None) -> Verification:
    """``_combine``'s verdict, naming every Jenkins asked (a later sweep re-checks where it was not)."""
    verdict = _combine(results, named, rosters)
    return replace(verdict, tried_at=list(dict.fromkeys(r.jenkins_url for r in results if r.jenkins_url)))


def _combine(results: list[Verification], named: list[bool] | None = None,
             rosters: dict[str, Roster] | None = None) -> Verification:
    """Live if any attempt was; invalid only when the token is dead for everyone who could own it.

    Jenkins looks a token up per user, so a 401 only says "not this user's token". Only when
    ``rosters`` (``--find-owner``) list every user of each Jenkins tried, and each of them
    answered 401 there, is the token proven dead; otherwise 401s leave the finding unknown.
    """
    flags = named or [True] * len(results)
    content_users = [r.user for r, is_named in zip(results, flags) if is_named and r.user]
    for result in results:
        if result.status == "live":
            return _owned(result, content_users)
    first_401 = next((r for r in results if r.status == "invalid"), None)
    if first_401 is not None and rosters and _dead_for_everyone(results, rosters):
        proof = replace(first_401)
        counts = ", ".join(f"{len(rosters[u].users)} user(s) of {u}" for u in dict.fromkeys(r.jenkins_url for r in results))
        proof.reason = f"401 for every user who could own it ({counts}, listed with --find-owner): dead for everyone"
        return proof
    rejected = [r for r in results if r.status == "invalid"]
    rejected_for = list(dict.fromkeys(r.user for r in rejected if r.user))
    problems = [r.problem for r in (rosters or {}).values() if r.problem]
    if rejected and len(rejected) == len(results):
        merged = replace(rejected[0], status="unknown", rejected_for=rejected_for)
        users = ", ".join(dict.fromkeys(f"{r.user}'s" for r in rejected))
        merged.reason = f"not {users} token (401); a 401 proves only that, " + (
            "; ".join(dict.fromkeys(problems)) if problems else
            "so it may be live for another user: --find-owner (with --admin-user) tries every user of the Jenkins")
        return merged
    unknown = [r for r in results if r.status == "unknown"]
    if unknown:
        merged = replace(unknown[0], rejected_for=rejected_for)
        if len(results) > 1 or problems:
            reasons = [f"{r.user}@{r.jenkins_url}: {r.reason}" for r in results if r.reason]
            merged.reason = "; ".join(dict.fromkeys(reasons + problems))
        return merged
    return results[0]


def _owned(result: Verification, content_users: list[str]) -> Verification:
    """A live verdict; says so when the token belongs to someone else than the content says."""
    owner = result.authenticated_as or result.user or "?"
    if content_users and owner.lower() not in {u.lower() for u in content_users}:
        result = replace(result, reason=f"the token belongs to {owner}, not to {', '.join(dict.fromkeys(content_users))} "
                                        "as the content says")
    return result


def _dead_for_everyone(results: list[Verification], rosters: dict[str, Roster]) -> bool:
    for url in {r.jenkins_url for r in results}:
        roster = rosters.get(url or "")
        if roster is None or roster.problem or not roster.users:  # an empty listing proves nothing
            return False
        # exact ids: in a case-sensitive realm, alice's 401 says nothing about Alice's token
        rejected = {r.user or "" for r in results if r.jenkins_url == url and r.status == "invalid"}
        if any(user not in rejected for user in roster.users):
            return False
    return True


@dataclass
class VerifyPlan:
    """Where one finding's token goes and as whom; or, in ``verdict``, why nowhere."""

    urls: list[str]
    attempts: list[Attempt]
    verdict: Verification | None = None


def plan_finding(finding: Finding, options: VerifyOptions, warn: Callable[[str], None]) -> VerifyPlan:
    urls, reason = candidate_urls(finding, options, warn)
    users = candidate_users(finding, options)
    if not urls or not (users or options.find_owner):
        return VerifyPlan(urls, [], Verification(
            status="unknown", checked_at=_now(), jenkins_url=finding.jenkins_url, user=finding.user,
            reason=reason or "no user known for this token (give --user, --guess-users, or --find-owner)"))
    return VerifyPlan(urls, [Attempt(u, user, finding.secret, named) for u in urls for user, named in users])


def fetch_rosters(urls: list[str], options: VerifyOptions) -> dict[str, Roster]:
    """Each Jenkins' users, read with the admin credential; sent only to a --jenkins-url Jenkins."""
    rosters: dict[str, Roster] = {}
    if not urls:
        return rosters
    with make_client(options.http) as client:
        for url in dict.fromkeys(urls):
            if not any(a.allows(url) for a in options.allowed):
                rosters[url] = Roster(url, problem=f"--find-owner lists users only at a --jenkins-url Jenkins, not {url}")
            elif not options.admin_user or not options.admin_token:
                rosters[url] = Roster(url, problem="--find-owner needs --admin-user and its token")
            else:
                rosters[url] = list_users(client, url, options.admin_user, options.admin_token, options.http)
    return rosters


def owner_attempts(plan: VerifyPlan, secret: str, rosters: dict[str, Roster]) -> list[Attempt]:
    """The attempts --find-owner adds: every listed user not tried yet, at each of the plan's Jenkins."""
    tried = {(a.url, a.user) for a in plan.attempts}  # exact ids: a realm may tell Alice from alice
    extra = []
    for url in plan.urls:
        roster = rosters.get(url)
        for user in roster.users if roster and not roster.problem else []:
            if (url, user) not in tried:
                extra.append(Attempt(url, user, secret, False))
    return extra


def verify_findings(findings: list[Finding], verifiable: set[str], options: VerifyOptions,
                    warn: Callable[[str], None] = lambda _m: None) -> None:
    """Attach a Verification to every finding of a verifiable rule (others stay unverified)."""
    plans: dict[int, VerifyPlan] = {}
    for index, finding in enumerate(findings):
        if finding.rule_id not in verifiable:
            continue
        plan = plan_finding(finding, options, warn)
        if plan.verdict is not None:
            finding.verification = plan.verdict
        else:
            plans[index] = plan
    answers = run_attempts(list({a: None for p in plans.values() for a in p.attempts}), options)
    rosters: dict[str, Roster] = {}
    if options.find_owner:
        # Only tokens no named or hinted user could prove live are tried for every user.
        open_plans = {i: p for i, p in plans.items() if not any(answers[a].status == "live" for a in p.attempts)}
        rosters = fetch_rosters([u for p in open_plans.values() for u in p.urls], options)
        for index, plan in open_plans.items():
            plan.attempts += owner_attempts(plan, findings[index].secret, rosters)
        answers.update(run_attempts([a for a in {a: None for p in open_plans.values() for a in p.attempts}
                                     if a not in answers], options))
    for index, plan in plans.items():
        if not plan.attempts:
            problems = [rosters[u].problem for u in plan.urls if u in rosters and rosters[u].problem]
            findings[index].verification = Verification(
                status="unknown", checked_at=_now(), jenkins_url=findings[index].jenkins_url, user=findings[index].user,
                reason="; ".join(problems) or "no user known for this token and none listed by --find-owner")
            continue
        findings[index].verification = combine([replace(answers[a]) for a in plan.attempts],
                                               [a.user_named for a in plan.attempts], rosters)


def run_attempts(attempts: list[Attempt], options: VerifyOptions) -> dict[Attempt, Verification]:
    """Each unique (url, user, secret) once, bounded per host, rate limited overall."""
    if not attempts:
        return {}
    for attempt in attempts:  # last line of defence: nothing goes to a host the plan did not allow
        if not options.verify_found_urls and not options.permits(attempt.url):
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
    """One check for callers outside the pipeline (the detect-secrets plugin): live or unknown.

    A 401 for the user the content names proves only that the token is not theirs: unknown.
    """
    allowed = AllowedJenkins.parse(url)
    options = VerifyOptions(allowed=[allowed], http=http or HttpSettings())
    attempt = Attempt(allowed.url, user, secret, True)
    return combine([run_attempts([attempt], options)[attempt]]).status
