"""The sweep coordinator: resolve targets, run per-repository tasks, record, verify, report.

The coordinator is the only place that writes the state, verifies and revokes; tasks (local
processes or Dask workers) only fetch and scan. Secrets live in this process's memory for the
run and are never written to the state.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner import __version__
from scanner.aggregate import build_findings
from scanner.findings import Finding, Report, ScanStats, fingerprint_of
from scanner.reports.inventory_view import inventory_dict
from scanner.sweep.assemble import assemble_findings
from scanner.sweep.executors import Executor, make_executor
from scanner.sweep.jenkins import KIND as JENKINS, crawl_target, is_jenkins_target, jenkins_target, root_of
from scanner.sweep.progress import Counters, SweepProgress, human_bytes
from scanner.sweep.state import Occurrence, RepoRow, SweepState, remembered_dead
from scanner.sweep.targets import (
    RepoTarget,
    TargetError,
    expand_lists,
    is_url,
    has_credentials,
    public_target,
    resolve_targets,
)
from scanner.sweep.task import (
    MAX_BLOB_BYTES,
    RecoverTask,
    RepoOutcome,
    RepoTask,
    recover_secrets,
    scan_repo,
    warm_up,
)

if TYPE_CHECKING:
    from scanner.detect import DetectorSpec
    from scanner.jenkins.verify import VerifyOptions
    from scanner.jenkins_crawl.api import Politeness
    from scanner.jenkins_crawl.credential import CrawlCredentials
    from scanner.jenkins_crawl.inventory import CrawlInventory
    from scanner.rules import Rule



class SweepInterrupted(Exception):
    def __init__(self, done: int, total: int):
        super().__init__(f"sweep interrupted: {done} of {total} repositories finished in this run; "
                         "run the same command again to continue where it stopped")
        self.done, self.total = done, total


@dataclass
class SweepConfig:
    targets: list[str]  # as given: URLs may carry credentials, so these are never stored as given
    state_path: Path
    cache_dir: Path
    spec: DetectorSpec
    jobs: int = 1
    executor: str = "local"
    scheduler: str | None = None
    rescan: bool = False
    verify: VerifyOptions | None = None
    revoke: Callable[[list[Finding], list[Rule]], None] | None = None  # runs after verification
    want_secrets: bool = False  # --show-secrets: read back secrets of earlier runs' findings too
    max_blob_bytes: int = MAX_BLOB_BYTES
    # Jenkins targets: who the crawl logs in as (never from the target) and how hard it may press
    jenkins_credentials: CrawlCredentials | None = None
    politeness: Politeness | None = None


@dataclass
class SweepResult:
    report: Report
    repos: list[RepoRow]
    counters: Counters
    findings: list[Finding] = field(default_factory=list)


def rules_digest(rules: list[Rule]) -> str:
    """Identifies the detection a scan used: results from other rules are not reused."""
    canonical = [repr(replace(r, positive=(), negative=(), source="")) for r in rules]
    return hashlib.sha256("\n".join([__version__, *canonical]).encode()).hexdigest()


def normalize_target(arg: str) -> str:
    """A TARGET as stored: URL without credentials, absolute path, ``@`` + absolute list path,
    ``jenkins+`` + a Jenkins root (``TargetError`` if it carries credentials)."""
    arg = arg.strip()
    if is_jenkins_target(arg):
        return jenkins_target(arg)
    if is_url(arg):
        return public_target(arg)
    if arg.startswith("@"):
        return "@" + str(Path(arg[1:]).expanduser().absolute())
    return str(Path(arg).expanduser().absolute())


def _lost_scan(task: RepoTask, message: str) -> RepoOutcome:
    return RepoOutcome(key=task.repo.key, status="error", error=message)


def _lost_recovery(_task: RecoverTask, _message: str) -> dict[str, str]:
    return {}


def _clean_partial_clones(cache_dir: Path) -> None:
    """Clones cut short by an interruption leave ``*.partial-*`` directories: never reused, so removed."""
    if cache_dir.is_dir():
        for leftover in cache_dir.glob("*.git.partial-*"):
            shutil.rmtree(leftover, ignore_errors=True)


class Sweep:
    """One run of a sweep against its state."""

    def __init__(self, config: SweepConfig, state: SweepState, executor: Executor, progress_enabled: bool,
                 warn: Callable[[str], None]):
        self.config = config
        self.state = state
        self.executor = executor
        self.warn = warn
        self.rules = config.spec.build().rules
        self.digest = rules_digest(self.rules)
        self.secrets: dict[str, str] = {}  # fingerprint -> secret, this run only
        self.seen: set[str] = set()
        self.counters = Counters(total=0)
        self.progress = SweepProgress(self.counters, enabled=progress_enabled)
        self.inventories: list[CrawlInventory] = []  # this run's Jenkins crawls
        # tokens proven dead or revoked by an earlier run: their verdicts stand where they were proven
        self.settled = remembered_dead(state.verdicts())
        self.verifier = None
        if config.verify is not None:
            from scanner.sweep.verifying import SweepVerifier

            self.verifier = SweepVerifier(config.verify, {r.id for r in self.rules if r.verifiable},
                                          self._warn_clear, self.settled)

    def _warn_clear(self, message: str) -> None:
        self.progress.clear()
        self.warn(message)

    # ------------------------------------------------------------------ scanning

    def resolve(self) -> tuple[list[RepoTarget], list[str], list[str]]:
        """This run's repositories and Jenkins targets (the TARGETs given now plus every target stored by
        earlier runs), and warnings."""
        given = [normalize_target(t) for t in self.config.targets]
        # paths absolute (resolvable from any cwd), URLs as given so their credentials can be used now
        raw = [t if is_url(t) else normalize_target(t) for t in self.config.targets]
        expand_lists(raw)  # a bad @list given now is an error before anything is stored
        warnings: list[str] = []
        for stored in self.state.targets():
            if stored in given:
                continue
            try:
                expand_lists([stored])
            except TargetError as exc:  # e.g. a list file deleted since: the rest of the sweep goes on
                warnings.append(f"stored target skipped: {exc}")
                continue
            raw.append(stored)
        resolved = resolve_targets(raw, self.config.cache_dir)
        repos = [self._with_credentials_rule(r, given) for r in resolved.repos]
        self.state.add_targets(given)
        self.state.register(repos + [RepoTarget(key=k, kind=JENKINS, source=k, target=k) for k in resolved.jenkins])
        if self.config.verify is not None:
            self._allow_crawled(resolved.jenkins)
        return repos, resolved.jenkins, warnings + resolved.warnings

    def _allow_crawled(self, jenkins: list[str]) -> None:
        """A token found on a Jenkins is checked there (as scan-jenkins does): its root joins the ``found_on``
        Jenkins of this run's verification and revocation options (one object, shared with both).

        Not ``allowed``: that would send tokens that name no Jenkins, and the admin credential, to every
        crawled Jenkins; those go only to a --jenkins-url Jenkins.
        """
        from scanner.jenkins.verify import AllowedJenkins

        options = self.config.verify  # checked by the caller
        assert options is not None
        known = {a.url for a in (*options.allowed, *options.found_on)}
        options.found_on.extend(AllowedJenkins.parse(root_of(k)) for k in jenkins if root_of(k) not in known)

    def _with_credentials_rule(self, repo: RepoTarget, given: list[str]) -> RepoTarget:
        """A URL first swept with credentials is fetched with them or not at all.

        Credentials are never stored, so a resumed run only knows the URL without them; fetching
        that would authenticate as someone else (or anonymously) and call the result current.
        """
        if repo.kind != "url":
            return repo
        flag = f"credentials:{repo.key}"
        if has_credentials(repo.source):
            self.state.set_meta(flag, "1")
        elif repo.target in given:
            self.state.delete_meta(flag)  # given again, as the user wants it now
        elif self.state.get_meta(flag):
            return replace(repo, problem="first swept with credentials in the URL, which are never stored: "
                                         "give the URL with them again to refresh it")
        return repo

    def scan(self, repos: list[RepoTarget]) -> None:
        tasks = [RepoTask(repo=r, spec=self.config.spec, cache_dir=str(self.config.cache_dir),
                          previous_tips=None if self.config.rescan else self.state.previous_tips(r.key, self.digest),
                          max_blob_bytes=self.config.max_blob_bytes) for r in repos]
        self.counters.total = len(tasks)
        started = (lambda t: self.state.mark_running([t.repo.key])) if self.config.executor == "local" else None
        for outcome in self.executor.run(scan_repo, tasks, _lost_scan, started):
            self._record(outcome)

    def crawl(self, jenkins: list[str]) -> None:
        """Crawl each Jenkins target here, in the coordinator: workers never talk to Jenkins."""
        from scanner.jenkins_crawl.api import Politeness
        from scanner.jenkins_crawl.credential import CrawlCredentials

        if not jenkins:
            return
        self.counters.total += len(jenkins)
        detector = self.config.spec.build()
        credentials = self.config.jenkins_credentials or CrawlCredentials()
        for key in jenkins:
            self.state.mark_running([key])
            self.progress.message(f"sweep: crawling {key}")
            crawl = crawl_target(key, self.state, detector, self.digest, credentials,
                                 self.config.politeness or Politeness(), len(jenkins) == 1, self.config.rescan)
            if crawl.inventory is not None:
                self.inventories.append(crawl.inventory)
            self._record(crawl.row(), crawl.hits)

    def _record(self, outcome: RepoOutcome, crawled: list | None = None) -> None:
        """``crawled``: a Jenkins target's hits (stored per job by the crawl, so not in ``outcome.hits``)."""
        self.state.record(outcome, self.digest)
        found_here = outcome.hits if crawled is None else crawled
        c = self.counters
        c.done += 1
        if outcome.status == "error":
            c.failed += 1
            detail = f": {outcome.error}"
        elif outcome.status == "unchanged":
            c.unchanged += 1
            self.seen.update(self.state.fingerprints(outcome.key))
            detail = " (ref tips unchanged since the last scan)"
        else:
            c.scanned += 1
            c.bytes += outcome.bytes
            for hit, _loc in found_here:
                fp = fingerprint_of(hit.secret)
                self.secrets[fp] = hit.secret
                self.seen.add(fp)
            if self.verifier and found_here:
                self.verifier.submit(build_findings(found_here, self.rules))
            found = len({fingerprint_of(h.secret) for h, _ in found_here})
            detail = f", {human_bytes(outcome.bytes)}, {found} secret{'s' if found != 1 else ''}"
        c.findings = len(self.seen)
        c.live = self.verifier.live if self.verifier else 0
        self.progress.repo_done(outcome.key, outcome.status, detail)

    # ------------------------------------------------------------------ after scanning

    def recover(self, occurrences: list[Occurrence], repos: dict[str, RepoTarget]) -> None:
        """Read back secrets this run did not see (repositories skipped as unchanged) from their blobs."""
        missing = {o.fingerprint for o in occurrences} - set(self.secrets)
        for first_round in (True, False):
            if not missing:
                return
            wanted: dict[str, dict[str, str]] = {}  # repo -> {blob: path}
            chosen: set[str] = set()
            for occ in occurrences:
                if occ.fingerprint not in missing or not occ.location.blob or occ.repo not in repos:
                    continue
                if first_round and occ.fingerprint in chosen:
                    continue
                chosen.add(occ.fingerprint)
                wanted.setdefault(occ.repo, {})[occ.location.blob] = occ.location.path
            tasks = [RecoverTask(repo=repos[key], spec=self.config.spec, cache_dir=str(self.config.cache_dir),
                                 blobs=tuple(blobs.items()), wanted=frozenset(missing))
                     for key, blobs in wanted.items()]
            if not tasks:
                return
            self.progress.message(f"sweep: reading back {len(missing)} secret(s) found in earlier runs "
                                  f"from {len(tasks)} repositor{'y' if len(tasks) == 1 else 'ies'}")
            for found in self.executor.run(recover_secrets, tasks, _lost_recovery):
                self.secrets.update(found)
            missing -= set(self.secrets)

    def finish(self, repos: list[RepoTarget], target_warnings: list[str], seconds: float) -> SweepResult:
        rows = self.state.repos()
        keys = [r.key for r in rows]
        occurrences = self.state.occurrences(keys)
        crawled = [o for r in rows if r.kind == JENKINS for o in self.state.jenkins_occurrences(root_of(r.key))]
        cfg = self.config
        if cfg.verify is not None or cfg.revoke is not None or cfg.want_secrets:
            known = {r.key: r for r in repos}
            for row in rows:  # repositories of earlier runs that this run did not resolve again
                known.setdefault(row.key, RepoTarget(key=row.key, kind=row.kind, source=row.key, target=row.target))
            self.recover(occurrences, known)
        self.state.learn(self.secrets.values())  # read back from blobs: rows of earlier runs are scrubbed of them too
        findings = assemble_findings(occurrences + crawled, self.secrets, self.rules, self.state.verdicts())
        if self.verifier is not None:
            self.progress.message(f"sweep: verifying {sum(f.rule_id in self.verifier.verifiable for f in findings)} "
                                  "token(s)")
            self.verifier.finish(findings)
            for finding in findings:  # a dead verdict checked again: its old revocation outcome is stale
                if ((finding.rule_id, finding.fingerprint) in self.settled
                        and (finding.rule_id, finding.fingerprint) not in self.verifier.kept
                        and finding.revocation is not None and finding.revocation.status == "already_invalid"):
                    finding.revocation = None
        kept = self.verifier.kept if self.verifier is not None else set(self.settled)
        if cfg.revoke is not None:
            self.progress.clear()
            cfg.revoke([f for f in findings if (f.rule_id, f.fingerprint) not in kept], self.rules)
        self.state.save_verdicts(findings)
        self.counters.live = sum(1 for f in findings if f.verification and f.verification.status == "live")
        return SweepResult(report=self._report(rows, findings, target_warnings, seconds), repos=rows,
                           counters=self.counters, findings=findings)

    def _report(self, rows: list[RepoRow], findings: list[Finding], target_warnings: list[str],
                seconds: float) -> Report:
        per_repo: dict[str, int] = {}
        jenkins_places = {f"jenkins://{root_of(r.key).split('://', 1)[1]}/": r.key for r in rows if r.kind == JENKINS}
        for finding in findings:
            for repo in {loc.repo or _crawled_key(loc.path, jenkins_places) for loc in finding.locations}:
                per_repo[repo] = per_repo.get(repo, 0) + 1
        warnings = list(target_warnings)
        for row in rows:
            if row.status == "error":
                warnings.append(f"{row.key}: not scanned: {row.error}")
            warnings.extend(f"{row.key}: {w}" for w in row.warnings)
        stats = ScanStats(blobs=sum(r.blobs for r in rows), bytes=sum(r.bytes for r in rows),
                          skipped_large=sum(r.skipped_large for r in rows),
                          skipped_binary=sum(r.skipped_binary for r in rows), seconds=round(seconds, 3))
        counts: dict[str, int] = {"repositories": sum(r.kind != JENKINS for r in rows),
                                  "jenkins": sum(r.kind == JENKINS for r in rows)}
        for status in ("done", "error", "pending", "running"):
            counts[status] = sum(r.status == status for r in rows)
        counts["scanned_this_run"] = self.counters.scanned
        counts["unchanged_this_run"] = self.counters.unchanged
        repository: dict[str, Any] = {
            "kind": "sweep",
            "state": str(self.state.path),
            "counts": counts,
            "repositories": [{
                "repo": r.key, "kind": r.kind, "target": r.target, "status": r.status, "head": r.head,
                "bare": r.bare, "shallow": r.shallow, "blobs": r.blobs, "bytes": r.bytes, "scans": r.scans,
                "findings": per_repo.get(r.key, 0), "error": r.error, "scanned_at": r.updated_at,
            } for r in rows],
            "jenkins": [inventory_dict(inventory, show_secrets=False) for inventory in self.inventories],
        }
        return Report(findings=findings, targets=self.state.targets(), mode="sweep", warnings=warnings,
                      stats=stats, repository=repository, tool_version=__version__)


