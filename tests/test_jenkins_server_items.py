"""The test server's items, builds, logs and configs (issue #12) against python-jenkins and curl.

Facts followed: /work/shared/jenkins-api.md section 9. python-jenkins is the independent client:
it walks folders and multibranch projects, reads job and build info, console output, configs
and nodes; curl checks what python-jenkins hides (headers, CRLF, chunking).
"""
from __future__ import annotations

import json
import time

import jenkins
import pytest

from scanner.jenkins.server import JenkinsTestServer
from scanner.jenkins.testserver.reqlog import build_log_of
from tests.conftest_jenkins import PASSWORDS, ServerFactory, basic, curl, make_server  # noqa: F401 - fixture
from tests.helpers import new_token

ALICE = basic("alice", PASSWORDS["alice"])
ADMIN = basic("admin", PASSWORDS["admin"])


def client(srv: JenkinsTestServer, user: str = "alice") -> jenkins.Jenkins:
    return jenkins.Jenkins(srv.url, username=user, password=PASSWORDS[user], timeout=10)


def populate(srv: JenkinsTestServer) -> dict[str, str]:
    """Folders, freestyle and Pipeline jobs, a multibranch project, an organization folder, an agent."""
    planted = {"password_param": new_token(), "undefined": new_token(), "auth_token": new_token(),
               "node_env": new_token()}
    content = srv.content
    content.add_job("team a/app", shell="make", string_parameters={"TARGET": "prod"}, password_parameters=["PW"],
                    auth_token=planted["auth_token"], encrypt_auth_token=True)
    content.add_build("team a/app", 1, "Started\nhello\nFinished: SUCCESS\n", parameters={"TARGET": "prod"},
                      password_parameters={"PW": planted["password_param"]},
                      undefined_parameters={"SNEAKED": planted["undefined"]})
    content.add_build("team a/app", 2, "gzipped line\n", compress=True, result="FAILURE")
    content.add_job("team a/nested/deep", pipeline=True, script="node { sh 'make' }")
    content.add_build("team a/nested/deep", 1, "deep log\n")
    content.add_multibranch("mb", ["main", "feature/x"])
    content.add_build("mb/feature%2Fx", 1, "branch log\n")
    content.add_organization("org")
    content.add_multibranch("org/repo", ["main"])
    content.add_job("hidden", shell="secret stuff")
    content.restrict("hidden")
    content.add_job("discoverable", shell="x")
    content.restrict("discoverable")
    content.grant("alice", "discoverable", "discover")
    content.add_node("agent-1", env={"DEPLOY_TOKEN": planted["node_env"]})
    return planted


@pytest.fixture
def items(make_server: ServerFactory) -> tuple[JenkinsTestServer, dict[str, str]]:
    srv = make_server()
    return srv, populate(srv)


# -- python-jenkins ---------------------------------------------------------------------------------

def test_python_jenkins_walks_folders_multibranch_and_organizations(items) -> None:
    srv, _ = items
    names = {job["fullname"] for job in client(srv).get_all_jobs()}
    assert {"team a", "team a/app", "team a/nested", "team a/nested/deep", "mb", "mb/main", "mb/feature%2Fx",
            "org", "org/repo", "org/repo/main"} <= names
    assert "hidden" not in names and "discoverable" not in names  # no Job/Read: left out of listings
    assert "hidden" in {job["fullname"] for job in client(srv, "admin").get_all_jobs()}


def test_python_jenkins_job_info_lists_builds_newest_first_with_classes(items) -> None:
    srv, _ = items
    info = client(srv).get_job_info("team a/app")
    assert info["_class"] == "hudson.model.FreeStyleProject"
    assert [b["number"] for b in info["builds"]] == [2, 1]
    assert info["firstBuild"]["number"] == 1 and info["lastBuild"]["number"] == 2
    assert info["color"] == "red" and info["fullName"] == "team a/app"
    assert "allBuilds" not in info
    branch = client(srv).get_job_info("mb/feature%2Fx")
    assert branch["_class"] == "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    assert branch["url"] == srv.url + "job/mb/job/feature%252Fx/"


