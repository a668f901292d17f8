"""``jts ci``: commands for CI jobs (the GitHub Action's step, re-rendering a saved report for a gate)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from scanner.cli.common import fail_on_option, format_option, output_option, show_secrets_option


@click.group("ci")
def ci() -> None:
    """Commands for CI jobs: the GitHub Action's step, and gates on a saved report."""


@ci.command("github")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--mode", type=click.Choice(["auto", "range", "since-ref", "history", "files"]),
              help="auto (default): --range on pull requests, --history on the default branch, --since-ref otherwise.")
@click.option("--fail-on", help="Which findings fail the step: any (default), live, unknown, none.")
@click.option("--baseline", help="Suppress findings recorded in this baseline.")
@click.option("--config", "config_file", help="A settings file you trust (default: --no-repo-config).")
@click.option("--sarif-file", help="Write SARIF here for upload-sarif (default jts.sarif; '' for none).")
@click.option("--extra-args", help="More `jts scan` options (shell words).")
def github(path: str | None, mode: str | None, fail_on: str | None, baseline: str | None, config_file: str | None,
           sarif_file: str | None, extra_args: str | None) -> None:
    """Run the GitHub Action's gate in this step.

    Each option not given is read from INPUT_<NAME> (INPUT_FAIL_ON, INPUT_SARIF_FILE...), as
    action.yml sets them. Writes annotations, the job summary ($GITHUB_STEP_SUMMARY), SARIF and
    the step outputs ($GITHUB_OUTPUT: findings, live, sarif-file). Exit codes as `jts scan`.
    """
    from scanner.ci.github_action import Inputs, run

    def given(value: str | None, name: str, default: str, empty_is_default: bool = True) -> str:
        if value is not None:
            return value
        found = os.environ.get(f"INPUT_{name}")
        return default if found is None or (empty_is_default and not found) else found

    inputs = Inputs(mode=given(mode, "MODE", "auto"), fail_on=given(fail_on, "FAIL_ON", "any"),
                    baseline=given(baseline, "BASELINE", ""), config=given(config_file, "CONFIG", ""),
                    sarif_file=given(sarif_file, "SARIF_FILE", "jts.sarif", empty_is_default=False),
                    extra_args=given(extra_args, "EXTRA_ARGS", ""), path=given(path, "PATH", "."))
    click.get_current_context().exit(run(inputs))


@ci.command("report")
@click.argument("report_file", metavar="REPORT.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@format_option
@output_option
@show_secrets_option
@fail_on_option
def report_cmd(report_file: Path, fmt: str, output: Path | None, show_secrets: bool, fail_on: str | None) -> None:
    """Render a saved JSON report in another format, and gate on it.

    One scan (`jts scan -f json -o REPORT.json`), then as many views as the CI needs: SARIF for
    a warnings view, Markdown for a build description, and the exit code of `--fail-on` (default:
    the report's own): 0 passes, 1 fails, 2 when the scan was incomplete.
    """
    from scanner.cli.common import UserError, emit, gate_code
    from scanner.reports.json_report import load_report
    from scanner.settings_trust import SettingsSummary, mark_blocking

    try:
        report = load_report(report_file)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{report_file}: not a jts JSON report ({type(exc).__name__})") from None
    summary = report.settings or SettingsSummary()
    if fail_on:
        summary.fail_on, summary.fail_on_from = fail_on, "command line"
        mark_blocking(summary.changes, summary.fail_on)
    report.settings = summary
    emit(report, fmt, output, show_secrets, None)
    code = 2 if report.errors else gate_code(report.findings, summary)
    click.get_current_context().exit(code)