def _crawled_key(path: str, jenkins_places: dict[str, str]) -> str:
    """The Jenkins target a ``jenkins://`` location belongs to ("" for none)."""
    return next((key for prefix, key in jenkins_places.items() if path.startswith(prefix)), "")


def run_sweep(config: SweepConfig, *, progress_enabled: bool = True,
              warn: Callable[[str], None] = lambda _m: None) -> SweepResult:
    """Run (or continue) the sweep kept in ``config.state_path``; Ctrl-C raises ``SweepInterrupted``."""
    started = time.monotonic()
    with SweepState.open(config.state_path, continuing=not config.targets) as state:
        state.begin_run()
        state.reset_running()
        if config.executor == "local":
            _clean_partial_clones(config.cache_dir)
        executor = make_executor(config.executor, config.jobs, config.scheduler,
                                 functools.partial(warm_up, config.spec), close_fds=(state.lock_fd,))
        sweep = Sweep(config, state, executor, progress_enabled, warn)
        try:
            repos, jenkins, target_warnings = sweep.resolve()
            sweep.scan(repos)
            sweep.crawl(jenkins)
            sweep.progress.clear()
            result = sweep.finish(repos, target_warnings, time.monotonic() - started)
        except KeyboardInterrupt:
            sweep.progress.clear()
            state.reset_running()
            state.end_run("interrupted")
            raise SweepInterrupted(sweep.counters.done, sweep.counters.total) from None
        finally:
            if sweep.verifier is not None:
                sweep.verifier.close()
            executor.close()
        state.end_run("finished")
        return result
