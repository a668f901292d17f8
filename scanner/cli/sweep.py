"""`jts sweep TARGET...`: every repository, all history, resumable, verified and revoked once per token."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from scanner.cli.common import (
    color_option,
    config_option,
    fail_on_option,
    output_option,
    rules_option,
    save_report,
    show_secrets_option,
)
from scanner.cli.revoke import revoke_options, scan_revocation_code, start_revocation
from scanner.cli.verify import (
    build_verify_options,
    crawl_credentials,
    crawl_politeness,
    require_verification,
    verify_options,
    warn,
)

DEFAULT_STATE = "jts-sweep.sqlite"
EXIT_INTERRUPTED = 130
FORMATS = ("text", "json", "jsonl", "sarif", "html")


def _sigterm_as_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # a shutdown or `kill` stops the sweep as cleanly as Ctrl-C does


@click.command("sweep")
@click.argument("targets", nargs=-1)
@click.option("--state", "state_file", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_STATE,
              show_default=True, help="Sweep state (SQLite). Rerun with the same file to resume.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where URL targets are mirrored (default: STATE.mirrors/ next to the state file).")
@click.option("--jobs", "-j", type=click.IntRange(0, 256), default=None,
              help="Repositories scanned at once (0 = all cores; default from settings, else all cores).")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: a process pool on this machine; dask: tasks on a Dask cluster (see --scheduler).")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address for --executor dask, e.g. tcp://host:8786.")
@click.option("--jenkins", "jenkins_urls_to_crawl", multiple=True, metavar="URL",
              help="Also crawl this Jenkins as scan-jenkins does (same as TARGET jenkins+URL; repeatable).")
@click.option("--jenkins-credentials-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Crawl credentials: lines 'URL USER:API_TOKEN' (or one 'USER:API_TOKEN' when one Jenkins is "
                   "swept); else $JENKINS_USER_ID and $JENKINS_API_TOKEN; never argv.")
@click.option("--rescan", is_flag=True,
              help="Scan every repository again, even when its ref tips have not moved (and every Jenkins build).")
@click.option("--max-blob-mb", type=click.IntRange(1, 1_000_000), default=50, show_default=True,
              help="Skip (and warn about) blobs larger than this.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@output_option
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the self-contained HTML report to FILE.")
@show_secrets_option
@rules_option
@config_option
@fail_on_option
@click.option("--no-progress", is_flag=True, help="No progress display or per-repository log lines on stderr.")
@color_option
@click.option("--verify", "do_verify", is_flag=True, help="Check every unique token live with who-am-i, once.")
@click.option("--revoke", "do_revoke", is_flag=True, help="Revoke live tokens once each (implies --verify; see --as).")
@verify_options
@revoke_options
def sweep_cmd(targets: tuple[str, ...], state_file: Path, cache_dir: Path | None, jobs: int | None, executor: str,
              scheduler: str | None, jenkins_urls_to_crawl: tuple[str, ...], jenkins_credentials_file: Path | None,
              rescan: bool, max_blob_mb: int, fmt: str, output: Path | None, html_file: Path | None,
              show_secrets: bool, rule_dirs: tuple[str, ...], config_file: str | None, fail_on: str | None,
              no_progress: bool, color: bool | None, do_verify: bool, do_revoke: bool, **params) -> None:
    """Sweep many repositories' full history: paths, directories of repositories, git URLs, @lists.

    TARGET is a repository (work tree or bare), a directory searched recursively for
    repositories, a git URL (cloned as a bare mirror into --cache-dir; file:// works offline) or
    @FILE with one target per line, or a Jenkins as jenkins+https://HOST/ (crawled as scan-jenkins
    does, with the credential from the environment or --jenkins-credentials-file). Without TARGET,
    the sweep in --state is continued.
    Interrupted sweeps resume where they stopped; a repository whose ref tips did not move is not
    scanned again. Exit codes: 0 nothing found, 1 findings (see --fail-on), 2 error (also: nothing
    found but some repositories could not be scanned), 130 interrupted.
    """
    from scanner.cli.common import EXIT_ERROR, UserError, emit, exit_code, finish_summary
    from scanner.excludes import Excludes
    from scanner.settings_sources import trusted_only
    from scanner.detect import DetectorSpec
    from scanner.sweep.executors import ExecutorError
    from scanner.sweep.runner import SweepConfig, SweepInterrupted, run_sweep
    from scanner.sweep.state import StateError
    from scanner.sweep.targets import TargetError

    if executor == "dask" and not scheduler:
        raise click.UsageError("--executor dask needs --scheduler ADDRESS (e.g. tcp://scheduler:8786)")
    if scheduler and executor != "dask":
        raise click.UsageError("--scheduler only makes sense with --executor dask")
    targets = targets + tuple(url if url.lower().startswith("jenkins+") else f"jenkins+{url}"
                              for url in jenkins_urls_to_crawl)
    if not targets and not state_file.exists():
        raise click.UsageError("give at least one TARGET (or --state of an earlier sweep to continue it)")
    require_verification(do_verify or do_revoke, params)
    revocation = start_revocation(do_revoke, params)
    # Repositories swept are content, never settings: only the user's file and --config are read.
    loaded = trusted_only(config_file, "not read: jts sweep reads no repository settings")
    settings = loaded.config
    for message in loaded.warnings:
        warn(message)
    if settings.exclude:
        warn(f"exclude ({loaded.summary.exclude[0].source}): not applied by jts sweep, which scans every blob")
        loaded.summary.exclude = []
    verify_opts = build_verify_options(settings, params) if (do_verify or revocation) else None
    job_count = jobs if jobs is not None else settings.jobs
    config = SweepConfig(
        targets=list(targets), state_path=state_file,
        cache_dir=cache_dir or state_file.with_name(state_file.name + ".mirrors"),
        spec=DetectorSpec(extra_rule_dirs=tuple(settings.rules) + tuple(rule_dirs)),
        jobs=job_count if job_count > 0 else (os.cpu_count() or 1), executor=executor, scheduler=scheduler,
        rescan=rescan, verify=verify_opts,
        revoke=(lambda found, rules: revocation.run(found, rules, verify_opts)) if revocation else None,
        want_secrets=show_secrets, max_blob_bytes=max_blob_mb * 2**20,
        jenkins_credentials=crawl_credentials(jenkins_credentials_file), politeness=crawl_politeness(params))
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        result = run_sweep(config, progress_enabled=not no_progress, warn=warn)
    except SweepInterrupted as exc:
        click.echo(f"jts: {exc}", err=True)
        click.get_current_context().exit(EXIT_INTERRUPTED)
    except (StateError, TargetError, ExecutorError) as exc:
        raise UserError(str(exc)) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    report = result.report
    report.settings = finish_summary(loaded.summary, Excludes(), fail_on, unit="locations")
    # 0600 like the state: a sweep's report maps every leak it found, and which tokens are live
    if html_file:
        from scanner.sweep.html_report import render_html

        save_report(html_file, render_html(report, show_secrets=show_secrets), private=True)
    if fmt == "html":
        from scanner.reports import secret_scrubber
        from scanner.sweep.html_report import render_html

        redact_known = secret_scrubber(report, show_secrets=False)
        for warning in report.warnings:
            warn(redact_known(warning))
        text = render_html(report, show_secrets=show_secrets)
        if output:
            save_report(output, text, private=True)
        else:
            click.echo(text, nl=False)
    else:
        emit(report, fmt, output, show_secrets, color, private=True)
    counts = result.counters
    if not no_progress:
        failed = sum(r.status == "error" for r in result.repos)
        click.echo(f"jts: sweep finished: {len(result.repos)} repositories ({counts.scanned} scanned, "
                   f"{counts.unchanged} unchanged, {failed} failed), {len(report.findings)} unique secret(s), "
                   f"{counts.live} live; state in {state_file}", err=True)
    code = exit_code(report.findings, report.settings.fail_on)
    if code == 0 and any(r.status == "error" for r in result.repos):
        code = EXIT_ERROR  # "nothing found" is not a clean bill when some repositories were never read
    click.get_current_context().exit(scan_revocation_code(revocation, code))
