"""`jts sweep` with Jenkins targets (`jenkins+http://` for the test server, `--jenkins URL`): one
sweep, one report over repositories and Jenkins instances, verified and revoked once, resumable."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from scanner.reports.json_report import SCHEMA_PATH
from tests.helpers import commit, init_repo, jts, new_token

FAST = ("--timeout", "5", "--retries", "0", "--rate", "10000", "--no-progress")


@pytest.fixture
def jenkins(tmp_path: Path) -> Iterator[JenkinsTestServer]:
    with JenkinsTestServer(tmp_path / "jenkins_home", ServerOptions(version="2.578")) as server:
        server.add_user("alice", password="pw-alice")
        server.add_user("crawler", password="pw-crawler", admin=True)
        yield server


def fp(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_one_sweep_covers_a_repository_and_a_jenkins(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    leaked, kept = jenkins.create_token("alice", "leaked").value, jenkins.create_token("alice", "kept").value
    only_in_log = new_token()
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"deploy.sh": f"curl -u alice:{leaked} {jenkins.url}job/x/build\n"}, "deploy")
    c = jenkins.content
    c.add_job("team/app", shell="make")
    c.add_build("team/app", 1, f"+ curl -u alice:{leaked} $JENKINS_URL/job/x/build\n")
    c.add_build("team/app", 2, f"+ echo jenkins {only_in_log}\n")
    env = {"JENKINS_USER_ID": "crawler", "JENKINS_API_TOKEN": jenkins.create_token("crawler", "crawl").value}
    state, html, audit = tmp_path / "s.sqlite", tmp_path / "sweep.html", tmp_path / "audit.jsonl"
    target = "jenkins+" + jenkins.url
    run = jts("sweep", "--state", str(state), str(repo), target, "--revoke", "--as", "self", "--yes",
              "--audit-log", str(audit), "-f", "json", "--html", str(html), *FAST,
              env={**env, "XDG_STATE_HOME": str(tmp_path / "xdg")})
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text()))
    found = {f["fingerprint"]: f for f in report["findings"]}
    shared = found[fp(leaked)]
    base = "jenkins://" + jenkins.url.split("://")[1]
    assert sorted(loc["path"] for loc in shared["locations"]) == ["deploy.sh", f"{base}job/team/job/app/1/console"]
    assert shared["verification"]["status"] == "live"  # checked at the Jenkins it was found on
    assert shared["revocation"]["status"] == "revoked"
    assert not jenkins.token_works("alice", leaked) and jenkins.token_works("alice", kept)
    assert jenkins.token_works("crawler", env["JENKINS_API_TOKEN"])
    assert [loc["path"] for loc in found[fp(only_in_log)]["locations"]] == [f"{base}job/team/job/app/2/console"]
    rows = {r["repo"]: r for r in report["repository"]["repositories"]}
    stored = "jenkins+" + jenkins.url.rstrip("/")
    assert rows[stored]["kind"] == "jenkins" and rows[stored]["status"] == "done" and rows[stored]["findings"] == 2
    assert report["repository"]["counts"]["jenkins"] == 1 and report["repository"]["counts"]["repositories"] == 1
    assert report["repository"]["jenkins"][0]["counts"]["logs"] == 2
    assert f"{base}job/team/job/app/2/console" in html.read_text()
    assert "Repositories and Jenkins instances (2)" in html.read_text()
    for text in (run.stdout, run.stderr, html.read_text(), audit.read_text(), state.read_bytes().decode("latin-1")):
        assert leaked not in text and only_in_log not in text and env["JENKINS_API_TOKEN"] not in text

    # resumed from the state alone: the Jenkins is crawled again, no old build is read, findings stay
    c.add_build("team/app", 3, "fine\n")
    jenkins.requests.clear()
    again = jts("sweep", "--state", str(state), "-f", "sarif", *FAST, env=env)
    assert again.code == 1, again.stderr
    logs = [p for p in jenkins.requests.paths() if p.endswith("/logText/progressiveText")]
    assert logs == ["/job/team/job/app/3/logText/progressiveText"]
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"] for result in json.loads(again.stdout)["runs"][0]["results"]
            for loc in result["locations"]}
    assert any(uri.endswith("/job/team/job/app/2/console") for uri in uris)
    text = jts("sweep", "--state", str(state), *FAST, env=env)
    assert "(job team/app #2 console)" in text.stdout and only_in_log not in text.output
    jobs = sqlite3.connect(state).execute("SELECT job, last_build FROM jenkins_jobs").fetchall()
    assert ("team/app", 3) in jobs


def test_jenkins_targets_never_carry_credentials_and_each_jenkins_gets_its_own(tmp_path: Path) -> None:
    secret = "pw-" + new_token()[:12]
    state = tmp_path / "s.sqlite"
    refused = jts("sweep", "--state", str(state), f"jenkins+https://alice:{secret}@ci.example.com/", *FAST)
    assert refused.code == 2 and "must not carry credentials" in refused.stderr and secret not in refused.output
    assert not state.exists() or not sqlite3.connect(state).execute("SELECT * FROM targets").fetchall()
    clear = jts("sweep", "--state", str(state), "--jenkins", "http://ci.example.com/", *FAST)
    assert clear.code == 2 and "only for a Jenkins on this machine" in clear.stderr
    # one credential from the environment, two Jenkins: it is sent to neither (nothing listens there anyway)
    env = {"JENKINS_USER_ID": "crawler", "JENKINS_API_TOKEN": new_token()}
    two = jts("sweep", "--state", str(state), "--jenkins", "http://127.0.0.1:9/", "jenkins+http://127.0.0.1:7/",
              "-f", "json", *FAST, env=env)
    assert two.code == 2
    errors = {r["repo"]: r["error"] for r in json.loads(two.stdout)["repository"]["repositories"]}
    assert all("used only when one Jenkins is crawled" in e for e in errors.values()) and len(errors) == 2
    assert env["JENKINS_API_TOKEN"] not in two.output


def test_credentials_file_lines_go_only_to_their_jenkins(tmp_path: Path) -> None:
    from scanner.jenkins_crawl.credential import CredentialError, load_credentials

    one, two = new_token(), new_token()
    path = tmp_path / "creds"
    path.write_text(f"# crawl credentials\nhttps://ci-a.example.com/ a:{one}\nhttps://CI-B.example.com/jenkins b:{two}\n")
    path.chmod(0o600)
    found = load_credentials(path)
    assert found.header_for("https://ci-a.example.com", only_jenkins=False) == load_credentials(path).per_root[
        "https://ci-a.example.com"].header
    assert found.header_for("https://ci-b.example.com/jenkins", only_jenkins=False) is not None
    with pytest.raises(CredentialError, match="no crawl credential for https://ci-c.example.com"):
        found.header_for("https://ci-c.example.com", only_jenkins=True)
    path.write_text(f"https://ci-a.example.com/ {one}\n")
    with pytest.raises(CredentialError) as bad:
        load_credentials(path)
    assert one not in str(bad.value) and "line 1" in str(bad.value)
    assert one not in repr(found) and two not in repr(found)


def test_a_crawled_jenkins_gets_neither_the_admin_credential_nor_tokens_that_name_no_jenkins(tmp_path: Path) -> None:
    """A crawled Jenkins checks the tokens found on it; the --jenkins-url Jenkins keeps everything else."""
    with JenkinsTestServer(tmp_path / "home_a", ServerOptions(version="2.578")) as a, \
            JenkinsTestServer(tmp_path / "home_b", ServerOptions(version="2.578")) as b:
        a.add_user("ops", password="pw-ops", admin=True)
        a.add_user("alice", password="pw-alice")
        b.add_user("auditor", password="pw-auditor", admin=True)
        b.add_user("bob", password="pw-bob")
        admin, alices = a.create_token("ops", "ir").value, a.create_token("alice", "deploy").value
        bobs = b.create_token("bob", "ci").value
        b.content.add_job("app", shell="make")
        b.content.add_build("app", 1, f"+ export JENKINS_USER_ID=bob\n+ export JENKINS_API_TOKEN={bobs}\n")
        repo = init_repo(tmp_path / "repo")
        commit(repo, {"deploy.env": f"JENKINS_USER_ID=alice\nJENKINS_API_TOKEN={alices}\n"}, "deploy")  # names no Jenkins
        env = {"JTS_ADMIN_TOKEN": admin, "JENKINS_USER_ID": "auditor",
               "JENKINS_API_TOKEN": b.create_token("auditor", "crawl").value}
        run = jts("sweep", "--state", str(tmp_path / "s.sqlite"), str(repo), "jenkins+" + b.url, "--verify",
                  "--jenkins-url", a.url, "--find-owner", "--admin-user", "ops", "-f", "json", *FAST, env=env)
        assert run.code == 1, run.stderr
        presented = {r.basic_user for r in b.requests}
        assert presented == {"auditor", "bob"}, presented  # the crawl, then the token found on b checked there
        verdicts = {f["fingerprint"]: f["verification"] for f in json.loads(run.stdout)["findings"]}
        assert verdicts[fp(alices)]["status"] == "live" and verdicts[fp(alices)]["jenkins_url"].startswith(a.url.rstrip("/"))
        assert verdicts[fp(bobs)]["status"] == "live" and verdicts[fp(bobs)]["jenkins_url"].startswith(b.url.rstrip("/"))
        assert a.requests.count(lambda r: r.basic_user == "bob") == 0  # b's token stays at b
