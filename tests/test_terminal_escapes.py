"""Terminal escape injection: text from outside never reaches a terminal raw.

File names, git authors, token names on a Jenkins security page, who-am-i authorities and
warnings are fed escape sequences (CSI cursor moves, OSC titles, OSC 8 links), carriage returns,
newlines and bidi controls; the CLI is run as a user runs it, with ``--no-color``, and no raw
control character may reach stdout or stderr while the escaped form is visible.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from scanner.terminal import quoted, safe
from tests.helpers import GIT_ENV, ROOT, Run, commit, git, init_repo, jts, new_token

CSI = "\x1b[1A\x1b[2K"  # cursor up, erase line
OSC = "\x1b]0;pwned\x07"  # retitle the terminal
OSC8 = "\x1b]8;;mailto:x@evil.example\x1b\\here\x1b]8;;\x1b\\"  # a hyperlink (no "/": file names hold it)
BIDI = "\u202e\u2066\u200f"  # right-to-left override, isolate, RLM
HOSTILE = f"a{CSI}b{OSC}c{OSC8}d\re\nf{BIDI}g"
FAST = ("--timeout", "5", "--retries", "0")
# The large-blob warning lists paths from `git rev-list --objects`, which cuts a name at a newline.
LISTED = HOSTILE.replace("\n", "")

# Anything a terminal acts on: C0 but the line feed that ends our own lines, DEL, C1, bidi and
# other format characters.
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")


def assert_terminal_safe(run: Run) -> None:
    for name, text in (("stdout", run.stdout), ("stderr", run.stderr)):
        raw = RAW.search(text)
        assert raw is None, f"raw {raw.group(0)!r} on {name}: {text!r}"


def on_terminal(*args: str, env: dict[str, str]) -> Run:
    """Run the CLI with stdin, stdout and stderr on a pseudo-terminal, as a user at a shell does.

    click strips CSI sequences when it does not write to a terminal, so only a terminal shows
    what would really be sent. The pty turns each line feed into CR LF; those are ours.
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "scanner", *args], stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    code = proc.wait(timeout=30)
    return Run(code, seen.decode("utf-8", "replace").replace("\r\n", "\n"), "")


def assert_visible(text: str, hostile: str = HOSTILE) -> None:
    """The escaped form is shown, whole and on one line."""
    escaped = safe(hostile)
    assert any(escaped in line for line in text.splitlines()), text
    for piece in ("\\x1b[1A\\x1b[2K", "\\x1b]0;pwned\\x07", "\\x1b]8;;mailto:x@evil.example", "\\r", "\\n",
                  "\\u202e\\u2066\\u200f"):
        assert piece in escaped


def leak(user: str, token: str, url: str = "https://jenkins.example.com/") -> str:
    return f"#!/bin/sh\ncurl -X POST -u {user}:{token} {url}job/deploy/build\n"


# -- the escaping function itself ----------------------------------------------------------------


def test_safe_makes_controls_visible_and_keeps_letters() -> None:
    assert safe("ci\x1b[1A\r\n\t\x00\x7f\x9b") == "ci\\x1b[1A\\r\\n\\t\\x00\\x7f\\x9b"
    assert safe("\u202ephp.exe\u202c\u2066\u061c\ufeff\u2028") == "\\u202ephp.exe\\u202c\\u2066\\u061c\\ufeff\\u2028"
    assert safe("\U000e0041") == "\\U000e0041"  # a tag character (Cf) outside the BMP
    assert safe("\udcff") == "\\udcff"  # an undecodable byte of a file name (surrogateescape)
    kept = "Zoë Ångström 漢字 مرحبا emoji 🎉 a\\b 'q' \"d\" tab-less"
    assert safe(kept) == kept
    assert safe(safe(HOSTILE)) == safe(HOSTILE)  # idempotent: escaping twice changes nothing


# -- scanned content: file names, authors, staged names -------------------------------------------


