"""A hostile Jenkins (or a server in the middle): huge, slow, malformed and redirecting answers.

Every case runs the real CLI against the Jenkins test server's fault injection and checks
the verdict or revocation outcome, and that the run still ends the way the README promises:
a complete report on stdout, the documented exit code, no traceback, no full token anywhere.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.jenkins.server import CreatedToken, JenkinsTestServer, ServerOptions
from tests.helpers import ROOT, Run, jts, new_token

MIB = 1024 * 1024
PROPERTY = "descriptorByName/jenkins.security.ApiTokenProperty"
WHOAMI = "/whoAmI/api/json"
JSON = ("Content-Type", "application/json;charset=UTF-8")
X_JENKINS = ("X-Jenkins", "2.578")


@pytest.fixture
def jenkins(tmp_path: Path) -> Iterator[JenkinsTestServer]:
    with JenkinsTestServer(tmp_path / "home", ServerOptions(version="2.578")) as server:
        server.add_user("alice", password="pw-alice")
        server.add_user("bob", password="pw-bob")
        yield server


def fp(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def leak(tmp_path: Path, token: str, url: str, user: str = "alice") -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    script = f"#!/bin/sh\n# jenkins deploy\ncurl -X POST -u {user}:{token} {url}job/deploy/build\n"
    (src / "deploy.sh").write_text(script)
    return src


def assert_clean_run(run: Run, *secrets: str, code: int = 1) -> dict[str, dict]:
    """The documented exit code, no traceback, a whole JSON report, and no full token anywhere."""
    assert run.code == code, run.output
    assert "Traceback" not in run.output and "internal error" not in run.output, run.output
    for secret in secrets:
        assert secret not in run.output and secret.upper() not in run.output
    return {f["fingerprint"]: f for f in json.loads(run.stdout)["findings"]}


def verify(tmp_path: Path, token: str, url: str, *extra: str, timeout: str = "3") -> dict:
    run = jts("scan", str(leak(tmp_path, token, url)), "--verify", "-f", "json", "--no-progress",
              "--timeout", timeout, "--retries", "0", *extra, timeout=90)
    return assert_clean_run(run, token)[fp(token)]["verification"]


def verify_at(tmp_path: Path, jenkins: JenkinsTestServer, token: str, **kwargs: str) -> dict:
    return verify(tmp_path, token, jenkins.url, "--jenkins-url", jenkins.url, **kwargs)


# -- huge answers ---------------------------------------------------------------------------------


def test_huge_who_am_i_answer_is_not_read(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    token = jenkins.create_token("alice").value
    declared = jenkins.faults.add_response(200, [JSON, X_JENKINS], b"x" * (64 * 1024), repeat=4096, prefix=WHOAMI)
    verdict = verify_at(tmp_path, jenkins, token)
    assert verdict["status"] == "unknown" and "larger than 4 MiB" in verdict["reason"], verdict
    assert declared.sent <= 16 * MIB  # 256 MiB offered; the client stopped at once
    jenkins.faults.remove(declared)

    # No Content-Length: the body ends when the server closes, so only reading tells its size.
    endless = jenkins.faults.add_response(200, [JSON, X_JENKINS], b"x" * (64 * 1024), repeat=4096,
                                          content_length=False, prefix=WHOAMI)
    src = leak(tmp_path, token, jenkins.url)
    peak, run = peak_rss_mib("scan", str(src), "--verify", "--jenkins-url", jenkins.url, "-f", "json",
                             "--timeout", "10", "--retries", "0")
    verdict = assert_clean_run(run, token)[fp(token)]["verification"]
    assert verdict["status"] == "unknown" and "larger than 4 MiB" in verdict["reason"], verdict
    assert endless.sent <= 32 * MIB
    assert peak < 150, f"peak RSS {peak:.0f} MiB"


def test_compressed_bomb_is_not_inflated(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    token = jenkins.create_token("alice").value
    bomb = gzip.compress(b"{" + b" " * (512 * MIB), compresslevel=9)  # ~0.5 MiB that inflates to 512 MiB
    jenkins.faults.add_response(200, [JSON, X_JENKINS, ("Content-Encoding", "gzip")], bomb, prefix=WHOAMI)
    verdict = verify_at(tmp_path, jenkins, token)
    assert verdict["status"] == "unknown" and "decompressed" in verdict["reason"], verdict


def peak_rss_mib(*args: str) -> tuple[float, Run]:
    """Run the CLI in a child of a small wrapper that reports the child's peak RSS."""
    wrapper = ("import resource, subprocess, sys\n"
               "done = subprocess.run([sys.executable, '-m', 'scanner', *sys.argv[1:]],\n"
               "                      capture_output=True, text=True)\n"
               "sys.stderr.write(done.stderr)\n"
               "sys.stdout.write(done.stdout)\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(done.returncode)\n")
    done = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    stderr, _, kib = done.stderr.rstrip("\n").rpartition("\n")
    return int(kib) / 1024, Run(done.returncode, done.stdout, stderr)


