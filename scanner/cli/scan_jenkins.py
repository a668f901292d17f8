"""``jts scan-jenkins URL``: crawl a Jenkins (items, configs, builds, logs, nodes, views) for credentials."""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from scanner import __version__
from scanner.cli.common import (
    EXIT_ERROR,
    UserError,
    color_option,
    config_option,
    emit,
    fail_on_option,
    finish_summary,
    format_option,
    gate_code,
    output_option,
    rules_option,
    show_secrets_option,
)
from scanner.cli.revoke import revoke_options, scan_revocation_code, start_revocation
from scanner.cli.verify import (
    build_verify_options,
    crawl_credentials,
    crawl_politeness,
    require_verification,
    run_verification,
    verify_options,
    warn,
)

USER_ENV, TOKEN_ENV = "JENKINS_USER_ID", "JENKINS_API_TOKEN"


def since_millis(value: datetime | None) -> int | None:
    if value is None:
        return None
    moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


class CrawlStatus:
    """One status line on stderr (jobs, builds, MB), only when stderr is a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, inventory) -> None:  # noqa: ANN001 - CrawlInventory
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        counts = inventory.counts
        click.echo(f"\rcrawling: {counts['jobs']} jobs, {counts['builds']} builds, "
                   f"{counts['log_bytes'] / 2**20:.1f} MB of logs, {counts['requests']} requests   ",
                   err=True, nl=False)

    def done(self) -> None:
        if self.enabled:
            click.echo("\r" + " " * 90 + "\r", err=True, nl=False)


@click.command("scan-jenkins")
@click.argument("url")
@click.option("--credentials-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help=f"File holding USER:API_TOKEN (or URL USER:API_TOKEN) to crawl with (else ${USER_ENV} and "
                   f"${TOKEN_ENV}; never argv).")
@click.option("--anonymous", is_flag=True, help="Crawl without a credential (what anonymous users may read).")
@click.option("--job", "job_globs", multiple=True, metavar="GLOB",
              help="Only jobs whose full name matches (team/*, */deploy-*; repeatable).")
@click.option("--builds", "max_builds", type=click.IntRange(0, None), default=None,
              help="Only the N most recent builds of each job (default: all).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]),
              default=None, metavar="DATE", help="Only builds started on or after DATE (UTC unless given).")
@click.option("--no-logs", is_flag=True, help="Do not read console logs (configs, parameters, descriptions only).")
@click.option("--max-log-mb", type=click.FloatRange(0.001, 1_000_000), default=100, show_default=True,
              help="Read at most this much of each console log (a warning names the logs cut).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Remember what was scanned (SQLite, as sweeps use): a re-run reads only new builds and changed "
                   "configs.")
@format_option
@output_option
@show_secrets_option
@rules_option
@config_option
@fail_on_option
@click.option("--no-progress", is_flag=True, help="No progress display on stderr.")
@color_option
@click.option("--verify", "do_verify", is_flag=True,
              help="Check found tokens live with who-am-i, at this Jenkins (and --jenkins-url ones).")
@click.option("--revoke", "do_revoke", is_flag=True, help="Revoke live tokens (implies --verify; see --as).")
@verify_options
@revoke_options
def scan_jenkins(url: str, credentials_file: Path | None, anonymous: bool, job_globs: tuple[str, ...],
                 max_builds: int | None, since: datetime | None, no_logs: bool, max_log_mb: float,
                 state_file: Path | None, fmt: str, output: Path | None, show_secrets: bool,
                 rule_dirs: tuple[str, ...], config_file: str | None, fail_on: str | None, no_progress: bool,
                 color: bool | None, do_verify: bool, do_revoke: bool, **verify_params) -> None:
    """Crawl the Jenkins at URL: every job's config.xml, builds (console logs, parameters, descriptions),
    node and view configurations.

    The credential comes from $JENKINS_USER_ID + $JENKINS_API_TOKEN or --credentials-file. Tokens found
    are verified (--verify) only at this Jenkins unless --jenkins-url allows more.
    Exit codes: 0 nothing found, 1 findings (see --fail-on), 2 error or nothing readable.
    """
    from scanner.aggregate import build_findings
    from scanner.detect import DetectorSpec, problem_warnings
    from scanner.excludes import Excludes
    from scanner.findings import Report, ScanStats
    from scanner.jenkins.verify import AllowedJenkins
    from scanner.jenkins_crawl.api import CrawlApi
    from scanner.jenkins_crawl.crawl import CrawlOptions, Crawler, JobMemory
    from scanner.jenkins_crawl.credential import CredentialError
    from scanner.settings_sources import trusted_only

    try:
        root = AllowedJenkins.parse(url).url
    except ValueError as exc:
        raise click.UsageError(f"URL: {exc}") from None
    require_verification(do_verify or do_revoke, verify_params)
    revocation = start_revocation(do_revoke, verify_params)
    try:
        auth = crawl_credentials(credentials_file, anonymous).header_for(root, only_jenkins=True)
    except CredentialError as exc:
        raise UserError(str(exc)) from None
    loaded = trusted_only(config_file, "not read: a Jenkins is not a repository")
    for message in loaded.warnings:
        warn(message)
    settings = loaded.config
    spec = DetectorSpec(extra_rule_dirs=tuple(settings.rules) + tuple(rule_dirs))
    detector = spec.build()
    if verify_params.get("insecure"):
        warn("--insecure: TLS certificates are not checked; a man in the middle could read the crawl credential")
    politeness = crawl_politeness(verify_params)
    options = CrawlOptions(job_globs=job_globs, builds=max_builds, since_ms=since_millis(since), logs=not no_logs,
                           max_log_bytes=int(max_log_mb * 2**20))
    started = time.monotonic()
    state = _open_state(state_file)
    status = CrawlStatus(not no_progress)
    api = CrawlApi(root, auth, politeness)
    try:
        memory = JobMemory() if state is None else _memory(state, root, detector.rules)
        try:
            result = Crawler(api, detector, options, memory, status).run()
        finally:
            status.done()
        if state is None:
            findings = build_findings(result.hits, detector.rules)
            fresh = findings
        else:
            findings, fresh = _findings_with_state(state, root, result, detector.rules)
        if do_verify or revocation:
            verify_params["jenkins_urls"] = (root, *(verify_params.get("jenkins_urls") or ()))
            verify_opts = build_verify_options(settings, verify_params)
            run_verification(fresh, detector.rules, verify_opts)
            if revocation:
                revocation.run(fresh, detector.rules, verify_opts)
            if state is not None:
                state.save_verdicts(fresh)
    finally:
        api.close()
        if state is not None:
            state.close()
    inventory = result.inventory
    stats = ScanStats(files=result.files, bytes=result.bytes, skipped_binary=result.skipped_binary,
                      seconds=round(time.monotonic() - started, 3))
    warnings = list(loaded.warnings) + result.warnings + problem_warnings(result.hits)
    summary = finish_summary(loaded.summary, Excludes(), fail_on)
    report = Report(findings=findings, targets=[root], mode="jenkins", warnings=warnings, errors=result.errors,
                    stats=stats, tool_version=__version__, settings=summary, inventory=inventory)
    emit(report, fmt, output, show_secrets, color)
    code = EXIT_ERROR if result.errors else gate_code(findings, summary)
    click.get_current_context().exit(scan_revocation_code(revocation, code))


def _open_state(path: Path | None):  # noqa: ANN202 - SweepState | None
    if path is None:
        return None
    from scanner.sweep.state import StateError, SweepState

    try:
        return SweepState.open(path)
    except StateError as exc:
        raise UserError(str(exc)) from None


def _memory(state, root: str, rules: list):  # noqa: ANN001, ANN202
    from scanner.jenkins_crawl.memory import StateMemory
    from scanner.sweep.runner import rules_digest

    return StateMemory(state, root, rules_digest(rules))


def _findings_with_state(state, root: str, result, rules: list):  # noqa: ANN001, ANN202
    """Every finding the state knows for this Jenkins (earlier runs redacted, with their verdicts),
    and those whose full secret this run holds (the ones that can be verified now)."""
    from scanner.findings import fingerprint_of
    from scanner.reports.json_report import RedactedFinding
    from scanner.sweep.assemble import assemble_findings

    occurrences = state.jenkins_occurrences(root)  # what this run read is recorded already
    secrets = {fingerprint_of(hit.secret): hit.secret for hit, _location in result.hits}
    findings = assemble_findings(occurrences, secrets, rules, state.verdicts())
    return findings, [f for f in findings if not isinstance(f, RedactedFinding)]
