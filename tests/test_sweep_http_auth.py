"""Credentials in a sweep URL (``http://alice:<token>@host/repo.git``) reach git through its environment,
never its command line: /proc/<pid>/cmdline is readable by every local user, the environment only by
the same user. Served by ``git http-backend`` behind Basic auth, so the clone and the fetch only work
when the credentials really arrive."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import GIT_ENV, ROOT, commit, git, init_repo, jts, new_token


@dataclass
class GitHttpServer:
    """Smart HTTP over ``git http-backend`` (CGI), Basic auth required; it looks at every process's
    command line while git is talking to it, for the secret."""

    root: Path
    user: str
    password: str
    port: int = 0
    argv_leaks: list[str] = field(default_factory=list)
    authorized: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _command_lines_holding(secret: bytes) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if secret in argv:
            found.append(argv.replace(b"\0", b" ").decode("utf-8", "replace"))
    return found


def _handler(server: GitHttpServer) -> type[BaseHTTPRequestHandler]:
    expected = "Basic " + base64.b64encode(f"{server.user}:{server.password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            server.argv_leaks += _command_lines_holding(server.password.encode())
            if self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            server.authorized += 1
            path, _, query = self.path.partition("?")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            env = {**os.environ, **GIT_ENV, "GIT_PROJECT_ROOT": str(server.root), "GIT_HTTP_EXPORT_ALL": "1",
                   "PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": self.command,
                   "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
                   "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                   "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""), "REMOTE_USER": server.user}
            out = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def git_http(tmp_path: Path) -> Iterator[GitHttpServer]:
    served = GitHttpServer(root=tmp_path / "served", user="alice", password=new_token())
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        httpd.shutdown()
        httpd.server_close()


def _no_proxy_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}  # reach the server itself
    return {**env, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(tmp_path / "xdg")}


def test_url_credentials_never_reach_gits_command_line(tmp_path: Path, git_http: GitHttpServer) -> None:
    leaked = new_token()
    work = init_repo(tmp_path / "work")
    commit(work, {"deploy.sh": f"curl -u bob:{leaked} https://jenkins.example.com/job/x/build\n"}, "leak")
    git_http.root.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(work), str(git_http.root / "repo.git"))
    secret_url = f"http://{git_http.user}:{git_http.password}@127.0.0.1:{git_http.port}/repo.git"
    listing = tmp_path / "repos.txt"  # from a list: not on jts's own command line either
    listing.write_text(secret_url + "\n")
    state = tmp_path / "s.sqlite"
    env = _no_proxy_env(tmp_path)

    first = jts("sweep", f"@{listing}", "--state", str(state), "-f", "json", "--no-progress", env=env)
    assert first.code == 1, first.output
    assert [f["fingerprint"] for f in json.loads(first.stdout)["findings"]]  # cloned: the leak was found
    commit(work, {"more.sh": f"curl -u bob:{new_token()} https://jenkins.example.com/\n"}, "more")
    git(work, "push", "-q", str(git_http.root / "repo.git"), "HEAD:refs/heads/main", "--force")
    second = jts("sweep", f"@{listing}", "--state", str(state), "-f", "json", "--no-progress", env=env)
    assert second.code == 1, second.output
    assert len(json.loads(second.stdout)["findings"]) == 2  # fetched, with the credentials again

    assert git_http.authorized >= 4  # clone and fetch, each at least info/refs + upload-pack
    assert git_http.argv_leaks == []
    secret = git_http.password.encode()
    mirrors = tmp_path / "s.sqlite.mirrors"
    for path in [*mirrors.rglob("*"), state]:
        if path.is_file():
            assert secret not in path.read_bytes(), path  # config, FETCH_HEAD, packed-refs, the state
    assert secret.decode() not in first.output + second.output


def test_without_the_credentials_the_clone_is_refused(tmp_path: Path, git_http: GitHttpServer) -> None:
    """The server really requires them: the test above proves they arrived."""
    work = init_repo(tmp_path / "work")
    commit(work, {"a.txt": "a\n"}, "a")
    git_http.root.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(work), str(git_http.root / "repo.git"))
    run = jts("sweep", f"{git_http.base}/repo.git", "--state", str(tmp_path / "s.sqlite"), "-f", "json",
              "--no-progress", env=_no_proxy_env(tmp_path))
    assert run.code == 2, run.output
    assert "clone failed" in run.output and git_http.authorized == 0


def test_remote_for_keeps_secrets_off_the_url() -> None:
    from scanner.sweep.task import remote_for

    token = new_token()
    remote = remote_for(f"https://alice:{token}@git.example.com/org/repo.git")
    assert remote.url == "https://git.example.com/org/repo.git"
    assert token not in repr(remote)
    header = remote.env["GIT_CONFIG_VALUE_0"]
    assert base64.b64decode(header.removeprefix("Authorization: Basic ")).decode() == f"alice:{token}"
    assert remote.env["GIT_CONFIG_KEY_0"] == "http.https://git.example.com/org/repo.git.extraHeader"
    only_user = remote_for(f"https://{token}@github.com/org/repo.git")  # a token as the user name
    assert base64.b64decode(only_user.env["GIT_CONFIG_VALUE_0"].split()[-1]).decode() == f"{token}:"
    assert remote_for("ssh://alice:pw@host/~/x.git").url == "ssh://alice@host/~/x.git"
    assert remote_for("ssh://alice:pw@host/~/x.git").env == {}
    assert remote_for("https://git.example.com/x.git").env == {}
