"""Verification throughput against the Jenkins test server, and proof the per-host bound holds.

Verifies N unique findings (default 1,000) whose tokens live on the built-in Jenkins test server,
with a fixed server-side latency per request, and counts the requests in flight at once: the
peak must never exceed --per-host. The overall rate limit is shown last (it caps throughput).

    python bench/verify.py [--findings 1000] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import scanner.jenkins.verify as verify_module

from scanner.findings import Finding, Location
from scanner.jenkins.client import HttpSettings
from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from scanner.jenkins.verify import AllowedJenkins, VerifyOptions, verify_findings


def make_findings(server: JenkinsTestServer, count: int) -> list[Finding]:
    users = [f"user{i:02d}" for i in range(20)]
    for user in users:
        server.add_user(user, password="pw")
    findings = []
    for i in range(count):
        user = users[i % len(users)]
        token = server.create_token(user, name=f"t{i}").value
        findings.append(Finding(rule_id="api_token", title="Jenkins API token", severity="high", secret=token,
                                user=user, jenkins_url=server.url,
                                locations=[Location(path=f"f{i}.sh", line=1, column=1, end_column=35)]))
    return findings


class InFlight:
    """Counts who-am-i calls in flight, wrapped around the verifier's real HTTP call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.real = verify_module.who_am_i

    def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003 - passes through to who_am_i
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            return self.real(*args, **kwargs)
        finally:
            with self.lock:
                self.now -= 1


def run(findings: list[Finding], url: str, per_host: int, rate: float) -> tuple[float, int, int]:
    for finding in findings:
        finding.verification = None
    options = VerifyOptions(allowed=[AllowedJenkins.parse(url)], per_host=per_host, rate=rate,
                            http=HttpSettings(timeout=30, retries=0))
    counter = InFlight()
    verify_module.who_am_i = counter
    try:
        start = time.perf_counter()
        verify_findings(findings, {"api_token"}, options)
        elapsed = time.perf_counter() - start
    finally:
        verify_module.who_am_i = counter.real
    live = sum(1 for f in findings if f.verification and f.verification.status == "live")
    return elapsed, live, counter.peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02, help="server-side seconds added per request")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            JenkinsTestServer(Path(tmp) / "home", ServerOptions(usage_statistics_enabled=False)) as server:
        findings = make_findings(server, args.findings)
        server.faults.add_latency(args.latency, prefix="/whoAmI")
        print(f"{args.findings} unique findings, server latency {args.latency * 1000:.0f} ms per who-am-i")
        print(f"{'per-host':>8} {'rate/s':>7} {'seconds':>8} {'findings/s':>10} {'peak in flight':>14} {'live':>6}")
        for per_host, rate in ((1, 10_000), (4, 10_000), (8, 10_000), (4, 100)):
            count = args.findings if rate > 1000 else min(args.findings, 300)
            elapsed, live, peak = run(findings[:count], server.url, per_host, rate)
            print(f"{per_host:>8} {rate:>7g} {elapsed:>8.2f} {count / elapsed:>10.1f} {peak:>14} {live:>6}")
            if peak > per_host:
                raise SystemExit(f"per-host bound broken: {peak} requests in flight with --per-host {per_host}")
        print("peak in flight = most who-am-i requests open at once to the one host; it never exceeds --per-host, "
              "and --rate caps throughput on its own")


if __name__ == "__main__":
    main()
