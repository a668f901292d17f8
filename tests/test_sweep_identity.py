"""Sweep targets keep their identity and a refresh never passes stale results off as current (issue 17)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
from pathlib import Path

from tests.helpers import commit, init_repo, jts, new_token


def _sweep(state: Path, *args: str):
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}  # reach local sockets
    return jts("sweep", "--state", str(state), "--no-progress", *args, env=env, timeout=120)


def test_ssh_targets_differing_only_in_the_user_are_two_repositories(tmp_path: Path) -> None:
    alice, bob = "ssh://alice@127.0.0.1:1/~/infra.git", "ssh://bob:pw@127.0.0.1:1/~/infra.git"
    run = _sweep(tmp_path / "s.db", alice, bob, "-f", "json")
    rows = {r["repo"]: r for r in json.loads(run.stdout)["repository"]["repositories"]}
    assert set(rows) == {alice, "ssh://bob@127.0.0.1:1/~/infra.git"}, rows  # the password is never kept
    assert "pw" not in run.output
    assert all(r["status"] == "error" for r in rows.values())  # nothing listens there: both tried, both named


class CountingServer:
    """Accepts connections, counts them and hangs up: a git server that always fails, fast."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def test_a_url_swept_with_credentials_is_not_refreshed_without_them(tmp_path: Path) -> None:
    server = CountingServer()
    try:
        url = f"http://ci:s3cr3t-pass@127.0.0.1:{server.port}/team/infra.git"
        first = _sweep(tmp_path / "s.db", url, "-f", "json")
        assert first.code == 2 and server.count >= 1, first.output
        tried = server.count
        resumed = _sweep(tmp_path / "s.db", "-f", "json")
        assert server.count == tried, "a resumed run fetched without the credentials of the first"
        [row] = json.loads(resumed.stdout)["repository"]["repositories"]
        assert row["repo"] == f"http://127.0.0.1:{server.port}/team/infra.git"
        assert row["status"] == "error" and "give the URL with them again" in row["error"]
        assert "s3cr3t-pass" not in first.output + resumed.output
    finally:
        server.close()


def test_a_failed_refresh_is_an_error_and_says_since_when(tmp_path: Path) -> None:
    token = new_token()
    origin = init_repo(tmp_path / "origin")
    commit(origin, {"deploy.sh": f"curl -u alice:{token} https://jenkins.example.com/\n"})
    url = f"file://{origin}"
    state = tmp_path / "s.db"
    first = _sweep(state, url, "-f", "json")
    assert first.code == 1, first.output
    shutil.move(origin, tmp_path / "gone")  # the remote is unreachable now; the mirror is cached
    for fmt in ("json", "sarif", "text"):
        again = _sweep(state, "-f", fmt)
        assert again.code in (1, 2), again.output
        assert "stale since" in again.output and "refresh failed" in again.output, (fmt, again.output)
        if fmt == "json":
            report = json.loads(again.stdout)
            [row] = report["repository"]["repositories"]
            assert row["status"] == "error" and row["error"].startswith("stale since ")
            assert len(report["findings"]) == 1  # what was found before is still reported
            assert report["repository"]["counts"]["unchanged_this_run"] == 0
