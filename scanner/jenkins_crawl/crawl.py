"""The crawl: every item, its config, its builds (parameters, description, console log), nodes, views.

The main thread walks the items and hands each job to a pool (``jobs.py`` reads one job); a
job's logs go to a second pool,
and ``CrawlApi`` keeps at most ``per_host`` requests in flight whatever the pools hold. Jobs are
recorded (in the state, when there is one) in the order they were walked, one transaction each,
so an interrupted crawl loses only the jobs in flight. What the credential may not read is
recorded with the reason (``Unreadable``, and a warning) and the crawl goes on; only a Jenkins
that refuses the credential at its root ends it (``CrawlRefused``).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatchcase

from scanner.detect import Detector
from scanner.errors import JtsError
from scanner.jenkins_crawl.api import CrawlApi, denied_reason
from scanner.jenkins_crawl.content import scan_config
from scanner.jenkins_crawl.inventory import CrawlInventory, Unreadable
from scanner.jenkins_crawl.items import Item, Refused, tree_query, walk_items
from scanner.jenkins_crawl.jobs import CONFIG_MAX, CrawlOptions, JobOutcome, JobReader, Pairs
from scanner.jenkins_crawl.places import display, raw_encode
from scanner.jenkins_home.layout import Kind
from scanner.sources.files import FileScanResult

__all__ = ["CrawlOptions", "CrawlRefused", "CrawlResult", "Crawler", "JobMemory", "JobOutcome", "Pairs"]

ALL_VIEW = "hudson.model.AllView"  # the built-in view: no configuration of its own worth a request
BUILT_IN_NODES = ("hudson.model.Hudson$MasterComputer", "jenkins.model.Jenkins$MasterComputer")


class CrawlRefused(JtsError):
    """Nothing of the Jenkins could be read: the credential was refused at its root, or it is no Jenkins."""


class JobMemory:
    """What earlier runs scanned, per job, node and view (the sweep state's jenkins tables); a
    None-object when there is no --state."""

    def previous(self, job: str) -> tuple[int | None, str | None]:
        return None, None

    def record(self, outcome: JobOutcome) -> None:
        return None

    def record_config(self, key: str, digest: str, hits: Pairs) -> None:
        """A node's or view's config (``key`` ``/computer/<name>``, ``/view/<name>``) and what it held."""
        return None


@dataclass
class CrawlResult(FileScanResult):
    inventory: CrawlInventory | None = None


class Crawler:
    def __init__(self, api: CrawlApi, detector: Detector, options: CrawlOptions, memory: JobMemory,
                 progress: Callable[[CrawlInventory], None] | None = None):
        self.api = api
        self.detector = detector
        self.options = options
        self.memory = memory
        self.progress = progress or (lambda inventory: None)
        self.base = api.root.split("://", 1)[1]
        self.inventory = CrawlInventory(url=api.root)
        self.result = CrawlResult(inventory=self.inventory)
        workers = max(1, api.politeness.per_host)
        self.job_pool = ThreadPoolExecutor(workers, thread_name_prefix="jts-job")
        self.log_pool = ThreadPoolExecutor(workers, thread_name_prefix="jts-log")
        self.reader = JobReader(api, detector, options, self.log_pool)

    # -- the whole crawl ------------------------------------------------------------------------

    def run(self) -> CrawlResult:
        try:
            root = self._root()
            self._items(root)
            self._nodes()
            self._views(root)
        finally:
            # Ctrl-C: what is queued is dropped; recorded jobs stay recorded
            self.job_pool.shutdown(wait=False, cancel_futures=True)
            self.log_pool.shutdown(wait=False, cancel_futures=True)
        self.inventory.counts["requests"] = self.api.counters.requests
        self.inventory.counts["unreadable"] = len(self.inventory.unreadable)
        return self.result

    def _root(self) -> dict:
        data, answer = self.api.json("", tree_query() + ",views[name]")
        where = self.api.root
        if answer.status == 401:
            raise CrawlRefused(f"{where}: the crawl credential was rejected (HTTP 401): check JENKINS_USER_ID and "
                               "JENKINS_API_TOKEN (or --credentials-file)")
        if answer.status == 403:
            raise CrawlRefused(f"{where}: HTTP 403 at the root: the crawl credential lacks Overall/Read, nothing "
                               "can be read")
        if data is None:
            raise CrawlRefused(f"{where}: not a Jenkins answer at {where}/api/json: {denied_reason(answer)}"
                               + (" (the answer is not a JSON object)" if answer.status == 200 and not answer.error
                                  else ""))
        version = answer.headers.get("x-jenkins", "").strip()
        self.inventory.version = version[:40] or None
        if not version:
            self.result.warnings.append(f"{where}: the answer has no X-Jenkins header: is this a Jenkins?")
        return data

    def _refused(self, problem: Refused) -> None:
        self._unreadable(Unreadable(problem.full_name, "listing", problem.reason))

    def _unreadable(self, entry: Unreadable) -> None:
        self.inventory.unreadable.append(entry)
        self.result.warnings.append(f"{self.api.root}: {entry.label}: {entry.what}: {entry.reason}")

    def _wanted(self, item: Item) -> bool:
        globs = self.options.job_globs
        return not globs or any(fnmatchcase(item.full_name, g) for g in globs)

    def _items(self, root: dict) -> None:
        window: deque[Future[JobOutcome]] = deque()
        limit = 2 * max(1, self.api.politeness.per_host)
        for item in walk_items(self.api, self._refused, first=root):
            self.inventory.counts["items"] += 1
            self.inventory.counts["folders" if item.folder else "jobs"] += 1
            if not self._wanted(item):
                continue
            # the state is read here, in the thread that owns its connection
            window.append(self.job_pool.submit(self.reader.read, item, self.memory.previous(item.full_name)))
            while len(window) >= limit:
                self._finish(window.popleft().result())
        while window:
            self._finish(window.popleft().result())

    def _finish(self, outcome: JobOutcome) -> None:
        self.memory.record(outcome)  # one transaction per job: Ctrl-C and crash safe
        self.result.merge(outcome.result)
        for key, value in outcome.counts.items():
            self.inventory.counts[key] = self.inventory.counts.get(key, 0) + value
        for entry in outcome.unreadable:
            self._unreadable(entry)
        self.progress(self.inventory)

    # -- nodes and views -----------------------------------------------------------------------

    def _nodes(self) -> None:
        data, answer = self.api.json("computer", "computer[displayName]")
        if data is None:
            self._unreadable(Unreadable("", "node list", denied_reason(answer)))
            return
        computers = data.get("computer")
        for computer in computers if isinstance(computers, list) else []:
            name = computer.get("displayName") if isinstance(computer, dict) else None
            if not isinstance(name, str) or not name or computer.get("_class") in BUILT_IN_NODES or \
                    name in ("master", "Built-In Node", "(built-in)"):
                continue
            self._other_config(f"computer/{raw_encode(name[:200])}/config.xml", f"node {name[:200]}",
                               Kind.NODE_CONFIG, "nodes")

    def _views(self, root: dict) -> None:
        views = root.get("views")
        for view in views if isinstance(views, list) else []:
            name = view.get("name") if isinstance(view, dict) else None
            if isinstance(name, str) and name and view.get("_class") != ALL_VIEW:
                self._other_config(f"view/{raw_encode(name[:200])}/config.xml", f"view {name[:200]}",
                                   Kind.JOB_CONFIG, "views")

    def _other_config(self, path: str, name: str, kind: Kind, counter: str) -> None:
        """A node's or view's config.xml; scanned again only when its digest differs from the state's."""
        answer = self.api.get(path, max_body=CONFIG_MAX)
        if answer.status != 200 or answer.error:
            self._unreadable(Unreadable(name, "config.xml", denied_reason(answer)))
            return
        self.inventory.counts[counter] += 1
        key = f"/{path.rsplit('/', 1)[0]}"  # "/computer/<name>": no job's full name starts with "/"
        digest = hashlib.sha256(answer.body).hexdigest()
        if digest == self.memory.previous(key)[1]:
            self.inventory.counts["configs_unchanged"] += 1
            return
        found = FileScanResult()
        scan_config(self.detector, answer.body, display(self.base, path), kind, found)
        for hit, _location in found.hits:
            hit.jenkins_url = hit.jenkins_url or self.api.root
        self.memory.record_config(key, digest, found.hits)
        self.result.merge(found)
