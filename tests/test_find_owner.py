"""A 401 proves only "not this user's token"; `--find-owner` tries every user of the Jenkins.

Through the CLI against the Jenkins test server: a wrong user in the content, no user at all,
and a user renamed in Jenkins since the leak.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from tests.helpers import jts, new_token

FAST = ("--timeout", "3", "--retries", "0")


@pytest.fixture
def jenkins(tmp_path: Path):
    with JenkinsTestServer(tmp_path / "jenkins_home", ServerOptions(version="2.578")) as server:
        for user in ("alice", "bob", "carol"):
            server.add_user(user, password=secrets.token_urlsafe(8))
        server.add_user("admin", password=secrets.token_urlsafe(8), admin=True)
        yield server


def _fp(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _verify(src: Path, jenkins: JenkinsTestServer, *extra: str, admin_token: str | None = None) -> tuple[dict, str]:
    owner = ("--find-owner", "--admin-user", "admin") if admin_token else ()
    run = jts("scan", str(src), "--verify", "-f", "json", "--jenkins-url", jenkins.url, *FAST, *owner, *extra,
              env={"JTS_ADMIN_TOKEN": admin_token or ""})
    assert run.code in (0, 1), run.output
    if admin_token:
        assert admin_token not in run.output
    return {f["fingerprint"]: f for f in json.loads(run.stdout)["findings"]}, run.output


def test_wrong_user_in_content_is_never_invalid_and_find_owner_finds_the_owner(tmp_path, jenkins):
    token = jenkins.create_token("bob").value
    src = tmp_path / "src"
    src.mkdir()
    (src / "deploy.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    found, output = _verify(src, jenkins)
    verdict = found[_fp(token)]["verification"]
    assert verdict["status"] == "unknown" and "not alice's token" in verdict["reason"]
    assert token not in output
    # --fail-on live must not pass a live token because the content named the wrong user
    assert jts("scan", str(src), "--verify", "--jenkins-url", jenkins.url, *FAST, "--fail-on", "live").code == 0
    found, _ = _verify(src, jenkins, admin_token=jenkins.create_token("admin").value)
    verdict = found[_fp(token)]["verification"]
    assert verdict["status"] == "live" and verdict["authenticated_as"] == "bob" and verdict["user"] == "bob"
    assert "belongs to bob, not to alice" in verdict["reason"]
    text = jts("scan", str(src), "--verify", "--jenkins-url", jenkins.url, *FAST, "--find-owner", "--admin-user",
               "admin", env={"JTS_ADMIN_TOKEN": jenkins.create_token("admin").value})
    assert "Authenticated as: bob" in text.stdout and token not in text.output


def test_no_user_in_content(tmp_path, jenkins):
    live = jenkins.create_token("carol").value
    dead = "11" + secrets.token_hex(16)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.env").write_text(f"JENKINS_URL={jenkins.url}\nJENKINS_API_TOKEN={live}\n")
    (src / "b.env").write_text(f"JENKINS_URL={jenkins.url}\nJENKINS_API_TOKEN={dead}\n")
    found, _ = _verify(src, jenkins)
    assert all("no user known" in f["verification"]["reason"] for f in found.values())
    jenkins.requests.clear()
    found, _ = _verify(src, jenkins, admin_token=jenkins.create_token("admin").value)
    assert found[_fp(live)]["verification"]["status"] == "live"
    assert found[_fp(live)]["verification"]["authenticated_as"] == "carol"
    verdict = found[_fp(dead)]["verification"]
    assert verdict["status"] == "invalid" and "dead for everyone" in verdict["reason"], verdict
    assert "4 user(s)" in verdict["reason"]
    # one listing per Jenkins, not one per token
    listings = [r for r in jenkins.requests.entries() if "People/api/json" in r.path or "people/api" in r.path]
    assert len(listings) == 1


def test_user_renamed_in_jenkins(tmp_path, jenkins):
    token = jenkins.create_token("alice").value
    dead = jenkins.create_token("bob")
    src = tmp_path / "src"
    src.mkdir()
    (src / "trigger.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    (src / "old.sh").write_text(f"curl -u bob:{dead.value} {jenkins.url}job/x/build\n")
    jenkins.rename_user("alice", "alice.walker")
    import httpx

    httpx.post(f"{jenkins.url}user/bob/descriptorByName/jenkins.security.ApiTokenProperty/revoke",
               data={"tokenUuid": dead.uuid}, auth=("admin", jenkins.create_token("admin").value)).raise_for_status()
    found, _ = _verify(src, jenkins)
    assert found[_fp(token)]["verification"]["status"] == "unknown"  # "alice" no longer exists: 401
    assert found[_fp(dead.value)]["verification"]["status"] == "unknown"  # 401 for bob alone proves nothing
    found, _ = _verify(src, jenkins, admin_token=jenkins.create_token("admin").value)
    verdict = found[_fp(token)]["verification"]
    assert verdict["status"] == "live" and verdict["authenticated_as"] == "alice.walker"
    assert "belongs to alice.walker, not to alice" in verdict["reason"]
    assert found[_fp(dead.value)]["verification"]["status"] == "invalid"


def test_admin_credential_problems_leave_findings_unknown(tmp_path, jenkins):
    token = "11" + secrets.token_hex(16)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.sh").write_text(f"curl -u alice:{token} {jenkins.url}job/x/build\n")
    wrong_admin = "11" + secrets.token_hex(16)
    found, _ = _verify(src, jenkins, admin_token=wrong_admin)
    verdict = found[_fp(token)]["verification"]
    assert verdict["status"] == "unknown" and "admin-user credentials were rejected" in verdict["reason"]
    # a Jenkins without a people listing (404) cannot prove anything either
    jenkins.faults.add_error(404, prefix="/asynchPeople")
    jenkins.faults.add_error(404, prefix="/people")
    found, _ = _verify(src, jenkins, admin_token=jenkins.create_token("admin").value)
    assert found[_fp(token)]["verification"]["status"] == "unknown"
    assert "no user listing" in found[_fp(token)]["verification"]["reason"]


def test_admin_credential_goes_only_to_an_allowed_jenkins(tmp_path, jenkins):
    with JenkinsTestServer(tmp_path / "other_home", ServerOptions(version="2.578")) as other:
        other.add_user("alice", password="pw")
        token = "11" + secrets.token_hex(16)
        src = tmp_path / "src"
        src.mkdir()
        (src / "a.sh").write_text(f"curl -u alice:{token} {other.url}job/x/build\n")
        run = jts("scan", str(src), "--verify", "-f", "json", "--jenkins-url", jenkins.url, "--verify-found-urls",
                  "--find-owner", "--admin-user", "admin", *FAST,
                  env={"JTS_ADMIN_TOKEN": jenkins.create_token("admin").value})
        verdict = json.loads(run.stdout)["findings"][0]["verification"]
        assert verdict["status"] == "unknown" and "only at a --jenkins-url Jenkins" in verdict["reason"]
        assert not any("eople" in r.path or r.basic_user == "admin" for r in other.requests.entries())


def test_find_owner_usage_errors(tmp_path):
    (tmp_path / "a.sh").write_text("echo\n")
    run = jts("scan", str(tmp_path), "--find-owner", "--admin-user", "admin")
    assert run.code == 2 and "only makes sense with --verify" in run.stderr
    run = jts("scan", str(tmp_path), "--admin-user", "admin")
    assert run.code == 2 and "--admin-user only make sense with --revoke (or --find-owner)" in run.stderr
    run = jts("scan", str(tmp_path), "--verify", "--jenkins-url", "http://127.0.0.1:9/", "--find-owner")
    assert run.code == 2 and "--find-owner needs --admin-user" in run.stderr
    run = jts("scan", str(tmp_path), "--verify", "--find-owner", "--admin-user", "admin",
              env={"JTS_ADMIN_TOKEN": "x"})
    assert run.code == 2 and "needs --jenkins-url" in run.stderr
    run = jts("scan", str(tmp_path), "--verify", "--jenkins-url", "http://127.0.0.1:9/", "--find-owner",
              "--admin-user", "admin", env={"JTS_ADMIN_TOKEN": ""})
    assert run.code == 2 and "JTS_ADMIN_TOKEN" in run.stderr
    assert "Traceback" not in run.output


def test_sweep_find_owner(tmp_path, jenkins):
    from tests.helpers import commit, init_repo

    token = jenkins.create_token("bob").value
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"a.sh": f"curl -u alice:{token} {jenkins.url}job/x/build\n"})
    run = jts("sweep", str(repo), "--state", str(tmp_path / "s.sqlite"), "--verify", "--jenkins-url", jenkins.url,
              "--find-owner", "--admin-user", "admin", "-f", "json", *FAST,
              env={"JTS_ADMIN_TOKEN": jenkins.create_token("admin").value})
    verdict = json.loads(run.stdout)["findings"][0]["verification"]
    assert verdict["status"] == "live" and verdict["authenticated_as"] == "bob", run.output


UNREADABLE_URLS = ["https://ci-b.example.com:99999/", "https://ci-b.example.com:8443:8443/",
                   "http://[fe80::1%25eth0]:8080/", "ftp://jenkins.example.com/"]
SHAPES = {
    "env": "JENKINS_URL={url}\nJENKINS_USER_ID=alice\nJENKINS_API_TOKEN={token}\n",
    "yaml": "jenkins:\n  url: {url}\n  user: alice\n  token: {token}\n",
    "nearby": "# our jenkins: {url}job/deploy/\n\nexport JENKINS_USER_ID=alice\nexport JENKINS_API_TOKEN={token}\n",
    "table": "host user token\n{url} alice {token}\n",
}


@pytest.mark.parametrize("url, shape", [(u, s) for u in UNREADABLE_URLS for s in sorted(SHAPES)
                                        if u.startswith("http") or s != "nearby"])  # free text: http(s) URLs only
def test_unreadable_url_on_another_line_is_never_judged_elsewhere(tmp_path, jenkins, url, shape):
    """Old: the URL was dropped, the token tried at the allowed Jenkins, whose 401s made it `invalid`."""
    token = "11" + secrets.token_hex(16)  # the token of the Jenkins the content names: unknown here
    src = tmp_path / "src"
    src.mkdir()
    (src / "ci.env").write_text(SHAPES[shape].format(url=url, token=token))
    admin = jenkins.create_token("admin").value
    jenkins.requests.clear()
    found, output = _verify(src, jenkins, admin_token=admin)
    verdict = found[_fp(token)]["verification"]
    assert verdict["status"] == "unknown" and "cannot be used" in verdict["reason"], verdict
    assert len(jenkins.requests) == 0 and token not in output


def test_docker_compose_host_name_is_the_tokens_jenkins(tmp_path, jenkins):
    """Old: `jenkins_master` (a compose service) was no host, so the allowed Jenkins' 401s made the token `invalid`."""
    token = "11" + secrets.token_hex(16)
    src = tmp_path / "src"
    src.mkdir()
    (src / "ci.env").write_text(f"JENKINS_URL=http://jenkins_master:8080/\nJENKINS_USER_ID=alice\n"
                                f"JENKINS_API_TOKEN={token}\n")
    admin = jenkins.create_token("admin").value
    jenkins.requests.clear()
    found, _ = _verify(src, jenkins, admin_token=admin)
    verdict = found[_fp(token)]["verification"]
    assert verdict["status"] == "unknown" and "--jenkins-url http://jenkins_master:8080" in verdict["reason"], verdict
    assert len(jenkins.requests) == 0