def test_python_jenkins_fetches_all_builds_beyond_the_newest_hundred(make_server: ServerFactory) -> None:
    srv = make_server()
    srv.content.add_job("many", shell="make")
    for number in range(1, 106):
        srv.content.add_build("many", number, f"build {number}\n", notes=False)
    shown = client(srv).get_job_info("many")
    assert len(shown["builds"]) == 100 and shown["builds"][0]["number"] == 105
    every = client(srv).get_job_info("many", fetch_all_builds=True)
    assert sorted(b["number"] for b in every["builds"]) == list(range(1, 106))


def test_python_jenkins_build_info_shows_defined_parameters_and_hides_passwords(items) -> None:
    srv, planted = items
    info = client(srv).get_build_info("team a/app", 1)
    assert info["_class"] == "hudson.model.FreeStyleBuild" and info["result"] == "SUCCESS"
    assert info["building"] is False and isinstance(info["timestamp"], int)
    action = next(a for a in info["actions"] if a.get("_class") == "hudson.model.ParametersAction")
    assert action["parameters"] == [
        {"_class": "hudson.model.StringParameterValue", "name": "TARGET", "value": "prod"},
        {"_class": "hudson.model.PasswordParameterValue", "name": "PW"}]
    raw = curl(srv.url + "job/team%20a/job/app/1/api/json?depth=3", auth=ADMIN).body
    assert planted["password_param"] not in raw and planted["undefined"] not in raw and "SNEAKED" not in raw


def test_python_jenkins_console_output_strips_notes_and_reads_gzip(items) -> None:
    srv, _ = items
    assert client(srv).get_build_console_output("team a/app", 1) == "Started\nhello\nFinished: SUCCESS\n"
    assert client(srv).get_build_console_output("team a/app", 2) == "gzipped line\n"
    assert client(srv).get_build_console_output("mb/feature%2Fx", 1) == "branch log\n"


def test_python_jenkins_job_config_needs_configure(items) -> None:
    srv, planted = items
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        client(srv).get_job_config("team a/app")
    config = client(srv, "admin").get_job_config("team a/app")
    assert config.startswith('<?xml version="1.1" encoding="UTF-8"?>')  # from memory since 2.568
    assert "<authToken>{AQAAAB" in config and planted["auth_token"] not in config
    srv.content.grant("alice", "team a/app", "configure")
    assert "<authToken>{AQAAAB" in client(srv).get_job_config("team a/app")
    assert "Folder" in client(srv, "admin").get_job_config("team a")


def test_python_jenkins_nodes_and_node_config(items) -> None:
    srv, planted = items
    nodes = client(srv).get_nodes()
    assert [n["name"] for n in nodes] == ["Built-In Node", "agent-1"]
    assert planted["node_env"] in client(srv, "admin").get_node_config("agent-1")
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        client(srv).get_node_config("agent-1")


def test_python_jenkins_unreadable_job_is_404_or_403_with_discover(items) -> None:
    srv, _ = items
    with pytest.raises(jenkins.NotFoundException):
        client(srv).get_job_config("hidden")
    with pytest.raises(jenkins.JenkinsException, match=r"\[403\]"):
        client(srv).get_job_config("discoverable")
    with pytest.raises(jenkins.JenkinsException, match="does not exist"):
        client(srv).get_job_info("hidden")
    assert client(srv, "admin").get_job_info("hidden")["name"] == "hidden"


# -- permissions and headers (curl) -------------------------------------------------------------------

def test_forbidden_config_carries_permission_headers(items) -> None:
    srv, _ = items
    answer = curl(srv.url + "job/team%20a/job/app/config.xml", auth=ALICE)
    assert answer.status == 403
    assert answer.header("X-Required-Permission") == "hudson.model.Item.ExtendedRead"
    assert answer.headers["x-permission-implied-by"][:2] == ["hudson.model.Item.Configure",
                                                               "hudson.security.Permission.GenericConfigure"]
    assert answer.header("X-You-Are-Authenticated-As") == "alice"
    discover = curl(srv.url + "job/discoverable/", auth=ALICE)
    assert discover.status == 403 and discover.header("X-Required-Permission") is None
    assert curl(srv.url + "job/hidden/api/json", auth=ALICE).status == 404
    assert curl(srv.url + "job/team%20a/job/app/api/json", auth=basic("norights", PASSWORDS["norights"])).status == 403


