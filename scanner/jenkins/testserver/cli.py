"""Running the test server by hand: `jts jenkins-test-server --home DIR [--port N] [--version V]`."""
from __future__ import annotations

import argparse
import secrets
import signal
import threading
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from .options import ServerOptions
from .server import JenkinsTestServer

DEMO_ADMIN = "admin"


def run_forever(home: Path, port: int, options: ServerOptions, seed_users: bool,
                ready: threading.Event | None = None, stop: threading.Event | None = None) -> None:
    """Serve until Ctrl-C (or `stop` is set); with seed_users and an empty home, create a demo admin."""
    server = JenkinsTestServer(home, options, port=port)
    password = None
    if seed_users and not server.users():
        password = secrets.token_urlsafe(12)
        server.add_user(DEMO_ADMIN, password=password, admin=True, full_name="Administrator")
    server.start()
    try:
        print(f"Jenkins test server {options.version} listening on {server.url} (home: {home})", flush=True)
        if password is not None:
            print(f"Created demo user {DEMO_ADMIN!r} with password {password!r}.", flush=True)
            print(f"Sign in at {server.url}login, then create API tokens at "
                  f"{server.url}user/{DEMO_ADMIN}/security/ (or /configure before 2.468).", flush=True)
        print("Press Ctrl-C to stop.", flush=True)
        stop = stop or threading.Event()
        previous = _stop_on_sigterm(stop)
        if ready is not None:
            ready.set()
        try:
            while not stop.wait(0.2):  # short waits keep signal handling prompt
                pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _stop_on_sigterm(stop: threading.Event):
    """SIGTERM ends the server cleanly too (signals can only be set from the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, lambda *_: stop.set())


def serve(home: Path, port: int = 8080, version: str = "2.578", *, seed_users: bool = True,
          **option_fields: object) -> None:
    run_forever(home, port, replace(ServerOptions(version=version), **option_fields), seed_users)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jenkins-test-server", description=__doc__)
    parser.add_argument("--home", type=Path, required=True, help="JENKINS_HOME directory (created if missing)")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--version", default="2.578", help="Jenkins version to imitate")
    parser.add_argument("--security-disabled", action="store_true", help="run without security")
    parser.add_argument("--no-seed", action="store_true", help="do not create a demo admin in an empty home")
    args = parser.parse_args(argv)
    options = ServerOptions(version=args.version, security_enabled=not args.security_disabled)
    run_forever(args.home, args.port, options, seed_users=not args.no_seed)
    return 0
