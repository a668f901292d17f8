"""`jts sweep` end to end: targets, dedup across repositories, resume, errors, verify/revoke once, Dask.

Every repository is a real git repository built in a tmp dir; tokens are generated at run time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from scanner.reports.json_report import SCHEMA_PATH
from scanner.sources.workers import process_context
from scanner.sweep.executors import LocalExecutor
from scanner.sweep.progress import Counters, SweepProgress
from scanner.sweep.state import StateError, SweepState
from scanner.sweep.targets import (
    RepoTarget,
    expand_lists,
    is_url,
    public_target,
    resolve_targets,
)
from tests.helpers import ROOT, commit, git, init_repo, jts, new_token

FAST = ("--timeout", "5", "--retries", "1")


def fp(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def leak_line(token: str, url: str = "https://jenkins.example.com/", user: str = "alice") -> str:
    return f"#!/bin/sh\ncurl -X POST -u {user}:{token} {url}job/deploy/build\n"


def make_repo(path: Path, token: str | None, *, remove: bool = False, date: str = "2024-03-01T10:00:00",
              url: str = "https://jenkins.example.com/") -> Path:
    """A repository with a few commits; the token is added in one (and removed later if ``remove``)."""
    init_repo(path)
    commit(path, {"README.md": f"# {path.name}\n"}, "init", date="2024-01-01T10:00:00")
    if token:
        commit(path, {"deploy.sh": leak_line(token, url)}, "deploy script", date=date)
        if remove:
            commit(path, {"deploy.sh": leak_line("$JENKINS_TOKEN", url)}, "use env", date="2024-06-01T10:00:00")
    commit(path, {"src/app.py": "print('hello')\n"}, "code", date="2024-07-01T10:00:00")
    return path


def sweep(state: Path, *args: str, cwd: Path | None = None, env: dict | None = None):
    return jts("sweep", "--state", str(state), *args, cwd=cwd, env=env)


def report_of(run) -> dict:
    assert run.code in (0, 1), run.output
    return json.loads(run.stdout)


def repo_rows(state: Path) -> dict[str, dict]:
    conn = sqlite3.connect(state)
    conn.row_factory = sqlite3.Row
    try:
        return {r["key"]: dict(r) for r in conn.execute("SELECT * FROM repos")}
    finally:
        conn.close()


# -- targets ----------------------------------------------------------------------------------------


def test_target_resolution(tmp_path: Path) -> None:
    org = tmp_path / "org"
    make_repo(org / "team-a" / "one", None)
    make_repo(org / "team-a" / "one" / "vendored", None)  # inside a repository: belongs to it
    git(tmp_path, "clone", "-q", "--bare", str(org / "team-a" / "one"), str(org / "team-b" / "two.git"))
    (org / "empty").mkdir()
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "more.txt").write_text("# comment\n\n../org/team-b/two.git\nfile:///srv/x.git\n")
    (lists / "main.txt").write_text("@more.txt\nhttps://user:s3cret@git.example.com/org/repo.git\n")
    assert expand_lists([f"@{lists / 'main.txt'}"]) == [
        str(lists / "../org/team-b/two.git"), "file:///srv/x.git", "https://user:s3cret@git.example.com/org/repo.git"]
    resolved = resolve_targets([str(org), f"@{lists / 'main.txt'}", str(tmp_path / "missing")], tmp_path / "cache")
    keys = [r.key for r in resolved.repos]
    assert keys == [str(org / "team-a" / "one"), str(org / "team-b" / "two.git"), "file:///srv/x.git",
                    "https://git.example.com/org/repo.git", str(tmp_path / "missing")]
    by_key = {r.key: r for r in resolved.repos}
    assert by_key["https://git.example.com/org/repo.git"].source.startswith("https://user:")
    assert "s3cret" not in repr(by_key["https://git.example.com/org/repo.git"])
    assert by_key[str(tmp_path / "missing")].problem
    assert is_url("git@github.com:org/repo.git") and not is_url("-oProxyCommand=x@y:z") and not is_url("./a:b")
    assert public_target("ssh://me:pw@host/r.git") == "ssh://me@host/r.git"  # the user is identity, the password is not kept
    one = RepoTarget(key="https://git.example.com/org/repo.git", kind="url", source="")
    other = RepoTarget(key="https://git.example.com/other/repo.git", kind="url", source="")
    assert one.mirror_path(tmp_path).name.startswith("repo-") and one.mirror_path(tmp_path) != other.mirror_path(tmp_path)


def test_progress_plain_lines_and_terminal_line() -> None:
    counters = Counters(total=4, done=1, scanned=1, bytes=3 * 2**20, findings=2, live=1)
    now = [100.0]
    log = io.StringIO()
    plain = SweepProgress(counters, enabled=True, stream=log, tty=False, clock=lambda: now[0])
    now[0] += 10
    plain.repo_done("/srv/a", "scanned", ", 3.0 MB, 2 secrets")
    assert log.getvalue() == "jts: sweep [1/4] /srv/a: scanned, 3.0 MB, 2 secrets; 2 secrets, 1 live, ETA 30s\n"
    screen = io.StringIO()
    tty = SweepProgress(counters, enabled=True, stream=screen, tty=True, clock=lambda: now[0])
    tty.repo_done("/srv/a", "scanned", "")
    assert screen.getvalue().startswith("\rsweep: 1/4 repos | 3.0 MB | 2 secrets | 1 live | ETA ")
    tty.message("verifying")
    assert screen.getvalue().endswith("\r" + " " * len(tty.status_line()) + "\rjts: verifying\n")


def _dies_on_two(task: int) -> int:
    """A task function for the worker-death test (top level, so spawned workers can import it)."""
    if task == 2:
        os._exit(3)  # like the OOM killer: no exception, no result
    if task == 3:
        raise ValueError("odd repository")
    return task * 10


@pytest.mark.parametrize("threaded", [False, True], ids=["forked", "spawned"])
def test_local_executor_survives_a_dead_worker_and_a_failing_task(threaded: bool) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    if threaded:  # another thread makes fork unsafe: workers are spawned instead
        other.start()
    executor = LocalExecutor(2)
    try:
        assert process_context().get_start_method() == ("spawn" if threaded or threading.active_count() > 1 else "fork")
        results = list(executor.run(_dies_on_two, [1, 2, 3, 4, 5], lambda task, why: (task, why)))
        assert sorted(r for r in results if isinstance(r, int)) == [10, 40, 50]
        lost = dict(r for r in results if isinstance(r, tuple))
        assert lost == {2: "worker process died (exit code 3)", 3: "task failed: ValueError: odd repository"}
        assert list(executor.run(_dies_on_two, [6], lambda task, why: why)) == [60]  # workers serve later runs
    finally:
        executor.close()
        stop.set()


def test_state_lock_and_crash_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    repo = RepoTarget(key="/srv/a", kind="path", source="/srv/a", target="/srv")
    with SweepState.open(path) as state:
        state.register([repo])
        state.mark_running([repo.key])
        with pytest.raises(StateError, match="another sweep is using this state file"):
            SweepState.open(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    with SweepState.open(path) as state:  # a crashed run left 'running': it is pending again
        state.reset_running()
        assert [r.status for r in state.repos()] == ["pending"]
    (tmp_path / "junk.sqlite").write_text("not a database, but long enough to look like a file header" * 20)
    with pytest.raises(StateError, match="not a jts sweep state"):
        SweepState.open(tmp_path / "junk.sqlite")


# -- the main path ------------------------------------------------------------------------------------


def test_sweep_dedups_across_repositories_and_reports_every_place(tmp_path: Path) -> None:
    token, only_b = new_token(), new_token()
    org = tmp_path / "org"
    make_repo(org / "a", token)
    make_repo(org / "b", token, remove=True, date="2023-11-05T09:00:00")
    commit(org / "b", {"ci/env": f"JENKINS_URL=https://jenkins.example.com/\nJENKINS_USER_ID=bob\nJENKINS_API_TOKEN={only_b}\n"})
    upstream = make_repo(tmp_path / "upstream" / "c", token, date="2024-05-01T12:00:00")
    bare = tmp_path / "bare" / "d.git"
    git(tmp_path, "clone", "-q", "--bare", str(org / "a"), str(bare))
    make_repo(org / "clean", None)
    targets = tmp_path / "targets.txt"
    targets.write_text(f"{org}\n{bare}\nfile://{upstream}\n")
    state = tmp_path / "sweep.sqlite"
    run = sweep(state, f"@{targets}", "-j", "2", "-f", "json")
    assert run.code == 1, run.output
    report = json.loads(run.stdout)
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text()))
    assert report["mode"] == "sweep"
    found = {f["fingerprint"]: f for f in report["findings"]}
    assert set(found) == {fp(token), fp(only_b)}
    shared = found[fp(token)]
    repos = {loc["repo"] for loc in shared["locations"]}
    assert repos == {str(org / "a"), str(org / "b"), str(bare), f"file://{upstream}"}
    in_b = next(loc for loc in shared["locations"] if loc["repo"] == str(org / "b"))
    assert in_b["in_head"] is False and in_b["date"].startswith("2023-11-05") and in_b["commit"]
    assert in_b["author"] == "Test Author" and in_b["path"] == "deploy.sh"
    assert shared["in_head"] is True and shared["user"] == "alice"
    assert found[fp(only_b)]["user"] == "bob" and {loc["repo"] for loc in found[fp(only_b)]["locations"]} == {str(org / "b")}
    sweep_facts = report["repository"]
    assert sweep_facts["kind"] == "sweep" and sweep_facts["counts"]["repositories"] == 5
    assert {r["repo"]: r["findings"] for r in sweep_facts["repositories"]}[str(org / "clean")] == 0
    assert report["stats"]["blobs"] > 0
    for secret in (token, only_b):
        assert secret not in run.output
    # the state holds fingerprints and redacted forms, never a secret
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("sweep.sqlite*") if p.is_file())
    assert token.encode() not in raw and only_b.encode() not in raw
    assert fp(token).encode() in raw
    # URL targets are mirrored into the cache next to the state
    assert len(list((tmp_path / "sweep.sqlite.mirrors").glob("c-*.git"))) == 1
    # the log lines (stderr is not a terminal) name every repository once
    assert run.stderr.count("jts: sweep [") == 5 and "jts: sweep finished: 5 repositories" in run.stderr


def test_unchanged_tips_skip_and_moved_tips_rescan(tmp_path: Path) -> None:
    org = tmp_path / "org"
    first = new_token()
    for name in ("a", "b", "c"):
        make_repo(org / name, first)
    state = tmp_path / "s.sqlite"
    listed = tmp_path / "repos.txt"
    listed.write_text("org\n")
    assert sweep(state, f"@{listed}", "-j", "2", "--no-progress").code == 1
    assert {k: r["scans"] for k, r in repo_rows(state).items()} == {str(org / n): 1 for n in "abc"}
    again = sweep(state, "--no-progress", "-f", "json")  # no TARGET: continue the stored sweep
    assert {k: (r["scans"], r["skips"]) for k, r in repo_rows(state).items()} == {str(org / n): (1, 1) for n in "abc"}
    assert len(report_of(again)["findings"][0]["locations"]) == 3  # the report still has everything
    later = new_token()
    commit(org / "b", {"more.sh": leak_line(later)})  # HEAD moved
    git(org / "c", "branch", "feature")  # a new ref, HEAD unchanged: still a change of tips
    listed.unlink()  # a stored @list that has gone away is skipped with a warning
    moved = report_of(sweep(state, str(org), "--no-progress", "-f", "json"))
    assert any(w.startswith("stored target skipped: @") for w in moved["warnings"])
    assert {k: r["scans"] for k, r in repo_rows(state).items()} == {str(org / "a"): 1, str(org / "b"): 2,
                                                                    str(org / "c"): 2}
    assert {f["fingerprint"] for f in moved["findings"]} == {fp(first), fp(later)}
    forced = sweep(state, str(org), "--no-progress", "--rescan")
    assert forced.code == 1 and all(r["scans"] >= 2 for r in repo_rows(state).values())


def test_errors_are_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    token = new_token()
    org = tmp_path / "org"
    make_repo(org / "good", token)
    corrupt = make_repo(org / "corrupt", token)
    head = git(corrupt, "rev-parse", "HEAD")
    obj = corrupt / ".git" / "objects" / head[:2] / head[2:]
    obj.chmod(0o644)
    obj.write_bytes(b"not a zlib stream")
    (org / "broken").mkdir()
    (org / "broken" / ".git").write_text("gitdir: /nowhere\n")
    state = tmp_path / "s.sqlite"
    missing_url = f"file://{tmp_path}/no-such-repo.git"
    run = sweep(state, str(org), missing_url, "-f", "json", "-j", "2")
    assert run.code == 1 and "Traceback" not in run.output, run.output
    rows = repo_rows(state)
    assert rows[str(org / "good")]["status"] == "done"
    for key in (str(org / "corrupt"), str(org / "broken"), missing_url):
        assert rows[key]["status"] == "error" and rows[key]["error"], rows[key]
        assert "\n" not in rows[key]["error"]
    assert "corrupt" in rows[str(org / "corrupt")]["error"]
    assert rows[missing_url]["error"].startswith("clone failed")
    report = json.loads(run.stdout)
    assert len(report["findings"]) == 1
    errors = {r["repo"]: r["error"] for r in report["repository"]["repositories"] if r["status"] == "error"}
    assert set(errors) == {str(org / "corrupt"), str(org / "broken"), missing_url}
    assert any(w.startswith(f"{missing_url}: not scanned: clone failed") for w in report["warnings"])
    # nothing found but repositories unread: not a clean exit
    clean = tmp_path / "clean"
    make_repo(clean / "ok", None)
    run = sweep(tmp_path / "t.sqlite", str(clean), str(tmp_path / "nope"), "--no-progress")
    assert run.code == 2 and "no such file or directory" in run.stderr


def test_interrupted_sweep_resumes_without_rescanning(tmp_path: Path) -> None:
    org = tmp_path / "org"
    tokens = [new_token() for _ in range(16)]
    for i, token in enumerate(tokens):
        make_repo(org / f"r{i:02d}", token)
    # A git server that accepts connections and never answers: the sweep is surely mid-way
    # (between the two halves, -j 1 goes in order) when Ctrl-C arrives, however fast the scans are.
    hang = socket.create_server(("127.0.0.1", 0))
    hanging_url = f"http://127.0.0.1:{hang.getsockname()[1]}/team/hang.git"
    first, second = [str(org / f"r{i:02d}") for i in range(8)], [str(org / f"r{i:02d}") for i in range(8, 16)]
    state = tmp_path / "s.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}  # reach the socket itself
    env["PYTHONPATH"] = str(ROOT)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "scanner", "sweep", *first, hanging_url, *second,
                                 "--state", str(state), "-j", "1", "--no-progress"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                rows = repo_rows(state) if state.exists() else {}
                # the next task is handed out just before the previous result is recorded: wait for both
                if rows.get(hanging_url, {}).get("status") == "running" and \
                        {k for k, r in rows.items() if r["status"] == "done"} == set(first):
                    break
            except sqlite3.OperationalError:  # schema not created yet
                pass
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        hang.close()  # from now on that URL fails at once (connection refused)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err and "run the same command again" in err and "Traceback" not in err
    rows = repo_rows(state)
    finished = {k for k, r in rows.items() if r["status"] == "done"}
    assert finished == set(first)
    assert all(r["status"] in ("done", "pending") for r in rows.values())  # nothing left 'running'
    resumed = sweep(state, str(org), "-j", "2", "-f", "json", "--no-progress")
    report = report_of(resumed)
    assert {f["fingerprint"] for f in report["findings"]} == {fp(t) for t in tokens}
    rows = repo_rows(state)
    assert rows.pop(hanging_url)["status"] == "error"  # a stored target is part of every later run
    assert all(r["scans"] == 1 for r in rows.values()), {k: r["scans"] for k, r in rows.items()}
    assert sum(r["skips"] for r in rows.values()) == len(first)


def test_dask_executor_matches_local(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    org = tmp_path / "org"
    shared = new_token()
    for i in range(4):
        make_repo(org / f"r{i}", shared if i % 2 else new_token(), remove=i == 2)
    make_repo(tmp_path / "up", shared)
    bad = f"file://{tmp_path}/missing.git"
    targets = [str(org), f"file://{tmp_path / 'up'}", bad]
    local = report_of(sweep(tmp_path / "local.sqlite", *targets, "-f", "json", "--no-progress", "-j", "2"))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        run = sweep(tmp_path / "dask.sqlite", *targets, "-f", "json", "--no-progress", "--executor", "dask",
                    "--scheduler", cluster.scheduler_address, "--cache-dir", str(tmp_path / "dask-cache"))
    remote = report_of(run)

    def comparable(report: dict) -> tuple:
        findings = sorted((f["fingerprint"], f["user"], f["in_head"],
                           sorted(json.dumps({k: v for k, v in loc.items()}, sort_keys=True) for loc in f["locations"]))
                          for f in report["findings"])
        repos = sorted((r["repo"], r["status"], r["head"], r["blobs"], r["bytes"], r["findings"], bool(r["error"]))
                       for r in report["repository"]["repositories"])
        return findings, repos, report["stats"]["blobs"], report["stats"]["bytes"]

    assert comparable(remote) == comparable(local)
    assert len(remote["findings"]) == 3
    run = sweep(tmp_path / "x.sqlite", str(org), "--executor", "dask", "--no-progress")
    assert run.code == 2 and "--scheduler" in run.stderr
    run = sweep(tmp_path / "x.sqlite", str(org), "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9",
                "--no-progress", env={"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"})
    assert run.code == 2 and "Dask scheduler" in run.stderr and "Traceback" not in run.output


# -- verification and revocation across the sweep -------------------------------------------------


@pytest.fixture
def jenkins(tmp_path: Path):
    with JenkinsTestServer(tmp_path / "jenkins_home", ServerOptions(version="2.578")) as server:
        server.add_user("alice", password="pw-alice")
        server.add_user("admin", password="pw-admin", admin=True)
        yield server


def who_am_i_calls(server: JenkinsTestServer) -> int:
    return sum(r.path.rstrip("/").endswith("whoAmI/api/json") for r in server.requests.entries())


def test_each_token_verified_once_and_resumed_secrets_read_back(tmp_path: Path, jenkins) -> None:
    live = jenkins.create_token("alice", name="ci").value
    dead = new_token()
    org = tmp_path / "org"
    for name in ("a", "b", "c"):
        make_repo(org / name, live, url=jenkins.url, remove=name == "c")
    make_repo(org / "d", dead, url=jenkins.url)
    state = tmp_path / "s.sqlite"
    jenkins.requests.clear()
    owner = ("--find-owner", "--admin-user", "admin")
    admin = {"JTS_ADMIN_TOKEN": jenkins.create_token("admin").value}
    run = sweep(state, str(org), "--verify", "--jenkins-url", jenkins.url, "-f", "json", "-j", "2", *FAST, *owner,
                env=admin)
    found = {f["fingerprint"]: f for f in report_of(run)["findings"]}
    assert found[fp(live)]["verification"]["status"] == "live"
    assert len(found[fp(live)]["locations"]) == 3
    assert found[fp(dead)]["verification"]["status"] == "invalid"  # 401 for alice and for admin: every user
    # one per unique token and user, not one per repository
    assert who_am_i_calls(jenkins) == 3
    assert "2 unique secret(s), 1 live" in run.stderr
    # a later run skips the unchanged repositories, reads the secrets back from their blobs to verify
    # again, and does not re-send the token already proven dead
    jenkins.requests.clear()
    again = sweep(state, "--verify", "--jenkins-url", jenkins.url, "-f", "json", *FAST, *owner, env=admin)
    found = {f["fingerprint"]: f for f in report_of(again)["findings"]}
    assert found[fp(live)]["verification"]["status"] == "live"
    assert found[fp(dead)]["verification"]["status"] == "invalid"
    assert who_am_i_calls(jenkins) == 1
    assert all(r["scans"] == 1 for r in repo_rows(state).values())
    assert live not in again.output and dead not in again.output


def test_dead_verdict_holds_only_at_the_jenkins_it_asked(tmp_path: Path, jenkins) -> None:
    """Old: `invalid` at A stood after a later run also allowed B, where the token is live; B was never asked."""
    with JenkinsTestServer(tmp_path / "home_b", ServerOptions(version="2.578")) as other:
        other.add_user("alice", password="pw-alice")
        token = other.create_token("alice", name="deploy").value
        repo = init_repo(tmp_path / "repo")
        commit(repo, {"deploy.env": f"JENKINS_USER_ID=alice\nJENKINS_API_TOKEN={token}\n"}, "deploy")
        state = tmp_path / "s.sqlite"
        owner = ("--find-owner", "--admin-user", "admin")
        admin = {"JTS_ADMIN_TOKEN": jenkins.create_token("admin").value}
        first = sweep(state, str(repo), "--verify", "--jenkins-url", jenkins.url, "-f", "json", *FAST, *owner, env=admin)
        verdict = report_of(first)["findings"][0]["verification"]
        assert verdict["status"] == "invalid" and verdict["tried_at"] == [jenkins.url.rstrip("/")], verdict
        again = sweep(state, "--verify", "--jenkins-url", jenkins.url, "--jenkins-url", other.url, "-f", "json", *FAST)
        verdict = report_of(again)["findings"][0]["verification"]
        assert verdict["status"] == "live" and verdict["jenkins_url"] == other.url.rstrip("/"), verdict
        assert who_am_i_calls(other) == 1 and token not in again.output


def test_revoke_once_across_repositories(tmp_path: Path, jenkins) -> None:
    leaked = jenkins.create_token("alice", name="leaked")
    kept = jenkins.create_token("alice", name="kept")
    org = tmp_path / "org"
    for name in ("a", "b", "c"):
        make_repo(org / name, leaked.value, url=jenkins.url)
    audit = tmp_path / "audit.jsonl"
    run = sweep(tmp_path / "s.sqlite", str(org), "--revoke", "--as", "self", "--yes", "--jenkins-url", jenkins.url,
                "--audit-log", str(audit), "-f", "json", "--no-progress", *FAST,
                env={"XDG_STATE_HOME": str(tmp_path / "xdg")})
    finding = report_of(run)["findings"][0]
    assert finding["revocation"]["status"] == "revoked", finding["revocation"]
    assert len(finding["locations"]) == 3
    assert not jenkins.token_works("alice", leaked.value) and jenkins.token_works("alice", kept.value)
    revokes = [r for r in jenkins.requests.entries() if r.method == "POST" and r.path.endswith("/revoke")]
    assert len(revokes) == 1
    assert leaked.value not in run.output and leaked.value not in audit.read_text()
