"""``--state FILE``: what earlier crawls of a Jenkins scanned, kept in the sweep's SQLite state.

Per job, the last build scanned and the digest of its config.xml (under the rules digest they were
scanned with: new rules mean everything is read again); per node and view (kept as the "jobs"
``/computer/<name>`` and ``/view/<name>``, names no job has), the digest of its config.xml; per
part (a config, each build), the occurrences found, as fingerprints and redacted forms only. A
re-run scans only new builds and changed configs, and the report still lists what earlier runs found (redacted, with
the verdicts the state remembers).
"""

from __future__ import annotations

from scanner.jenkins_crawl.crawl import JobMemory, JobOutcome, Pairs
from scanner.sweep.state import SweepState


class StateMemory(JobMemory):
    def __init__(self, state: SweepState, jenkins: str, rules: str, fresh: bool = False):
        self.state = state
        self.jenkins = jenkins
        self.rules = rules
        self.fresh = fresh  # sweep --rescan: read everything again, and record it

    def previous(self, job: str) -> tuple[int | None, str | None]:
        return (None, None) if self.fresh else self.state.jenkins_job(self.jenkins, job, self.rules)

    def record(self, outcome: JobOutcome) -> None:
        self.state.record_jenkins_job(self.jenkins, outcome.item.full_name, self.rules, outcome.last_build,
                                      outcome.config_digest, outcome.parts)

    def record_config(self, key: str, digest: str, hits: Pairs) -> None:
        self.state.record_jenkins_job(self.jenkins, key, self.rules, None, digest, {"config": hits})