def test_extended_read_alone_sees_secrets_redacted(make_server: ServerFactory) -> None:
    srv = make_server(extended_read_permission=True)
    value = new_token()
    srv.content.add_job("app", shell=f"echo {value}", auth_token=value, encrypt_auth_token=True)
    srv.content.grant("alice", "app", "extended_read")
    body = curl(srv.url + "job/app/config.xml", auth=ALICE).body
    assert "<authToken>********</authToken>" in body
    assert f"echo {value}" in body  # plain strings are never redacted
    ignored = make_server(extended_read_permission=False)
    ignored.content.add_job("app", shell="x")
    ignored.content.grant("alice", "app", "extended_read")
    assert curl(ignored.url + "job/app/config.xml", auth=ALICE).status == 403  # the permission is disabled


def test_old_versions_send_config_bytes_as_stored(make_server: ServerFactory) -> None:
    srv = make_server(version="2.540")
    value = new_token()
    srv.content.add_job("app", shell="make", auth_token=value)
    body = curl(srv.url + "job/app/config.xml", auth=ADMIN).body
    assert body.startswith("<?xml version='1.1' encoding='UTF-8'?>") and f"<authToken>{value}</authToken>" in body


def test_api_json_headers_tree_ranges_and_depth(items) -> None:
    srv, _ = items
    answer = curl(srv.url + "api/json?tree=jobs[name,jobs[name]{0,1}]", "-g", auth=ALICE)
    assert answer.header("Content-Type") == "application/json;charset=UTF-8"
    assert answer.header("X-Jenkins") == srv.version and answer.header("X-Content-Type-Options") == "nosniff"
    jobs = json.loads(answer.body)["jobs"]
    assert [j["name"] for j in jobs] == ["mb", "org", "team a"]  # sorted case-insensitively, unreadable left out
    assert all(len(j.get("jobs", [])) <= 1 for j in jobs)
    assert "jobs" in next(j for j in jobs if j["name"] == "mb")
    leaf = json.loads(curl(srv.url + "api/json?tree=jobs", auth=ALICE).body)["jobs"]
    assert all(set(j) == {"_class"} for j in leaf)
    plain = json.loads(curl(srv.url + "job/team%20a/api/json", auth=ALICE).body)
    assert plain["_class"] == "com.cloudbees.hudson.plugins.folder.Folder"
    assert {j["name"]: set(j) for j in plain["jobs"]} == {"app": {"_class", "name", "url", "color"},
                                                          "nested": {"_class", "name", "url"}}
    deep = json.loads(curl(srv.url + "job/team%20a/api/json?depth=1", auth=ALICE).body)
    assert "builds" in next(j for j in deep["jobs"] if j["name"] == "app")
    ranged = json.loads(curl(srv.url + "job/team%20a/job/app/api/json?tree=allBuilds[number]{1,}", "-g",
                              auth=ALICE).body)
    assert ranged["allBuilds"] == [{"_class": "hudson.model.FreeStyleBuild", "number": 1}]
    assert curl(srv.url + "api/json?tree=jobs[name", "-g", auth=ALICE).status == 500


def test_urls_are_case_insensitive_and_double_encoded_for_branches(items) -> None:
    srv, _ = items
    assert curl(srv.url + "job/TEAM%20A/job/APP/api/json", auth=ALICE).status == 200
    assert curl(srv.url + "view/all/job/team%20a/job/app/1/api/json", auth=ALICE).status == 200
    assert curl(srv.url + "job/mb/job/feature%252Fx/lastBuild/api/json", auth=ALICE).status == 200
    assert curl(srv.url + "job/mb/job/feature%2Fx/api/json", auth=ALICE).status == 404
    org = json.loads(curl(srv.url + "job/org/api/json?tree=jobs[fullName,jobs[fullName]]", "-g", auth=ALICE).body)
    assert org["_class"] == "jenkins.branch.OrganizationFolder"
    assert org["jobs"][0]["_class"] == "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    assert org["jobs"][0]["jobs"][0]["fullName"] == "org/repo/main"


# -- console logs -------------------------------------------------------------------------------------

