"""`jts scan --revoke` and `jts revoke` end to end against the Jenkins test server.

Every test checks the server's own state afterwards: exactly the leaked tokens are gone, every
other token still works, and no token value reached the output or the audit log.
"""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scanner.jenkins.security_page import parse_tokens
from scanner.jenkins.server import CreatedToken, JenkinsTestServer, ServerOptions
from tests.helpers import ROOT, commit, init_repo, jts, new_token

PROPERTY = "descriptorByName/jenkins.security.ApiTokenProperty"
FAST = ("--timeout", "5", "--retries", "1")


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """Stand-in for ~/.local/state so no test writes to the real home."""
    path = tmp_path / "state"
    path.mkdir()
    return path


def start(tmp_path: Path, version: str = "2.578", **options: object) -> JenkinsTestServer:
    server = JenkinsTestServer(tmp_path / f"home-{version}", ServerOptions(version=version, **options)).start()
    server.add_user("alice", password="pw-alice")
    server.add_user("bob", password="pw-bob")
    server.add_user("admin", password="pw-admin", admin=True)
    server.add_user("norights", password="pw-norights", overall_read=False)
    return server


@pytest.fixture
def jenkins(tmp_path: Path) -> Iterator[JenkinsTestServer]:
    server = start(tmp_path)
    yield server
    server.stop()


def use(server: JenkinsTestServer, user: str, token: CreatedToken, times: int) -> None:
    """Give a decoy token a use count of its own, through the real HTTP path."""
    for _ in range(times):
        httpx.get(server.url + "whoAmI/api/json", auth=(user, token.value)).raise_for_status()


def leak(directory: Path, name: str, user: str, value: str, server: JenkinsTestServer) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    # The comment names Jenkins: the legacy 32-hex rule wants Jenkins context around the value.
    path.write_text(f"#!/bin/sh\n# trigger the jenkins deploy job\n"
                    f"curl -X POST -u {user}:{value} {server.url}job/deploy/build\n")
    return path


def run(state: Path, *args: str, env: dict | None = None, stdin: str | None = None):
    return jts(*args, env={"XDG_STATE_HOME": str(state), "JTS_ADMIN_TOKEN": "", **(env or {})}, stdin=stdin)


def revoke_scan(state: Path, target: Path, server: JenkinsTestServer, audit: Path, *extra: str, env=None):
    return run(state, "scan", str(target), "--revoke", "--jenkins-url", server.url, "--audit-log", str(audit),
               "-f", "json", "--no-progress", *FAST, *extra, env=env)


def by_fingerprint(stdout: str) -> dict[str, dict]:
    return {f["fingerprint"]: f for f in json.loads(stdout)["findings"]}


def fp(value: str) -> str:
    from scanner.findings import fingerprint_of

    return fingerprint_of(value)


def audit_lines(audit: Path) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


def assert_no_secret(values: list[str], *texts: str) -> None:
    for value in values:
        for text in texts:
            assert value not in text
            assert value.upper() not in text


def posts(server: JenkinsTestServer) -> list[str]:
    return [r.path for r in server.requests.entries() if r.method == "POST"]


# -- the main path, in both HTML generations ---------------------------------------------------


