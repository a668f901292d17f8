"""``jts jenkins-test-server``: the protocol-faithful Jenkins of the tests and the demo."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("jenkins-test-server")
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
