"""Command line: parse options, run the stages, pick the report. No detection logic lives here."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from scanner import __version__
from scanner.cli_options import (
    color_option,
    config_option,
    fail_on_option,
    format_option,
    no_repo_config_option,
    output_option,
    rules_option,
    show_secrets_option,
)
from scanner.cli_revoke import (
    revoke_cmd,
    revoke_options,
    scan_revocation_code,
    start_revocation,
)
from scanner.cli_verify import (
    build_verify_options,
    check_cmd,
    require_verification,
    run_verification,
    verify_cmd,
    verify_options,
)

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UserError(click.ClickException):
    """An expected failure: one line on stderr, exit 2, never a traceback."""

    exit_code = EXIT_ERROR

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        from scanner.terminal import safe

        click.echo(f"jts: error: {safe(self.format_message())}", err=True)


class Progress:
    """A one-line progress display on stderr, only when stderr is a terminal."""

    def __init__(self, label: str, enabled: bool, unit: str = "files"):
        from scanner.terminal import safe

        self.label = safe(label)  # the only text here that may one day come from outside
        self.unit = unit
        self.enabled = enabled and sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self.last < 0.2:
            return
        self.last = now
        width = 30
        filled = int(width * done / total) if total else width
        amount = (f"{done / 2**20:.1f}/{total / 2**20:.1f} MiB" if self.unit == "bytes"
                  else f"{done}/{total} {self.unit}")
        click.echo(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {amount}", err=True, nl=False)
        if done >= total:
            click.echo("\r" + " " * (width + len(self.label) + 30) + "\r", err=True, nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jts")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """jts: find, verify and revoke leaked Jenkins credentials."""
    ctx.obj = {"debug": debug}


def _scan_settings(mode: str, target: Path, config_file: str | None, no_repo_config: bool,
                   rev_range: str | None, since_ref: str | None):
    """Settings for one scan, per the trust model (settings_trust); temporary files live until exit."""
    from contextlib import ExitStack

    from scanner.settings_sources import load_settings, scan_request

    stack = click.get_current_context().with_resource(ExitStack())
    request = scan_request(mode, target, config_file=config_file, no_repo_config=no_repo_config,
                           rev_range=rev_range, since_ref=since_ref)
    return load_settings(request, stack)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--history", is_flag=True, help="Scan every blob reachable from all refs of the repository at PATH.")
@click.option("--staged", is_flag=True, help="Scan what the next commit adds: staged content that differs from HEAD.")
@click.option("--range", "rev_range", metavar="BASE..HEAD", help="Scan only what the commits in a range added.")
@click.option("--since-ref", metavar="REF", help="Same as --range REF..HEAD.")
@click.option("--stdin", "use_stdin", is_flag=True, help="Scan content piped on standard input.")
@click.option("--stdin-name", default="<stdin>", show_default=True, help="Path to report for --stdin content.")
@click.option("--jenkins-home", type=click.Path(path_type=Path), metavar="DIR|TAR",
              help="Scan a JENKINS_HOME (a directory, or a .tar/.tar.gz of one): jobs, builds, logs, nodes, users, "
                   "and the stored-credentials inventory.")
@format_option
@output_option
@show_secrets_option
@rules_option
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching this gitignore-style glob.")
@click.option("--no-gitignore", is_flag=True, help="Scan files .gitignore would exclude.")
@click.option("--jobs", "-j", type=click.IntRange(0, 64), default=None, help="Worker processes for --history and large working trees (0 = all cores).")
@click.option("--max-blob-mb", type=click.IntRange(1, 1_000_000), default=50, show_default=True,
              help="Git blobs larger than this are skipped with a warning (--history, --staged, --range).")
@config_option
@no_repo_config_option
@fail_on_option
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Suppress findings recorded in this baseline (detect-secrets .secrets.baseline format).")
@click.option("--no-progress", is_flag=True, help="No progress display on stderr.")
@color_option
@click.option("--verify", "do_verify", is_flag=True, help="Check found tokens live with who-am-i (see --jenkins-url).")
@click.option("--revoke", "do_revoke", is_flag=True, help="Revoke live tokens (implies --verify; see --as).")
@verify_options
@revoke_options
def scan(paths: tuple[Path, ...], history: bool, staged: bool, rev_range: str | None, since_ref: str | None,
         use_stdin: bool, stdin_name: str, jenkins_home: Path | None, fmt: str, output: Path | None, show_secrets: bool,
         rule_dirs: tuple[str, ...], exclude: tuple[str, ...], no_gitignore: bool, jobs: int | None,
         max_blob_mb: int, config_file: str | None, no_repo_config: bool, fail_on: str | None,
         baseline_file: Path | None, no_progress: bool,
         color: bool | None, do_verify: bool, do_revoke: bool, **verify_params) -> None:
    """Scan files, a repository's history, the index or stdin for Jenkins credentials.

    Exit codes: 0 nothing found, 1 findings (see --fail-on), 2 usage or runtime error.
    """
    from scanner.aggregate import build_findings
    from scanner.detect import DetectorSpec, problem_warnings
    from scanner.excludes import Excludes
    from scanner.findings import Report, ScanStats

    modes = [m for m, on in (("--history", history), ("--staged", staged), ("--range", bool(rev_range or since_ref)),
                              ("--stdin", use_stdin), ("--jenkins-home", bool(jenkins_home))) if on]
    if len(modes) > 1:
        raise click.UsageError(f"choose one of {', '.join(modes)}")
    if (use_stdin or jenkins_home) and paths:
        raise click.UsageError(f"{'--stdin' if use_stdin else '--jenkins-home'} takes no PATH")
    git_mode = bool(history or staged or rev_range or since_ref)
    if git_mode and len(paths) > 1:
        raise click.UsageError(f"{modes[0]} takes one repository PATH")
    require_verification(do_verify or do_revoke, verify_params)
    revocation = start_revocation(do_revoke, verify_params)
    targets = list(paths) or [Path(".")]
    if git_mode and not targets[0].exists():
        raise UserError(f"{targets[0]}: no such file or directory")
    kind = "stdin" if use_stdin else "history" if history else "staged" if staged else "range" if git_mode else "files"
    if jenkins_home:  # not a repository: only the settings files you trust apply
        from scanner.settings_sources import trusted_only

        targets = [jenkins_home]
        loaded = trusted_only(config_file, "not read: a JENKINS_HOME is not a repository")
    else:
        loaded = _scan_settings(kind, Path(".") if use_stdin else targets[0], config_file, no_repo_config,
                                rev_range, since_ref)
    settings = loaded.config
    excludes = Excludes([(e.source, e.patterns) for e in loaded.summary.exclude]
                        + ([("command line", list(exclude))] if exclude else []))
    spec = DetectorSpec(extra_rule_dirs=tuple(settings.rules) + tuple(rule_dirs))
    detector = spec.build()
    job_count = jobs if jobs is not None else settings.jobs
    started = time.monotonic()
    stats = ScanStats()
    warnings: list[str] = list(loaded.warnings)
    errors: list[str] = []
    repository = inventory = None
    progress = Progress("scanning", not no_progress, unit="bytes" if git_mode or jenkins_home else "files")

    if use_stdin:
        from scanner.sources.files import scan_stdin

        result = scan_stdin(detector, sys.stdin.buffer, stdin_name)
        pairs, mode = result.hits, "stdin"
        stats.files, stats.bytes, stats.skipped_binary = result.files, result.bytes, result.skipped_binary
        warnings.extend(result.warnings)
        errors.extend(result.errors)
    elif jenkins_home:
        from scanner.jenkins_home.scan import scan_jenkins_home

        result = scan_jenkins_home(jenkins_home, detector, progress=progress)
        pairs, mode, inventory = result.hits, "jenkins-home", result.inventory
        stats.files, stats.bytes, stats.skipped_binary = result.files, result.bytes, result.skipped_binary
        warnings.extend(result.warnings)
        errors.extend(result.errors)
    elif git_mode:
        from scanner.sources import git as gitsrc

        repo_path = targets[0]
        if history:
            result = gitsrc.scan_history(repo_path, spec, jobs=job_count, progress=progress,
                                         max_blob_bytes=max_blob_mb * 2**20)
            mode = "history"
        elif staged:
            result = gitsrc.scan_staged(repo_path, spec, max_blob_bytes=max_blob_mb * 2**20)
            mode = "staged"
        else:
            rng = rev_range or gitsrc.since_ref_range(repo_path, since_ref)
            result = gitsrc.scan_range(repo_path, spec, rng, max_blob_bytes=max_blob_mb * 2**20)
            mode = "range"
        pairs = excludes.drop_excluded(result.hits)  # git paths are known only per finding location
        stats.blobs, stats.bytes = result.blobs, result.bytes
        stats.skipped_large, stats.skipped_binary = result.skipped_large, result.skipped_binary
        warnings.extend(result.warnings)
        errors.extend(result.errors)
        info = result.repo
        repository = {"path": info.path, "bare": info.bare, "shallow": info.shallow, "head": info.head,
                      "refs": info.refs}
    else:
        from scanner.sources.files import scan_paths
        from scanner.sources.git_pool import effective_jobs

        result = scan_paths(detector, targets, use_gitignore=settings.gitignore and not no_gitignore,
                            excludes=excludes, progress=progress,
                            jobs=effective_jobs(job_count))
        pairs, mode = result.hits, "files"
        stats.files, stats.bytes, stats.skipped_binary = result.files, result.bytes, result.skipped_binary
        warnings.extend(result.warnings)
        errors.extend(result.errors)

    warnings.extend(problem_warnings(pairs))
    findings = build_findings(pairs, detector.rules)
    if baseline_file:
        from scanner.baseline import apply_baseline

        kept = apply_baseline(findings, baseline_file)
        if len(kept) < len(findings):
            click.echo(f"jts: {len(findings) - len(kept)} finding(s) suppressed by {baseline_file}", err=True)
        findings = kept
    if do_verify or revocation:
        verify_opts = build_verify_options(settings, verify_params)
        run_verification(findings, detector.rules, verify_opts)
        if revocation:
            revocation.run(findings, detector.rules, verify_opts)
    stats.seconds = round(time.monotonic() - started, 3)
    summary = finish_summary(loaded.summary, excludes, fail_on, unit="locations" if git_mode else "files")
    report = Report(findings=findings, targets=[str(t) for t in targets] if not use_stdin else [stdin_name],
                    mode=mode, warnings=warnings, errors=errors, stats=stats, repository=repository,
                    tool_version=__version__, settings=summary, inventory=inventory)
    _emit(report, fmt, output, show_secrets, color)
    ctx = click.get_current_context()
    # an incomplete scan cannot pass a gate: what was not read may hold a token
    code = EXIT_ERROR if errors else gate_code(findings, summary)
    ctx.exit(scan_revocation_code(revocation, code))


def finish_summary(summary, excludes, cli_fail_on: str | None, unit: str = "files"):  # noqa: ANN001, ANN201
    """The report's settings block: the gate actually applied, and what each exclude source skipped."""
    from scanner.settings_trust import ExcludeUse, mark_blocking

    if cli_fail_on:
        summary.fail_on, summary.fail_on_from = cli_fail_on, "command line"
    by_source = {e.source: e for e in summary.exclude}
    for source, patterns in excludes.groups:
        use = by_source.get(source) or ExcludeUse(source=source, patterns=list(patterns))
        use.skipped = excludes.counts.get(source, 0)
        if source not in by_source:
            summary.exclude.append(use)
    summary.skipped_unit = unit
    mark_blocking(summary.changes, summary.fail_on)
    return summary