# -- a Jenkins double for what the test server does not do: a case-sensitive realm, a proxy's 401 ----------


@dataclass
class Realm:
    """What the double answers: its user listing, each user's live token, and its 401s."""

    admin_token: str
    roster: list[str]
    live: dict[str, str] = field(default_factory=dict)  # exact user id -> token: a case-sensitive realm
    challenge: str = 'Basic realm="Jenkins"'
    failing: dict[str, int] = field(default_factory=dict)  # user -> the status its who-am-i answers
    bodies: dict[str, bytes] = field(default_factory=dict)  # user -> a who-am-i 200 body sent as it is
    tried: list[str] = field(default_factory=list)


class _RealmHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in {**headers, "X-Jenkins": "2.578", "Content-Length": str(len(body))}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        realm: Realm = self.server.realm  # type: ignore[attr-defined]
        user, _, token = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode().partition(":")
        json_type = {"Content-Type": "application/json"}
        if self.path.startswith("/asynchPeople/api/json") and (user, token) == ("admin", realm.admin_token):
            body = {"users": [{"user": {"id": u}} for u in realm.roster]}
            return self._send(200, json.dumps(body).encode(), json_type)
        if self.path == "/whoAmI/api/json":
            realm.tried.append(user)
            if user in realm.failing:
                return self._send(realm.failing[user], b"", {})
            if user in realm.bodies:
                return self._send(200, realm.bodies[user], json_type)
            if realm.live.get(user) == token or (user, token) == ("admin", realm.admin_token):
                body = {"_class": "hudson.security.WhoAmI", "name": user, "anonymous": False, "authenticated": True}
                return self._send(200, json.dumps(body).encode(), json_type)
        self._send(401, b"<html>401</html>", {"WWW-Authenticate": realm.challenge})