def test_console_text_is_streamed_plain_text(items) -> None:
    srv, _ = items
    answer = curl(srv.url + "job/team%20a/job/app/1/consoleText", auth=ALICE)
    assert answer.header("Content-Type") == "text/plain;charset=UTF-8"
    assert answer.header("Transfer-Encoding") == "chunked" and answer.header("Content-Length") is None
    assert answer.body == "Started\nhello\nFinished: SUCCESS\n"


def test_progressive_text_of_a_running_build(make_server: ServerFactory) -> None:
    srv = make_server()
    srv.content.add_job("run", shell="make")
    srv.content.add_build("run", 1, "first\n", notes=False, building=True)
    url = srv.url + "job/run/1/logText/progressiveText"
    first = curl(url + "?start=0", auth=ALICE)
    assert first.body == "first\r\n" and first.header("X-Text-Size") == "6" and first.header("X-More-Data") == "true"
    srv.content.append_log("run", 1, "second\nthird\n")
    more = curl(url + "?start=6", auth=ALICE)
    assert more.body == "second\r\nthird\r\n" and more.header("X-Text-Size") == "19"
    assert json.loads(curl(srv.url + "job/run/1/api/json", auth=ALICE).body)["building"] is True
    srv.content.finish_build("run", 1, "SUCCESS")
    done = curl(url + "?start=19", auth=ALICE)
    assert done.body == "" and done.header("X-Text-Size") == "19" and done.header("X-More-Data") is None
    rolled = curl(url + "?start=500", auth=ALICE)
    assert rolled.body.startswith("first\r\n")  # start beyond the end: from 0 again


def test_progressive_text_keeps_raw_notes_from_2_509(make_server: ServerFactory) -> None:
    new, old = make_server(), make_server(version="2.508")
    for srv in (new, old):
        srv.content.add_job("j", shell="x")
        srv.content.add_build("j", 1, "noted\n", notes=True)
    assert "\x1b[8mha:" in curl(new.url + "job/j/1/logText/progressiveText?start=0", auth=ALICE).body
    assert curl(old.url + "job/j/1/logText/progressiveText?start=0", auth=ALICE).body == "noted\r\n"


def test_deleted_logs_and_builds(items) -> None:
    srv, _ = items
    srv.content.delete_log("team a/app", 1)
    text = curl(srv.url + "job/team%20a/job/app/1/consoleText", auth=ALICE)
    assert text.status == 200 and text.body.startswith("No such file: ")
    progress = curl(srv.url + "job/team%20a/job/app/1/logText/progressiveText?start=0", auth=ALICE)
    assert progress.header("X-Text-Size") == "0" and progress.header("X-More-Data") == "true" and progress.body == ""
    srv.content.delete_build("team a/app", 1)
    assert curl(srv.url + "job/team%20a/job/app/1/consoleText", auth=ALICE).status == 404


def test_computer_endpoints(items) -> None:
    srv, _ = items
    listing = json.loads(curl(srv.url + "computer/api/json", auth=ALICE).body)
    assert listing["_class"] == "hudson.model.ComputerSet"
    assert curl(srv.url + "computer/(built-in)/config.xml", auth=ADMIN).status == 400
    denied = curl(srv.url + "computer/agent-1/config.xml", auth=ALICE)
    assert denied.status == 403 and denied.header("X-Required-Permission") == "hudson.model.Computer.ExtendedRead"
    assert curl(srv.url + "computer/nobody/config.xml", auth=ADMIN).status == 404


# -- accounting and latency ---------------------------------------------------------------------------

def test_request_log_counts_log_fetches(items) -> None:
    srv, _ = items
    srv.requests.clear()
    curl(srv.url + "job/team%20a/job/app/1/consoleText", auth=ALICE)
    curl(srv.url + "job/mb/job/feature%252Fx/1/logText/progressiveText?start=0", auth=ALICE)
    assert srv.requests.log_fetches() == [("team a/app", 1), ("mb/feature%2Fx", 1)]
    assert srv.requests.count(suffix="/consoleText") == 1 and srv.requests.count(method="GET") == 2
    assert build_log_of("/job/a/lastBuild/consoleText") is None


def test_latency_option_delays_every_answer(make_server: ServerFactory) -> None:
    srv = make_server(latency_ms=150)
    started = time.monotonic()
    assert curl(srv.url + "api/json", auth=ALICE).status == 200
    assert time.monotonic() - started >= 0.15