@pytest.mark.parametrize("version", ["2.578", "2.480", "2.400"])
def test_revokes_exactly_the_leaked_tokens(tmp_path: Path, state: Path, version: str) -> None:
    server = start(tmp_path, version)
    try:
        ci = server.create_token("alice", name="ci")
        deploy = server.create_token("alice", name="deploy")
        nightly = server.create_token("alice", name="nightly")
        legacy = server.create_legacy_token("alice")
        bob_leaked = server.create_token("bob", name="laptop")
        bob_other = server.create_token("bob", name="server")
        use(server, "alice", ci, 4)  # decoys with counters of their own
        use(server, "alice", nightly, 1)
        use(server, "bob", bob_other, 2)
        repo = init_repo(tmp_path / "repo")
        leak(repo, "deploy.sh", "alice", deploy.value, server)
        leak(repo / "tools", "bob.sh", "bob", bob_leaked.value, server)
        sha = commit(repo, {}, "add deploy scripts")
        commit(repo, {"deploy.sh": None, "tools/bob.sh": None}, "remove them")
        audit = tmp_path / "audit.jsonl"
        report = tmp_path / "report.json"

        first = revoke_scan(state, repo, server, audit, "--history", "--as", "self", "--yes",
                            "--show-secrets", "-o", str(report))
        assert first.code == 1, first.output  # findings, as any scan
        found = by_fingerprint(report.read_text())
        for leaked in (deploy, bob_leaked):
            revocation = found[fp(leaked.value)]["revocation"]
            assert revocation["status"] == "revoked", revocation
            assert (revocation["token_uuid"], revocation["token_name"]) == (leaked.uuid, leaked.name)
            assert revocation["actor"] == "self"
        assert not server.token_works("alice", deploy.value)
        assert not server.token_works("bob", bob_leaked.value)
        for user, kept in (("alice", ci), ("alice", nightly), ("alice", legacy), ("bob", bob_other)):
            assert server.token_works(user, kept.value), kept.name
        assert {t.name for t in server.list_tokens("alice")} == {"ci", "nightly", "Legacy Token"}
        assert {t.name for t in server.list_tokens("bob")} == {"server"}
        assert "Revocation plan (2 token(s), acting as self)" in first.stderr
        assert "'deploy'" in first.stderr and "deploy.sh:3" in first.stderr

        lines = audit_lines(audit)
        assert [(line["event"], line["action"]) for line in lines if line.get("token_uuid") == deploy.uuid] == [
            ("planned", "revoke"), ("attempted", "revoke"), ("result", "revoke"), ("result", "revocation")]
        final = [line for line in lines if line.get("action") == "revocation"]
        assert {line["outcome"] for line in final} == {"revoked"}
        assert all(line["jenkins_url"] == server.url.rstrip("/") and line["actor"] == "self" for line in final)
        assert {line["leaked_in"][0]["commit"] for line in final} == {sha}
        assert {line["fingerprint"] for line in final} == {fp(deploy.value), fp(bob_leaked.value)}
        every = [ci, deploy, nightly, legacy, bob_leaked, bob_other]
        assert_no_secret([t.value for t in every], first.output, audit.read_text())

        # A second run, from the report: a 401 for the named user alone proves only "not theirs", so
        # the findings need a human (or --find-owner), never a silent skip.
        again = run(state, "revoke", str(report), "--as", "self", "--yes", "--jenkins-url", server.url,
                    "--audit-log", str(audit), "-f", "json", *FAST)
        assert again.code == 1, again.output
        revocations = [f["revocation"] for f in json.loads(again.stdout)["findings"]]
        assert {r["status"] for r in revocations} == {"needs_manual"}
        assert all("--find-owner" in r["reason"] for r in revocations)
        # With every user tried (--find-owner), they are dead for everyone: nothing is sent but
        # who-am-i and the user listing.
        server.requests.clear()
        again = run(state, "revoke", str(report), "--as", "self", "--yes", "--jenkins-url", server.url,
                    "--find-owner", "--admin-user", "admin", "--audit-log", str(audit), "-f", "json", *FAST,
                    env={"JTS_ADMIN_TOKEN": server.create_token("admin", name="ops").value})
        assert again.code == 0, again.output
        statuses = {f["revocation"]["status"] for f in json.loads(again.stdout)["findings"]}
        assert statuses == {"already_invalid"}, again.stdout
        assert posts(server) == []
        assert {r.path for r in server.requests.entries()} == {"/whoAmI/api/json", "/asynchPeople/api/json"}
        assert_no_secret([t.value for t in every], again.output, audit.read_text())
        assert audit_lines(audit)[-1]["outcome"] == "already_invalid"
    finally:
        server.stop()