@contextmanager
def realm_double(realm: Realm) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RealmHandler)
    server.realm = realm  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _verify_at(tmp_path: Path, url: str, realm: Realm, user: str, token: str) -> dict:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "ci.env").write_text(f"JENKINS_USER_ID={user}\nJENKINS_API_TOKEN={token}\n")
    run = jts("scan", str(src), "--verify", "-f", "json", "--jenkins-url", url, *FAST, "--find-owner",
              "--admin-user", "admin", env={"JTS_ADMIN_TOKEN": realm.admin_token})
    assert run.code in (0, 1) and "internal error" not in run.output, run.output
    assert token not in run.output and realm.admin_token not in run.output
    return json.loads(run.stdout)["findings"][0]["verification"]


def test_case_sensitive_realm_owner_is_tried(tmp_path):
    """Old: ids were compared lower-cased, so Alice (the owner) was skipped after alice's 401: `invalid`."""
    token = new_token()
    realm = Realm(admin_token=new_token(), roster=["alice", "Alice", "admin"], live={"Alice": token})
    with realm_double(realm) as url:
        verdict = _verify_at(tmp_path, url, realm, "alice", token)
    assert verdict["status"] == "live" and verdict["authenticated_as"] == "Alice", verdict
    assert "Alice" in realm.tried