def gate_code(findings: list, summary) -> int:  # noqa: ANN001
    """The exit code: findings per --fail-on, and a change that loosens the settings judging it."""
    code = exit_code(findings, summary.fail_on)
    return EXIT_FINDINGS if code == EXIT_CLEAN and summary.blocking else code


def exit_code(findings: list, fail_on: str) -> int:
    """0 clean, 1 when a finding matches the gate: any, live only, or live + unknown."""
    if fail_on == "none":
        return EXIT_CLEAN
    for finding in findings:
        status = finding.verification.status if finding.verification else "not_verified"
        if fail_on == "any":
            return EXIT_FINDINGS
        if fail_on == "live" and status == "live":
            return EXIT_FINDINGS
        if fail_on == "unknown" and status in ("live", "unknown", "not_verified"):
            return EXIT_FINDINGS
    return EXIT_CLEAN


def write_report(path: Path, text: str, private: bool) -> None:
    """Write a report; one holding full secrets is readable by its owner only (0600)."""
    data = text.encode("utf-8")  # before opening: a failure must not leave an emptied report behind
    if not private:
        path.write_bytes(data)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT: tighten it
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _emit(report, fmt: str, output: Path | None, show_secrets: bool, color: bool | None) -> None:
    from scanner.reports import render
    from scanner.terminal import safe

    use_color = (output is None and sys.stdout.isatty()) if color is None else color
    from scanner.reports import secret_scrubber

    text = render(report, fmt, show_secrets=show_secrets, color=use_color and fmt == "text")
    # stderr is a log many can read: a message quoting a found secret shows it redacted, always;
    # and it quotes file names, git and Jenkins: escaped for the terminal
    redact_known = secret_scrubber(report, show_secrets=False)
    for warning in report.warnings:
        click.echo(f"jts: warning: {safe(redact_known(warning))}", err=True)
    for error in report.errors:
        click.echo(f"jts: error: {safe(redact_known(error))}", err=True)
    if fmt == "github":  # the job summary beside the annotations, when run in a GitHub Actions step
        from scanner.reports.github import write_step_summary

        try:
            write_step_summary(report, show_secrets=show_secrets)
        except OSError as exc:
            raise UserError(f"$GITHUB_STEP_SUMMARY: cannot write the job summary: {exc.strerror or exc}") from None
    if output:
        try:
            write_report(output, text if text.endswith("\n") else text + "\n", private=show_secrets)
        except OSError as exc:
            raise UserError(f"{output}: cannot write report: {exc.strerror or exc}") from None
    else:
        click.echo(text, nl=not text.endswith("\n"))


