"""Click options shared by several commands, defined once so their names and help stay in step."""

from __future__ import annotations

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
