"""`jts revoke REPORT.json`, the revocation options shared with `jts scan --revoke`, and the plan prompt."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import click

from scanner.cli.common import (
    color_option,
    config_option,
    format_option,
    output_option,
    rules_option,
    show_secrets_option,
)
from scanner.cli.verify import (
    admin_token_from,
    build_verify_options,
    run_verification,
    verify_options,
)

EXIT_DONE, EXIT_REMAINING, EXIT_NOT_CONFIRMED = 0, 1, 2

REVOKE_OPTIONS = [
    click.option("--as", "actor", type=click.Choice(["self", "admin"]),
                 help="Who revokes: the leaked token itself (self) or an administrator (admin). Required."),
    click.option("--yes", "assume_yes", is_flag=True, help="Revoke without asking."),
    click.option("--dry-run", is_flag=True, help="Only show what would be revoked."),
    click.option("--revoke-all-user-tokens", is_flag=True,
                 help="When the leaked token cannot be told apart, revoke all of that user's tokens."),
    click.option("--rotate", "rotate_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                 help="First create a replacement token with the same name, saved 0600 in DIR (--as self)."),
    click.option("--audit-log", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                 help="Append one JSON line per action here (default $XDG_STATE_HOME/jts/audit.jsonl)."),
]
REVOKE_KEYS = ("actor", "assume_yes", "dry_run", "revoke_all_user_tokens", "rotate_dir", "audit_log")


def revoke_options(func):
    """Attach every revocation option to a command."""
    for option in reversed(REVOKE_OPTIONS):
        func = option(func)
    return func


@dataclass
class RevocationRun:
    """Revocation asked for on the command line: checked before any work, run after verification."""

    actor: str
    admin_user: str | None
    admin_token: str | None = field(repr=False)
    assume_yes: bool
    dry_run: bool
    revoke_all_user_tokens: bool
    rotate_dir: Path | None
    audit_log: Path | None
    unconfirmed: bool = False  # plans existed but nobody could be asked

    def run(self, findings: list, rules: list, verify_opts) -> None:  # noqa: ANN001 - VerifyOptions
        from scanner.audit import AuditError, AuditLog
        from scanner.cli.common import UserError
        from scanner.jenkins.revoke import RevokeOptions, revoke_findings

        options = RevokeOptions(
            actor=self.actor, verify=verify_opts, admin_user=self.admin_user, admin_token=self.admin_token,
            revoke_all_user_tokens=self.revoke_all_user_tokens, rotate_dir=self.rotate_dir, dry_run=self.dry_run,
            verifiable=frozenset(r.id for r in rules if r.verifiable))
        try:
            with AuditLog(self.audit_log) as audit:
                revoke_findings(findings, options, audit, self.confirm)
        except AuditError as exc:
            raise UserError(str(exc)) from None
        for finding in findings:
            if self.unconfirmed and finding.revocation and finding.revocation.status == "planned":
                finding.revocation.reason = "no terminal to confirm on and no --yes: nothing was changed"

    def confirm(self, plans: list) -> bool:
        show_plan(plans, self)
        if self.dry_run:
            click.echo("Dry run: nothing was changed.", err=True)
            return False
        if self.assume_yes:
            return True
        if not sys.stdin.isatty():
            self.unconfirmed = True
            click.echo("jts: not revoking: no terminal to confirm on; pass --yes to revoke (this was a dry run)",
                       err=True)
            return False
        return click.confirm(f"Revoke {len(plans)} token(s) now?", default=False, err=True)

    def exit_code(self, findings: list) -> int:
        """0 when no live token is left, 1 when some are, 2 when nobody could confirm."""
        if self.unconfirmed:
            return EXIT_NOT_CONFIRMED
        left = ("planned", "needs_manual", "failed")
        return EXIT_REMAINING if any(f.revocation and f.revocation.status in left for f in findings) else EXIT_DONE


def show_plan(plans: list, run: RevocationRun) -> None:
    """The plan on stderr (stdout may carry a JSON report): user, Jenkins, token, where it leaked.

    Token names, users, URLs and file names come from Jenkins and the scanned content: each plan
    is shown from a terminal-safe copy, and a token is named by its UUID first, so no name can
    redraw or impersonate a line of the plan the user confirms.
    """
    from scanner.terminal import bounded, quoted, safe, safe_value

    admin = quoted(run.admin_user) if run.actor == "admin" and run.admin_user else ""
    click.echo(f"Revocation plan ({len(plans)} token(s), acting as {run.actor}{' ' + admin if admin else ''}):",
               err=True)
    for number, plan in enumerate(plans, start=1):
        # every field someone else chose is bounded (and names quoted): no padding can wrap a fake entry
        plan = safe_value(plan)
        if plan.action == "revoke_all":
            names = ", ".join(quoted(name) for name in plan.user_tokens) or "none listed"
            what = f"ALL {len(plan.user_tokens)} tokens of the user ({names})"
            if plan.token_uuid:
                what = f"legacy token [{bounded(plan.token_uuid, 40)}] first, then if still live {what}"
        else:
            what = (f"token [{bounded(plan.token_uuid, 40)}] named {quoted(plan.token_name)}"
                    f"{' (legacy)' if plan.legacy else ''}")
        click.echo(f"  {number}. {quoted(plan.user)} at {bounded(plan.jenkins_url, 120)}: revoke {what}", err=True)
        for place in plan.places[:5]:
            click.echo(f"       leaked in {bounded(place, 200)}", err=True)
        if len(plan.places) > 5:
            click.echo(f"       ... and {len(plan.places) - 5} more place(s)", err=True)
        if plan.rotate:
            click.echo(f"       first: a replacement named {quoted(plan.token_name)} is saved in "
                       f"{safe(run.rotate_dir)}", err=True)
        if plan.note:
            click.echo(f"       note: {bounded(plan.note, 400)}", err=True)


def start_revocation(requested: bool, params: dict) -> RevocationRun | None:
    """Check the revocation flags before any scanning; None when revocation was not asked for."""
    values = {key: params.pop(key, None) for key in REVOKE_KEYS}
    # the admin credential also serves --find-owner: read here, left in params for verification
    values.update(admin_user=params.get("admin_user"), admin_token_file=params.get("admin_token_file"))
    if not requested:
        used = [f"--{k.replace('_', '-')}" for k in REVOKE_KEYS if values[k]]
        if not params.get("find_owner"):
            used += [f"--{k.replace('_', '-')}" for k in ("admin_user", "admin_token_file") if values[k]]
        if used:
            raise click.UsageError(f"{', '.join(used)} only make sense with --revoke (or --find-owner)")
        return None
    actor = values["actor"]
    if actor is None:
        raise click.UsageError("choose who revokes: --as self (the leaked token revokes itself) or --as admin")
    if values["rotate_dir"] is not None and actor != "self":
        raise click.UsageError("--rotate needs --as self (Jenkins lets only the user create their tokens)")
    if actor == "admin" and not values["admin_user"]:
        raise click.UsageError("--as admin needs --admin-user")
    if actor == "self" and (values["admin_user"] or values["admin_token_file"]) and not params.get("find_owner"):
        raise click.UsageError("--admin-user and --admin-token-file need --as admin")
    admin_token = admin_token_from(values["admin_token_file"]) if actor == "admin" else None
    return RevocationRun(actor=actor, admin_user=values["admin_user"], admin_token=admin_token,
                         assume_yes=bool(values["assume_yes"]), dry_run=bool(values["dry_run"]),
                         revoke_all_user_tokens=bool(values["revoke_all_user_tokens"]),
                         rotate_dir=values["rotate_dir"], audit_log=values["audit_log"])


def scan_revocation_code(run: RevocationRun | None, scan_code: int) -> int:
    """`scan --revoke` keeps the scan's exit code, except that an unconfirmable plan is an error."""
    if run is not None and run.unconfirmed:
        return EXIT_NOT_CONFIRMED
    return scan_code