@pytest.mark.parametrize("challenge", ['Bearer realm="Jenkins"', 'Negotiate, Basic realm="Jenkins"',
                                       'Basic realm="Jenkins-proxy"', 'Basic realm="jenkins"'])
def test_a_401_that_is_not_jenkins_challenge_proves_nothing(tmp_path, challenge):
    """Old: any challenge holding "jenkins" counted as Jenkins' own 401, so a proxy's 401s made the token `invalid`."""
    token = new_token()
    realm = Realm(admin_token=new_token(), roster=["alice", "admin"], challenge=challenge)
    with realm_double(realm) as url:
        verdict = _verify_at(tmp_path, url, realm, "alice", token)
    assert verdict["status"] == "unknown" and "without Jenkins' Basic realm" in verdict["reason"], verdict


@pytest.mark.parametrize("challenge", ['Basic realm="Jenkins"', 'basic  REALM = "Jenkins"'])
def test_jenkins_own_401_still_proves_dead_for_everyone(tmp_path, challenge):
    token = new_token()
    realm = Realm(admin_token=new_token(), roster=["alice", "admin"], challenge=challenge)
    with realm_double(realm) as url:
        verdict = _verify_at(tmp_path, url, realm, "alice", token)
    assert verdict["status"] == "invalid" and "dead for everyone" in verdict["reason"], verdict


def test_empty_user_listing_never_proves_dead(tmp_path):
    """Old: an empty roster was "every user answered 401" vacuously; with alice's who-am-i failing: internal error."""
    token = new_token()
    realm = Realm(admin_token=new_token(), roster=[], failing={"alice": 503})
    with realm_double(realm) as url:
        verdict = _verify_at(tmp_path, url, realm, "alice", token)
    assert verdict["status"] == "unknown" and "names no user" in verdict["reason"], verdict
    realm = Realm(admin_token=new_token(), roster=[])
    with realm_double(realm) as url:
        verdict = _verify_at(tmp_path, url, realm, "alice", token)
    assert verdict["status"] == "unknown" and "names no user" in verdict["reason"], verdict


def test_who_am_i_with_a_key_given_twice_proves_nothing(tmp_path):
    """Old: the last `name` won (json.loads), so an answer naming two users was taken for live."""
    token = new_token()
    body = ('{"_class": "hudson.security.WhoAmI", "name": "mallory", "anonymous": false, "authenticated": true, '
            '"name": "alice"}').encode()
    realm = Realm(admin_token=new_token(), roster=["alice", "admin"], bodies={"alice": body})
    with realm_double(realm) as url:
        verdict = _verify_at(tmp_path, url, realm, "alice", token)
    assert verdict["status"] == "unknown" and "a key given twice" in verdict["reason"], verdict
