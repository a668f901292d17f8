"""``jts scan``: files, history, the index, a range, stdin or a JENKINS_HOME."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from scanner import __version__
from scanner.cli.common import (
    EXIT_ERROR,
    Progress,
    UserError,
    color_option,
    config_option,
    emit,
    fail_on_option,
    finish_summary,
    format_option,
    gate_code,
    no_repo_config_option,
    output_option,
    rules_option,
    show_secrets_option,
)
from scanner.cli.revoke import (
    revoke_options,
    scan_revocation_code,
    start_revocation,
)
from scanner.cli.verify import (
    build_verify_options,
    require_verification,
    run_verification,
    verify_options,
)


def _scan_settings(mode: str, target: Path, config_file: str | None, no_repo_config: bool,
                   rev_range: str | None, since_ref: str | None):
    """Settings for one scan, per the trust model (settings_trust); temporary files live until exit."""
    from contextlib import ExitStack

    from scanner.settings_sources import load_settings, scan_request

    stack = click.get_current_context().with_resource(ExitStack())
    request = scan_request(mode, target, config_file=config_file, no_repo_config=no_repo_config,
                           rev_range=rev_range, since_ref=since_ref)
    return load_settings(request, stack)


def _hook_scope(target: Path):
    import os

    from scanner.precommit_scope import hook_scope

    return hook_scope(os.environ, target)


@click.command()
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
    hook = _hook_scope(targets[0]) if staged else None  # under pre-commit: its range, or all files
    if hook and hook.rev_range:
        staged, rev_range = False, hook.rev_range
    whole_index = bool(hook and hook.mode == "tracked")
    # the whole index has no trusted side (pre-commit.ci checks a pull request's tip): history's rules
    kind = ("stdin" if use_stdin else "history" if history or whole_index else "staged" if staged
            else "range" if git_mode else "files")
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
    warnings: list[str] = list(loaded.warnings) + ([hook.note] if hook and hook.note else [])
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
            result = gitsrc.scan_staged(repo_path, spec, max_blob_bytes=max_blob_mb * 2**20,
                                        changed_only=not whole_index)
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
    suppressed = []
    if baseline_file:
        from scanner.baseline import apply_baseline
        from scanner.baseline_trust import scan_baseline

        # a gate reads a baseline inside the repository from its trusted side (HEAD, BASE)
        chosen = scan_baseline(baseline_file, kind, targets[0], rev_range, since_ref)
        if chosen.change is not None:
            loaded.summary.changes.append(chosen.change)  # reported (and judged) like a settings change
        findings, suppressed = apply_baseline(findings, chosen.data, chosen.base, chosen.source)
    if do_verify or revocation:
        verify_opts = build_verify_options(settings, verify_params)
        run_verification(findings, detector.rules, verify_opts)
        if revocation:
            revocation.run(findings, detector.rules, verify_opts)
    stats.seconds = round(time.monotonic() - started, 3)
    summary = finish_summary(loaded.summary, excludes, fail_on, unit="locations" if git_mode else "files")
    report = Report(findings=findings, targets=[str(t) for t in targets] if not use_stdin else [stdin_name],
                    mode=mode, warnings=warnings, errors=errors, stats=stats, repository=repository,
                    tool_version=__version__, settings=summary, inventory=inventory, suppressed=suppressed)
    emit(report, fmt, output, show_secrets, color)
    ctx = click.get_current_context()
    # an incomplete scan cannot pass a gate: what was not read may hold a token
    code = EXIT_ERROR if errors else gate_code(findings, summary)
    ctx.exit(scan_revocation_code(revocation, code))