@pytest.mark.parametrize("version", ["2.578", "2.400"])
def test_legacy_token_is_revoked_by_uuid_and_stays_dead(tmp_path: Path, state: Path, version: str) -> None:
    server = start(tmp_path, version)
    try:
        legacy = server.create_legacy_token("bob")
        other = server.create_token("bob", name="ci")
        use(server, "bob", other, 3)
        leak(tmp_path / "src", "job.sh", "bob", legacy.value, server)
        audit = tmp_path / "audit.jsonl"
        result = revoke_scan(state, tmp_path / "src", server, audit, "--as", "self", "--yes")
        revocation = by_fingerprint(result.stdout)[fp(legacy.value)]["revocation"]
        assert revocation["status"] == "revoked" and revocation["token_name"] == "Legacy Token", revocation
        assert not server.token_works("bob", legacy.value)
        assert server.token_works("bob", other.value)
        server.restart()  # revoke by UUID also cleared <apiToken>: the legacy token does not come back
        assert not server.token_works("bob", legacy.value)
        assert [t.name for t in server.list_tokens("bob")] == ["ci"]
        assert_no_secret([legacy.value, other.value], result.output, audit.read_text())
    finally:
        server.stop()


# -- when the token cannot be told apart -------------------------------------------------------


def test_statistics_disabled_needs_manual_then_revoke_all(tmp_path: Path, state: Path, jenkins) -> None:
    jenkins.set_api_token_config(usage_statistics_enabled=False)
    tokens = [jenkins.create_token("alice", name=name) for name in ("ci", "deploy", "nightly")]
    bob = jenkins.create_token("bob", name="bob-ci")
    leaked = tokens[1]
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)
    audit = tmp_path / "audit.jsonl"

    manual = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "self", "--yes")
    revocation = by_fingerprint(manual.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "needs_manual", revocation
    assert revocation["manual_url"] == f"{jenkins.url}user/alice/security/"
    assert "statistics are disabled" in revocation["reason"]
    assert posts(jenkins) == []
    assert all(jenkins.token_works("alice", t.value) for t in tokens)
    text = run(state, "scan", str(tmp_path / "src"), "--revoke", "--as", "self", "--yes", "--jenkins-url",
               jenkins.url, "--audit-log", str(audit), *FAST)
    assert f"revoke by hand at {jenkins.url}user/alice/security/" in text.stdout
    assert audit_lines(audit)[-1]["outcome"] == "needs_manual"

    everything = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "self", "--yes",
                             "--revoke-all-user-tokens")
    revocation = by_fingerprint(everything.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "revoked", revocation
    assert "all 3 token(s) of alice" in revocation["reason"]
    assert not any(jenkins.token_works("alice", t.value) for t in tokens)
    assert jenkins.list_tokens("alice") == []
    assert jenkins.token_works("bob", bob.value)
    assert "ALL 3 tokens" in everything.stderr
    assert_no_secret([t.value for t in [*tokens, bob]], manual.output, text.output, everything.output,
                     audit.read_text())


def test_revoke_all_prefers_the_legacy_uuid_for_a_legacy_leak(tmp_path: Path, state: Path, jenkins) -> None:
    jenkins.set_api_token_config(usage_statistics_enabled=False)
    legacy = jenkins.create_legacy_token("alice")
    keep = jenkins.create_token("alice", name="ci")
    leak(tmp_path / "src", "a.sh", "alice", legacy.value, jenkins)
    result = revoke_scan(state, tmp_path / "src", jenkins, tmp_path / "audit.jsonl", "--as", "self", "--yes",
                         "--revoke-all-user-tokens")
    revocation = by_fingerprint(result.stdout)[fp(legacy.value)]["revocation"]
    assert revocation["status"] == "revoked" and revocation["token_name"] == "Legacy Token", revocation
    assert jenkins.token_works("alice", keep.value)  # no revokeAll was needed
    assert not any(p.endswith("/revokeAll") for p in posts(jenkins))
    jenkins.restart()
    assert not jenkins.token_works("alice", legacy.value)


# -- who acts ------------------------------------------------------------------------------------


def test_user_without_overall_read_needs_admin_mode(tmp_path: Path, state: Path, jenkins) -> None:
    leaked = jenkins.create_token("norights", name="ci")
    kept = jenkins.create_token("norights", name="other")
    use(jenkins, "norights", kept, 2)
    admin = jenkins.create_token("admin", name="jts")
    leak(tmp_path / "src", "a.sh", "norights", leaked.value, jenkins)
    audit = tmp_path / "audit.jsonl"

    refused = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "self", "--yes")
    revocation = by_fingerprint(refused.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "failed" and "--as admin" in revocation["reason"], revocation
    assert jenkins.token_works("norights", leaked.value)

    missing = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "admin", "--admin-user", "admin", "--yes")
    assert missing.code == 2 and "JTS_ADMIN_TOKEN" in missing.stderr and "Traceback" not in missing.output

    by_env = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "admin", "--admin-user", "admin", "--yes",
                         env={"JTS_ADMIN_TOKEN": admin.value})
    revocation = by_fingerprint(by_env.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "revoked" and revocation["actor"] == "admin", revocation
    assert revocation["token_uuid"] == leaked.uuid
    assert not jenkins.token_works("norights", leaked.value)
    assert jenkins.token_works("norights", kept.value) and jenkins.token_works("admin", admin.value)
    assert_no_secret([leaked.value, kept.value, admin.value], refused.output, by_env.output, audit.read_text())


def test_admin_token_file_and_bad_admin_credentials(tmp_path: Path, state: Path, jenkins) -> None:
    leaked = jenkins.create_token("alice", name="ci")
    kept = jenkins.create_token("alice", name="other")
    admin = jenkins.create_token("admin", name="jts")
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)
    token_file = tmp_path / "admin.token"
    token_file.write_text(new_token() + "\n")  # well-formed, but not a token Jenkins knows
    token_file.chmod(0o600)
    audit = tmp_path / "audit.jsonl"
    wrong = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "admin", "--admin-user", "admin",
                        "--admin-token-file", str(token_file), "--yes")
    revocation = by_fingerprint(wrong.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "failed" and "admin credentials do not work" in revocation["reason"]
    assert jenkins.token_works("alice", leaked.value) and posts(jenkins) == []
    token_file.write_text(admin.value + "\n")
    good = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "admin", "--admin-user", "admin",
                       "--admin-token-file", str(token_file), "--yes")
    assert by_fingerprint(good.stdout)[fp(leaked.value)]["revocation"]["status"] == "revoked"
    assert not jenkins.token_works("alice", leaked.value)
    assert jenkins.token_works("alice", kept.value) and jenkins.token_works("admin", admin.value)
    assert_no_secret([leaked.value, kept.value, admin.value], wrong.output, good.output, audit.read_text())