@cli.group()
def rules() -> None:
    """List and check detection rules."""


@rules.command("list")
@rules_option
def rules_list(rule_dirs: tuple[str, ...]) -> None:
    """Show every rule: id, severity, verifiable, title."""
    from scanner.rules import load_rules

    loaded = load_rules(rule_dirs)
    width = max(len(r.id) for r in loaded)
    click.echo(f"{'ID'.ljust(width)}  SEVERITY  VERIFY  TITLE")
    for rule in loaded:
        click.echo(f"{rule.id.ljust(width)}  {rule.severity.ljust(8)}  {('yes' if rule.verifiable else 'no').ljust(6)}  {rule.title}")


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def rules_check(directory: Path | None) -> None:
    """Validate every rule file in DIRECTORY (default: the shipped rules) and run its examples."""
    from scanner.rulecheck import check_rules
    from scanner.rules import load_rules

    loaded = load_rules([str(directory)], include_builtin=False) if directory else load_rules()
    if not loaded:
        raise UserError(f"{directory}: no *.toml rule files")
    results = check_rules(loaded)
    failed = [r for r in results if not r.ok]
    for r in failed:
        click.echo(f"FAIL {r.rule_id} {r.kind} example {r.index}: {r.problem}")
    click.echo(f"{len(loaded)} rules, {len(results)} examples: {len(results) - len(failed)} passed, {len(failed)} failed")
    click.get_current_context().exit(EXIT_FINDINGS if failed else EXIT_CLEAN)