def test_working_tree_file_name(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    token = new_token()
    (tree / f"{HOSTILE}.sh").write_text(leak("alice", token))
    run = jts("scan", str(tree), "--no-color", "--no-progress")
    assert run.code == 1, run.output
    assert_terminal_safe(run)
    assert_visible(run.stdout)
    assert token not in run.output
    tty = on_terminal("scan", str(tree), "--no-color", "--no-progress", env={})
    assert tty.code == 1, tty.output
    assert_terminal_safe(tty)
    assert_visible(tty.stdout)
    # JSON is not terminal text: the file name is kept exactly, and json.dumps escapes its controls.
    as_json = jts("scan", str(tree), "-f", "json", "--no-progress")
    assert "\x1b" not in as_json.stdout and "\r" not in as_json.stdout
    assert json.loads(as_json.stdout)["findings"][0]["locations"][0]["path"].endswith(f"{HOSTILE}.sh")


def test_history_file_name_and_author(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = init_repo(tmp_path / "repo")
    token = new_token()
    author = f"Mal{CSI}lory{OSC}{BIDI}"
    monkeypatch.setitem(GIT_ENV, "GIT_AUTHOR_NAME", author)
    monkeypatch.setitem(GIT_ENV, "GIT_AUTHOR_EMAIL", f"m{OSC8}@example.com")
    commit(repo, {f"{HOSTILE}.sh": leak("alice", token)}, f"subject{CSI}\r\nbody{OSC}")
    commit(repo, {f"{HOSTILE}.sh": None}, "remove it")
    run = jts("scan", "--history", str(repo), "--no-color", "--no-progress")
    assert run.code == 1, run.output
    assert_terminal_safe(run)
    assert_visible(run.stdout)
    assert safe(author) in run.stdout and "\\x1b]8;;mailto:x@evil.example" in run.stdout


def test_staged_file_name_keeps_the_blocked_list_one_line_per_leak(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"README.md": "hello\n"}, "init")
    token = new_token()
    (repo / f"{HOSTILE}.sh").write_text(leak("alice", token))
    (repo / "plain.sh").write_text(leak("bob", new_token()))
    git(repo, "add", "-A")
    run = jts("scan", "--staged", str(repo), "--no-color", "--no-progress")
    assert run.code == 1, run.output
    assert_terminal_safe(run)
    assert "commit blocked: 2 Jenkins credentials staged" in run.stdout
    rows = [line for line in run.stdout.splitlines() if line.startswith("  ") and "Jenkins API token" in line]
    assert len(rows) == 2, run.stdout  # the newline in the name did not split a row
    assert any(safe(HOSTILE) in row and "(user alice)" in row for row in rows), rows


def test_warnings_quoting_a_file_name(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {f"{LISTED}.bin": "x" * (2 * 2**20)}, "a big file")
    run = jts("scan", "--history", str(repo), "--max-blob-mb", "1", "--no-color", "--no-progress")
    assert run.code == 0, run.output
    assert "jts: warning:" in run.stderr
    assert_terminal_safe(run)
    assert safe(f"{LISTED}.bin") in run.stderr


def test_sweep_log_lines_and_warnings(tmp_path: Path) -> None:
    org = tmp_path / "org"
    repo = init_repo(org / f"repo{CSI}{OSC}\r{BIDI}")
    commit(repo, {f"{LISTED}.bin": "x" * (2 * 2**20)}, "a big file")
    broken = org / f"broken{OSC8}\rx"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nowhere\n")
    run = jts("sweep", str(org), "--state", str(tmp_path / "s.sqlite"), "--max-blob-mb", "1", "--no-color")
    assert run.code == 2, run.output  # nothing found, one repository unread
    assert_terminal_safe(run)
    assert safe(f"repo{CSI}{OSC}\r{BIDI}") in run.stderr  # the per-repository log line
    assert safe(f"broken{OSC8}\rx") in run.stderr
    assert safe(f"{LISTED}.bin") in run.stderr  # the blob warning names the file


# -- Jenkins answers: token names on the security page, who-am-i authorities -----------------------


@pytest.fixture
def jenkins(tmp_path: Path) -> Iterator[JenkinsTestServer]:
    server = JenkinsTestServer(tmp_path / "home", ServerOptions()).start()
    server.add_user("alice", password="pw-alice")
    yield server
    server.stop()


def test_revocation_plan_cannot_be_redrawn_by_a_token_name(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    other = jenkins.create_token("alice", name="keep-me")
    fake_line = f"  1. alice at {jenkins.url.rstrip('/')}: revoke token [{other.uuid}] named 'harmless'"
    name = f"ci{CSI}\r{fake_line}{OSC}{OSC8}{BIDI}"
    leaked = jenkins.create_token("alice", name=name)
    src = tmp_path / "src"
    src.mkdir()
    (src / f"{HOSTILE}.sh").write_text(leak("alice", leaked.value, jenkins.url))
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    run = jts("scan", str(src), "--revoke", "--as", "self", "--dry-run", "--jenkins-url", jenkins.url,
              "--no-color", "--no-progress", *FAST, env=env)
    assert run.code == 1, run.output
    assert_terminal_safe(run)
    plan = run.stderr.splitlines()
    line = next(text for text in plan if text.startswith("  1. "))
    # One line for the one token: the real UUID first, then the name with its controls visible.
    assert line.startswith(f"  1. 'alice' at {jenkins.url.rstrip('/')}: revoke token [{leaked.uuid}] named 'ci\\x1b[1A")
    assert quoted(name) in line and sum(text.startswith("  1. ") for text in plan) == 1
    assert any(f"leaked in {safe(str(src / HOSTILE))}.sh:2" in text for text in plan), plan
    # The text report's revocation line shows the name escaped, too.
    assert f"token {quoted(name)} [{leaked.uuid}]" in run.stdout
    assert leaked.value not in run.output
    assert jenkins.token_works("alice", leaked.value)  # a dry run

    # The same dry run with a terminal on both ends: not one escape sequence gets through.
    tty = on_terminal("scan", str(src), "--revoke", "--as", "self", "--dry-run", "--jenkins-url", jenkins.url,
                      "--no-color", "--no-progress", *FAST, env=env)
    assert tty.code == 1, tty.output
    assert_terminal_safe(tty)
    assert f"revoke token [{leaked.uuid}] named {quoted(name)}" in tty.stdout, tty.stdout
    assert jenkins.token_works("alice", leaked.value)


INVISIBLE = ["\u3164", "\u115f", "\u1160", "\uffa0", "\u034f", "\ufe0f", "\u2800", "\u200b", "\u00a0",
             "\u3000", "\U000e0041", "\u180e"]


@pytest.mark.parametrize("char", INVISIBLE)
def test_invisible_and_odd_spaces_are_escaped(char: str) -> None:
    assert safe(f"alice{char}") == f"alice\\{'U' if ord(char) > 0xFFFF else 'u' if ord(char) > 0xFF else 'x'}" \
        f"{ord(char):0{8 if ord(char) > 0xFFFF else 4 if ord(char) > 0xFF else 2}x}"
    assert safe("Zoë 日本 alice bob") == "Zoë 日本 alice bob"  # letters of any script, a single space: kept


def test_revocation_plan_cannot_be_wrapped_into_a_fake_entry(tmp_path: Path, jenkins: JenkinsTestServer) -> None:
    """A name padded with plain spaces soft-wrapped on a 120-column terminal into a plan entry of its own
    (``2. bob at ...: revoke token [...] named 'release'``); invisible characters faked an empty name."""
    jenkins.add_user("bob", password="pw-bob")
    jenkins.create_token("bob", name="release")
    fake = f"  2. bob at {jenkins.url.rstrip('/')}: revoke token [9b2f0c4e-1d7a-4c55-8f7e-3a6d2b1c0e99] named 'release"
    name = "deploy'" + " " * 150 + fake + "".join(INVISIBLE)
    leaked = jenkins.create_token("alice", name=name)
    src = tmp_path / "src"
    src.mkdir()
    (src / "ci.sh").write_text(leak("alice", leaked.value, jenkins.url))
    run = jts("scan", str(src), "--revoke", "--as", "self", "--dry-run", "--jenkins-url", jenkins.url,
              "--no-color", "--no-progress", *FAST, env={"XDG_STATE_HOME": str(tmp_path / "state")})
    assert run.code == 1, run.output
    for output in (run.stderr, run.stdout):  # the plan, and the text report's revocation line
        assert not any(c in output for c in INVISIBLE), [c for c in INVISIBLE if c in output]
        assert "' " + " " * 20 not in output  # no run of padding survives
    line = next(text for text in run.stderr.splitlines() if text.startswith("  1. "))
    assert f"revoke token [{leaked.uuid}] named 'deploy\\'\\x20\\x20" in line
    assert line.endswith("…'") and len(line) < 250  # bounded: the fake entry never gets that far
    assert "release" not in run.stderr


class _HostileWhoAmI(BaseHTTPRequestHandler):
    """A 'Jenkins' whose who-am-i names hostile authorities (group names come from LDAP, SSO...)."""

    authorities = [f"admins{CSI}{OSC}", f"dev\r\nops{BIDI}", f"link{OSC8}"]

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = json.dumps({"_class": "hudson.security.WhoAmI", "anonymous": False, "name": "alice",
                           "authorities": self.authorities}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("X-Jenkins", "2.578")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def hostile_jenkins() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _HostileWhoAmI)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_who_am_i_authorities(tmp_path: Path, hostile_jenkins: str) -> None:
    token = new_token()
    check = jts("check", "--jenkins-url", hostile_jenkins, "--user", "alice", env={"JENKINS_API_TOKEN": token})
    assert check.code == 0, check.output
    assert_terminal_safe(check)
    for authority in _HostileWhoAmI.authorities:
        assert f"  {safe(authority)}" in check.stdout.splitlines()

    (tmp_path / "deploy.sh").write_text(leak("alice", token, hostile_jenkins))
    run = jts("scan", str(tmp_path / "deploy.sh"), "--verify", "--jenkins-url", hostile_jenkins, "--no-color",
              *FAST)
    assert run.code == 1, run.output
    assert_terminal_safe(run)
    assert "Authenticated as: alice" in run.stdout
    for authority in _HostileWhoAmI.authorities:
        assert f"      {safe(authority)}" in run.stdout.splitlines()
    assert token not in run.output


def test_rules_list_and_check_escape_rule_files(tmp_path) -> None:
    """A rule file may come from a repository (``rules = [...]``): its id, title and examples are its author's."""
    from tests.helpers import jts

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "evil.toml").write_text('''id = "evil_rule"
title = "Evil rule\\u001b[2K\\u001b[1G\\u001b]0;pwned\\u0007api_token  high  yes  Jenkins API token"
severity = "low"
verifiable = false
description = "x"
remediation = "x"
[detect]
patterns = ['(?P<secret>zzq[0-9]{8})']
prefilter_keywords = ["zzq"]
[[examples.positive]]
text = "nothing here \\u001b]0;pwned\\u0007\\u202e"
''')
    listed = jts("rules", "list", "--rules", str(rules))
    assert listed.code == 0, listed.output
    line = next(ln for ln in listed.stdout.splitlines() if "evil_rule" in ln)
    assert "\x1b" not in listed.stdout and "\x07" not in listed.stdout
    assert "\\x1b[2K" in line and "pwned" in line
    checked = jts("rules", "check", str(rules))
    assert "\x1b" not in checked.output and "\u202e" not in checked.output and "\x07" not in checked.output