# -- telling the leaked token apart when others use tokens too --------------------------------------


def page_hook(server: JenkinsTestServer, action) -> None:  # noqa: ANN001 - a callable of the read number
    """Run ``action(n)`` before the n-th read (1-based) of alice's token page (either generation)."""
    reads = iter(range(1, 1000))
    page = "/user/alice/security/" if server.version >= "2.468" else "/user/alice/configure"
    server.faults.add_hook(lambda _m, _p: action(next(reads)), prefix=page, method="GET")


@pytest.mark.parametrize("version", ["2.578", "2.400"])
def test_concurrent_use_of_the_leaked_token_does_not_revoke_an_innocent_one(
        tmp_path: Path, state: Path, version: str) -> None:
    """Old rule ("rose by exactly"): the leaked token rose by 6 (someone else used it twice between
    the reads), an innocent one by exactly our 4 uses, and the innocent one was revoked."""
    server = start(tmp_path, version)
    try:
        leaked = server.create_token("alice", name="leaked")
        innocent = server.create_token("alice", name="innocent")

        def someone_else(_read: int) -> None:
            server.use_token("alice", leaked.value, 2)
            server.use_token("alice", innocent.value, 4)

        page_hook(server, someone_else)
        leak(tmp_path / "src", "a.sh", "alice", leaked.value, server)
        audit = tmp_path / "audit.jsonl"
        result = revoke_scan(state, tmp_path / "src", server, audit, "--as", "self", "--yes")
        revocation = by_fingerprint(result.stdout)[fp(leaked.value)]["revocation"]
        assert revocation["status"] == "revoked" and revocation["token_uuid"] == leaked.uuid, revocation
        assert "someone else is using the leaked token" in revocation["reason"]
        assert "someone else is using the leaked token" in result.stderr  # said in the plan, before acting
        assert server.token_works("alice", innocent.value) and not server.token_works("alice", leaked.value)
        assert_no_secret([leaked.value, innocent.value], result.output, audit.read_text())
    finally:
        server.stop()