@cli.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Build the demo repository here and keep it.")
def demo(keep: Path | None) -> None:
    """Run the main job end to end on a throw-away repository with planted tokens (offline)."""
    from scanner.demo import run_demo

    ctx = click.get_current_context()
    ctx.exit(run_demo(keep))


@cli.command("jenkins-test-server")
@click.option("--home", required=True, type=click.Path(file_okay=False, path_type=Path), help="JENKINS_HOME directory (created if missing).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="Port on 127.0.0.1 (0 = any free port).")
@click.option("--version", "jenkins_version", default="2.578", show_default=True, help="Jenkins version to imitate.")
@click.option("--security-disabled", is_flag=True, help="Run without security (who-am-i answers anonymous).")
@click.option("--no-seed", is_flag=True, help="Do not create a demo admin in an empty home.")
def jenkins_test_server(home: Path, port: int, jenkins_version: str, security_disabled: bool, no_seed: bool) -> None:
    """Run the protocol-faithful Jenkins test server (for tests and demos) until Ctrl-C."""
    from scanner.jenkins.server import ServerOptions, run_forever

    run_forever(home, port, ServerOptions(version=jenkins_version, security_enabled=not security_disabled),
                seed_users=not no_seed)


# Commands that live in their own modules are registered here, one line each.
from scanner.cli_baseline import baseline as _baseline_group  # noqa: E402

cli.add_command(_baseline_group)
cli.add_command(verify_cmd)
cli.add_command(check_cmd)
cli.add_command(revoke_cmd)
from scanner.cli_sweep import sweep_cmd as _sweep_cmd  # noqa: E402

cli.add_command(_sweep_cmd)
from scanner.ci.commands import ci as _ci_group  # noqa: E402

cli.add_command(_ci_group)
# (end of command registrations)


def _print_traceback() -> None:
    """--debug shows the traceback, but the exit code stays 2: 1 would read as "findings"."""
    import traceback

    traceback.print_exc()


def main() -> None:
    from scanner.errors import JtsError
    from scanner.findings import scrub
    from scanner.terminal import safe

    debug = "--debug" in sys.argv[1:]
    try:
        # standalone_mode=False hands ctx.exit() codes back as the return value.
        code = cli.main(prog_name="jts", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code if exc.exit_code != 1 else EXIT_ERROR)
    except click.exceptions.Abort:
        click.echo("jts: aborted", err=True)
        sys.exit(130)
    except JtsError as exc:
        if debug:
            _print_traceback()
        click.echo(f"jts: error: {safe(scrub(str(exc)))}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("jts: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        os._exit(EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, never a traceback by default
        if debug:
            _print_traceback()
        click.echo(f"jts: internal error: {type(exc).__name__}: {safe(scrub(str(exc)))} (run with --debug for details)",
                   err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else EXIT_CLEAN)
