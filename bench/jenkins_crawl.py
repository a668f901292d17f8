"""Crawl throughput of ``jts scan-jenkins`` against the Jenkins test server (not a timed test).

Builds a Jenkins of N builds (default 1,000; ``--builds 10000`` for the issue's figure) of ~100 KB
console logs (with console notes) over 20 jobs in 2 folders, sets a fixed server-side latency per
request (default 20 ms), and crawls it with the whole CLI at ``--per-host`` 1, 4 and 8, printing
MB/s of logs and requests/s. The server runs in another process so the crawler has its own core.

    python bench/jenkins_crawl.py [--builds 1000] [--log-kb 100] [--latency-ms 20] [--per-host 1 4 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVE = """
import sys, time
from pathlib import Path
from scanner.jenkins.server import JenkinsTestServer, ServerOptions
home, builds, log_kb, latency = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
server = JenkinsTestServer(home, ServerOptions(version="2.578", latency_ms=latency)).start()
server.add_user("crawler", password="pw", admin=True)
c = server.content
jobs = [f"folder-{i % 2}/job-{i:02d}" for i in range(20)]
line = "+ make test  # " + "x" * 84 + "\\n"
log = "Started by timer\\n" + line * (log_kb * 1024 // len(line)) + "Finished: SUCCESS\\n"
for job in jobs:
    c.add_job(job, shell="make test")
for n in range(builds):
    c.add_build(jobs[n % len(jobs)], n // len(jobs) + 1, log)
print(server.url, server.create_token("crawler", "bench").value, flush=True)
sys.stdin.read()  # until the bench closes it
server.stop()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builds", type=int, default=1000)
    parser.add_argument("--log-kb", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--per-host", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        server = subprocess.Popen([sys.executable, "-c", SERVE, str(Path(tmp) / "home"), str(args.builds),
                                   str(args.log_kb), str(args.latency_ms)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert server.stdout is not None
            url, token = server.stdout.readline().split()
            print(f"{args.builds} builds of {args.log_kb} KB, {args.latency_ms} ms latency "
                  f"(home written in {time.monotonic() - started:.1f} s)")
            print(f"{'per-host':>8} {'seconds':>8} {'requests':>9} {'req/s':>7} {'MB of logs':>10} {'MB/s':>6}")
            for per_host in args.per_host:
                crawl_env = {**env, "JENKINS_USER_ID": "crawler", "JENKINS_API_TOKEN": token}
                begin = time.monotonic()
                done = subprocess.run([sys.executable, "-m", "scanner", "scan-jenkins", url, "--no-progress",
                                       "-f", "json", "--per-host", str(per_host), "--rate", "10000"],
                                      capture_output=True, text=True, env=crawl_env)
                seconds = time.monotonic() - begin
                if done.returncode not in (0, 1):
                    raise SystemExit(f"crawl failed ({done.returncode}): {done.stderr[-500:]}")
                counts = json.loads(done.stdout)["inventory"]["counts"]
                megabytes = counts["log_bytes"] / 2**20
                print(f"{per_host:>8} {seconds:>8.1f} {counts['requests']:>9} {counts['requests'] / seconds:>7.1f} "
                      f"{megabytes:>10.1f} {megabytes / seconds:>6.1f}")
        finally:
            if server.stdin:
                server.stdin.close()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
