"""``jts rules list`` / ``jts rules check``."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.cli.common import EXIT_CLEAN, EXIT_FINDINGS, UserError, rules_option


@click.group()
def rules() -> None:
    """List and check detection rules."""


@rules.command("list")
@rules_option
def rules_list(rule_dirs: tuple[str, ...]) -> None:
    """Show every rule: id, severity, verifiable, title."""
    from scanner.rules import load_rules
    from scanner.terminal import safe

    loaded = load_rules(rule_dirs)
    # a rule file may come from a repository (.jts.toml rules = [...]): its words are escaped for the terminal
    rows = [(safe(r.id), safe(r.severity), "yes" if r.verifiable else "no", safe(r.title)) for r in loaded]
    width = max(len(rule_id) for rule_id, *_ in rows)
    click.echo(f"{'ID'.ljust(width)}  SEVERITY  VERIFY  TITLE")
    for rule_id, severity, verifiable, title in rows:
        click.echo(f"{rule_id.ljust(width)}  {severity.ljust(8)}  {verifiable.ljust(6)}  {title}")


@rules.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def rules_check(directory: Path | None) -> None:
    """Validate every rule file in DIRECTORY (default: the shipped rules) and run its examples."""
    from scanner.rulecheck import check_rules
    from scanner.rules import load_rules
    from scanner.terminal import safe

    loaded = load_rules([str(directory)], include_builtin=False) if directory else load_rules()
    if not loaded:
        raise UserError(f"{directory}: no *.toml rule files")
    results = check_rules(loaded)
    failed = [r for r in results if not r.ok]
    for r in failed:
        click.echo(f"FAIL {safe(r.rule_id)} {safe(r.kind)} example {r.index}: {safe(r.problem)}")
    click.echo(f"{len(loaded)} rules, {len(results)} examples: {len(results) - len(failed)} passed, {len(failed)} failed")
    click.get_current_context().exit(EXIT_FINDINGS if failed else EXIT_CLEAN)