@click.command("revoke")
@click.argument("report_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@verify_options
@revoke_options
@format_option
@output_option
@show_secrets_option
@rules_option
@config_option
@color_option
def revoke_cmd(report_file: Path, fmt: str, output: Path | None, show_secrets: bool, rule_dirs: tuple[str, ...],
               config_file: str | None, color: bool | None, **params) -> None:
    """Revoke the live tokens of an earlier JSON report (written with --show-secrets).

    Every finding is verified again first: only tokens that are live now are revoked.
    Exit codes: 0 no live token left, 1 some left (needs manual work, failed, dry run), 2 error or
    nobody to confirm (no terminal and no --yes).
    """
    from scanner.cli.common import emit
    from scanner.cli.verify import load_report_for
    from scanner.findings import Revocation, Verification

    run = start_revocation(True, params)
    assert run is not None
    settings, report, rules, full, redacted = load_report_for(report_file, config_file, rule_dirs, "revoked")
    verify_opts = build_verify_options(settings, params)
    for finding in report.findings:
        finding.verification, finding.revocation = None, None  # stale: only what is true now counts
    run_verification(full, rules, verify_opts)
    run.run(full, rules, verify_opts)
    for finding in redacted:
        finding.verification = Verification(status="unknown", reason="the report holds only the redacted secret")
        finding.revocation = Revocation(status="skipped", reason="the report holds only the redacted secret")
    emit(report, fmt, output, show_secrets, color)
    click.get_current_context().exit(run.exit_code(report.findings))