# -- slow answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
def test_dripping_answer_ends_at_the_timeout(tmp_path: Path, jenkins: JenkinsTestServer, drip_headers: bool) -> None:
    token = jenkins.create_token("alice").value
    body = b'{"_class":"hudson.security.WhoAmI","anonymous":false,"authenticated":true,"name":"alice"}'
    jenkins.faults.add_response(200, [JSON, X_JENKINS], body, drip=0.25, drip_headers=drip_headers, prefix=WHOAMI)
    started = time.monotonic()
    verdict = verify_at(tmp_path, jenkins, token, timeout="2")
    elapsed = time.monotonic() - started
    assert verdict["status"] == "unknown" and "timed out after 2s" in verdict["reason"], verdict
    assert elapsed < 2 + 8, elapsed  # one deadline for the request (plus start-up), not one per byte


# -- malformed answers -----------------------------------------------------------------------------

WHOAMI_OK = {"_class": "hudson.security.WhoAmI", "anonymous": False, "authenticated": True,
             "authorities": ["authenticated"], "name": "alice"}


def _json(**changes: object) -> bytes:
    return json.dumps({k: v for k, v in {**WHOAMI_OK, **changes}.items() if v is not None}).encode()


MALFORMED = {
    "html": ([X_JENKINS], b"<html><body>Welcome</body></html>", "not a JSON object"),
    "array": ([JSON, X_JENKINS], b'[{"name":"alice","anonymous":false}]', "not a JSON object"),
    "name-not-text": ([JSON, X_JENKINS], _json(name=["alice"]), "malformed who-am-i"),
    "anonymous-as-text": ([JSON, X_JENKINS], _json(anonymous="false"), "malformed who-am-i"),
    "not-authenticated": ([JSON, X_JENKINS], _json(authenticated=False), "malformed who-am-i"),
    "huge-number": ([JSON, X_JENKINS], b'{"name":"alice","anonymous":false,"n":' + b"9" * 50_000 + b"}",
                    "not a JSON object"),
    "deep-nesting": ([JSON, X_JENKINS], b'{"name":"alice","anonymous":false,"x":' + b"[" * 200_000 + b"]" * 200_000
                     + b"}", "not a JSON object"),
    "other-class": ([JSON, X_JENKINS], _json(_class="hudson.model.User"), "_class"),
    "not-jenkins": ([JSON], _json(_class=None), "not a Jenkins response"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_who_am_i_is_unknown(tmp_path: Path, jenkins: JenkinsTestServer, case: str) -> None:
    headers, body, reason = MALFORMED[case]
    token = jenkins.create_token("alice").value
    jenkins.faults.add_response(200, headers, body, prefix=WHOAMI)
    verdict = verify_at(tmp_path, jenkins, token)
    assert verdict["status"] == "unknown" and reason in verdict["reason"], verdict


def test_who_am_i_with_x_jenkins_or_class_alone_is_live(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    token = jenkins.create_token("alice").value
    rule = jenkins.faults.add_response(200, [JSON], _json(), prefix=WHOAMI)  # _class, no X-Jenkins (a proxy strips it)
    assert verify_at(tmp_path, jenkins, token)["status"] == "live"
    jenkins.faults.remove(rule)
    rule = jenkins.faults.add_response(200, [JSON, X_JENKINS], _json(_class=None), prefix=WHOAMI)  # before _class
    verdict = verify_at(tmp_path, jenkins, token)
    assert verdict["status"] == "live" and verdict["jenkins_version"] == "2.578"
    jenkins.faults.remove(rule)
    # Authorities are informative: odd ones are dropped, the verdict stands; a version that is not one is not kept.
    jenkins.faults.add_response(200, [JSON, ("X-Jenkins", "2.578; see " + "9" * 100)],
                                _json(authorities=["ok", 5, "x" * 500] + ["g"] * 500), prefix=WHOAMI)
    verdict = verify_at(tmp_path, jenkins, token)
    assert verdict["status"] == "live" and verdict["jenkins_version"] is None, verdict
    assert verdict["authorities"][:2] == ["ok", "x" * 200] and len(verdict["authorities"]) == 100


# -- redirects ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("location, reason", [
    ("http:HOST:P/x", "too many redirects"),  # relative to the current path; it keeps redirecting
    ("http://HOST:P/x", "port is not a number"),
    ("http://[::1/x", "malformed Location"),
    ("http://127.0.0.1:99999/x", "port is not a number"),
    ("/whoAmI/api/json", "too many redirects"),  # a loop
    ("/a/..;/whoAmI/api/json", "ambiguous path"),
])
def test_bad_redirects_are_unknown(tmp_path: Path, jenkins: JenkinsTestServer, location: str, reason: str) -> None:
    token = jenkins.create_token("alice").value
    jenkins.faults.add_response(302, [("Location", location)], prefix="/")
    verdict = verify_at(tmp_path, jenkins, token)
    assert verdict["status"] == "unknown" and reason in verdict["reason"], verdict


def test_two_location_headers_are_unknown(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    token = jenkins.create_token("alice").value
    jenkins.faults.add_response(302, [("Location", "/a/"), ("Location", "/b/")], prefix=WHOAMI)
    verdict = verify_at(tmp_path, jenkins, token)
    assert verdict["status"] == "unknown" and "2 Location headers" in verdict["reason"], verdict


def test_cross_origin_redirect_never_reaches_the_other_origin(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    token = jenkins.create_token("alice").value
    with JenkinsTestServer(tmp_path / "other-home") as other:
        jenkins.faults.add_response(307, [("Location", other.url + "whoAmI/api/json")], prefix=WHOAMI)
        verdict = verify_at(tmp_path, jenkins, token)
        assert verdict["status"] == "unknown" and "another origin" in verdict["reason"], verdict
        assert len(other.requests) == 0


@pytest.mark.parametrize("location", ["/jenkins/../admin-app/whoAmI/api/json",
                                      "/jenkins/%2e%2e/admin-app/whoAmI/api/json",
                                      "/jenkins/%2E%2E/%2e%2E/admin-app/whoAmI/api/json"])
def test_redirect_out_of_the_jenkins_root_is_not_followed(tmp_path: Path, jenkins: JenkinsTestServer,
                                                          location: str) -> None:
    token = jenkins.create_token("alice").value
    root = jenkins.url + "jenkins/"  # a Jenkins under /jenkins, another application beside it
    jenkins.faults.add_response(302, [("Location", location)], prefix="/jenkins/")
    verdict = verify(tmp_path, token, root, "--jenkins-url", root)
    assert verdict["status"] == "unknown" and "outside the Jenkins root" in verdict["reason"], verdict
    assert not [r.path for r in jenkins.requests.entries() if "admin-app" in r.path]


# -- URLs in the content that cannot be used -------------------------------------------------------


@pytest.mark.parametrize("path", ["jenkins/../admin-app/", "jenkins/%2e%2e/admin-app/", "jenkins/..;/admin-app/",
                                  "jenkins/.%2E/admin-app/"])
def test_dot_segments_in_content_urls_do_not_pass_the_prefix_rule(tmp_path: Path, jenkins: JenkinsTestServer,
                                                                  path: str) -> None:
    token = jenkins.create_token("alice").value
    verdict = verify(tmp_path, token, jenkins.url + path, "--jenkins-url", jenkins.url + "jenkins/")
    assert verdict["status"] == "unknown", verdict
    assert "not an allowed Jenkins" in verdict["reason"] or "cannot be used" in verdict["reason"], verdict
    assert len(jenkins.requests) == 0


def test_unusable_url_in_content_is_never_judged_elsewhere(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    """The token's own Jenkins was not asked, so another Jenkins' 401 proves nothing."""
    token = new_token()  # unknown to the allowed Jenkins: trying it there would answer 401
    verdict = verify(tmp_path, token, f"http://[::ffff:127.0.0.1]:{jenkins.port}/", "--jenkins-url", jenkins.url)
    assert verdict["status"] == "unknown", verdict
    assert len(jenkins.requests) == 0


@pytest.mark.parametrize("scheme", ["Http", "HTTPS"])
def test_url_with_an_uppercase_scheme_is_the_tokens_jenkins(tmp_path: Path, jenkins: JenkinsTestServer,
                                                             scheme: str) -> None:
    """Old: `Http://` in content counted as no URL, so the allowed Jenkins' 401 called the token invalid."""
    token = new_token()
    other = f"{scheme}://127.0.0.1:9/"  # the token's own Jenkins, not allowed: it must not be judged elsewhere
    verdict = verify(tmp_path, token, other, "--jenkins-url", jenkins.url)
    assert verdict["status"] == "unknown" and "not an allowed Jenkins" in verdict["reason"], verdict
    assert len(jenkins.requests) == 0
    live = jenkins.create_token("alice").value
    shouted = jenkins.url.replace("http://", "HTTP://")
    assert verify(tmp_path, live, shouted, "--jenkins-url", jenkins.url)["status"] == "live"


@pytest.mark.parametrize("url, status, reason", [
    ("Http://127.0.0.1:{port}", "live", None),  # schemes are case-insensitive
    ("HTTP://127.0.0.1:{port}/job/x/", "live", None),
    ("http://127.0.0.1:port", None, "cannot be used"),
    ("http://[::ffff:127.0.0.1]:{port}", None, "not an allowed Jenkins|cannot be used"),
    ("http://::ffff:127.0.0.1:{port}", None, "cannot be used"),
    ("http://127.0.0.1:{port}/a/..;/b", None, "cannot be used"),
    ("ftp://127.0.0.1:{port}", None, "cannot be used"),
    ("http://127.0.0.1:{port}\n/x", None, "cannot be used"),
])
def test_any_url_a_report_carries_is_safe(tmp_path: Path, jenkins: JenkinsTestServer, url: str,
                                          status: str | None, reason: str | None) -> None:
    """`jts verify` reads URLs from a report file: whatever string is there, nothing crashes or leaks."""
    token = jenkins.create_token("alice").value
    report = tmp_path / "report.json"
    scan = jts("scan", str(leak(tmp_path, token, jenkins.url)), "-f", "json", "--show-secrets", "-o", str(report))
    assert scan.code == 1, scan.output
    data = json.loads(report.read_text())
    data["findings"][0]["jenkins_url"] = url.format(port=jenkins.port)
    report.write_text(json.dumps(data))
    jenkins.requests.clear()
    run = jts("verify", str(report), "--jenkins-url", jenkins.url, "-f", "json", "--timeout", "3", "--retries", "0")
    verdict = assert_clean_run(run, token)[fp(token)]["verification"]
    if status == "live":
        assert verdict["status"] == "live", verdict
    else:
        assert verdict["status"] == "unknown", verdict
        assert any(why in verdict["reason"] for why in reason.split("|")), verdict
        assert len(jenkins.requests) == 0


# -- revocation ---------------------------------------------------------------------------------------


def revoke(tmp_path: Path, jenkins: JenkinsTestServer, token: str, *extra: str) -> tuple[dict, Run]:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    run = jts("scan", str(leak(tmp_path, token, jenkins.url)), "--revoke", "--as", "self", "--yes",
              "--jenkins-url", jenkins.url, "--audit-log", str(tmp_path / "audit.jsonl"), "-f", "json",
              "--no-progress", "--timeout", "3", "--retries", "0", *extra,
              env={"XDG_STATE_HOME": str(state), "JTS_ADMIN_TOKEN": ""}, timeout=120)
    found = assert_clean_run(run, token)
    assert token not in (tmp_path / "audit.jsonl").read_text()
    return found[fp(token)]["revocation"], run


def posts(jenkins: JenkinsTestServer) -> list[str]:
    return [r.path for r in jenkins.requests.entries() if r.method == "POST"]


def test_threads_using_tokens_during_revocation_never_cost_an_innocent_token(
        tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    leaked = jenkins.create_token("alice", name="leaked")
    innocents = [jenkins.create_token("alice", name=f"ci-{n}") for n in range(3)]
    stop = threading.Event()

    def hammer(token: CreatedToken, pause: float) -> None:
        while not stop.is_set():
            try:
                jenkins.use_token("alice", token.value)
            except OSError:
                pass  # revoked under our feet: a 401 is what the attacker would get too
            stop.wait(pause)

    threads = [threading.Thread(target=hammer, args=(token, pause), daemon=True)
               for token, pause in [(leaked, 0.01), (innocents[0], 0.01), (innocents[1], 0.03), (innocents[2], 0.2)]]
    for thread in threads:
        thread.start()
    try:
        revocation, _ = revoke(tmp_path, jenkins, leaked.value)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert revocation["status"] in ("revoked", "needs_manual"), revocation
    if revocation["status"] == "revoked":
        assert revocation["token_uuid"] == leaked.uuid and not jenkins.token_works("alice", leaked.value)
    for token in innocents:
        assert jenkins.token_works("alice", token.value), token.name


@pytest.mark.parametrize("fault", ["huge", "drip", "redirect-away", "not-a-page"])
def test_hostile_security_page_is_needs_manual(tmp_path: Path, jenkins: JenkinsTestServer, fault: str) -> None:
    leaked = jenkins.create_token("alice", name="leaked")
    page = "/user/alice/security/"
    if fault == "huge":
        jenkins.faults.add_response(200, [("Content-Type", "text/html"), X_JENKINS], b"<div>" * 20_000,
                                    repeat=100, prefix=page)
    elif fault == "drip":
        jenkins.faults.add_response(200, [("Content-Type", "text/html"), X_JENKINS], b"<html>" * 100, drip=0.2,
                                    prefix=page)
    elif fault == "redirect-away":
        jenkins.faults.add_response(302, [("Location", "/../../elsewhere/")], prefix=page, method="GET")
    else:
        jenkins.faults.add_response(200, [("Content-Type", "text/html"), X_JENKINS], b"<html>\x00\xff" * 100,
                                    prefix=page)
    revocation, _ = revoke(tmp_path, jenkins, leaked.value)
    assert revocation["status"] in ("needs_manual", "failed"), revocation
    assert posts(jenkins) == [] and jenkins.token_works("alice", leaked.value)