def test_two_candidates_twice_is_needs_manual(tmp_path: Path, state: Path, jenkins) -> None:
    leaked = jenkins.create_token("alice", name="leaked")
    busy = jenkins.create_token("alice", name="busy")
    page_hook(jenkins, lambda _read: jenkins.use_token("alice", busy.value, 20))  # always rises by more than us
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)
    result = revoke_scan(state, tmp_path / "src", jenkins, tmp_path / "audit.jsonl", "--as", "self", "--yes")
    revocation = by_fingerprint(result.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "needs_manual", revocation
    assert "2 tokens' use counters rose by at least 8" in revocation["reason"]  # the second round: 7 uses + 1 read
    assert revocation["manual_url"].endswith("/user/alice/security/")
    assert posts(jenkins) == []
    assert jenkins.token_works("alice", leaked.value) and jenkins.token_works("alice", busy.value)


def test_a_counter_that_goes_down_is_needs_manual(tmp_path: Path, state: Path, jenkins) -> None:
    """Old rule: the leaked counter fell (statistics reset), an innocent one rose by exactly 4: revoked."""
    leaked = jenkins.create_token("alice", name="leaked")
    innocent = jenkins.create_token("alice", name="innocent")
    jenkins.set_use_counter("alice", leaked.uuid, 50)

    def reset_between_reads(read: int) -> None:
        if read == 2:
            jenkins.set_use_counter("alice", leaked.uuid, 0)
            jenkins.use_token("alice", innocent.value, 4)

    page_hook(jenkins, reset_between_reads)
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)
    result = revoke_scan(state, tmp_path / "src", jenkins, tmp_path / "audit.jsonl", "--as", "self", "--yes")
    revocation = by_fingerprint(result.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "needs_manual" and "went down" in revocation["reason"], revocation
    assert posts(jenkins) == []
    assert jenkins.token_works("alice", leaked.value) and jenkins.token_works("alice", innocent.value)


# -- failures on the wire ----------------------------------------------------------------------


def test_dropped_connection_after_the_post_is_resolved_by_the_recheck(tmp_path: Path, state: Path, jenkins) -> None:
    leaked = jenkins.create_token("alice", name="ci")
    kept = jenkins.create_token("alice", name="other")
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)
    audit = tmp_path / "audit.jsonl"

    before = jenkins.faults.add_drop(prefix=f"/user/alice/{PROPERTY}/revoke", method="POST", after_action=False)
    lost = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "self", "--yes")
    revocation = by_fingerprint(lost.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "failed" and "still live" in revocation["reason"], revocation
    assert jenkins.token_works("alice", leaked.value)
    jenkins.faults.remove(before)

    after = jenkins.faults.add_drop(prefix=f"/user/alice/{PROPERTY}/revoke", method="POST", after_action=True)
    dropped = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "self", "--yes")
    revocation = by_fingerprint(dropped.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "revoked", revocation
    assert "no answer" in revocation["reason"] and "401" in revocation["reason"]
    assert after.hits == 1  # the POST was not repeated
    assert not jenkins.token_works("alice", leaked.value) and jenkins.token_works("alice", kept.value)
    results = [line for line in audit_lines(audit) if line["event"] == "result" and line.get("action") == "revoke"]
    assert "no answer" in results[-1]["outcome"]


def test_crash_mid_run_leaves_a_readable_audit_log(tmp_path: Path, state: Path, jenkins) -> None:
    leaked = jenkins.create_token("alice", name="ci")
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)
    audit = tmp_path / "audit.jsonl"
    jenkins.faults.add_latency(30.0, prefix=f"/user/alice/{PROPERTY}/revoke", method="POST")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(state)}
    proc = subprocess.Popen([sys.executable, "-m", "scanner", "scan", str(tmp_path / "src"), "--revoke", "--as",
                             "self", "--yes", "--jenkins-url", jenkins.url, "--audit-log", str(audit),
                             "--timeout", "60"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (audit.exists() and '"attempted"' in audit.read_text()):
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    lines = audit_lines(audit)  # every line is whole JSON
    assert (lines[-1]["event"], lines[-1]["action"], lines[-1]["token_uuid"]) == ("attempted", "revoke", leaked.uuid)
    assert_no_secret([leaked.value], audit.read_text())


# -- rotation ------------------------------------------------------------------------------------


def test_rotate_writes_a_live_replacement_and_kills_the_old_one(tmp_path: Path, state: Path, jenkins) -> None:
    leaked = jenkins.create_token("alice", name="deploy")
    kept = jenkins.create_token("alice", name="ci")
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)
    rotated = tmp_path / "rotated"
    rotated.mkdir()
    (rotated / "alice-deploy.token").write_text("an older file that must survive\n")
    audit = tmp_path / "audit.jsonl"
    result = revoke_scan(state, tmp_path / "src", jenkins, audit, "--as", "self", "--yes", "--rotate", str(rotated))
    revocation = by_fingerprint(result.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "revoked", revocation
    assert (rotated / "alice-deploy.token").read_text() == "an older file that must survive\n"
    new_file = rotated / "alice-deploy-2.token"
    assert stat.S_IMODE(new_file.stat().st_mode) == 0o600
    replacement = new_file.read_text().strip()
    assert jenkins.token_works("alice", replacement)
    assert not jenkins.token_works("alice", leaked.value) and jenkins.token_works("alice", kept.value)
    assert sorted(t.name for t in jenkins.list_tokens("alice")) == ["ci", "deploy"]
    assert leaked.uuid not in {t.uuid for t in jenkins.list_tokens("alice")}
    generated = [line for line in audit_lines(audit) if line.get("action") == "generate_new_token"]
    assert generated[-1]["outcome"] == "live" and generated[-1]["file"] == str(new_file)
    assert_no_secret([replacement, leaked.value, kept.value], result.output, audit.read_text())
    assert "--rotate needs --as self" in run(state, "scan", str(tmp_path / "src"), "--revoke", "--as", "admin",
                                             "--admin-user", "admin", "--rotate", str(rotated)).stderr


# -- asking first --------------------------------------------------------------------------------


def test_dry_run_and_no_terminal_change_nothing(tmp_path: Path, state: Path, jenkins) -> None:
    leaked = jenkins.create_token("alice", name="deploy")
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)

    dry = run(state, "scan", str(tmp_path / "src"), "--revoke", "--as", "self", "--dry-run", "--jenkins-url",
              jenkins.url, "-f", "json", *FAST)
    assert dry.code == 1, dry.output
    revocation = by_fingerprint(dry.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "planned" and revocation["token_name"] == "deploy", revocation
    assert "'deploy'" in dry.stderr and "a.sh:3" in dry.stderr and "Dry run" in dry.stderr
    default_log = state / "jts" / "audit.jsonl"  # $XDG_STATE_HOME/jts/audit.jsonl
    assert [line["event"] for line in audit_lines(default_log)] == ["started", "planned", "result"]

    unasked = run(state, "scan", str(tmp_path / "src"), "--revoke", "--as", "self", "--jenkins-url", jenkins.url,
                  "-f", "json", *FAST)
    assert unasked.code == 2, unasked.output
    revocation = by_fingerprint(unasked.stdout)[fp(leaked.value)]["revocation"]
    assert revocation["status"] == "planned" and "no terminal" in revocation["reason"]
    assert "pass --yes" in unasked.stderr
    assert posts(jenkins) == [] and jenkins.token_works("alice", leaked.value)
    assert_no_secret([leaked.value], dry.output, unasked.output, default_log.read_text())


def test_confirmation_on_a_terminal(tmp_path: Path, state: Path, jenkins) -> None:
    leaked = jenkins.create_token("alice", name="deploy")
    leak(tmp_path / "src", "a.sh", "alice", leaked.value, jenkins)

    def on_tty(answer: str) -> tuple[int, str]:
        master, slave = pty.openpty()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_STATE_HOME": str(state)}
        proc = subprocess.Popen([sys.executable, "-m", "scanner", "scan", str(tmp_path / "src"), "--revoke", "--as",
                                 "self", "--jenkins-url", jenkins.url, "-f", "json", "--no-color"],
                                stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env)
        os.close(slave)
        seen = b""
        deadline = time.monotonic() + 30
        while b"[y/N]" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 4096)
        os.write(master, answer.encode() + b"\n")
        stdout, _ = proc.communicate(timeout=60)
        os.close(master)
        return proc.returncode, by_fingerprint(stdout.decode())[fp(leaked.value)]["revocation"]["status"]

    assert on_tty("n") == (1, "planned")
    assert jenkins.token_works("alice", leaked.value)
    assert on_tty("y") == (1, "revoked")
    assert not jenkins.token_works("alice", leaked.value)


def test_revoke_needs_an_explicit_actor_and_flags_need_revoke(tmp_path: Path, state: Path) -> None:
    (tmp_path / "a.txt").write_text("nothing here\n")
    no_actor = run(state, "scan", str(tmp_path / "a.txt"), "--revoke")
    assert no_actor.code == 2 and "--as self" in no_actor.stderr
    stray = run(state, "scan", str(tmp_path / "a.txt"), "--as", "self")
    assert stray.code == 2 and "only make sense with --revoke" in stray.stderr
    (tmp_path / "b.sh").write_text(f"curl -u alice:{new_token()} http://127.0.0.1:9/job/x/build\n")
    unwritable = run(state, "scan", str(tmp_path / "b.sh"), "--revoke", "--as", "self", "--yes",
                     "--audit-log", str(tmp_path / "a.txt" / "audit.jsonl"))
    assert unwritable.code == 2 and "cannot open the audit log" in unwritable.stderr, unwritable.output
    report = tmp_path / "r.json"
    report.write_text("not json")
    bad = run(state, "revoke", str(report), "--as", "self", "--yes")
    assert bad.code == 2 and "Traceback" not in bad.output


# -- kinds with no API, and the reports ----------------------------------------------------------


def test_kinds_without_an_api_get_remediation_and_no_request(tmp_path: Path, state: Path, jenkins) -> None:
    import secrets

    agent = secrets.token_hex(32)
    trigger = secrets.token_hex(12)
    live = jenkins.create_token("alice", name="ci")
    src = tmp_path / "src"
    src.mkdir()
    (src / "agent.sh").write_text(f"java -jar agent.jar -url {jenkins.url} -secret {agent} -name build-01\n")
    (src / "trigger.sh").write_text(f"curl '{jenkins.url}job/deploy/build?token={trigger}'\n")
    leak(src, "a.sh", "alice", live.value, jenkins)
    audit = tmp_path / "audit.jsonl"
    result = revoke_scan(state, src, jenkins, audit, "--as", "self", "--yes")
    found = by_fingerprint(result.stdout)
    for value in (agent, trigger):
        revocation = found[fp(value)]["revocation"]
        assert revocation["status"] == "skipped" and revocation["reason"].startswith("no Jenkins API"), revocation
        assert found[fp(value)]["remediation"].split()[0] in revocation["reason"]
    assert found[fp(live.value)]["revocation"]["status"] == "revoked"
    assert not any("/job/" in r.path for r in jenkins.requests.entries())  # never trigger a build
    sarif = run(state, "scan", str(src), "-f", "sarif")  # reports carry results; this run revokes nothing
    assert "revocation" in sarif.stdout
    assert_no_secret([agent, trigger, live.value], result.output, audit.read_text())


# -- the page parser on its own ------------------------------------------------------------------


def test_parser_reads_both_generations_and_rejects_other_pages(jenkins) -> None:
    token = jenkins.create_token("alice", name="ci & co")
    page = httpx.get(jenkins.url + "user/alice/security/", auth=("alice", token.value)).text
    assert parse_tokens(page) == [(token.uuid, "ci & co", 1, False)]
    assert parse_tokens("<html><body><h1>Account</h1></body></html>") is None
    assert parse_tokens('<div class="token-list"></div>') == []


def test_demo_revokes_the_planted_token(state: Path) -> None:
    demo = run(state, "demo")
    assert demo.code == 0, demo.output
    assert "Revocation: revoked (token 'deploy-script" in demo.stdout
    assert '"outcome": "revoked"' in demo.stdout and "Verification: invalid" in demo.stdout
    assert "by self" in demo.stdout  # the text report's revocation line
