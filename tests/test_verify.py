"""`jts scan --verify`, `jts verify` and `jts check` end to end against the Jenkins test server."""

from __future__ import annotations

import json
import secrets
from datetime import date

import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from tests.helpers import commit, init_repo, jts


@pytest.fixture
def jenkins(tmp_path):
    with JenkinsTestServer(tmp_path / "jenkins_home", ServerOptions(version="2.578")) as server:
        server.add_user("alice", password="pw-alice")
        server.add_user("bob", password="pw-bob")
        server.add_user("admin", password="pw-admin", admin=True)
        yield server


def _scan_verify(tree, *extra: str, history: bool = False):
    run = jts("scan", *(["--history"] if history else []), str(tree), "--verify", "-f", "json", "--timeout", "3", "--retries", "1", *extra)
    assert run.code in (0, 1), run.output
    return run, {f["fingerprint"]: f for f in json.loads(run.stdout)["findings"]}


def _fp(secret: str) -> str:
    import hashlib

    return hashlib.sha256(secret.encode()).hexdigest()


def test_live_revoked_wrong_user_expired_and_legacy(tmp_path, jenkins):
    url = jenkins.url.rstrip("/")
    live = jenkins.create_token("alice", name="ci").value
    revoked_token = jenkins.create_token("alice", name="old")
    expired = jenkins.create_token("alice", name="expired", expiration_date=date(2020, 1, 1)).value
    legacy = jenkins.create_legacy_token("bob").value
    wrong_user = jenkins.create_token("bob", name="bob-ci").value
    never_existed = "11" + secrets.token_hex(16)
    tree = init_repo(tmp_path / "tree")
    commit(tree, {
        "live.sh": f"curl -u alice:{live} {url}/job/a/build\n",
        "revoked.sh": f"curl -u alice:{revoked_token.value} {url}/job/a/build\n",
        "expired.sh": f"curl -u alice:{expired} {url}/job/a/build\n",
        "legacy.sh": f"curl -u bob:{legacy} {url}/job/jenkins/build\n",
    })
    commit(tree, {"wrong.sh": f"curl -u alice:{wrong_user} {url}/job/a/build\n",
                  "fake.sh": f"curl -u alice:{never_existed} {url}/job/a/build\n"})
    commit(tree, {"live.sh": None})  # only in history now
    jts("jenkins-test-server", "--help")  # the command exists; the fixture server runs in-process
    # Revoke through the real endpoint so the server state is what Jenkins would have.
    import httpx

    httpx.post(f"{url}/user/alice/descriptorByName/jenkins.security.ApiTokenProperty/revoke",
               data={"tokenUuid": revoked_token.uuid}, auth=("alice", live)).raise_for_status()

    run, found = _scan_verify(tree, "--jenkins-url", jenkins.url, history=True)
    status = {k: v["verification"]["status"] for k, v in found.items()}
    assert found[_fp(live)]["in_head"] is False
    assert status[_fp(live)] == "live"
    assert found[_fp(live)]["verification"]["authenticated_as"] == "alice"
    assert found[_fp(live)]["verification"]["authorities"] == ["authenticated"]
    assert found[_fp(live)]["verification"]["jenkins_version"] == "2.578"
    assert status[_fp(legacy)] == "live"
    # A 401 for the user the content names proves only "not alice's token": never "invalid" alone.
    for dead in (revoked_token.value, expired, wrong_user, never_existed):
        assert status[_fp(dead)] == "unknown", found[_fp(dead)]["verification"]
        assert "not alice's token" in found[_fp(dead)]["verification"]["reason"]
    # With every user of the Jenkins tried (--find-owner), the dead ones are dead for everyone and
    # bob's token, wrongly paired with alice, is live as bob.
    admin = {"JTS_ADMIN_TOKEN": jenkins.create_token("admin").value}
    run = jts("scan", "--history", str(tree), "--verify", "-f", "json", "--timeout", "3", "--retries", "1",
              "--jenkins-url", jenkins.url, "--find-owner", "--admin-user", "admin", env=admin)
    found = {f["fingerprint"]: f for f in json.loads(run.stdout)["findings"]}
    status = {k: v["verification"]["status"] for k, v in found.items()}
    for dead in (revoked_token.value, expired, never_existed):
        assert status[_fp(dead)] == "invalid", found[_fp(dead)]["verification"]
        assert "dead for everyone" in found[_fp(dead)]["verification"]["reason"]
    assert status[_fp(wrong_user)] == "live"
    assert found[_fp(wrong_user)]["verification"]["authenticated_as"] == "bob"
    assert admin["JTS_ADMIN_TOKEN"] not in run.output
    for token in (live, legacy, expired, wrong_user, never_existed):
        assert token not in run.output
    text = jts("scan", "--history", str(tree), "--verify", "--jenkins-url", jenkins.url)
    assert "Authenticated as: alice" in text.stdout
    assert live not in text.output


