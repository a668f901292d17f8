"""The sweep state and the scan-jenkins ``--state`` store never hold a full token, and a resumed run (which
rebuilds findings from the state, knowing only redacted forms) never prints one: a token can sit in a
file path, in a Jenkins URL from content, in a warning, not only in the content it was found in."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

from scanner.findings import fingerprint_of
from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from scanner.sweep.state import SweepState
from tests.helpers import commit, init_repo, jts, new_token


def state_bytes(state: Path) -> bytes:
    """Every byte SQLite keeps for the state (the main file, and a WAL if one was left behind)."""
    return b"".join(p.read_bytes() for p in state.parent.glob(state.name + "*") if p.is_file())


def env_file(url: str, token: str) -> str:
    return f"JENKINS_URL={url}\nJENKINS_USER=alice\nJENKINS_API_TOKEN={token}\n"


def sweep(state: Path, *args: str) -> str:
    run = jts("sweep", "--state", str(state), *args, "--no-progress")
    assert run.code == 1, run.output
    return run.output


def test_token_in_a_path_or_url_is_neither_stored_nor_printed_on_resume(tmp_path: Path) -> None:
    in_url, paired, own_path = new_token(), new_token(), new_token()
    repo = init_repo(tmp_path / "repo")
    commit(repo, {
        "p.env": env_file(f"https://ci.example.com/x/{in_url}/", paired),  # another finding's token in the URL
        "other.env": env_file("https://ci.example.com/", in_url),
        f"dump-{own_path}/ci.env": env_file("https://ci.example.com/", own_path),  # its own token in its path
    }, "leak")
    state = tmp_path / "s.sqlite"
    tokens = (in_url, paired, own_path)
    first = sweep(state, str(repo), "-f", "text")
    assert not any(t in first for t in tokens)
    assert not any(t.encode() in state_bytes(state) for t in tokens)
    conn = sqlite3.connect(state)
    urls = {r[0] for r in conn.execute("SELECT jenkins_url FROM occurrences")}
    conn.close()
    assert f"https://ci.example.com/x/{in_url[:4]}…{in_url[-2:]}" in urls
    for fmt in ("text", "json"):  # unchanged: its findings come back from the state, redacted only
        resumed = sweep(state, "-f", fmt, "--html", str(tmp_path / "r.html"))
        assert not any(t in resumed for t in tokens), fmt
        assert not any(t in (tmp_path / "r.html").read_text() for t in tokens)
    assert f"dump-{own_path[:4]}…{own_path[-2:]}/ci.env" in resumed


def test_token_learnt_after_a_row_was_stored_is_scrubbed_from_it(tmp_path: Path) -> None:
    token = new_token()
    first = init_repo(tmp_path / "a-first")  # recorded before the token is found in the second
    commit(first, {f"backup-{token}/ci.env": env_file("https://ci.example.com/", new_token())}, "a")
    second = init_repo(tmp_path / "b-second")
    commit(second, {"ci.env": env_file("https://ci.example.com/", token)}, "b")
    state = tmp_path / "s.sqlite"
    output = sweep(state, str(first), str(second), "-j", "1", "-f", "json")
    assert token not in output
    assert token.encode() not in state_bytes(state)


def test_an_old_state_holding_a_token_is_scrubbed_on_the_way_out(tmp_path: Path) -> None:
    """States written by earlier versions: a token-shaped run hashing to a stored fingerprint is redacted."""
    token = new_token()
    repo = init_repo(tmp_path / "repo")
    commit(repo, {f"dump-{token}/ci.env": env_file("https://ci.example.com/", token)}, "leak")
    state = tmp_path / "s.sqlite"
    sweep(state, str(repo))
    conn = sqlite3.connect(state)  # as an older jts left it: the full token in the path
    location = json.loads(conn.execute("SELECT location FROM occurrences").fetchone()[0])
    location["path"] = f"dump-{token}/ci.env"
    conn.execute("UPDATE occurrences SET location = ?", (json.dumps(location),))
    conn.commit()
    conn.close()
    resumed = sweep(state, "-f", "json")
    assert token not in resumed
    assert f"dump-{token[:4]}…{token[-2:]}/ci.env" in resumed


def test_sweep_report_files_are_private_like_the_state(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"ci.env": env_file("https://ci.example.com/", new_token())}, "leak")
    state, out, html = tmp_path / "s.sqlite", tmp_path / "r.json", tmp_path / "r.html"
    for args in ((str(repo),), ()):  # the first run and a resumed one
        out.unlink(missing_ok=True)
        html.unlink(missing_ok=True)
        sweep(state, *args, "-f", "json", "-o", str(out), "--html", str(html))
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        assert stat.S_IMODE(html.stat().st_mode) == 0o600


def test_scan_jenkins_state_never_holds_a_token_in_a_url(tmp_path: Path) -> None:
    in_url, paired = new_token(), new_token()
    with JenkinsTestServer(tmp_path / "home", ServerOptions(version="2.578")) as jenkins:
        jenkins.add_user("auditor", password="pw", admin=True)
        env = {"JENKINS_USER_ID": "auditor", "JENKINS_API_TOKEN": jenkins.create_token("auditor", "crawl").value}
        jenkins.content.add_job("app", shell=f"export JENKINS_URL=https://ci.example.com/x/{in_url}/\n"
                                             f"export JENKINS_USER=alice\nexport JENKINS_API_TOKEN={paired}\n")
        jenkins.content.add_job("other", shell=f"export JENKINS_API_TOKEN={in_url}\n")
        state = tmp_path / "crawl.sqlite"
        for _run in (1, 2):  # the second crawl reads nothing new: findings come from the state
            run = jts("scan-jenkins", jenkins.url, "--state", str(state), "-f", "text", env=env)
            assert run.code == 1, run.output
            assert in_url not in run.output and paired not in run.output
            assert in_url.encode() not in state_bytes(state)


def test_known_secrets_scrub() -> None:
    from scanner.redaction import KnownSecrets

    token, other = new_token(), new_token()
    known = KnownSecrets()
    known.add_fingerprints([fingerprint_of(token), "not-a-sha256"])
    assert known.scrub(f"a/{token}/b") == f"a/{token[:4]}…{token[-2:]}/b"
    assert known.scrub(f"a/ff{token}/b") == f"a/ff{token[:4]}…{token[-2:]}/b"  # glued to other hex digits
    assert known.scrub(f"a/{other}/b") == f"a/{other}/b"  # unknown runs are left alone
    known.add("letmein-deploy-2024")
    assert known.scrub("x letmein-deploy-2024 y") == "x le… y"


def test_state_scrubs_secrets_it_learns_from_earlier_rows(tmp_path: Path) -> None:
    token = new_token()
    with SweepState.open(tmp_path / "s.sqlite") as state:
        state.conn.execute("INSERT INTO repos (key, kind, target, warnings) VALUES ('r', 'path', 'r', ?)",
                           (json.dumps([f"odd file {token}"]),))
        state._stored = True
        state.learn([token])
    assert token.encode() not in state_bytes(tmp_path / "s.sqlite")
