"""`jts scan-jenkins URL` through the CLI against the Jenkins test server (items, builds, logs and
configs served from its JENKINS_HOME, per-item permissions, request log, fault injection).

Tokens are made at run time and registered as real tokens of test-server users, so verification
and revocation run against that server for real.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from tests.helpers import jts, new_token

FAST = ("--timeout", "5", "--retries", "0", "--rate", "10000", "--per-host", "4")


@pytest.fixture
def jenkins(tmp_path: Path) -> Iterator[JenkinsTestServer]:
    server = JenkinsTestServer(tmp_path / "jenkins_home", ServerOptions(version="2.578")).start()
    server.add_user("crawler", password="pw-crawler")
    server.add_user("root", password="pw-root", admin=True)
    for user in ("alice", "bob", "carol"):
        server.add_user(user, password=f"pw-{user}")
    yield server
    server.stop()


def crawl_env(server: JenkinsTestServer, user: str = "crawler") -> dict[str, str]:
    token = server.create_token(user, "crawl").value
    return {"JENKINS_USER_ID": user, "JENKINS_API_TOKEN": token}


def crawl(server: JenkinsTestServer, *args: str, env: dict[str, str] | None = None):
    run = jts("scan-jenkins", server.url, "--no-progress", *FAST, *args, env=env)
    assert "Traceback" not in run.stderr
    return run


def places(report: dict) -> dict[str, list[tuple[str, int]]]:
    """fingerprint -> [(path, line)] of every location."""
    return {f["fingerprint"]: sorted((loc["path"], loc["line"]) for loc in f["locations"]) for f in report["findings"]}


def fingerprint(secret: str) -> str:
    from scanner.findings import fingerprint_of

    return fingerprint_of(secret)


class Planted:
    def __init__(self, server: JenkinsTestServer):
        self.server = server
        self.live: dict[str, tuple[str, str]] = {}  # name -> (user, token)
        self.dead: dict[str, str] = {}

    def token(self, name: str, user: str | None) -> str:
        if user is None:
            self.dead[name] = new_token()
            return self.dead[name]
        value = self.server.create_token(user, name).value
        self.live[name] = (user, value)
        return value

    def values(self) -> list[str]:
        return [v for _, v in self.live.values()] + list(self.dead.values())


def build_jenkins(server: JenkinsTestServer, jobs: int = 40, builds: int = 2000) -> Planted:
    """3 folders (one a multibranch project's parent), ``jobs`` jobs, ``builds`` builds; tokens in a log, a
    config, a parameter, a description and a node config; a job whose config the crawler may not read."""
    c = server.content
    planted = Planted(server)
    folders = ["team-a", "team-b", "ops"]
    for folder in folders:
        c.add_folder(folder)
        c.grant("crawler", folder, "configure")  # ExtendedRead comes with Configure; inherited below
    branches = c.add_multibranch("team-a/mb", ["main", "dev"])
    names = [f"{folders[i % 3]}/job-{i:02d}" for i in range(jobs - len(branches))] + branches
    per_job = [builds // len(names)] * len(names)
    per_job[-1] += builds - sum(per_job)
    shift = min(10, per_job[0] // 2)  # one job past the 100 builds `builds` lists: allBuilds is read
    per_job[0] += shift * 10
    for index in range(2, 12):
        per_job[index] -= shift
    for name in names:
        if name not in branches:  # Jenkins exports only the parameters a job defines
            c.add_job(name, shell="make test", string_parameters={"JENKINS_API_TOKEN": ""} if name == names[1] else None)
    log_token = planted.token("log", "alice")
    config_token = planted.token("config", "bob")
    param_token = planted.token("param", "carol")
    desc_token = planted.token("description", None)
    locked_log = planted.token("locked", "alice")
    c.add_job("team-b/deploy", shell=f'curl -fsS -u bob:{config_token} "$JENKINS_URL/job/x/build"')
    c.add_job("ops/locked", shell=f"echo jenkins {new_token()}")  # its config is not readable: never found
    c.restrict("ops/locked")
    c.grant("crawler", "ops/locked", "read")
    c.add_build("ops/locked", 1, f"+ curl -u alice:{locked_log} $JENKINS_URL/api/json\n")
    for name, count in zip(names, per_job):
        for number in range(1, count + 1):
            log = f"Started by timer\n+ make test\nbuild {number} of {name}\nFinished: SUCCESS\n"
            if name == names[0] and number == 7:
                log = "Started\n" + "step\n" * 40 + f"+ curl -u alice:{log_token} $JENKINS_URL/job/x/build\nok\n"
            params = {"JENKINS_API_TOKEN": param_token} if name == names[1] and number == 3 else None
            c.add_build(name, number, log, compress=number % 3 == 0, parameters=params)
    c.add_node("agent-1", env={"JENKINS_API_TOKEN": desc_token})
    server.expected = {"names": names, "per_job": per_job}  # type: ignore[attr-defined]
    return planted


def test_crawl_finds_verifies_revokes_and_resumes(jenkins: JenkinsTestServer, tmp_path: Path) -> None:
    planted = build_jenkins(jenkins)
    names = jenkins.expected["names"]  # type: ignore[attr-defined]
    innocent = jenkins.create_token("alice", "innocent").value
    env = crawl_env(jenkins)
    state, report_file, audit = tmp_path / "crawl.sqlite", tmp_path / "report.json", tmp_path / "audit.jsonl"
    jenkins.requests.clear()
    run = crawl(jenkins, "--state", str(state), "-f", "json", "-o", str(report_file), "--verify", "--revoke",
                "--as", "self", "--yes", "--audit-log", str(audit), "--user", "carol", "--per-host", "8", env=env)
    assert run.code == 1, run.stderr
    report = json.loads(report_file.read_text())
    found = places(report)
    base = "jenkins://" + jenkins.url.split("://")[1].rstrip("/")
    assert found[fingerprint(planted.live["log"][1])] == [(f"{base}/job/{names[0].replace('/', '/job/')}/7/console", 42)]
    assert found[fingerprint(planted.live["config"][1])] == [
        (f"{base}/job/team-b/job/deploy/config.xml#builders/hudson.tasks.Shell/command", found[
            fingerprint(planted.live["config"][1])][0][1])]
    assert found[fingerprint(planted.live["param"][1])] == [
        (f"{base}/job/{names[1].replace('/', '/job/')}/3/parameters#parameter:JENKINS_API_TOKEN", 1)]
    assert found[fingerprint(planted.live["locked"][1])] == [(f"{base}/job/ops/job/locked/1/console", 1)]
    inventory = report["inventory"]
    assert inventory["kind"] == "jenkins"
    assert inventory["counts"]["builds"] == 2001 and inventory["counts"]["jobs"] == len(names) + 2
    unreadable = {(u["item"], u["what"]) for u in inventory["unreadable"]}
    assert ("ops/locked", "config.xml") in unreadable and ("node agent-1", "config.xml") in unreadable
    # verified at this Jenkins, and revoked there; nothing else touched
    by_fp = {f["fingerprint"]: f for f in report["findings"]}
    for name in ("log", "config", "param", "locked"):
        user, token = planted.live[name]
        finding = by_fp[fingerprint(token)]
        assert finding["verification"]["status"] == "live", name
        assert finding["revocation"]["status"] == "revoked", name
        assert not jenkins.token_works(user, token)
    assert jenkins.token_works("alice", innocent) and jenkins.token_works("crawler", env["JENKINS_API_TOKEN"])
    # no full token anywhere without --show-secrets
    outputs = [run.stdout, run.stderr, report_file.read_text(), audit.read_text(), state.read_bytes().decode("latin-1")]
    for value in planted.values() + [env["JENKINS_API_TOKEN"]]:
        assert not any(value in text for text in outputs)

    # re-run with the state: no old build is fetched again, only the new one
    jenkins.content.add_build(names[2], 999, "new build\n")
    jenkins.requests.clear()
    again = crawl(jenkins, "--state", str(state), "-f", "json", env=env)
    logs = [p for p in jenkins.requests.paths() if p.endswith("/logText/progressiveText")]
    assert logs == [f"/job/{names[2].replace('/', '/job/')}/999/logText/progressiveText"]
    assert not any("allBuilds" in r.query for r in jenkins.requests)
    second = json.loads(again.stdout)
    assert places(second) == found  # earlier findings still listed (redacted), with their verdicts
    assert second["inventory"]["counts"]["builds"] == 1

    # an administrator's credential reads the node configuration
    admin = crawl(jenkins, "--job", "none", "-f", "json", env=crawl_env(jenkins, "root"))
    node = places(json.loads(admin.stdout))[fingerprint(planted.dead["description"])]
    assert node == [(f"{base}/computer/agent-1/config.xml#env:JENKINS_API_TOKEN", node[0][1])]


def test_text_and_sarif_name_the_places(jenkins: JenkinsTestServer) -> None:
    token = jenkins.create_token("alice", "t").value
    jenkins.content.add_folder("team")
    jenkins.content.add_job("team/app", shell="true")
    jenkins.content.add_build("team/app", 12, f"+ curl -u alice:{token} $JENKINS_URL/\n")
    env = crawl_env(jenkins, "root")
    text = crawl(jenkins, env=env)
    assert text.code == 1 and "(job team/app #12 console)" in text.stdout and token not in text.output
    report = json.loads(crawl(jenkins, "-f", "json", env=env).stdout)
    jsonschema.validate(report, json.loads((Path(__file__).parent.parent / "scanner" / "reports" /
                                            "report-schema.json").read_text()))
    sarif = json.loads(crawl(jenkins, "-f", "sarif", env=env).stdout)
    location = sarif["runs"][0]["results"][0]["locations"][0]
    assert location["physicalLocation"]["artifactLocation"]["uri"].endswith("/job/team/job/app/12/console")
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "job team/app #12 console"
    assert sarif["runs"][0]["properties"]["jenkinsCrawl"]["kind"] == "jenkins"
    shown = crawl(jenkins, "--show-secrets", env=env)
    assert token in shown.stdout


def test_wrong_credential_and_no_overall_read_exit_2(jenkins: JenkinsTestServer) -> None:
    wrong = crawl(jenkins, env={"JENKINS_USER_ID": "crawler", "JENKINS_API_TOKEN": new_token()})
    assert wrong.code == 2 and "rejected (HTTP 401)" in wrong.stderr and len(wrong.stderr.strip().splitlines()) == 1
    jenkins.add_user("nobody", password="pw", overall_read=False)
    denied = crawl(jenkins, env=crawl_env(jenkins, "nobody"))
    assert denied.code == 2 and "lacks Overall/Read" in denied.stderr
    missing = jts("scan-jenkins", jenkins.url, env={"JENKINS_USER_ID": "", "JENKINS_API_TOKEN": ""})
    assert missing.code == 2 and "no crawl credential" in missing.stderr


def test_credentials_file(jenkins: JenkinsTestServer, tmp_path: Path) -> None:
    jenkins.content.add_job("a", shell="true")
    token = jenkins.create_token("root", "crawl").value
    secret = tmp_path / "cred"
    secret.write_text(f"root:{token}\n")
    secret.chmod(0o600)
    run = crawl(jenkins, "--credentials-file", str(secret), env={"JENKINS_USER_ID": "", "JENKINS_API_TOKEN": ""})
    assert run.code == 0, run.stderr
    assert token not in run.output


def test_log_deleted_mid_crawl_is_a_warning(jenkins: JenkinsTestServer) -> None:
    c = jenkins.content
    c.add_job("a", shell="true")
    token = new_token()
    c.add_build("a", 1, f"jenkins token {token}\n")
    c.add_build("a", 2, "fine\n")
    # the build list is read, then the build is rotated away just before its log is asked for
    jenkins.faults.add_hook(lambda method, path: c.delete_build("a", 2), prefix="/job/a/2/logText")
    run = crawl(jenkins, "-f", "json", env=crawl_env(jenkins, "root"))
    report = json.loads(run.stdout)
    assert run.code == 1  # the finding in build 1; the gone log is a warning, not an error
    assert {(u["item"], u["what"]) for u in report["inventory"]["unreadable"]} == {("a", "log #2")}
    assert "404" in report["inventory"]["unreadable"][0]["reason"]


def test_hostile_answers(jenkins: JenkinsTestServer) -> None:
    c = jenkins.content
    for name in ("bad-json", "huge", "redirect"):
        c.add_job(name, shell="true")
        c.add_build(name, 1, f"jenkins {new_token()}\n")
    jenkins.faults.add_response(200, [("Content-Type", "application/json")], b"{not json", prefix="/job/bad-json/api/json")
    jenkins.faults.add_response(200, [("Content-Length", str(200 * 2**20))], b"x",
                                content_length=False, prefix="/job/huge/config.xml")
    jenkins.faults.add_response(302, [("Location", "http://elsewhere.invalid/steal")], b"",
                                prefix="/job/redirect/1/logText/progressiveText")
    run = crawl(jenkins, "-f", "json", env=crawl_env(jenkins, "root"))
    report = json.loads(run.stdout)
    reasons = {(u["item"], u["what"]): u["reason"] for u in report["inventory"]["unreadable"]}
    assert "not a JSON object" in reasons[("bad-json", "builds")]
    assert "larger than" in reasons[("huge", "config.xml")]
    assert "redirected to another origin" in reasons[("redirect", "log #1")]  # the client's own rule and words
    assert run.code == 1  # the other logs were read: findings
    hostile_root = JenkinsTestServer(jenkins.home.parent / "other", ServerOptions()).start()
    try:
        hostile_root.faults.add_response(200, [], b"<html>hello</html>", prefix="/api/json")
        bad = jts("scan-jenkins", hostile_root.url, "--no-progress", *FAST, "--anonymous")
        assert bad.code == 2 and "not a Jenkins answer" in bad.stderr and "Traceback" not in bad.stderr
    finally:
        hostile_root.stop()


def test_state_file_holds_no_secret_and_a_crash_keeps_finished_jobs(jenkins: JenkinsTestServer, tmp_path: Path) -> None:
    c = jenkins.content
    tokens = []
    for index in range(3):
        c.add_job(f"job-{index}", shell="true")
        tokens.append(new_token())
        c.add_build(f"job-{index}", 1, f"jenkins {tokens[-1]}\n")
    state = tmp_path / "state.sqlite"
    run = crawl(jenkins, "--state", str(state), env=crawl_env(jenkins, "root"))
    assert run.code == 1
    rows = sqlite3.connect(state).execute("SELECT job, last_build FROM jenkins_jobs ORDER BY job").fetchall()
    assert rows == [("job-0", 1), ("job-1", 1), ("job-2", 1)]
    data = state.read_bytes()
    assert not any(t.encode() in data for t in tokens)
    assert os.stat(state).st_mode & 0o077 == 0


def test_multibranch_branch_with_a_slash_in_its_name_is_crawled(jenkins: JenkinsTestServer) -> None:
    """Branch ``feature/x`` is the item ``feature%2Fx``, at ``job/feature%252Fx``: read like any job."""
    token = new_token()
    branch, plain = jenkins.content.add_multibranch("mb", ["feature/x", "main"])
    jenkins.content.add_build(branch, 1, f"+ curl -u deploy:{token} $JENKINS_URL/\n")
    jenkins.content.add_build(plain, 1, "fine\n")
    run = crawl(jenkins, "-f", "json", env=crawl_env(jenkins, "root"))
    report = json.loads(run.stdout)
    base = "jenkins://" + jenkins.url.split("://")[1].rstrip("/")
    assert places(report)[fingerprint(token)] == [(f"{base}/job/mb/job/feature%252Fx/1/console", 1)]
    assert report["inventory"]["unreadable"] == [] and report["inventory"]["counts"]["logs"] == 2
    text = crawl(jenkins, env=crawl_env(jenkins, "root"))
    assert "(job mb/feature%2Fx #1 console)" in text.stdout and token not in text.output


def test_state_rescans_only_changed_node_configs(jenkins: JenkinsTestServer, tmp_path: Path) -> None:
    first, second = new_token(), new_token()
    jenkins.content.add_node("agent-1", env={"JENKINS_API_TOKEN": first})
    jenkins.content.add_node("agent-2", env={"OTHER": "nothing"})
    state, env = tmp_path / "state.sqlite", crawl_env(jenkins, "root")
    one = json.loads(crawl(jenkins, "--state", str(state), "-f", "json", env=env).stdout)
    assert one["inventory"]["counts"]["nodes"] == 2 and one["inventory"]["counts"]["configs_unchanged"] == 0
    jenkins.content.add_node("agent-2", env={"JENKINS_API_TOKEN": second})
    two = json.loads(crawl(jenkins, "--state", str(state), "-f", "json", env=env).stdout)
    assert two["inventory"]["counts"]["configs_unchanged"] == 1  # agent-1: read, same digest, not scanned
    assert two["stats"]["files"] == 1  # only agent-2's changed config went through the detector
    found = places(two)  # agent-1's finding is still listed, from the state
    assert sorted(found) == sorted([fingerprint(first), fingerprint(second)])
    assert found[fingerprint(first)][0][0].endswith("/computer/agent-1/config.xml#env:JENKINS_API_TOKEN")
    assert first not in state.read_bytes().decode("latin-1")
