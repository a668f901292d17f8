"""Revoke leaked tokens that were verified live: find the UUID, (rotate), revoke, re-check.

Jenkins revokes only by UUID, and nothing maps a token value to its UUID except the usage
counters on the user's security page (facts sheet §6): read the page, use the token a known
number of times, read it again, and take the one token whose counter rose by at least that
number (concurrent use of the leaked token only adds to it). Anything short of one clear match
(several or no candidates twice, a counter that went down) is left to a human
(``needs_manual``) unless the user chose ``--revoke-all-user-tokens``. Only a 401 on the
re-check makes a result ``revoked``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import httpx

from scanner.audit import AuditLog, leak_places
from scanner.findings import Finding, Revocation, Verification, scrub
from scanner.jenkins.client import Answer, HttpSettings, basic_header, make_client, request, who_am_i
from scanner.jenkins.security_page import PageError, PageToken, parse_tokens, usage_statistics_disabled
from scanner.jenkins.verify import Attempt, VerifyOptions, judge

SELF, ADMIN = "self", "admin"
REVOKE, REVOKE_ALL = "revoke", "revoke_all"
PROPERTY = "descriptorByName/jenkins.security.ApiTokenProperty"
NEW_TOKEN_LENGTH = 34  # "11" + 32 hex; any other length is matched as a legacy token (sheet §1.2)


@dataclass
class RevokeOptions:
    actor: str = SELF  # self: the leaked token revokes itself; admin: admin_user + admin_token act
    verify: VerifyOptions = field(default_factory=VerifyOptions)
    admin_user: str | None = None
    admin_token: str | None = field(default=None, repr=False)
    revoke_all_user_tokens: bool = False
    rotate_dir: Path | None = None
    dry_run: bool = False
    uses: int = 3  # who-am-i calls between the two page reads
    verifiable: frozenset[str] | None = None  # rule ids Jenkins can verify and revoke; None = built-in rules


@dataclass(frozen=True)
class _Target:
    """One leaked token at one Jenkins, and the credentials of whoever acts on it."""

    url: str  # Jenkins root, no trailing slash
    user: str  # canonical user id (as who-am-i answered)
    secret: str = field(repr=False)
    actor: str
    actor_auth: str = field(repr=False)
    version: str | None = None  # X-Jenkins, from the verification


    @property
    def leaked_auth(self) -> str:
        return basic_header(self.user, self.secret)

    def user_url(self, rest: str) -> str:
        return f"{self.url}/user/{quote(self.user, safe='')}/{rest}"

    @property
    def security_url(self) -> str:
        return self.user_url("security/")

    @property
    def manual_url(self) -> str:
        """Where a human revokes tokens: /security/ from 2.468, /configure before (sheet §6)."""
        try:
            older = tuple(int(p) for p in (self.version or "").split(".")[:2]) < (2, 468)
        except ValueError:
            older = False
        return self.user_url("configure") if self.version and older else self.security_url


@dataclass
class Plan:
    """What will be done for one live finding; shown to the user before anything changes."""

    finding: Finding = field(repr=False)
    jenkins_url: str
    user: str
    actor: str
    action: str  # revoke | revoke_all
    page_url: str
    token_uuid: str | None = None
    token_name: str | None = None
    legacy: bool = False
    rotate: bool = False
    user_tokens: list[str] = field(default_factory=list)  # names revoke_all takes with it
    note: str | None = None
    target: _Target | None = field(default=None, repr=False, compare=False)

    @property
    def places(self) -> list[str]:
        """Where the token leaked, for the plan display: path:line and commit."""
        shown = []
        for loc in self.finding.locations:
            place = f"{loc.repo + ': ' if loc.repo else ''}{loc.path}:{loc.line}"
            if loc.commit:
                place += f" (commit {loc.commit[:10]})"
            shown.append(place)
        return shown


@dataclass
class _PageRead:
    url: str
    status: int | None = None
    tokens: list[PageToken] | None = None
    stats_disabled: bool = False
    error: str | None = None


@dataclass
class _Identity:
    page_url: str
    tokens: list[PageToken] = field(default_factory=list)
    match: PageToken | None = None
    reason: str | None = None
    refused: bool = False  # Jenkins would not show the page to this actor
    retry: bool = False  # not exactly one candidate: a round with another number of uses may settle it
    note: str | None = None  # said with the plan (e.g. the token is being used by someone else)


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _builtin_verifiable() -> frozenset[str]:
    from scanner.rules import load_rules

    return frozenset(r.id for r in load_rules() if r.verifiable)


def _refuse_cookies(client: httpx.Client) -> None:
    """A session cookie would let Jenkins skip the token check, and then uses go uncounted (sheet §8)."""
    from http.cookiejar import DefaultCookiePolicy

    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))


def revoke_findings(findings: list[Finding], options: RevokeOptions, audit: AuditLog,
                    confirm: Callable[[list[Plan]], bool]) -> None:
    """Set ``finding.revocation`` on every finding; only tokens verified live are ever touched.

    ``confirm`` sees every plan at once and says whether to carry them out (it also shows them).
    """
    verifiable = options.verifiable if options.verifiable is not None else _builtin_verifiable()
    audit.forbid(options.admin_token)
    for finding in findings:
        audit.forbid(finding.secret)
    # Opening the log first means a log that cannot be written stops the run before any request.
    audit.write("started", actor=options.actor, dry_run=options.dry_run, findings=len(findings),
                revoke_all_user_tokens=options.revoke_all_user_tokens, rotate=options.rotate_dir is not None)
    with make_client(options.verify.http) as client:
        _refuse_cookies(client)
        revoker = Revoker(client, options, audit)
        plans: list[Plan] = []
        for finding in findings:
            if finding.rule_id not in verifiable:
                revoker.finish(finding, None, _no_api(finding))
                continue
            try:
                plan = revoker.prepare(finding)
            except Exception as exc:  # noqa: BLE001 - one odd Jenkins answer fails one finding, not the run
                revoker.finish(finding, None, _unexpected(exc, "needs_manual", "while planning; nothing was changed"))
                continue
            if plan is not None:
                revoker.log("planned", plan.finding, plan.target, action=plan.action, uuid=plan.token_uuid,
                            name=plan.token_name, rotate=plan.rotate or None, dry_run=options.dry_run or None,
                            note=plan.note)
                plans.append(plan)
        if not plans:
            return
        approved = confirm(plans) and not options.dry_run
        for plan in plans:
            if approved:
                try:
                    revoker.execute(plan)
                except Exception as exc:  # noqa: BLE001 - the other plans still run and the report is written
                    revoker.finish(plan.finding, plan.target, _unexpected(
                        exc, "failed", "while revoking; whether the token is revoked is not known: check the page",
                        plan.page_url))
            else:
                why = "dry run" if options.dry_run else "not confirmed"
                revoker.finish(plan.finding, plan.target, Revocation(
                    status="planned", reason=f"{why}: nothing was changed", token_uuid=plan.token_uuid,
                    token_name=plan.token_name, actor=plan.actor, manual_url=plan.page_url, at=now_iso()))


def _unexpected(exc: Exception, status: str, when: str, manual_url: str | None = None) -> Revocation:
    """A failure nobody foresaw (a Jenkins answer of an unexpected shape): this finding fails, with why."""
    # The exception's own text is not quoted: it may hold anything the answer held.
    return Revocation(status=status, reason=f"unexpected {type(exc).__name__} {when}",
                      manual_url=manual_url, at=now_iso())


def _no_api(finding: Finding) -> Revocation:
    todo = " ".join((finding.remediation or "rotate it by hand").split())
    return Revocation(status="skipped", reason=f"no Jenkins API to verify or revoke this kind of secret: {todo}",
                      at=now_iso())


class Revoker:
    """Does the work for one run; one HTTP client, admin credentials checked once per Jenkins."""

    def __init__(self, client: httpx.Client, options: RevokeOptions, audit: AuditLog):
        self.client = client
        self.options = options
        self.audit = audit
        # Counted and state-changing requests are never repeated behind our back.
        self.once: HttpSettings = replace(options.verify.http, retries=0)
        self._admin_checked: dict[str, str | None] = {}

    # -- audit and results ------------------------------------------------------------------

    def log(self, event: str, finding: Finding, target: _Target | None, *, action: str,
            uuid: str | None = None, name: str | None = None, outcome: str | None = None,
            reason: str | None = None, **extra: object) -> None:
        verification = finding.verification
        self.audit.write(
            event, action=action,
            jenkins_url=target.url if target else (verification.jenkins_url if verification else finding.jenkins_url),
            user=target.user if target else (verification.user if verification else finding.user),
            token_uuid=uuid, token_name=name, fingerprint=finding.fingerprint, rule_id=finding.rule_id,
            leaked_in=leak_places(finding), actor=target.actor if target else self.options.actor, outcome=outcome,
            reason=scrub(reason) if reason else None, **{k: v for k, v in extra.items() if v is not None})

    def finish(self, finding: Finding, target: _Target | None, result: Revocation) -> None:
        if result.reason:
            result.reason = scrub(result.reason)
        finding.revocation = result
        self.log("result", finding, target, action="revocation", uuid=result.token_uuid, name=result.token_name,
                 outcome=result.status, reason=result.reason, manual_url=result.manual_url)

    def _result(self, finding: Finding, target: _Target | None, status: str, reason: str, *,
                plan: Plan | None = None, manual_url: str | None = None) -> None:
        self.finish(finding, target, Revocation(
            status=status, reason=reason, token_uuid=plan.token_uuid if plan else None,
            token_name=plan.token_name if plan else None, actor=target.actor if target else None,
            manual_url=manual_url, at=now_iso()))

    # -- planning ---------------------------------------------------------------------------

    def prepare(self, finding: Finding) -> Plan | None:
        """Pre-check and identify; a Plan when there is something to do, else a result is set."""
        from scanner.reports import has_full_secret

        v = finding.verification
        if not has_full_secret(finding):
            self._result(finding, None, "skipped", "the report holds only the redacted secret")
            return None
        if v is not None and v.status == "unknown" and v.rejected_for:
            # 401s for the named users only: the token may be live as someone else; never "skipped"
            self._result(finding, None, "needs_manual",
                         f"Jenkins rejected it for {', '.join(v.rejected_for)} (401), but it may be another user's "
                         "token: rerun with --find-owner --admin-user ADMIN to find its owner or prove it dead")
            return None
        if v is None or v.status not in ("live", "invalid"):
            why = f"{v.status}: {v.reason}" if v and v.reason else (v.status if v else "not verified")
            self._result(finding, None, "skipped", f"not verified live ({why}); only live tokens are revoked")
            return None
        target, problem = self._target(finding, v)
        if target is None:
            self._result(finding, None, "skipped", problem or "no Jenkins or user to act on")
            return None
        if v.status == "invalid":
            self._result(finding, target, "already_invalid", "verification found the token dead; nothing was touched")
            return None
        before = self.check(target)
        if before.status == "invalid":
            self._result(finding, target, "already_invalid", "the pre-check got 401; nothing was touched")
            return None
        if before.status != "live":
            self._result(finding, target, "failed", f"pre-check was not conclusive: {before.reason}")
            return None
        if target.actor == ADMIN:
            problem = self._admin_problem(target.url)
            if problem:
                self._result(finding, target, "failed", problem, manual_url=target.manual_url)
                return None
        found = self.identify(target)
        if found.refused:
            hint = ("Jenkins refused self-revocation; rerun with --as admin" if target.actor == SELF
                    else "the administrator may not manage this user's tokens")
            self._result(finding, target, "failed", f"{hint} ({found.reason})", manual_url=found.page_url)
            return None
        plan = Plan(finding, target.url, target.user, target.actor, REVOKE, found.page_url, target=target)
        if found.match is not None:
            plan.token_uuid, plan.token_name, plan.legacy = found.match.uuid, found.match.name, found.match.legacy
            plan.rotate = self.options.rotate_dir is not None and target.actor == SELF
            plan.note = found.note
            return plan
        if not self.options.revoke_all_user_tokens:
            self._result(finding, target, "needs_manual",
                         f"{found.reason}; open the page, revoke the leaked token by hand (or rerun with "
                         "--revoke-all-user-tokens)", manual_url=found.page_url)
            return None
        plan.action = REVOKE_ALL
        plan.user_tokens = [t.name for t in found.tokens]
        legacy = [t for t in found.tokens if t.legacy]
        plan.note = found.reason
        if len(target.secret) != NEW_TOKEN_LENGTH and len(legacy) == 1:
            # revokeAll leaves a legacy token's secret behind (sheet §4): revoke it by UUID first.
            plan.token_uuid, plan.token_name, plan.legacy = legacy[0].uuid, legacy[0].name, True
        elif legacy:
            plan.note += "; the user's legacy token survives revokeAll and comes back when Jenkins restarts"
        if self.options.rotate_dir is not None:
            plan.note += "; not rotated: the token could not be identified"
        return plan

    def _target(self, finding: Finding, v: Verification) -> tuple[_Target | None, str | None]:
        url = (v.jenkins_url or "").rstrip("/")
        user = v.authenticated_as or v.user
        if not url or not user:
            return None, None
        if not self.options.verify.verify_found_urls and not self.options.verify.permits(url):
            return None, f"{url} is not an allowed Jenkins (--jenkins-url)"
        if self.options.actor == ADMIN:
            auth = basic_header(self.options.admin_user or "", self.options.admin_token or "")
        else:
            auth = basic_header(user, finding.secret)
        return _Target(url, user, finding.secret, self.options.actor, auth, v.jenkins_version), None

    def _admin_problem(self, url: str) -> str | None:
        if url not in self._admin_checked:
            self._admin_checked[url] = self._check_admin(url)
        return self._admin_checked[url]

    def _check_admin(self, url: str) -> str | None:
        # Admin credentials never follow a URL that only the scanned content named.
        if not any(a.allows(url) for a in self.options.verify.allowed):
            return f"admin credentials are sent only to a Jenkins given with --jenkins-url, not {url}"
        user, token = self.options.admin_user or "", self.options.admin_token or ""
        answer = who_am_i(self.client, url, user, token, self.options.verify.http)
        verdict = judge(answer, Attempt(url, user, token, True))
        if verdict.status != "live":
            return f"the admin credentials do not work at {url}: {verdict.reason}"
        return None

    def check(self, target: _Target, secret: str | None = None) -> Verification:
        """who-am-i with the leaked token (or another of the user's tokens)."""
        value = secret if secret is not None else target.secret
        answer = who_am_i(self.client, target.url, target.user, value, self.options.verify.http)
        return judge(answer, Attempt(target.url, target.user, value, True))

    # -- finding the UUID -------------------------------------------------------------------

    def read_page(self, target: _Target, url: str | None = None) -> _PageRead:
        """The security page (2.468+), else the configure page (before 2.468)."""
        urls = [url] if url else [target.security_url, target.user_url("configure")]
        read = _PageRead(urls[0])
        for candidate in urls:
            answer = request(self.client, "GET", candidate, self.once, auth=target.actor_auth, root=target.url)
            read = _PageRead(candidate, answer.status, error=answer.error)
            if answer.error or answer.status != 200:
                if answer.status == 404:
                    continue  # no such page in this Jenkins generation (or no Overall/Read)
                return read
            text = answer.body.decode("utf-8", "replace")
            try:
                read.tokens = parse_tokens(text)
                read.stats_disabled = usage_statistics_disabled(text)
            except PageError as exc:
                read.error = f"the page could not be parsed: {exc}"
                return read
            if read.tokens is not None:
                return read
        return read

    def identify(self, target: _Target) -> _Identity:
        """The leaked token's entry on the page, from use counters; any doubt leaves ``match`` None.

        Candidates are the tokens whose counters rose by at least our uses (someone else using
        the leaked token at the same time only adds to its count). One candidate is the leaked
        token; none or several are tried once more with a different number of uses, then left
        to a human. A counter that went down means the statistics were reset: no guess is made.
        """
        first = self.read_page(target)
        problem = _page_problem(first)
        if problem:
            return _Identity(first.url if first.status == 200 else target.manual_url, reason=problem,
                             refused=first.status in (403, 404))
        found = _Identity(first.url, first.tokens or [])
        for uses in (self.options.uses, self.options.uses * 2 + 1):
            for _ in range(uses):
                used = self.check_counted(target)
                if used:
                    return _Identity(first.url, first.tokens or [], reason=used)
            second = self.read_page(target, first.url)
            problem = _page_problem(second)
            if problem:
                return _Identity(first.url, first.tokens or [], reason=problem)
            # In self mode the second page read is itself one more use of the leaked token.
            expected = uses + (1 if target.actor == SELF else 0)
            found = _match(first, second, expected)
            if not found.retry:
                return found
            first = second
        return found

    def check_counted(self, target: _Target) -> str | None:
        """One counted use of the leaked token; why the count is unreliable, or None."""
        answer = who_am_i(self.client, target.url, target.user, target.secret, self.once)
        verdict = judge(answer, Attempt(target.url, target.user, target.secret, True))
        if verdict.status != "live":
            return f"a counted who-am-i was not answered cleanly ({verdict.reason}), so uses cannot be counted"
        return None

    # -- acting -----------------------------------------------------------------------------

    def execute(self, plan: Plan) -> None:
        target = plan.target
        assert target is not None
        before = self.check(target)
        if before.status == "invalid":
            self._result(plan.finding, target, "already_invalid", "dead before anything was done", plan=plan)
            return
        if before.status != "live":
            self._result(plan.finding, target, "failed", f"pre-check was not conclusive: {before.reason}",
                         plan=plan, manual_url=plan.page_url)
            return
        if plan.action == REVOKE_ALL:
            self._revoke_all(plan, target)
            return
        if plan.rotate:
            problem = self.rotate(plan, target)
            if problem:
                self._result(plan.finding, target, "failed", f"{problem}; the leaked token was NOT revoked "
                             "(rerun without --rotate to revoke it anyway)", plan=plan, manual_url=plan.page_url)
                return
        sent = self.post(plan, target, "revoke", {"tokenUuid": plan.token_uuid or ""})
        self._conclude(plan, target, "revoke", sent)

    def _revoke_all(self, plan: Plan, target: _Target) -> None:
        if plan.token_uuid:
            sent = self.post(plan, target, "revoke", {"tokenUuid": plan.token_uuid})
            if self.check(target).status == "invalid":
                self._conclude(plan, target, "revoke", sent)
                return
            plan.token_uuid = plan.token_name = None
        sent = self.post(plan, target, "revokeAll", {})
        self._conclude(plan, target, "revokeAll", sent)

    def post(self, plan: Plan, target: _Target, method: str, data: dict[str, str]) -> str:
        """One POST to the token property; what came of it, in words (never raised)."""
        self.log("attempted", plan.finding, target, action=method, uuid=data.get("tokenUuid") or None,
                 name=plan.token_name)
        answer = request(self.client, "POST", target.user_url(f"{PROPERTY}/{method}"), self.once,
                         auth=target.actor_auth, data=data, root=target.url)
        outcome = _describe(answer)
        self.log("result", plan.finding, target, action=method, uuid=data.get("tokenUuid") or None,
                 name=plan.token_name, outcome=outcome)
        return outcome

    def _conclude(self, plan: Plan, target: _Target, method: str, sent: str) -> None:
        """Only the re-check decides: 401 is revoked, anything else is not."""
        after = self.check(target)
        what = (f"all {len(plan.user_tokens)} token(s) of {target.user}" if method == "revokeAll"
                else f"token {plan.token_name or plan.token_uuid}")
        note = f" ({plan.note})" if plan.note else ""
        if after.status == "invalid":
            reason = f"{method} {sent}; the re-check got 401"
            if method == "revokeAll":
                reason = f"revoked {what}{note}; {reason}"
            else:
                reason += note
            self.finish(plan.finding, target, Revocation(
                status="revoked", reason=reason, token_uuid=plan.token_uuid, token_name=plan.token_name,
                actor=target.actor, at=now_iso()))
            return
        state = "still live" if after.status == "live" else f"not confirmed ({after.reason})"
        self._result(plan.finding, target, "failed", f"{method} of {what} {sent}; the token is {state}{note}",
                     plan=plan, manual_url=plan.page_url)

    # -- rotation ---------------------------------------------------------------------------

    def rotate(self, plan: Plan, target: _Target) -> str | None:
        """Make a replacement with the same name, save it 0600, prove it live; why not, or None."""
        directory = self.options.rotate_dir
        assert directory is not None
        self.log("attempted", plan.finding, target, action="generate_new_token", name=plan.token_name)
        answer = request(self.client, "POST", target.user_url(f"{PROPERTY}/generateNewToken"), self.once,
                         auth=target.leaked_auth, data={"newTokenName": plan.token_name or ""}, root=target.url)
        body = answer.json() or {}
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        value, new_uuid = _text(data.get("tokenValue")), _text(data.get("tokenUuid"))
        self.audit.forbid(value)
        if answer.status != 200 or body.get("status") != "ok" or not value:
            why = answer.error or f"{answer.status} {body.get('message') or ''}".strip()
            self.log("result", plan.finding, target, action="generate_new_token", outcome=why)
            return f"no replacement token: generateNewToken answered {why}"
        try:
            path = write_token_file(directory, target.user, plan.token_name or "token", value)
        except OSError as exc:
            # The new value is lost with nowhere to keep it: take the orphan back.
            self.post(plan, target, "revoke", {"tokenUuid": new_uuid})
            self.log("result", plan.finding, target, action="generate_new_token", uuid=new_uuid,
                     outcome="not saved", reason=str(exc.strerror or exc))
            return f"could not save the replacement in {directory}: {exc.strerror or exc}"
        verdict = self.check(target, value)
        self.log("result", plan.finding, target, action="generate_new_token", uuid=new_uuid, name=plan.token_name,
                 outcome=verdict.status, file=str(path))
        if verdict.status != "live":
            return f"the replacement saved in {path} is not live ({verdict.reason})"
        return None


def _text(value: object) -> str:
    """A string field of a Jenkins JSON answer; any other shape (number, list, object) is no value."""
    return value if isinstance(value, str) else ""


def _page_problem(read: _PageRead) -> str | None:
    if read.error:
        return f"GET {read.url} failed: {read.error}"
    if read.status != 200:
        return f"GET {read.url} answered {read.status}"
    if read.tokens is None:
        return f"no API token list found on {read.url}"
    return None


def _match(first: _PageRead, second: _PageRead, expected: int) -> _Identity:
    """The one token whose use counter rose by at least ``expected`` between two reads."""
    before, after = first.tokens or [], second.tokens or []
    found = _Identity(second.url, after)
    if first.stats_disabled or second.stats_disabled:
        found.reason = "usage statistics are disabled (\"No statistics available\"), so the token cannot be told apart"
    elif any(t.use_counter is None for t in before + after):
        found.reason = "the page's use counters could not be read, so the token cannot be told apart"
    elif not after or any(not t.uuid for t in after):
        found.reason = "the page lists no token UUIDs (page not understood)"
    if found.reason:
        return found
    counts = {t.uuid: t.use_counter or 0 for t in before}
    # Only tokens listed on both reads: the leaked one was live before the first.
    rises = {t.uuid: (t.use_counter or 0) - counts[t.uuid] for t in after if t.uuid in counts}
    fallen = [t for t in after if rises.get(t.uuid, 0) < 0]
    if fallen:
        found.reason = (f"the use counter of {len(fallen)} token(s) went down between two reads of the page "
                        "(statistics reset?), so the counts cannot be trusted")
        return found
    rose = [t for t in after if rises.get(t.uuid, 0) >= expected]
    if len(rose) == 1:
        found.match = rose[0]
        extra = rises[rose[0].uuid] - expected
        if extra:
            found.note = (f"its use counter rose by {extra} more than our {expected} use(s): someone else is using "
                          "the leaked token right now")
        return found
    found.retry = True
    found.reason = (f"{len(rose)} tokens' use counters rose by at least {expected} while the leaked token was "
                    "used, so the leaked one is not certain")
    return found


def _describe(answer: Answer) -> str:
    if answer.error:
        return f"got no answer ({answer.error})"
    if answer.status == 403 and b"crumb" in answer.body.lower():
        return "answered 403 (a crumb was demanded: not authenticated by API token?)"
    return f"answered {answer.status}"


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_token_file(directory: Path, user: str, token_name: str, value: str) -> Path:
    """A new file named after user and token name, mode 0600; never overwrites an existing one."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = f"{_UNSAFE.sub('_', user).strip('._') or 'user'}-{_UNSAFE.sub('_', token_name).strip('._') or 'token'}"
    for number in range(1, 1000):
        path = directory / (f"{stem}.token" if number == 1 else f"{stem}-{number}.token")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return path
    raise FileExistsError(f"too many token files named {stem}*.token in {directory}")
