"""Verification options shared by `scan --verify`, `verify` and `revoke`, plus `jts verify` / `jts check`."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import click

from scanner.cli.common import (
    color_option,
    config_option,
    fail_on_option,
    format_option,
    output_option,
    rules_option,
    show_secrets_option,
)

VERIFY_OPTIONS = [
    click.option("--jenkins-url", "jenkins_urls", multiple=True, metavar="URL",
                 help="A Jenkins tokens may be sent to (repeatable; also `jenkins_urls` in settings)."),
    click.option("--verify-found-urls", is_flag=True,
                 help="Also send tokens to Jenkins URLs found in the scanned content (warns)."),
    click.option("--user", "user_hints", multiple=True, metavar="USER",
                 help="User to try when the content names none (repeatable)."),
    click.option("--guess-users", is_flag=True, help="Also try git authors as users when the content names none."),
    click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
                 help="Deadline in seconds for each HTTP request as a whole (connect to last byte)."),
    click.option("--retries", type=click.IntRange(0, 10), default=2, show_default=True,
                 help="Retries on connect errors and 5xx."),
    click.option("--per-host", type=click.IntRange(1, 64), default=4, show_default=True,
                 help="Concurrent requests per Jenkins host."),
    click.option("--rate", type=click.FloatRange(0.1, 10000), default=20.0, show_default=True,
                 help="Requests per second over all hosts."),
    click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA certificates file for TLS."),
    click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (warns)."),
    click.option("--find-owner", is_flag=True,
                 help="With --admin-user: list the Jenkins' users and try a token no named user proves live "
                      "for each, to find its owner or prove it dead for everyone."),
    click.option("--admin-user", metavar="USER", help="Administrator user id for --as admin and --find-owner."),
    click.option("--admin-token-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                 help="File holding the administrator's API token (else $JTS_ADMIN_TOKEN; never argv)."),
]
ADMIN_TOKEN_ENV = "JTS_ADMIN_TOKEN"


def verify_options(func):
    """Attach every verification option to a command."""
    for option in reversed(VERIFY_OPTIONS):
        func = option(func)
    return func


def require_verification(verifying: bool, params: dict) -> None:
    """--find-owner is part of verification: refused on a scan that verifies nothing."""
    if params.get("find_owner") and not verifying:
        raise click.UsageError("--find-owner only makes sense with --verify (or --revoke)")


def build_verify_options(settings, params: dict):  # noqa: ANN001 - Config and click params
    """Verification options from flags and trusted settings.

    ``settings`` come from settings_trust.resolve, which never takes ``jenkins_urls`` or ``users``
    from a scanned repository: a token is only ever sent where the user said.
    """
    from scanner.jenkins.client import HttpSettings
    from scanner.jenkins.verify import AllowedJenkins, VerifyOptions

    urls = list(settings.jenkins_urls) + list(params.get("jenkins_urls") or ())
    try:
        allowed = [AllowedJenkins.parse(u) for u in urls]
    except ValueError as exc:
        raise click.UsageError(f"--jenkins-url: {exc}") from None
    if params.get("insecure"):
        warn("--insecure: TLS certificates are not checked; a man in the middle could read the tokens")
    find_owner = bool(params.get("find_owner"))
    if find_owner and not params.get("admin_user"):
        raise click.UsageError("--find-owner needs --admin-user (and its token in $JTS_ADMIN_TOKEN or --admin-token-file)")
    if find_owner and not allowed:
        raise click.UsageError("--find-owner needs --jenkins-url: the admin credential goes only there")
    return VerifyOptions(
        allowed=allowed,
        verify_found_urls=bool(params.get("verify_found_urls")),
        user_hints=list(settings.users) + list(params.get("user_hints") or ()),
        guess_users=bool(params.get("guess_users")),
        per_host=params.get("per_host") or 4,
        rate=params.get("rate") or 20.0,
        http=HttpSettings(timeout=params.get("timeout") or 10.0, retries=params.get("retries", 2),
                          ca_bundle=params.get("ca_bundle"), insecure=bool(params.get("insecure"))),
        find_owner=find_owner,
        admin_user=params.get("admin_user") if find_owner else None,
        admin_token=admin_token_from(params.get("admin_token_file")) if find_owner else None,
    )


def crawl_politeness(params: dict):  # noqa: ANN201 - Politeness (imported late: the CLI starts fast)
    """A crawl presses a Jenkins as hard as verification may: the same per-host, rate, timeout and TLS options."""
    from scanner.jenkins.client import HttpSettings
    from scanner.jenkins_crawl.api import Politeness

    return Politeness(
        http=HttpSettings(timeout=params.get("timeout") or 10.0, retries=params.get("retries", 2),
                          ca_bundle=params.get("ca_bundle"), insecure=bool(params.get("insecure"))),
        per_host=params.get("per_host") or 4, rate=params.get("rate") or 20.0)


def crawl_credentials(credentials_file: Path | None, anonymous: bool = False):  # noqa: ANN201 - CrawlCredentials
    """The crawl credentials (environment or FILE, never argv); a file others can read is warned about."""
    from scanner.cli.common import UserError
    from scanner.jenkins_crawl.credential import CredentialError, load_credentials

    try:
        found = load_credentials(credentials_file, anonymous)
    except CredentialError as exc:
        raise UserError(str(exc)) from None
    for message in found.warnings:
        warn(message)
    return found


def admin_token_from(token_file: Path | None) -> str:
    """The administrator's API token: from FILE (warned if others can read it) or $JTS_ADMIN_TOKEN."""
    from scanner.cli.common import UserError

    if token_file is not None:
        try:
            mode = token_file.stat().st_mode
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UserError(f"{token_file}: cannot read the admin token: {exc.strerror or exc}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warn(f"{token_file} is readable by other users; chmod 600 it")
    else:
        token = os.environ.get(ADMIN_TOKEN_ENV, "").strip()
    if not token:
        raise UserError(f"--as admin and --find-owner need the administrator's API token in ${ADMIN_TOKEN_ENV} "
                        "or --admin-token-file")
    return token


def warn(message: str) -> None:
    from scanner.findings import scrub
    from scanner.terminal import safe

    click.echo(f"jts: warning: {safe(scrub(message))}", err=True)


def run_verification(findings: list, rules: list, options) -> None:  # noqa: ANN001
    from scanner.jenkins.verify import verify_findings

    verifiable = {r.id for r in rules if r.verifiable}
    verify_findings(findings, verifiable, options, warn)


def load_report_for(report_file: Path, config_file: str | None, rule_dirs: tuple[str, ...], purpose: str):
    """Settings, report, rules, and its findings split into (full secret, redacted only)."""
    from scanner.cli.common import UserError
    from scanner.reports.json_report import findings_without_secret, load_report
    from scanner.rules import load_rules
    from scanner.settings_sources import trusted_only

    # No repository settings: the report's tokens must go only where the user said (settings_trust).
    loaded = trusted_only(config_file, "not read: jts verify and jts revoke read no repository settings")
    for message in loaded.warnings:
        warn(message)
    settings = loaded.config
    try:
        report = load_report(report_file)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise UserError(f"{report_file}: not a jts JSON report ({type(exc).__name__})") from None
    report.settings = loaded.summary  # this run's settings, not those of the scan that wrote the report
    rules = load_rules(tuple(settings.rules) + rule_dirs)
    redacted = findings_without_secret(report)
    if redacted:
        warn(f"{len(redacted)} finding(s) in {report_file} hold only redacted secrets and cannot be {purpose}; "
             "write the report with --show-secrets (and keep that file private)")
    full = [f for f in report.findings if f not in redacted]
    return settings, report, rules, full, redacted


@click.command("verify")
@click.argument("report_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@verify_options
@format_option
@output_option
@show_secrets_option
@rules_option
@config_option
@fail_on_option
@color_option
def verify_cmd(report_file: Path, fmt: str, output: Path | None, show_secrets: bool, rule_dirs: tuple[str, ...],
               config_file: str | None, fail_on: str | None, color: bool | None, **params) -> None:
    """Verify the findings of an earlier JSON report (written with --show-secrets)."""
    from scanner.cli.common import emit, exit_code, finish_summary
    from scanner.excludes import Excludes
    from scanner.findings import Verification

    settings, report, rules, full, redacted = load_report_for(report_file, config_file, rule_dirs, "verified")
    run_verification(full, rules, build_verify_options(settings, params))
    for finding in redacted:
        finding.verification = Verification(status="unknown", reason="the report holds only the redacted secret")
    summary = finish_summary(report.settings, Excludes(), fail_on)
    emit(report, fmt, output, show_secrets, color)
    click.get_current_context().exit(exit_code(report.findings, summary.fail_on))


@click.command("check")
@click.option("--jenkins-url", required=True, metavar="URL", help="Your Jenkins.")
@click.option("--user", required=True, help="The user the token belongs to.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True)
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False))
@click.option("--insecure", is_flag=True)
def check_cmd(jenkins_url: str, user: str, timeout: float, ca_bundle: str | None, insecure: bool) -> None:
    """Test your own token: read from JENKINS_API_TOKEN or stdin (never argv). Exit 0 only if live."""
    from scanner.cli.common import UserError
    from scanner.jenkins.client import HttpSettings
    from scanner.jenkins.verify import (
        AllowedJenkins,
        Attempt,
        VerifyOptions,
        run_attempts,
    )
    from scanner.findings import scrub
    from scanner.redaction import KnownSecrets
    from scanner.terminal import bounded, safe, safe_value

    token = os.environ.get("JENKINS_API_TOKEN", "").strip()
    if not token:
        if sys.stdin.isatty():
            token = click.prompt("API token", hide_input=True).strip()
        else:
            token = sys.stdin.readline().strip()
    if not token:
        raise UserError("no token: set JENKINS_API_TOKEN or pipe the token on stdin")
    try:
        allowed = AllowedJenkins.parse(jenkins_url)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if insecure:
        warn("--insecure: TLS certificates are not checked")
    options = VerifyOptions(allowed=[allowed], http=HttpSettings(timeout=timeout, ca_bundle=ca_bundle, insecure=insecure))
    attempt = Attempt(allowed.url, user, token, True)
    answered = run_attempts([attempt], options)[attempt]
    known = KnownSecrets()
    known.add(token)  # a reason may quote what the server reflected: never the token checked
    answered.reason = scrub(known.scrub(answered.reason)) if answered.reason else answered.reason
    verdict = safe_value(answered)  # Jenkins' words, escaped for the terminal
    if verdict.status == "live":
        click.echo(f"Authenticated as: {bounded(verdict.authenticated_as)}")
        click.echo("Authorities:")
        for authority in verdict.authorities:
            click.echo(f"  {bounded(authority, 200)}")
        if verdict.jenkins_version:
            click.echo(f"Jenkins version: {verdict.jenkins_version}")
        click.get_current_context().exit(0)
    click.echo(f"Token is {verdict.status} at {safe(allowed.url)} for {safe(user)}: {verdict.reason}", err=True)
    click.get_current_context().exit(1)
