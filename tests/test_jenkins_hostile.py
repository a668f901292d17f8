"""A broken or hostile Jenkins fails its own findings, with a reason; the run and its report go on.

One "Jenkins" here is a small http.server that answers who-am-i and the security page in the
shapes a real one would, except for one hostile detail per test (a 5,000-digit use counter, a
page nested 100,000 deep, a malformed declaration, authorities that are not a list, JSON nested
100,000 deep, a redirect to port 99999...). A second finding lives on the protocol-faithful test
server and must be verified and revoked as usual in the same run.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scanner.jenkins.security_page import PageError, parse_tokens, usage_statistics_disabled
from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from tests.helpers import jts, new_token

FAST = ("--timeout", "5", "--retries", "0")
PROPERTY = "/user/alice/descriptorByName/jenkins.security.ApiTokenProperty/"
HUGE = "9" * 5000  # past Python's 4,300-digit limit for int(str)


@dataclass
class Behaviour:
    """What the hostile Jenkins does; `mode` picks the one hostile detail."""

    token: str
    mode: str
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    uses: int = 0
    revoked: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer  # with a .behaviour attribute

    def log_message(self, *_args: object) -> None:
        pass

    @property
    def behaviour(self) -> Behaviour:
        return self.server.behaviour  # type: ignore[attr-defined]

    def _send(self, status: int, body: str, content_type: str = "text/html;charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Jenkins", "2.578")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authenticated(self) -> bool:
        """Basic auth with the leaked token; each such request is one use, as Jenkins counts them."""
        b = self.behaviour
        expected = "Basic " + base64.b64encode(f"alice:{b.token}".encode()).decode()
        if b.revoked or self.headers.get("Authorization") != expected:
            self._send(401, "", headers={"WWW-Authenticate": 'Basic realm="Jenkins"'})
            return False
        with b.lock:
            b.uses += 1
        return True

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        mode = self.behaviour.mode
        if self.path == "/whoAmI/api/json":
            if mode == "redirect_port":
                return self._send(302, "", headers={"Location": "http://127.0.0.1:99999/whoAmI/api/json"})
            if mode == "redirect_ipv6":
                return self._send(302, "", headers={"Location": "http://[::1/whoAmI/api/json"})
            if not self._authenticated():
                return None
            answer = {"_class": "hudson.security.WhoAmI", "anonymous": False, "name": "alice",
                      "authorities": ["authenticated"]}
            if mode == "authorities_number":
                answer["authorities"] = 5
            body = json.dumps(answer)
            if mode == "deep_json":
                body = "[" * 100_000 + "]" * 100_000
            elif mode == "huge_number":
                body = body[:-1] + f', "tokens": {HUGE}}}'
            return self._send(200, body, "application/json;charset=utf-8")
        if self.path == "/user/alice/security/":
            if not self._authenticated():
                return None
            return self._send(200, self._security_page())
        return self._send(404, "<html><body>Not found</body></html>")

    def _security_page(self) -> str:
        b = self.behaviour
        counter = HUGE if b.mode == "huge_counter" else str(b.uses)
        card = (f'<div class="token-card" id="{b.uuid}"><span class="token-name">ci</span>'
                f'<span class="token-use-counter">{counter}</span></div>')
        if b.mode == "deep_page":
            card += "<div>" * 100_000
        elif b.mode == "bad_declaration":
            card += "<![ bogus [ ]]>"
        return f'<html><body><div class="token-list">{card}</div></body></html>'

    def do_POST(self) -> None:  # noqa: N802
        b = self.behaviour
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if not self._authenticated():
            return None
        if self.path == PROPERTY + "revoke":
            b.revoked = True
            return self._send(200, "")
        if self.path == PROPERTY + "generateNewToken":
            # "ok", but the value is an object and the UUID a list: shapes no Jenkins sends.
            data = {"tokenName": "ci", "tokenUuid": [1], "tokenValue": {"value": "x"}}
            return self._send(200, json.dumps({"status": "ok", "data": data}), "application/json")
        return self._send(404, "")


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[str, Behaviour]]:
    behaviour = Behaviour(token=new_token(), mode=request.param)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.behaviour = behaviour  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", behaviour
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def jenkins(tmp_path: Path) -> Iterator[JenkinsTestServer]:
    server = JenkinsTestServer(tmp_path / "home", ServerOptions()).start()
    server.add_user("bob", password="pw-bob")
    yield server
    server.stop()


def two_leaks(tmp_path: Path, hostile_url: str, hostile_token: str, jenkins: JenkinsTestServer) -> tuple[Path, str]:
    bob = jenkins.create_token("bob", name="laptop")
    src = tmp_path / "src"
    src.mkdir()
    (src / "alice.sh").write_text(f"#!/bin/sh\ncurl -X POST -u alice:{hostile_token} {hostile_url}job/a/build\n")
    (src / "bob.sh").write_text(f"#!/bin/sh\ncurl -X POST -u bob:{bob.value} {jenkins.url}job/b/build\n")
    return src, bob.value


def by_user(stdout: str) -> dict[str, dict]:
    return {f["user"]: f for f in json.loads(stdout)["findings"]}


def assert_clean_run(run, *secrets: str) -> None:
    assert "internal error" not in run.stderr and "Traceback" not in run.output, run.output
    for secret in secrets:
        assert secret not in run.output


@pytest.mark.parametrize("hostile, verdict, words", [
    ("authorities_number", "live", None),  # authorities are informative: no list, none shown
    ("deep_json", "unknown", "not a Jenkins who-am-i response"),
    ("huge_number", "unknown", "not a Jenkins who-am-i response"),
    ("redirect_port", "unknown", "unreadable location"),
    ("redirect_ipv6", "unknown", "location"),
], indirect=["hostile"])
def test_hostile_who_am_i_fails_only_its_finding(tmp_path: Path, hostile, verdict: str, words: str | None,
                                                 jenkins: JenkinsTestServer) -> None:
    url, behaviour = hostile
    src, bob = two_leaks(tmp_path, url, behaviour.token, jenkins)
    run = jts("scan", str(src), "--verify", "--jenkins-url", url, "--jenkins-url", jenkins.url, "-f", "json",
              *FAST)
    assert run.code == 1, run.output
    assert_clean_run(run, behaviour.token, bob)
    found = by_user(run.stdout)
    alice = found["alice"]["verification"]
    assert alice["status"] == verdict, alice
    if words:
        assert words in alice["reason"], alice
    else:
        assert alice["authorities"] == []
    assert found["bob"]["verification"]["status"] == "live"


@pytest.mark.parametrize("hostile, words", [
    ("huge_counter", "use counters could not be read"),
    ("deep_page", "could not be parsed: elements nested more than 512 deep"),
    ("bad_declaration", "could not be parsed: malformed HTML"),
], indirect=["hostile"])
def test_hostile_security_page_fails_only_its_finding(tmp_path: Path, hostile, words: str,
                                                      jenkins: JenkinsTestServer) -> None:
    url, behaviour = hostile
    src, bob = two_leaks(tmp_path, url, behaviour.token, jenkins)
    report = tmp_path / "report.json"
    run = jts("scan", str(src), "--revoke", "--as", "self", "--yes", "--jenkins-url", url, "--jenkins-url",
              jenkins.url, "--audit-log", str(tmp_path / "audit.jsonl"), "-f", "json", "-o", str(report), *FAST,
              env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert run.code == 1, run.output
    assert_clean_run(run, behaviour.token, bob)
    found = by_user(report.read_text())
    alice = found["alice"]["revocation"]
    assert alice["status"] == "needs_manual" and words in alice["reason"], alice
    assert alice["manual_url"] == f"{url}user/alice/security/"
    assert not behaviour.revoked  # nothing was sent for a token that could not be told apart
    assert found["bob"]["revocation"]["status"] == "revoked"
    assert not jenkins.token_works("bob", bob)


@pytest.mark.parametrize("hostile", ["rotate_shape"], indirect=True)
def test_generate_new_token_answer_of_the_wrong_shape(tmp_path: Path, hostile) -> None:
    url, behaviour = hostile
    src = tmp_path / "src"
    src.mkdir()
    (src / "alice.sh").write_text(f"#!/bin/sh\ncurl -X POST -u alice:{behaviour.token} {url}job/a/build\n")
    rotated = tmp_path / "rotated"
    run = jts("scan", str(src), "--revoke", "--as", "self", "--yes", "--rotate", str(rotated), "--jenkins-url", url,
              "--audit-log", str(tmp_path / "audit.jsonl"), "-f", "json", *FAST,
              env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert run.code == 1, run.output
    assert_clean_run(run, behaviour.token)
    revocation = by_user(run.stdout)["alice"]["revocation"]
    assert revocation["status"] == "failed" and "no replacement token" in revocation["reason"], revocation
    assert not behaviour.revoked  # the leaked token is kept until a replacement exists
    assert not rotated.exists() or not any(rotated.iterdir())  # no "{'value': 'x'}" saved as a token


def test_page_parser_raises_only_page_error_and_fast() -> None:
    for page in ('<div class="token-list">' + "<div>" * 100_000, '<div class="token-list"><![ bogus [ ]]>',
                 "x" * (9 * 2**20)):
        with pytest.raises(PageError):
            parse_tokens(page)
        with pytest.raises(PageError):
            usage_statistics_disabled(page)
    # Unmatched end tags at the deepest allowed nesting stay linear.
    page = '<div class="token-list">' + "<span>" * 500 + "</b>" * 50_000
    assert parse_tokens(page) == []
    counter = f'<div class="token-card" id="u1"><span class="token-use-counter">{"1" * 20}</span></div>'
    assert parse_tokens(counter) == [("u1", "", None, False)]


@pytest.mark.parametrize("hostile", ["plain"], indirect=True)
@pytest.mark.parametrize("step, status, words", [
    ("identify", "needs_manual", "unexpected TypeError while planning; nothing was changed"),
    ("post", "failed", "unexpected TypeError while revoking; whether the token is revoked is not known"),
])
def test_an_unforeseen_failure_fails_one_finding_and_the_report_is_written(
        tmp_path: Path, hostile, step: str, status: str, words: str, jenkins: JenkinsTestServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: whatever slips past the parsers costs one finding, not the run."""
    from click.testing import CliRunner

    from scanner.cli import cli
    from scanner.jenkins.revoke import Revoker

    url, behaviour = hostile
    src, bob = two_leaks(tmp_path, url, behaviour.token, jenkins)
    original = getattr(Revoker, step)

    def fails_for_alice(self, first, *args, **kwargs):  # noqa: ANN001, ANN202
        if getattr(first, "user", None) == "alice" or getattr(getattr(first, "target", None), "user", None) == "alice":
            raise TypeError("an answer of a shape nobody foresaw")
        return original(self, first, *args, **kwargs)

    monkeypatch.setattr(Revoker, step, fails_for_alice)
    report = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["scan", str(src), "--revoke", "--as", "self", "--yes", "--jenkins-url", url,
                                      "--jenkins-url", jenkins.url, "--audit-log", str(tmp_path / "audit.jsonl"),
                                      "-f", "json", "-o", str(report), *FAST],
                                env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    found = by_user(report.read_text())
    alice = found["alice"]["revocation"]
    assert alice["status"] == status and words in alice["reason"], alice
    if step == "post":
        assert alice["manual_url"] == f"{url}user/alice/security/"
    assert found["bob"]["revocation"]["status"] == "revoked"
    assert not jenkins.token_works("bob", bob)
    outcomes = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert any(line["event"] == "result" and line.get("action") == "revocation" and line.get("outcome") == status
               and line.get("user") == "alice" for line in outcomes)