def test_disallowed_url_is_never_contacted(tmp_path, jenkins):
    tmp_path = tmp_path / "src"
    tmp_path.mkdir()
    token = jenkins.create_token("alice").value
    other = "http://127.0.0.1:9/"  # a URL in the content that the user did not allow
    (tmp_path / "a.sh").write_text(f"curl -u alice:{jenkins.create_token('alice').value} {jenkins.url}job/x/build\n")
    (tmp_path / "b.sh").write_text(f"curl -u alice:{token} {other}job/x/build\n")
    jenkins.requests.clear()
    run, found = _scan_verify(tmp_path, "--jenkins-url", "http://jenkins.invalid.example/")
    assert all(f["verification"]["status"] == "unknown" for f in found.values())
    assert "not an allowed Jenkins" in found[_fp(token)]["verification"]["reason"]
    assert len(jenkins.requests) == 0


def test_path_prefix_must_match(tmp_path, jenkins):
    tmp_path = tmp_path / "src"
    tmp_path.mkdir()
    token = jenkins.create_token("alice").value
    (tmp_path / "a.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    jenkins.requests.clear()
    _, found = _scan_verify(tmp_path, "--jenkins-url", jenkins.url + "other-prefix/")
    assert found[_fp(token)]["verification"]["status"] == "unknown"
    assert len(jenkins.requests) == 0


def test_user_hints_when_content_names_no_user(tmp_path, jenkins):
    tmp_path = tmp_path / "src"
    tmp_path.mkdir()
    token = jenkins.create_token("bob").value
    (tmp_path / "t.env").write_text(f"JENKINS_API_TOKEN={token}\n")
    _, found = _scan_verify(tmp_path, "--jenkins-url", jenkins.url)
    verdict = found[_fp(token)]["verification"]
    assert verdict["status"] == "unknown" and "no user" in verdict["reason"]
    _, found = _scan_verify(tmp_path, "--jenkins-url", jenkins.url, "--user", "alice", "--user", "bob")
    assert found[_fp(token)]["verification"]["status"] == "live"
    assert found[_fp(token)]["verification"]["authenticated_as"] == "bob"
    # A 401 for a hinted user only says "not this user": never "invalid".
    _, found = _scan_verify(tmp_path, "--jenkins-url", jenkins.url, "--user", "alice")
    assert found[_fp(token)]["verification"]["status"] == "unknown"


def test_timeout_sso_and_5xx_are_unknown(tmp_path, jenkins):
    tmp_path = tmp_path / "src"
    tmp_path.mkdir()
    token = jenkins.create_token("alice").value
    (tmp_path / "a.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    rule = jenkins.faults.add_latency(5.0)
    _, found = _scan_verify(tmp_path, "--jenkins-url", jenkins.url, "--timeout", "0.5", "--retries", "0")
    assert found[_fp(token)]["verification"]["status"] == "unknown"
    assert "timed out" in found[_fp(token)]["verification"]["reason"]
    jenkins.faults.remove(rule)
    rule = jenkins.faults.add_sso_redirect("external")
    _, found = _scan_verify(tmp_path, "--jenkins-url", jenkins.url)
    assert found[_fp(token)]["verification"]["status"] == "unknown"
    jenkins.faults.remove(rule)
    sso_paths = [r for r in jenkins.requests.entries() if "sso" in r.path.lower()]
    assert not sso_paths  # credentials were not followed to the SSO origin
    rule = jenkins.faults.add_error(503)
    _, found = _scan_verify(tmp_path, "--jenkins-url", jenkins.url, "--retries", "1")
    assert found[_fp(token)]["verification"]["status"] == "unknown"
    assert "503" in found[_fp(token)]["verification"]["reason"]
    jenkins.faults.remove(rule)
    _, found = _scan_verify(tmp_path, "--jenkins-url", jenkins.url)
    assert found[_fp(token)]["verification"]["status"] == "live"


def test_security_disabled_is_unknown(tmp_path):
    with JenkinsTestServer(tmp_path / "home", ServerOptions(security_enabled=False)) as server:
        (tmp_path / "a.sh").write_text(f"curl -u alice:{'11' + secrets.token_hex(16)} {server.url}job/x/build\n")
        _, found = _scan_verify(tmp_path / "a.sh", "--jenkins-url", server.url)
        verdict = next(iter(found.values()))["verification"]
        assert verdict["status"] == "unknown" and "anonymous" in verdict["reason"]


def test_verify_an_earlier_report(tmp_path, jenkins):
    token = jenkins.create_token("alice").value
    (tmp_path / "a.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    full = tmp_path / "full.json"
    redacted = tmp_path / "redacted.json"
    assert jts("scan", str(tmp_path / "a.sh"), "-f", "json", "--show-secrets", "-o", str(full)).code == 1
    assert jts("scan", str(tmp_path / "a.sh"), "-f", "json", "-o", str(redacted)).code == 1
    run = jts("verify", str(full), "--jenkins-url", jenkins.url, "-f", "json")
    assert json.loads(run.stdout)["findings"][0]["verification"]["status"] == "live"
    assert token not in run.output
    run = jts("verify", str(redacted), "--jenkins-url", jenkins.url, "-f", "json")
    assert json.loads(run.stdout)["findings"][0]["verification"]["status"] == "unknown"
    assert "redacted" in run.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    run = jts("verify", str(bad), "--jenkins-url", jenkins.url)
    assert run.code == 2 and "Traceback" not in run.output


def test_fail_on_gate(tmp_path, jenkins):
    dead = jenkins.create_token("alice")
    live = jenkins.create_token("alice").value
    import httpx

    httpx.post(f"{jenkins.url}user/alice/descriptorByName/jenkins.security.ApiTokenProperty/revoke",
               data={"tokenUuid": dead.uuid}, auth=("alice", live)).raise_for_status()
    (tmp_path / "a.sh").write_text(f"curl -u alice:{dead.value} {jenkins.url}job/x/build\n")
    args = ["scan", str(tmp_path / "a.sh"), "--verify", "--jenkins-url", jenkins.url]
    assert jts(*args).code == 1
    assert jts(*args, "--fail-on", "live").code == 0
    # alice's 401 alone says only "not alice's token": the gate on unknown still fails it...
    assert jts(*args, "--fail-on", "unknown").code == 1
    # ...until every user of the Jenkins answered 401 (--find-owner): dead for everyone
    admin = {"JTS_ADMIN_TOKEN": jenkins.create_token("admin").value}
    assert jts(*args, "--fail-on", "unknown", "--find-owner", "--admin-user", "admin", env=admin).code == 0
    (tmp_path / "a.sh").write_text(f"curl -u alice:{live} {jenkins.url}job/x/build\n")
    assert jts(*args, "--fail-on", "live").code == 1


def test_check_own_token(jenkins):
    token = jenkins.create_token("alice").value
    run = jts("check", "--jenkins-url", jenkins.url, "--user", "alice", env={"JENKINS_API_TOKEN": token})
    assert run.code == 0, run.output
    assert "Authenticated as: alice" in run.stdout and "Authorities:" in run.stdout
    assert token not in run.output
    run = jts("check", "--jenkins-url", jenkins.url, "--user", "alice", stdin=token + "\n",
              env={"JENKINS_API_TOKEN": ""})
    assert run.code == 0
    run = jts("check", "--jenkins-url", jenkins.url, "--user", "bob", env={"JENKINS_API_TOKEN": token})
    assert run.code == 1 and "invalid" in run.stderr


def test_http_proxy_from_environment_is_used(tmp_path, jenkins):
    """HTTP(S)_PROXY is honoured: the who-am-i goes through a forward proxy we run."""
    seen: list[str] = []
    proxy = _forward_proxy(lambda target: (target.hostname or "", target.port or 80), seen)
    try:
        token = jenkins.create_token("alice").value
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "a.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
        proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
        run = jts("scan", str(tmp_path / "src"), "--verify", "--jenkins-url", jenkins.url, "-f", "json",
                  env={"HTTP_PROXY": proxy_url, "http_proxy": proxy_url, "NO_PROXY": "", "no_proxy": ""})
        finding = json.loads(run.stdout)["findings"][0]
        assert finding["verification"]["status"] == "live"
        assert any(path.endswith("/whoAmI/api/json") for path in seen), seen
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_tls_failure_is_unknown(tmp_path, jenkins):
    token = jenkins.create_token("alice").value
    https_url = jenkins.url.replace("http://", "https://")  # TLS to a plain-HTTP port: the handshake fails
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.sh").write_text(f"curl -u alice:{token} {https_url}job/x/build\n")
    _, found = _scan_verify(tmp_path / "src", "--jenkins-url", https_url, "--retries", "0")
    verdict = found[_fp(token)]["verification"]
    assert verdict["status"] == "unknown" and "TLS" in verdict["reason"], verdict


def test_every_user_the_content_names_is_tried(tmp_path, jenkins):
    token = jenkins.create_token("bob").value
    src = tmp_path / "src"
    src.mkdir()
    # Two files pair the token with alice (the most common user), one with bob (its owner).
    (src / "a.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    (src / "b.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/y/build\n")
    (src / "c.sh").write_text(f"curl -u bob:{token} {jenkins.url}job/z/build\n")
    _, found = _scan_verify(src, "--jenkins-url", jenkins.url)
    finding = found[_fp(token)]
    assert finding["user"] == "alice" and finding["other_users"] == ["bob"]
    assert finding["verification"]["status"] == "live"
    assert finding["verification"]["authenticated_as"] == "bob"


def test_hint_rescues_a_wrongly_named_user_but_cannot_prove_dead(tmp_path, jenkins):
    token = jenkins.create_token("bob").value
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    _, found = _scan_verify(src, "--jenkins-url", jenkins.url, "--user", "bob")
    assert found[_fp(token)]["verification"]["status"] == "live"
    _, found = _scan_verify(src, "--jenkins-url", jenkins.url, "--user", "carol")
    verdict = found[_fp(token)]["verification"]
    # neither alice's 401 nor carol's proves the token dead: it is bob's
    assert verdict["status"] == "unknown" and "not alice's, carol's token" in verdict["reason"]


@pytest.mark.parametrize("url, message", [
    ("http://jenkins.example:port/", "port is not a number"),
    ("http://jenkins.example/a/..;/b/", "ambiguous path"),
    ("ftp://jenkins.example/", "not an http(s) URL"),
    ("http://alice:pw@jenkins.example/", "carries credentials"),
    ("http://jenkins.example/?x=1", "no query"),
])
def test_unusable_jenkins_url_option_is_a_usage_error(tmp_path, url, message):
    (tmp_path / "a.sh").write_text(f"curl -u alice:{'11' + secrets.token_hex(16)} http://127.0.0.1:9/job/x/build\n")
    run = jts("scan", str(tmp_path / "a.sh"), "--verify", "--jenkins-url", url)
    assert run.code == 2 and message in run.stderr, run.output
    assert "Traceback" not in run.output and "--jenkins-url:" in run.stderr


@pytest.mark.parametrize("template, message", [
    ("https://ci.example.com/?token={t}", "no query"),
    ("https://ci.example.com/#{t}", "no query or fragment"),
    ("https://ci.example.com:{t}/", "port is not a number"),
    ("https://ci.example.com:8443{t}/", "port is not a number"),
    ("https://alice@x:{t}@ci.example.com/", "carries credentials"),
    ("https://alice:{t}@ci.example.com/", "carries credentials"),
    ("ftp://ci.example.com/x/{t}/", "not an http(s) URL"),
])
def test_a_token_in_an_unusable_jenkins_url_is_never_echoed(tmp_path, template, message):
    token = "11" + secrets.token_hex(16)
    url = template.format(t=token)
    (tmp_path / "a.sh").write_text(f"curl -u alice:{'11' + secrets.token_hex(16)} http://127.0.0.1:9/job/x/build\n")
    (tmp_path / "list.txt").write_text(f"jenkins+{url}\n")
    runs = [jts("scan", str(tmp_path / "a.sh"), "--verify", "--jenkins-url", url),
            jts("check", "--jenkins-url", url, "--user", "alice", stdin="x\n"),
            jts("sweep", f"@{tmp_path / 'list.txt'}", "--state", str(tmp_path / "s.sqlite"), "--no-progress")]
    if url.startswith("ftp:"):  # jenkins+ftp:// is no Jenkins target: the sweep takes it for a git URL
        runs.pop()
    for run in runs:
        assert run.code == 2, run.output
        assert token not in run.output and token[4:-2] not in run.output, run.output
    assert message in runs[0].stderr and message in runs[1].stderr


def test_allowed_url_with_dot_segments_is_normalised(tmp_path, jenkins):
    token = jenkins.create_token("alice").value
    (tmp_path / "a.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    _, found = _scan_verify(tmp_path / "a.sh", "--jenkins-url", jenkins.url + "jenkins/../")
    assert found[_fp(token)]["verification"]["status"] == "live"
    assert found[_fp(token)]["verification"]["jenkins_url"] == jenkins.url.rstrip("/")


def test_docker_compose_host_name_is_verified_there(tmp_path, jenkins):
    """`jenkins_master` (a compose service name, with `_`) is a host httpx connects to; it used to be unreadable.

    A forward proxy stands in for compose's DNS: it sends every request to the test server.
    """
    hosts: list[str] = []
    proxy = _forward_proxy(lambda _target: ("127.0.0.1", jenkins.port), hosts, record=lambda t: t.hostname or "")
    try:
        token = jenkins.create_token("alice").value
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "ci.env").write_text(
            f"JENKINS_URL=http://jenkins_master:8080/\nJENKINS_USER_ID=alice\nJENKINS_API_TOKEN={token}\n")
        proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
        run = jts("scan", str(tmp_path / "src"), "--verify", "--jenkins-url", "http://jenkins_master:8080/",
                  "-f", "json", "--retries", "0",
                  env={"HTTP_PROXY": proxy_url, "http_proxy": proxy_url, "NO_PROXY": "", "no_proxy": ""})
        verdict = json.loads(run.stdout)["findings"][0]["verification"]
        assert verdict["status"] == "live" and verdict["jenkins_url"] == "http://jenkins_master:8080", run.output
        assert hosts == ["jenkins_master"] and token not in run.output
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.parametrize("location", [
    "https://sso.example.com/login/{admin}/{checked}?u=alice&t={admin}&k={checked}#{admin}",  # another origin
    "/login?from=%2F&t={admin}&k={checked}",  # a login page on the same origin
    "https://x:{admin}@sso.example.com@evil.example.com:{checked}/",  # userinfo, and a "port"
])
def test_reflected_credentials_in_a_redirect_are_never_shown(tmp_path, jenkins, location):
    """A proxy or SSO in front of Jenkins may reflect what it received into its Location: the reason says
    where it redirected without the admin token (--find-owner) or the token checked."""
    checked = jenkins.create_token("alice", name="deploy").value
    admin = jenkins.create_token("admin", name="ir").value
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.env").write_text(f"JENKINS_URL={jenkins.url}\nJENKINS_USER=alice\nJENKINS_API_TOKEN={checked}\n")
    jenkins.faults.add_response(302, [("Location", location.format(admin=admin, checked=checked))], prefix="/")
    env = {"JTS_ADMIN_TOKEN": admin}
    for fmt in ("text", "json"):
        run = jts("scan", str(tree), "--verify", "--find-owner", "--admin-user", "admin", "--jenkins-url",
                  jenkins.url, "-f", fmt, "--timeout", "3", "--retries", "0", "--no-progress", env=env)
        assert run.code == 1, run.output
        assert "redirected" in run.stdout
        assert admin not in run.output and checked not in run.output
    check = jts("check", "--jenkins-url", jenkins.url, "--user", "alice", env={**env, "JENKINS_API_TOKEN": checked})
    assert check.code == 1 and "redirected" in check.stderr, check.output
    assert admin not in check.output and checked not in check.output


def _forward_proxy(route, seen: list, record=None):  # noqa: ANN001 - callables of a urlsplit result
    """A forward proxy on 127.0.0.1 (a thread) sending each request to ``route(target)``'s (host, port);
    ``seen`` gets ``record(target)`` of each (the absolute URL's path by default)."""
    import http.client
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            target = urlsplit(self.path)  # a forward proxy receives the absolute URL
            seen.append(record(target) if record else self.path)
            host, port = route(target)
            upstream = http.client.HTTPConnection(host, port, timeout=5)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
            upstream.request("GET", target.path + (f"?{target.query}" if target.query else ""), headers=headers)
            answer = upstream.getresponse()
            body = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # noqa: ANN002 - silence
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    return proxy
