"""Hostile input, first round (issue 13): reports, inputs and state that an attacker can shape."""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.helpers import GIT_ENV, ROOT, Run, commit, init_repo, jts, new_token


def _leaky_repo(path: Path, token: str) -> Path:
    init_repo(path)
    commit(path, {"deploy.sh": f"curl -u alice:{token} https://jenkins.example.com/job/x/build\n"})
    return path


def test_html_sweep_report_with_full_secrets_is_private(tmp_path: Path) -> None:
    token = new_token()
    repo = _leaky_repo(tmp_path / "repo", token)
    html = tmp_path / "report.html"
    html.write_text("old\n")
    html.chmod(0o644)  # an existing world-readable file must be tightened, not kept
    for args in (("--html", str(html)), ("-f", "html", "-o", str(html))):
        html.chmod(0o644)
        run = jts("sweep", "--state", str(tmp_path / "state.db"), str(repo), "--show-secrets", "--no-progress",
                  "--rescan", *args)
        assert run.code == 1, run.output
        assert token in html.read_text()
        assert stat.S_IMODE(html.stat().st_mode) == 0o600, args


def _patched(patch: str, *args: str, cwd: Path | None = None, stdin: str | None = None) -> Run:
    """The CLI with ``patch`` (Python source) run first, to provoke a failure the OS will not give root."""
    driver = textwrap.dedent(patch) + "\nfrom scanner.cli import main\nmain()\n"
    done = subprocess.run([sys.executable, "-c", driver, *args], cwd=cwd, text=True, capture_output=True,
                          input=stdin, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    return Run(done.returncode, done.stdout, done.stderr)


def test_stdin_is_streamed_not_held_in_memory(tmp_path: Path) -> None:
    token = new_token()
    probe = textwrap.dedent(f"""
        import resource, subprocess, sys
        cmd = [sys.executable, "-m", "scanner", "scan", "--stdin", "-f", "json"]
        child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = b"y" * 1023 + b"\\n"
        block = line * 1024  # 1 MiB
        import threading
        out = []
        reader = threading.Thread(target=lambda: out.append(child.stdout.read()))
        reader.start()
        for _ in range(256):
            child.stdin.write(block)
        child.stdin.write(b"JENKINS_TOKEN={token}\\n")
        child.stdin.close()
        reader.join()
        code = child.wait()
        print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, out[0].count(b'"rule_id"'))
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    code, rss_mib, findings = (int(v) for v in done.stdout.split())
    assert (code, findings) == (1, 1), done.stderr
    assert rss_mib < 160, f"{rss_mib} MiB for 256 MiB of input: stdin is held in memory"


def test_debug_keeps_exit_code_2_for_internal_errors(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello\n")
    patch = """
        import scanner.reports as reports
        def render(*args, **kwargs):
            raise RuntimeError("renderer exploded")
        reports.render = render
    """
    plain = _patched(patch, "scan", str(tmp_path))
    assert plain.code == 2 and "internal error: RuntimeError" in plain.stderr and "Traceback" not in plain.stderr
    debug = _patched(patch, "--debug", "scan", str(tmp_path))
    assert debug.code == 2, debug.output  # 1 would read as "findings"
    assert "Traceback" in debug.stderr


def test_empty_or_foreign_state_file_is_not_an_empty_sweep(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    run = jts("sweep", "--state", str(empty), "--no-progress")
    assert run.code == 2 and "not the state of an earlier sweep" in run.stderr, run.output
    assert empty.stat().st_size == 0  # left as it was


def test_unreadable_directory_is_named(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "locked").mkdir(parents=True)
    (tree / "locked" / "a.txt").write_text("hello\n")
    (tree / "ok.txt").write_text("hello\n")
    patch = """
        import os
        real = os.scandir
        def scandir(path="."):
            if str(path).endswith("locked"):
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)
        os.scandir = scandir
    """
    run = _patched(patch, "scan", "--no-gitignore", str(tree))
    assert run.code == 0, run.output
    assert "locked: cannot list directory: Permission denied" in run.stderr


def test_fifo_is_named_and_never_opened(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / "pipe")
    token = new_token()
    (tree / "deploy.sh").write_text(f"curl -u alice:{token} https://jenkins.example.com/\n")
    for args in (("--no-gitignore",), ()):
        run = jts("scan", *args, str(tree), timeout=60)  # opening the fifo would block forever
        assert run.code == 1, run.output
        assert "pipe: not a regular file" in run.stderr


def test_tracked_path_under_a_directory_replaced_by_a_symlink_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    token = new_token()
    (outside / "app.env").write_text(f"JENKINS_USER=alice\nJENKINS_TOKEN={token}\n")
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"conf/app.env": "JENKINS_TOKEN=${TOKEN}\n", "README": "x\n"})
    shutil.rmtree(repo / "conf")
    (repo / "conf").symlink_to(outside, target_is_directory=True)
    run = jts("scan", str(repo), "-f", "json")
    assert run.code == 0, run.output
    assert json.loads(run.stdout)["findings"] == []
    assert "lead outside the scanned tree" in run.stderr and "conf/app.env" in run.stderr


def test_a_token_at_the_cut_of_an_endless_line_is_found(tmp_path: Path, monkeypatch) -> None:
    from scanner.detect import DetectorSpec
    from scanner.sources import files

    monkeypatch.setattr(files, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(files, "MAX_LINE_BYTES", 4 * 4096)
    token = new_token()
    # the token straddles the forced cut at 16 KiB of a line without newlines
    line = ("x" * 100 + " ") * 161 + "x" * 80 + f" jenkins JENKINS_TOKEN={token} " + "y" * 30000
    assert line.index(token) < 4 * 4096 < line.index(token) + len(token)
    result = files.FileScanResult()
    files.scan_stream(DetectorSpec().build(), io.BytesIO(line.encode()), "big.log", result)
    assert [hit.secret for hit, _ in result.hits] == [token]
    assert any("longer than" in w for w in result.warnings)


def test_sweep_killed_with_sigkill_can_resume(tmp_path: Path) -> None:
    """Forked workers must neither outlive a coordinator killed with -9 nor keep its state lock."""
    repos = []
    for i in range(3):
        repos.append(str(_leaky_repo(tmp_path / f"r{i}", new_token())))
    hang = socket.create_server(("127.0.0.1", 0))  # a git server that never answers: the sweep waits
    hanging_url = f"http://127.0.0.1:{hang.getsockname()[1]}/team/hang.git"
    state = tmp_path / "s.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PYTHONPATH"] = str(ROOT)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "scanner", "sweep", hanging_url, *repos, "--state", str(state),
                                 "-j", "2", "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and not workers:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            workers = [int(p) for p in children.read_text().split()] if children.exists() else []
            time.sleep(0.05)
        time.sleep(1.0)  # the hanging clone is in flight
        proc.kill()
        proc.wait(timeout=30)
        assert workers
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in workers), "workers outlived their coordinator"
    finally:
        hang.close()
    resumed = jts("sweep", "--state", str(state), "-f", "json", "--no-progress", timeout=120)
    assert "another sweep is using this state file" not in resumed.stderr, resumed.output
    assert resumed.code in (1, 2), resumed.output
    assert len(json.loads(resumed.stdout)["findings"]) == 3


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status  # a zombie is dead, only not yet reaped


def test_non_utf8_file_names_are_escaped_in_every_format(tmp_path: Path) -> None:
    token = new_token()
    repo = init_repo(tmp_path / "repo")
    (repo / os.fsdecode(b"caf\xe9-deploy.sh")).write_text(f"curl -u alice:{token} https://jenkins.example.com/\n")
    commit(repo, {"README": "x\n"})
    out = tmp_path / "report.out"
    for mode in ((), ("--history",)):
        for fmt in ("text", "json", "jsonl", "sarif", "gitlab"):
            out.unlink(missing_ok=True)
            run = jts("scan", *mode, str(repo), "-f", fmt, "-o", str(out), "--no-progress")
            assert run.code == 1, (mode, fmt, run.output)
            written = out.read_bytes().decode("utf-8")  # valid UTF-8, not empty
            assert "caf\\xe9-deploy.sh" in written.replace("\\\\", "\\") or "caf%5Cxe9-deploy.sh" in written, \
                (mode, fmt, written[:300])
            if fmt in ("json", "sarif", "gitlab"):
                json.loads(written)
    state = tmp_path / "s.db"
    for fmt in ("json", "sarif", "html"):
        run = jts("sweep", "--state", str(state), str(repo), "-f", fmt, "-o", str(out), "--no-progress")
        assert run.code == 1, (fmt, run.output)
        assert "caf" in out.read_bytes().decode("utf-8")


def test_json_reports_escape_every_terminal_active_character(tmp_path: Path) -> None:
    """json.dumps leaves DEL, C1 (U+009B is a one-character CSI) and bidi controls raw: not here."""
    token = new_token()
    tree = tmp_path / "tree"
    tree.mkdir()
    name = "dep\x7f\u009b2J\u202eloy.sh"
    (tree / name).write_text(f"curl -u alice:{token} https://jenkins.example.com/\n")
    for fmt in ("json", "jsonl", "sarif", "gitlab"):
        run = jts("scan", "--no-gitignore", str(tree), "-f", fmt)
        assert run.code == 1, run.output
        assert not any(ch in run.stdout for ch in "\x7f\u009b\u202e"), fmt
        if fmt != "jsonl":
            assert name in json.dumps(json.loads(run.stdout), ensure_ascii=False) or fmt == "sarif"


def test_a_guessable_trigger_token_cannot_be_recovered_from_a_report(tmp_path: Path) -> None:
    import hashlib

    word = "letmein-deploy-2024"
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "trigger.sh").write_text(f"curl 'https://jenkins.example.com/job/deploy/build?token={word}'\n")
    token = new_token()
    (tree / "deploy.sh").write_text(f"curl -u alice:{token} https://jenkins.example.com/\n")
    first = jts("scan", "--no-gitignore", str(tree), "-f", "json")
    second = jts("scan", "--no-gitignore", str(tree), "-f", "json")
    assert first.code == 1, first.output
    by_rule = {f["rule_id"]: f for f in json.loads(first.stdout)["findings"]}
    trigger, api = by_rule["build_trigger_token"], by_rule["api_token"]
    # a plain hash of a candidate word would find it: the fingerprint is not one
    assert trigger["fingerprint"] != hashlib.sha256(word.encode()).hexdigest()
    assert word[:4] not in trigger["secret"] and word[-2:] not in trigger["secret"].replace("…", "")
    assert trigger["secret"] == word[:2] + "…"
    # random tokens keep the cheap, familiar identifiers; both are stable between runs
    assert api["fingerprint"] == hashlib.sha256(token.encode()).hexdigest()
    assert api["secret"] == f"{token[:4]}…{token[-2:]}"
    assert first.stdout.replace('"seconds": ', "") .split('"findings": [')[1] == \
        second.stdout.replace('"seconds": ', "").split('"findings": [')[1]


def _crafted_commit(repo: Path, author_line: bytes, parent: str | None = None) -> str:
    """A commit whose author line holds what `git commit` would refuse (hash-object --literally)."""
    tree = subprocess.run(["git", "write-tree"], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()
    body = b"tree " + tree.encode() + b"\n" + (b"parent " + parent.encode() + b"\n" if parent else b"")
    body += b"author " + author_line + b"\ncommitter C <c@example.org> 1700000000 +0000\n\ncrafted\n"
    sha = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin"], cwd=repo, input=body,
                         check=True, capture_output=True).stdout.decode().strip()
    subprocess.run(["git", "update-ref", "refs/heads/main", sha], cwd=repo, check=True)
    return sha


def test_a_commit_author_full_of_separators_cannot_hide_a_finding(tmp_path: Path) -> None:
    """The attribution log's fields were split on \x02, which a crafted author line may hold: the
    history scan stopped with an internal error and reported nothing. Each crafted commit here
    introduces a token of its own, so each author is read."""
    repo = init_repo(tmp_path / "repo")
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "base"], cwd=repo, check=True,
                   env={**os.environ, **GIT_ENV})
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()
    authors = [b"Ev\x02il\x02x <e\x02v@example.org> 1700000000 +0000", b"Ev\x01il <\x01@example.org> 1700000000 +0000",
               b"Tz <tz@example.org> 1700000000 +9999", b"Nul\x00byte <n@example.org> 1700000000 +0000"]
    tokens = [new_token() for _ in authors]
    parent = base
    for number, (author, token) in enumerate(zip(authors, tokens)):
        (repo / f"creds{number}.env").write_text(f"JENKINS_URL=https://ci.example.com\nJENKINS_USER=alice\n"
                                                 f"JENKINS_API_TOKEN={token}\n")
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        parent = _crafted_commit(repo, author, parent)
    report = tmp_path / "r.json"
    for args in (["--history"], ["--range", f"{base}..{parent}"]):
        run = jts("scan", *args, str(repo), "-f", "json", "-o", str(report), "--no-progress")
        assert run.code == 1, (args, run.output)  # found, not an internal error
        found = json.loads(report.read_text())["findings"]
        assert len(found) == len(tokens), args
        assert all(loc["commit"] for f in found for loc in f["locations"]), args
        assert not any(token in run.output or token in report.read_text() for token in tokens)


def test_a_file_name_forging_a_listing_line_cannot_take_a_hit_away(tmp_path: Path) -> None:
    """The history listing reads rev-list's unquoted ``<oid> <path>`` lines: a file named
    ``x\\n<oid> docs/notes.txt`` would list that blob again under a path without Jenkins context,
    and its second scan would replace the hits of the first. git cuts such names at the newline
    (show_object_with_name); this holds the listing, whatever produces it, to that."""
    repo = init_repo(tmp_path / "repo")
    api, legacy = new_token(), secrets.token_hex(16)
    content = f"user: alice\ntoken: {api}\npassword: {legacy}\n"
    oid = subprocess.run(["git", "hash-object", "--stdin"], cwd=repo, input=content, check=True, capture_output=True,
                         text=True).stdout.strip()
    commit(repo, {"jenkins/credentials.yaml": content, f"x\n{oid} docs/notes.txt": "nothing here\n"})
    report = tmp_path / "r.json"
    run = jts("scan", "--history", str(repo), "-f", "json", "-o", str(report), "--no-progress")
    assert run.code == 1, run.output
    rules = sorted(f["rule_id"] for f in json.loads(report.read_text())["findings"])
    assert rules == ["api_token", "legacy_api_token"]


def test_an_author_line_git_cannot_read_is_reported_empty_never_as_a_placeholder(tmp_path: Path) -> None:
    """git prints a date placeholder it cannot fill as written: "%aI" was reported as the date."""
    repo = init_repo(tmp_path / "repo")
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "base"], cwd=repo, check=True,
                   env={**os.environ, **GIT_ENV})
    base = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()
    token = new_token()
    (repo / "creds.env").write_text(f"JENKINS_URL=https://ci.example.com\nJENKINS_USER=alice\n"
                                    f"JENKINS_API_TOKEN={token}\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    crafted = _crafted_commit(repo, b"Mallory\x00\x01x\nInnocent\n2001-01-01T00:00:00+00:00 <m@x> 1700000000 +0000",
                              base)
    report = tmp_path / "r.json"
    warnings: dict[str, list] = {}
    for args in (["--history"], ["--range", f"{base}..{crafted}"]):
        run = jts("scan", *args, str(repo), "-f", "json", "-o", str(report), "--no-progress")
        assert run.code == 1, (args, run.output)
        data = json.loads(report.read_text())
        [location] = [loc for f in data["findings"] for loc in f["locations"]]
        assert location["commit"] == crafted, args
        assert not any("%" in str(location.get(key, "")) for key in ("author", "email", "date")), (args, location)
        warnings[args[0]] = data.get("warnings", [])
    assert any("author line cannot be read" in str(warning) for warning in warnings["--history"])
