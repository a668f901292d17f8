"""Command line: ``jts`` and its commands, one module each; shared pieces in ``common``.

Parse options, run the stages, pick the report: no detection logic lives here.
"""

from __future__ import annotations

import os
import sys

import click

from scanner import __version__
from scanner.cli.common import EXIT_CLEAN, EXIT_ERROR


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jts")
@click.option("--debug", is_flag=True, help="Show tracebacks for unexpected errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """jts: find, verify and revoke leaked Jenkins credentials."""
    ctx.obj = {"debug": debug}


def _register() -> None:
    """Every command, one line each: a new command is one new module and one line here."""
    from scanner.ci.commands import ci
    from scanner.cli.baseline import baseline
    from scanner.cli.demo import demo
    from scanner.cli.jenkins_test_server import jenkins_test_server
    from scanner.cli.revoke import revoke_cmd
    from scanner.cli.rules import rules
    from scanner.cli.scan import scan
    from scanner.cli.scan_jenkins import scan_jenkins
    from scanner.cli.sweep import sweep_cmd
    from scanner.cli.verify import check_cmd, verify_cmd

    for command in (scan, scan_jenkins, rules, demo, jenkins_test_server, baseline, verify_cmd, check_cmd, revoke_cmd, sweep_cmd, ci):
        cli.add_command(command)


_register()


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
