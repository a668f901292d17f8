"""What every command shares: options, exit codes, the one-line error, progress and report output.

Command modules import this one; it imports none of them, so a new command is one new file."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from scanner.reports import FORMATS

format_option = click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                             help="Report format.")
output_option = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                             help="Write the report to FILE.")
show_secrets_option = click.option("--show-secrets", is_flag=True,
                                   help="Print full secret values (redacted by default).")
rules_option = click.option("--rules", "rule_dirs", multiple=True, type=click.Path(file_okay=False),
                            help="Extra rules directory (repeatable).")
config_option = click.option("--config", "config_file", type=click.Path(dir_okay=False),
                             help="Settings file to use instead of the scanned repository's (trusted: may set "
                                  "jenkins_urls, users). Also read: ~/.config/jts/config.toml.")
no_repo_config_option = click.option("--no-repo-config", is_flag=True,
                                     help="Ignore the scanned repository's .jts.toml / pyproject.toml [tool.jts].")
fail_on_option = click.option("--fail-on", type=click.Choice(["any", "live", "unknown", "none"]), default=None,
                              help="Which findings make the exit code 1 (default any).")
color_option = click.option("--color/--no-color", default=None,
                            help="Colour text output (default: when stdout is a terminal).")


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


def save_report(path: Path, text: str, private: bool) -> None:
    """A report file ending in a newline, written by ``write_report``; failure is a one-line error."""
    try:
        write_report(path, text if text.endswith("\n") else text + "\n", private=private)
    except OSError as exc:
        raise UserError(f"{path}: cannot write report: {exc.strerror or exc}") from None


def emit(report, fmt: str, output: Path | None, show_secrets: bool, color: bool | None,
         private: bool = False) -> None:
    """Print or save a report; ``private``: its file is 0600 even without full secrets (sweep reports)."""
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
        save_report(output, text, private=show_secrets or private)
    else:
        click.echo(text, nl=not text.endswith("\n"))
