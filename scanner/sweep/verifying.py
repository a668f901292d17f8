"""Verification during a sweep: tokens are checked as repositories report them, each attempt once.

An attempt is (Jenkins URL, user, secret). Attempts run in one background thread, batch after
batch, through the same ``run_attempts`` as ``jts scan --verify`` (allowlist, per-host limit,
rate limit), so the live count is known while the sweep is still scanning. At the end every
finding's final plan (its users and URLs over all repositories) is completed and combined.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace

from scanner.findings import Finding, Verification
from scanner.jenkins.owners import Roster
from scanner.jenkins.verify import (
    Attempt,
    VerifyOptions,
    VerifyPlan,
    candidate_urls,
    combine,
    fetch_rosters,
    found_url,
    owner_attempts,
    plan_finding,
    run_attempts,
)
from scanner.reports import has_full_secret
from scanner.sweep.state import Scope, now

class SweepVerifier:
    def __init__(self, options: VerifyOptions, verifiable: set[str], warn: Callable[[str], None],
                 settled: dict[tuple[str, str], Scope] | None = None):
        self.options = options
        self.verifiable = verifiable
        # (rule, fingerprint) proven dead or revoked before: not sent again where that was proven
        self.settled = settled or {}
        self.kept: set[tuple[str, str]] = set()  # the settled ones whose verdict stands in this run
        self._warn = warn
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._results: dict[Attempt, Verification] = {}
        self._queued: set[Attempt] = set()
        self._owner: dict[Attempt, str] = {}
        self._live: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jts-sweep-verify")
        self._futures: list[Future[None]] = []

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self._warn(message)

    def plan(self, finding: Finding) -> tuple[list[Attempt], Verification | None]:
        """The attempts for a finding, or the verdict that no attempt can be made (and why)."""
        full = self._plan(finding)
        return (full.attempts, full.verdict) if full else ([], None)

    def _plan(self, finding: Finding) -> VerifyPlan | None:
        if finding.rule_id not in self.verifiable or self.stands(finding):
            return None
        if not has_full_secret(finding):
            return VerifyPlan([], [], Verification(status="unknown", checked_at=now(), jenkins_url=finding.jenkins_url,
                                                   user=finding.user,
                                                   reason="the secret could not be read back from the repository"))
        return plan_finding(finding, self.options, self._warn_once)

    def stands(self, finding: Finding) -> bool:
        """An earlier run's dead verdict holds when this run would ask no Jenkins it did not ask then."""
        key = (finding.rule_id, finding.fingerprint)
        if key not in self.settled:
            return False
        scope = self.settled[key]
        return scope is None or self._where(finding) <= scope

    def _where(self, finding: Finding) -> set[str]:
        """The Jenkins this run would send the token to; the one the finding names when it cannot go there."""
        urls, _ = candidate_urls(finding, self.options, lambda _m: None)
        if urls or not finding.jenkins_url:
            return set(urls)
        found, _ = found_url(finding.jenkins_url)
        return {found.root if found else finding.jenkins_url}

    def submit(self, findings: list[Finding]) -> None:
        """Queue every attempt not already made or queued in this run."""
        batch: list[Attempt] = []
        with self._lock:
            for finding in findings:
                for attempt in self.plan(finding)[0]:
                    if attempt not in self._results and attempt not in self._queued:
                        self._queued.add(attempt)
                        self._owner[attempt] = finding.fingerprint
                        batch.append(attempt)
        if batch:
            self._futures.append(self._pool.submit(self._run, batch))

    def _run(self, batch: list[Attempt]) -> None:
        answers = run_attempts(batch, self.options)
        with self._lock:
            self._results.update(answers)
            self._live.update(self._owner[a] for a, v in answers.items() if v.status == "live")

    @property
    def live(self) -> int:
        with self._lock:
            return len(self._live)

    def finish(self, findings: list[Finding]) -> None:
        """Complete every finding's plan, wait, and attach the combined verdicts."""
        self.submit(findings)
        try:
            for future in self._futures:
                future.result()
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.kept = {(f.rule_id, f.fingerprint) for f in findings if self.stands(f)}
        plans = {id(f): p for f in findings if (p := self._plan(f)) is not None and p.verdict is None}
        rosters: dict[str, Roster] = {}
        if self.options.find_owner:
            rosters = self._find_owners(findings, plans)
        for finding in findings:
            plan = self._plan(finding) if id(finding) not in plans else plans[id(finding)]
            if plan is None:
                continue
            if plan.verdict is not None:
                finding.verification = plan.verdict
            elif plan.attempts:  # copies: combine() may rewrite a reason, and attempts are shared
                finding.verification = combine([replace(self._results[a]) for a in plan.attempts],
                                               [a.user_named for a in plan.attempts], rosters)
            else:
                problems = [rosters[u].problem for u in plan.urls if u in rosters and rosters[u].problem]
                finding.verification = Verification(
                    status="unknown", checked_at=now(), jenkins_url=finding.jenkins_url, user=finding.user,
                    reason="; ".join(problems) or "no user known for this token and none listed by --find-owner")

    def _find_owners(self, findings: list[Finding], plans: dict[int, VerifyPlan]) -> dict[str, Roster]:
        """--find-owner: the tokens no named user proved live are tried for every user of their Jenkins."""
        open_plans = [(f, plans[id(f)]) for f in findings if id(f) in plans
                      and not any(self._results[a].status == "live" for a in plans[id(f)].attempts)]
        rosters = fetch_rosters([u for _, p in open_plans for u in p.urls], self.options)
        extra: dict[Attempt, None] = {}
        for finding, plan in open_plans:
            plan.attempts += owner_attempts(plan, finding.secret, rosters)
            extra.update((a, None) for a in plan.attempts if a not in self._results)
        self._results.update(run_attempts(list(extra), self.options))
        return rosters

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
