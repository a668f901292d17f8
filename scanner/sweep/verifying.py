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
from scanner.jenkins.verify import (
    Attempt,
    VerifyOptions,
    candidate_urls,
    candidate_users,
    combine,
    run_attempts,
)
from scanner.reports import has_full_secret
from scanner.sweep.state import now


class SweepVerifier:
    def __init__(self, options: VerifyOptions, verifiable: set[str], warn: Callable[[str], None],
                 settled: set[tuple[str, str]] | None = None):
        self.options = options
        self.verifiable = verifiable
        self.settled = settled or set()  # (rule, fingerprint) proven dead or revoked before: not sent again
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
        if finding.rule_id not in self.verifiable or (finding.rule_id, finding.fingerprint) in self.settled:
            return [], None
        if not has_full_secret(finding):
            return [], Verification(status="unknown", checked_at=now(), jenkins_url=finding.jenkins_url,
                                    user=finding.user,
                                    reason="the secret could not be read back from the repository")
        urls, reason = candidate_urls(finding, self.options, self._warn_once)
        users = candidate_users(finding, self.options)
        if not urls or not users:
            return [], Verification(status="unknown", checked_at=now(), jenkins_url=finding.jenkins_url,
                                    user=finding.user,
                                    reason=reason or "no user known for this token (give --user, or --guess-users)")
        return [Attempt(u, user, finding.secret, named) for u in urls for user, named in users], None

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
        for finding in findings:
            attempts, verdict = self.plan(finding)
            if verdict is not None:
                finding.verification = verdict
            elif attempts:  # copies: combine() may rewrite a reason, and attempts are shared
                finding.verification = combine([replace(self._results[a]) for a in attempts],
                                               [a.user_named for a in attempts])

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
