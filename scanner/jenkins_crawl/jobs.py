"""One job of a crawl, in a worker thread: its config.xml (skipped when its digest is the one the
state remembers), its builds' parameters and descriptions, and their console logs, streamed in a
second pool. Everything read is kept per part (``config``, ``build:<n>``), so the state replaces
only what was read again.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from scanner.detect import Detector, Hit
from scanner.findings import Location
from scanner.jenkins.client import StreamedBody
from scanner.jenkins_crawl import builds as bl
from scanner.jenkins_crawl.api import CrawlApi, denied_reason
from scanner.jenkins_crawl.content import scan_build_fields, scan_config, scan_log
from scanner.jenkins_crawl.inventory import Unreadable
from scanner.jenkins_crawl.items import Item
from scanner.jenkins_crawl.places import display
from scanner.jenkins_home.layout import Kind
from scanner.sources.files import FileScanResult

CONFIG_MAX = 64 * 2**20
Pairs = list[tuple[Hit, Location]]


@dataclass
class CrawlOptions:
    job_globs: tuple[str, ...] = ()
    builds: int | None = None  # the N most recent builds per job; None: all
    since_ms: int | None = None
    logs: bool = True
    max_log_bytes: int = 100 * 2**20


@dataclass
class JobOutcome:
    item: Item
    result: FileScanResult = field(default_factory=FileScanResult)
    parts: dict[str, Pairs] = field(default_factory=dict)  # "config", "build:<n>": what was read now
    counts: dict[str, int] = field(default_factory=dict)
    unreadable: list[Unreadable] = field(default_factory=list)
    config_digest: str | None = None
    last_build: int | None = None
    changed: bool = False


class JobReader:
    def __init__(self, api: CrawlApi, detector: Detector, options: CrawlOptions, log_pool: ThreadPoolExecutor):
        self.api = api
        self.detector = detector
        self.options = options
        self.log_pool = log_pool
        self.base = api.root.split("://", 1)[1]

    def read(self, item: Item, previous: tuple[int | None, str | None]) -> JobOutcome:
        """One job or folder: never raises (a surprise is this job's error, the crawl goes on)."""
        outcome = JobOutcome(item)
        try:
            self._read_job(item, outcome, previous)
        except Exception as exc:  # noqa: BLE001 - an answer of a shape nobody foresaw: this job only
            outcome.unreadable.append(Unreadable(item.full_name, "job", f"not read ({type(exc).__name__})"))
            outcome.last_build, outcome.config_digest = previous
            outcome.result.errors.append(f"{display(self.base, item.path)}: not read ({type(exc).__name__})")
        return outcome

    def _read_job(self, item: Item, outcome: JobOutcome, previous: tuple[int | None, str | None]) -> None:
        counts = outcome.counts
        last_build, digest = previous
        outcome.last_build, outcome.config_digest = last_build, digest
        self._config(item, outcome, digest)
        if not item.folder:
            self._builds(item, outcome, last_build)
        if not outcome.changed:
            counts["jobs_unchanged"] = counts.get("jobs_unchanged", 0) + (not item.folder)
        for pairs in outcome.parts.values():
            for hit, _location in pairs:
                hit.jenkins_url = hit.jenkins_url or self.api.root  # found on this Jenkins: checked only there
        outcome.result.hits = [pair for pairs in outcome.parts.values() for pair in pairs]

    def _config(self, item: Item, outcome: JobOutcome, previous_digest: str | None) -> None:
        answer = self.api.get(f"{item.path}/config.xml", max_body=CONFIG_MAX)
        if answer.status != 200 or answer.error:
            outcome.unreadable.append(Unreadable(item.full_name, "config.xml", denied_reason(answer)))
            return
        digest = hashlib.sha256(answer.body).hexdigest()
        if digest == previous_digest:
            outcome.counts["configs_unchanged"] = outcome.counts.get("configs_unchanged", 0) + 1
            return
        outcome.config_digest, outcome.changed = digest, True
        found = FileScanResult()
        scan_config(self.detector, answer.body, display(self.base, f"{item.path}/config.xml"), Kind.JOB_CONFIG, found)
        outcome.counts["configs"] = outcome.counts.get("configs", 0) + 1
        outcome.parts["config"] = found.hits
        found.hits = []
        outcome.result.merge(found)

    def _builds(self, item: Item, outcome: JobOutcome, after: int | None) -> None:
        options = self.options
        job, answer = self.api.json(item.path, bl.JOB_TREE)
        if job is None:
            outcome.unreadable.append(Unreadable(item.full_name, "builds", denied_reason(answer)))
            return
        newest, bad = bl.parse_builds(job.get("builds"))
        if bl.need_all_builds(newest, bl.first_number(job), after=after, since_ms=options.since_ms,
                              limit=options.builds):
            every, answer = self.api.json(item.path, bl.ALL_TREE)
            if every is None:
                outcome.unreadable.append(Unreadable(item.full_name, "allBuilds",
                                                     f"{denied_reason(answer)}: only the 100 newest builds were read"))
            else:
                newest, bad = bl.parse_builds(every.get("allBuilds"))
        if bad:
            outcome.result.warnings.append(f"{display(self.base, item.path)}: {bad} build entr"
                                           f"{'y' if bad == 1 else 'ies'} not understood (skipped)")
        selection = bl.select(newest, after=after, since_ms=options.since_ms, limit=options.builds)
        counts = outcome.counts
        counts["builds_skipped"] = selection.older_than_known + selection.before_since + selection.beyond_limit
        logs: list[tuple[bl.Build, Future[tuple[FileScanResult, dict[str, int], Unreadable | None, bool]]]] = []
        read: list[int] = []
        unfinished: list[int] = []
        for build in selection.builds:
            outcome.changed = True
            build_path = display(self.base, f"{item.path}/{build.number}")
            found = FileScanResult()
            counts["password_parameters"] = counts.get("password_parameters", 0) + \
                scan_build_fields(self.detector, build, build_path, found)
            counts["parameters"] = counts.get("parameters", 0) + len(build.parameters)
            counts["builds"] = counts.get("builds", 0) + 1
            outcome.parts[f"build:{build.number}"] = found.hits
            found.hits = []
            outcome.result.merge(found)
            if options.logs:
                logs.append((build, self.log_pool.submit(self._log, item, build)))
            elif not build.building:
                read.append(build.number)
            else:
                unfinished.append(build.number)
        for build, future in logs:
            found, log_counts, problem, complete = future.result()
            outcome.parts[f"build:{build.number}"].extend(found.hits)
            found.hits = []
            outcome.result.merge(found)
            for key, value in log_counts.items():
                counts[key] = counts.get(key, 0) + value
            if problem:
                outcome.unreadable.append(problem)
            (read if complete and not build.building else unfinished).append(build.number)
        outcome.last_build = bl.done_through(after, read, unfinished)

    def _log(self, item: Item, build: bl.Build) -> tuple[FileScanResult, dict[str, int], Unreadable | None, bool]:
        """One console log, streamed: (what it found, counts, why it was not read whole, read whole)."""
        try:
            return self._read_log(item, build)
        except Exception as exc:  # noqa: BLE001 - one log's surprise must not end the crawl
            found = FileScanResult(errors=[f"{display(self.base, f'{item.path}/{build.number}/console')}: not read "
                                           f"({type(exc).__name__})"])
            return found, {}, Unreadable(item.full_name, f"log #{build.number}", type(exc).__name__), False

    def _read_log(self, item: Item, build: bl.Build) -> tuple[FileScanResult, dict[str, int], Unreadable | None, bool]:
        found = FileScanResult()
        counts = {"logs": 0, "log_bytes": 0, "logs_truncated": 0}
        where = f"{item.path}/{build.number}"
        with self.api.open_log(f"{where}/logText/progressiveText", "start=0", self.options.max_log_bytes) as body:
            if not isinstance(body, StreamedBody):
                reason = denied_reason(body)
                # a build deleted since the list was read is gone: nothing left to read later either
                return found, counts, Unreadable(item.full_name, f"log #{build.number}", reason), body.status == 404
            scan_log(self.detector, body, display(self.base, f"{where}/console"), found)
            counts["logs"], counts["log_bytes"] = 1, body.received
            if body.truncated:
                counts["logs_truncated"] = 1
                mib = self.options.max_log_bytes / 2**20
                found.warnings.append(f"{display(self.base, where + '/console')}: log larger than {mib:g} MiB "
                                      "(--max-log-mb): the rest was not scanned")
            if body.problem:
                return found, counts, Unreadable(item.full_name, f"log #{build.number}", body.problem), False
            if not build.building and body.headers.get("x-more-data") == "true" and not body.received:
                found.warnings.append(f"{display(self.base, where + '/console')}: Jenkins has no log file for this "
                                      "build")
        return found, counts, None, True
