"""Jenkins instances in a sweep: ``jenkins+https://HOST/ROOT`` targets, crawled as ``scan-jenkins`` does.

A target names the Jenkins root only; its crawl credential comes from the environment or a
credentials file (``jenkins_crawl/credential.py``), never from the target, which is stored in
the state and printed in reports: a target with userinfo is refused. ``jenkins+http://`` is
accepted only for a Jenkins on this machine (a test server), since the crawl credential would
cross the network in clear. The crawl runs in the coordinator (workers never talk to Jenkins)
and keeps its progress in the state's Jenkins tables, so a resumed sweep reads only new builds
and changed configs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from scanner.jenkins.urls import describe
from scanner.sweep.targets import TargetError

if TYPE_CHECKING:
    from scanner.detect import Detector, Hit
    from scanner.findings import Location
    from scanner.jenkins_crawl.api import Politeness
    from scanner.jenkins_crawl.credential import CrawlCredentials
    from scanner.jenkins_crawl.inventory import CrawlInventory
    from scanner.sweep.state import SweepState
    from scanner.sweep.task import RepoOutcome

PREFIX = "jenkins+"
SCHEMES = ("jenkins+https://", "jenkins+http://")
LOOPBACK = ("127.0.0.1", "localhost", "::1")
KIND = "jenkins"  # RepoRow.kind of a Jenkins target


def is_jenkins_target(text: str) -> bool:
    return text.strip().lower().startswith(SCHEMES)


def jenkins_target(text: str) -> str:
    """The target as stored and shown: ``jenkins+`` and the normalised root; ``TargetError`` if unusable."""
    from scanner.jenkins.verify import AllowedJenkins

    url = text.strip()[len(PREFIX):]
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        netloc = ""
    if "@" in netloc:  # never echoed: the userinfo is the secret
        raise TargetError(f"{PREFIX}{describe(url)}: a Jenkins target must not carry credentials (the target is "
                          "stored and shown in reports); give them in $JENKINS_USER_ID and $JENKINS_API_TOKEN or "
                          "--jenkins-credentials-file")
    try:
        allowed = AllowedJenkins.parse(url)
    except ValueError as exc:
        raise TargetError(f"{PREFIX}{exc}") from None
    if allowed.scheme == "http" and allowed.host not in LOOPBACK:
        raise TargetError(f"{PREFIX}{describe(url)}: jenkins+http:// is only for a Jenkins on this machine (the "
                          "crawl credential would cross the network in clear); use jenkins+https://")
    return PREFIX + allowed.url


def root_of(target: str) -> str:
    return target[len(PREFIX):]


@dataclass
class JenkinsCrawl:
    """One Jenkins target's crawl in this run: the state row's facts, what it found, its inventory."""

    key: str
    status: str = "error"  # scanned | error (a RepoOutcome status)
    error: str | None = None
    hits: list[tuple[Hit, Location]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    inventory: CrawlInventory | None = None

    def row(self) -> RepoOutcome:
        """The facts the state's ``repos`` row keeps (occurrences are in the Jenkins tables already)."""
        from scanner.sweep.task import RepoOutcome

        return RepoOutcome(key=self.key, status=self.status, error=self.error, warnings=self.warnings,
                           blobs=self.files, bytes=self.bytes, seconds=self.seconds)


def crawl_target(key: str, state: SweepState, detector: Detector, rules_digest: str, credentials: CrawlCredentials,
                 politeness: Politeness, only_jenkins: bool, rescan: bool) -> JenkinsCrawl:
    """Crawl one Jenkins with its credential, recording each job in the state as it is read."""
    from scanner.errors import JtsError
    from scanner.jenkins_crawl.api import CrawlApi
    from scanner.jenkins_crawl.crawl import CrawlOptions, Crawler
    from scanner.jenkins_crawl.memory import StateMemory

    started = time.monotonic()
    crawl = JenkinsCrawl(key=key)
    root = root_of(key)
    try:
        auth = credentials.header_for(root, only_jenkins)
        api = CrawlApi(root, auth, politeness)
        try:
            result = Crawler(api, detector, CrawlOptions(), StateMemory(state, root, rules_digest, fresh=rescan)).run()
        finally:
            api.close()
    except JtsError as exc:  # no credential for it, or the Jenkins refused it at its root
        crawl.error = str(exc)
    else:
        crawl.status, crawl.inventory, crawl.hits = "scanned", result.inventory, result.hits
        crawl.files, crawl.bytes = result.files, result.bytes
        # warnings already name the Jenkins; content that could not be scanned makes the row incomplete
        crawl.warnings = [w.removeprefix(f"{root}: ") for w in result.warnings] + \
            [f"incomplete: {e}" for e in result.errors]
    crawl.seconds = round(time.monotonic() - started, 3)
    return crawl
