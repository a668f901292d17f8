"""`jts scan` and `jts rules` through the CLI, as a user calls them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.corpus import evaluate
from tests.helpers import ROOT, commit, git, init_repo, jts, new_token


def test_shipped_rules_check_passes():
    run = jts("rules", "check")
    assert run.code == 0, run.output
    assert "0 failed" in run.stdout


def test_rules_list_shows_every_kind():
    run = jts("rules", "list")
    assert run.code == 0
    for rule_id in ("api_token", "legacy_api_token", "agent_secret", "build_trigger_token",
                    "jenkins_secret_store", "initial_admin_password"):
        assert rule_id in run.stdout


def test_rules_check_names_file_and_field(tmp_path):
    (tmp_path / "bad.toml").write_text('id = "bad"\ntitle = "x"\nseverity = "urgent"\nremediation = "r"\n'
                                       '[detect]\npatterns = ["(?P<secret>x)"]\nprefilter_keywords = ["x"]\n')
    run = jts("rules", "check", str(tmp_path))
    assert run.code == 2
    assert "bad.toml: severity:" in run.stderr
    assert "Traceback" not in run.output


def test_rules_check_reports_failing_example(tmp_path):
    (tmp_path / "mine.toml").write_text(
        'id = "mine"\ntitle = "Mine"\nseverity = "low"\nremediation = "r"\n'
        "[detect]\npatterns = ['MYTOK-(?P<secret>[0-9]{8})']\nprefilter_keywords = [\"MYTOK-\"]\n"
        '[[examples.positive]]\ntext = "nothing here"\n')
    run = jts("rules", "check", str(tmp_path))
    assert run.code == 1
    assert "FAIL mine positive example 0" in run.stdout


def test_extra_rules_dir_adds_a_rule(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "corp.toml").write_text(
        'id = "corp_token"\ntitle = "Corp token"\nseverity = "low"\nremediation = "rotate"\n'
        "[detect]\npatterns = ['CORP-(?P<secret>[A-Z0-9]{12})']\nprefilter_keywords = [\"CORP-\"]\n")
    (tmp_path / "f.txt").write_text("key CORP-ABCDEF123456\n")
    run = jts("scan", str(tmp_path / "f.txt"), "--rules", str(rules), "-f", "json")
    assert run.code == 1, run.output
    assert json.loads(run.stdout)["findings"][0]["rule_id"] == "corp_token"


def test_corpus_precision_and_recall():
    result = evaluate()
    assert result["precision"] >= 0.98, result["problems"]
    assert result["recall"] >= 0.95, result["problems"]
    assert result["context_accuracy"] >= 0.95, result["problems"]


def test_exit_codes(tmp_path):
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "a.txt").write_text("nothing\n")
    assert jts("scan", str(clean)).code == 0
    (clean / "b.sh").write_text(f"curl -u alice:{new_token()} https://jenkins.example.com/\n")
    assert jts("scan", str(clean)).code == 1
    assert jts("scan", str(clean), "--fail-on", "none").code == 0
    missing = jts("scan", str(tmp_path / "nope"))
    assert missing.code == 2 and "no such file" in missing.stderr and "Traceback" not in missing.output
    not_repo = jts("scan", "--history", str(clean))
    assert not_repo.code == 2 and "Traceback" not in not_repo.output
    assert "git" in not_repo.stderr.lower()


def test_working_tree_honours_gitignore_and_skips_dot_git(tmp_path):
    repo = init_repo(tmp_path / "repo")
    ignored, kept = new_token(), new_token()
    commit(repo, {".gitignore": "secret.env\n", "kept.env": f"JENKINS_API_TOKEN={kept}\n"})
    (repo / "secret.env").write_text(f"JENKINS_API_TOKEN={ignored}\n")
    run = jts("scan", str(repo), "-f", "json", "--show-secrets")
    secrets_found = {f["secret"] for f in json.loads(run.stdout)["findings"]}
    assert secrets_found == {kept}
    run = jts("scan", str(repo), "-f", "json", "--show-secrets", "--no-gitignore")
    secrets_found = {f["secret"] for f in json.loads(run.stdout)["findings"]}
    assert secrets_found == {kept, ignored}
    paths = {loc["path"] for f in json.loads(run.stdout)["findings"] for loc in f["locations"]}
    assert not any("/.git/" in p for p in paths)


def test_binary_large_non_utf8_and_symlinks(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    outside = tmp_path / "outside.txt"
    outside_token = new_token()
    outside.write_text(f"JENKINS_API_TOKEN={outside_token}\n")
    (tree / "link.txt").symlink_to(outside)
    binary_token = new_token()
    (tree / "blob.bin").write_bytes(b"\x00\x01" * 100 + binary_token.encode())
    latin = new_token()
    (tree / "latin1.properties").write_bytes("user=jos\xe9\njenkins.token=".encode("latin-1") + latin.encode() + b"\n")
    big = new_token()
    lines = 400_000  # ~ 20 MB: crosses the 16 MB chunk boundary
    with open(tree / "big.log", "w") as handle:
        for i in range(lines):
            handle.write(f"line {i:08d} lorem ipsum dolor sit amet, nothing to see here\n")
        handle.write(f"JENKINS_API_TOKEN={big}\n")
    run = jts("scan", str(tree), "-f", "json", "--show-secrets")
    assert run.code == 1, run.output
    report = json.loads(run.stdout)
    found = {f["secret"]: f for f in report["findings"]}
    assert outside_token not in found  # the link leaves the tree
    assert found[binary_token]['locations'][0]['path'].endswith('blob.bin')  # binary: its printable text is read too
    assert latin in found
    assert found[big]["locations"][0]["line"] == lines + 1
    assert report["stats"]["skipped_binary"] == 1


def test_unreadable_file_is_a_warning_and_scan_goes_on(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from scanner import cli as cli_module
    from scanner.sources import files as files_module

    (tmp_path / "locked.txt").write_text("x\n")
    token = new_token()
    (tmp_path / "open.sh").write_text(f"curl -u a:{token} https://jenkins.example.com/\n")
    real_open = open

    def fake_open(path, *args, **kwargs):
        if str(path).endswith("locked.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(files_module, "open", fake_open, raising=False)
    result = CliRunner().invoke(cli_module.cli, ["scan", str(tmp_path), "-f", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert any("locked.txt: cannot read: Permission denied" in w for w in report["warnings"])
    assert len(report["findings"]) == 1


def test_stdin(tmp_path):
    token = new_token()
    run = jts("scan", "--stdin", "--stdin-name", "pasted.sh", "-f", "json",
              stdin=f"java -jar jenkins-cli.jar -s https://jenkins.example.com -auth bob:{token} who-am-i\n")
    assert run.code == 1
    finding = json.loads(run.stdout)["findings"][0]
    assert finding["user"] == "bob" and finding["jenkins_url"] == "https://jenkins.example.com"
    assert finding["locations"][0]["path"] == "pasted.sh"
    assert token not in run.output


def test_config_file_excludes_and_bad_key(tmp_path):
    repo = tmp_path / "proj"
    (repo / "fixtures").mkdir(parents=True)
    (repo / "fixtures" / "sample.env").write_text(f"JENKINS_API_TOKEN={new_token()}\n")
    (repo / ".jts.toml").write_text('exclude = ["fixtures/"]\n')
    assert jts("scan", str(repo)).code == 0
    (repo / ".jts.toml").unlink()
    (repo / "pyproject.toml").write_text('[tool.jts]\nexclude = ["fixtures/"]\nbogus = 1\n')
    run = jts("scan", str(repo))
    assert run.code == 2
    assert "pyproject.toml: tool.jts.bogus: unknown setting" in run.stderr


def _history_repo(tmp_path: Path) -> tuple[Path, str, str]:
    repo = init_repo(tmp_path / "hist")
    gone, kept = new_token(), new_token()
    commit(repo, {"README.md": "hi\n"}, date="2026-01-01T00:00:00+00:00")
    first = commit(repo, {"deploy.sh": f"curl -u alice:{gone} https://jenkins.example.com/job/x/build\n"},
                   date="2026-01-02T00:00:00+00:00")
    commit(repo, {"deploy.sh": "curl -u alice:$TOKEN https://jenkins.example.com/job/x/build\n"})
    commit(repo, {"ci.env": f"JENKINS_USER_ID=bob\nJENKINS_API_TOKEN={kept}\n"})
    return repo, gone, first


def test_history_finds_removed_token_with_attribution(tmp_path):
    repo, gone, first = _history_repo(tmp_path)
    run = jts("scan", "--history", str(repo), "-f", "json", "--show-secrets")
    assert run.code == 1, run.output
    findings = {f["secret"]: f for f in json.loads(run.stdout)["findings"]}
    removed = findings[gone]
    assert removed["user"] == "alice"
    assert removed["in_head"] is False
    loc = removed["locations"][0]
    assert loc["commit"] == first and loc["path"] == "deploy.sh" and loc["author"] == "Test Author"
    assert loc["date"].startswith("2026-01-02")
    others = [f for s, f in findings.items() if s != gone]
    assert others and others[0]["in_head"] is True


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "sarif"])
def test_no_full_token_in_any_format(tmp_path, fmt):
    repo, gone, _ = _history_repo(tmp_path)
    out = tmp_path / f"report.{fmt}"
    for args in (["--history", str(repo)], [str(repo)]):
        run = jts("scan", *args, "-f", fmt, "-o", str(out))
        assert run.code == 1, run.output
        written = out.read_text()
        assert written.strip()
        for token in [gone] + [line.split("=")[1] for line in (repo / "ci.env").read_text().splitlines()
                               if "TOKEN" in line]:
            assert token not in run.stdout and token not in run.stderr and token not in written


def test_show_secrets_opts_in(tmp_path):
    token = new_token()
    (tmp_path / "a.env").write_text(f"JENKINS_API_TOKEN={token}\n")
    assert token in jts("scan", str(tmp_path), "--show-secrets").stdout
    assert token not in jts("scan", str(tmp_path)).stdout


def test_help_lists_commands():
    run = jts("--help")
    assert run.code == 0
    for command in ("scan", "rules", "demo"):
        assert command in run.stdout


def test_wheel_ships_rules(tmp_path):
    """A non-editable install must find the rules inside the package."""
    pytest.importorskip("hatchling")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("jenkins_token_scanner-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "scanner/builtin_rules/api_token.toml" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-m", "scanner", "rules", "check"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 failed" in done.stdout


def test_history_on_bare_shallow_and_corrupt_repositories(tmp_path):
    repo, gone, _ = _history_repo(tmp_path)
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(bare))
    run = jts("scan", "--history", str(bare), "-f", "json", "--show-secrets")
    assert run.code == 1 and gone in {f["secret"] for f in json.loads(run.stdout)["findings"]}

    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    run = jts("scan", "--history", str(shallow), "-f", "json")
    report = json.loads(run.stdout)
    assert report["repository"]["shallow"] is True
    assert any("shallow" in w and "--unshallow" in w for w in report["warnings"])
    assert "shallow" in run.stderr  # warnings also reach the terminal

    objects = bare / "objects"
    for obj in [*objects.glob("pack/*.pack"), *objects.glob("[0-9a-f][0-9a-f]/*")]:
        data = obj.read_bytes()
        obj.unlink()  # a local clone hard-links objects: replace, do not truncate in place
        obj.write_bytes(data[: len(data) // 3])  # a corrupt object database
    run = jts("scan", "--history", str(bare))
    assert run.code == 2, run.output
    assert run.stderr.startswith("jts: error:") and len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.output


def test_report_with_full_secrets_is_private(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.env").write_text(f"JENKINS_API_TOKEN={new_token()}\n")
    full, redacted = tmp_path / "full.json", tmp_path / "redacted.json"
    full.write_text("old")
    full.chmod(0o644)
    assert jts("scan", str(tmp_path / "src"), "-f", "json", "--show-secrets", "-o", str(full)).code == 1
    assert jts("scan", str(tmp_path / "src"), "-f", "json", "-o", str(redacted)).code == 1
    assert full.stat().st_mode & 0o777 == 0o600


def test_secret_store_is_critical_only_with_both_keys(tmp_path):
    both, alone = tmp_path / "both" / "jenkins_home" / "secrets", tmp_path / "alone" / "jenkins_home" / "secrets"
    for directory in (both, alone):
        directory.mkdir(parents=True)
        (directory / "master.key").write_text(os.urandom(128).hex() + "\n")
    (both / "hudson.util.Secret").write_bytes(os.urandom(272))
    run = jts("scan", str(tmp_path / "both"), "-f", "json")
    assert sorted(f["severity"] for f in json.loads(run.stdout)["findings"]) == ["critical", "critical"]
    run = jts("scan", str(tmp_path / "alone"), "-f", "json")
    [finding] = json.loads(run.stdout)["findings"]
    assert finding["severity"] == "high" and finding["confidence"] == "medium"
    assert "secrets/hudson.util.Secret" in finding["remediation"]


def test_rules_check_rejects_companions_without_alone_severity(tmp_path):
    (tmp_path / "r.toml").write_text(
        'id = "r"\ntitle = "R"\nseverity = "low"\nremediation = "x"\n'
        "[detect]\npatterns = ['(?P<secret>[0-9a-f]{64})']\npaths = [\"a/b\"]\npath_only = true\n"
        'companions = ["a/b", "a/c"]\n')
    run = jts("rules", "check", str(tmp_path))
    assert run.code == 2 and "detect.companions" in run.stderr


def test_last_line_without_newline_keeps_its_context(tmp_path):
    token = new_token()
    (tmp_path / "ci.env").write_text(
        f"JENKINS_URL=https://jenkins.example.com\nJENKINS_USER_ID=bob\nJENKINS_API_TOKEN={token}")  # no final newline
    [finding] = json.loads(jts("scan", str(tmp_path), "-f", "json").stdout)["findings"]
    assert (finding["user"], finding["jenkins_url"]) == ("bob", "https://jenkins.example.com")
    assert finding["locations"][0]["line"] == 3


def _big_tree(tree: Path, files: int) -> tuple[list[str], str]:
    """``files`` small files in a few directories, a token in every 500th, plus a link out of the tree."""
    tokens = []
    for i in range(files):
        directory = tree / f"d{i % 13}"
        directory.mkdir(parents=True, exist_ok=True)
        text = f"step {i}\n" * 5
        if i % 500 == 0:
            tokens.append(new_token())
            text += f"JENKINS_URL=https://jenkins.example.com\nJENKINS_USER_ID=u{i}\nJENKINS_API_TOKEN={tokens[-1]}\n"
        (directory / f"f{i}.txt").write_text(text)
    (tree / "blob.bin").write_bytes(b"\x00" * 64)
    outside = tree.parent / "outside.txt"
    outside_token = new_token()
    outside.write_text(f"JENKINS_API_TOKEN={outside_token}\n")
    (tree / "link.txt").symlink_to(outside)
    return tokens, outside_token


def test_large_tree_in_workers_reports_what_one_process_does(tmp_path):
    tree = tmp_path / "tree"
    tokens, outside_token = _big_tree(tree, 2600)
    one = jts("scan", str(tree), "-f", "json", "--show-secrets", "-j", "1")
    two = jts("scan", str(tree), "-f", "json", "--show-secrets", "-j", "2")
    assert one.code == two.code == 1, (one.output, two.output)
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert sorted(f["secret"] for f in a["findings"]) == sorted(tokens)
    assert outside_token not in two.stdout
    assert a["findings"] == b["findings"] and a["warnings"] == b["warnings"]
    assert {k: v for k, v in a["stats"].items() if k != "seconds"} == \
        {k: v for k, v in b["stats"].items() if k != "seconds"}
    assert b["stats"]["files"] == 2601 and b["stats"]["skipped_binary"] == 1


def test_working_tree_workers_are_used_and_a_failing_one_is_an_error(tmp_path, monkeypatch):
    from scanner.detect import DetectorSpec
    from scanner.sources import files as files_module

    tree = tmp_path / "tree"
    tokens, _ = _big_tree(tree, 40)
    pids = tmp_path / "pids"
    real_scan_file = files_module.scan_file

    def recording(detector, path, display, result):
        with open(pids, "a") as handle:  # a file: the workers are other processes
            handle.write(f"{os.getpid()}\n")
        real_scan_file(detector, path, display, result)

    monkeypatch.setattr(files_module, "scan_file", recording)
    monkeypatch.setattr(files_module, "PARALLEL_MIN_FILES", 10)
    detector = DetectorSpec().build()
    if files_module.process_context().get_start_method() != "fork":
        pytest.skip("working-tree workers are forked only")
    result = files_module.scan_paths(detector, [tree], jobs=2)
    assert sorted(h.secret for h, _ in result.hits) == sorted(tokens) and result.files == 41
    assert len(set(pids.read_text().split()) - {str(os.getpid())}) == 2

    def failing(detector, path, display, result):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(files_module, "scan_file", failing)
    with pytest.raises(files_module.SourceError, match="worker failed: RuntimeError: disk on fire"):
        files_module.scan_paths(detector, [tree], jobs=2)


@pytest.mark.parametrize("path, base", [
    ("/a/b/c.txt", "/a"), ("/a/b/c.txt", "/a/"), ("/a/b/./c", "/a"), ("/a/.git/x", "/a"), ("/a//b", "/a"),
    ("/a///b/c", "/a"), ("/a", "/a"), ("/ab/c", "/a"), ("rel/x", "/a"), ("/x/y", "/"), ("/a/b/../c", "/a"),
    ("/a/b.c/d", "/a"), ("/a/b/.hidden", "/a"), ("/a/b//", "/a"), ("/a/b/", "/a"), ("/a/b/..", "/a"),
])
def test_display_paths_match_relpath(path: str, base: str) -> None:
    """The fast path for names under the scanned root says what os.path.relpath says (issue 10)."""
    import os

    from scanner.sources.files import _relative

    rel = os.path.relpath(path, base) if os.path.isabs(path) == os.path.isabs(base) else path
    assert _relative(path, base) == (path if rel.startswith("..") else rel)


def test_git_content_over_the_blob_size_limit_is_streamed_not_skipped(tmp_path):
    """A token in a file over --max-blob-mb used to pass the hook, the CI gate and the history scan
    with a warning and exit 0: git blobs of any size are now read as streams, as work-tree files are."""
    repo = init_repo(tmp_path / "repo")
    base = commit(repo, {"README": "hello\n"}, "init")
    tok = new_token()
    filler = "INFO request ok " + "x" * 100 + "\n"
    big = f"curl -u deploy:{tok} https://ci.example.com/job/x/build\n" + filler * (3 * 2**20 // len(filler))
    (repo / "app.log").write_text(big)
    git(repo, "add", "app.log")
    for args in (("--staged",), ):
        run = jts("scan", *args, "--max-blob-mb", "1", "-f", "json", "--no-progress", cwd=repo)
        assert run.code == 1, run.output
        assert [f["rule_id"] for f in json.loads(run.stdout)["findings"]] == ["api_token"]
    git(repo, "commit", "-q", "-m", "big log")
    for args in (("--range", f"{base}..HEAD"), ("--history", ".")):
        run = jts("scan", *args, "--max-blob-mb", "1", "-f", "json", "--no-progress", cwd=repo)
        assert run.code == 1, (args, run.output)
        report = json.loads(run.stdout)
        (finding,) = report["findings"]
        assert finding["locations"][0]["path"] == "app.log" and finding["locations"][0]["line"] == 1
        assert any("streamed" in w and "app.log" in w for w in report["warnings"]), report["warnings"]
        assert tok not in run.output


def test_a_large_blob_git_cannot_stream_is_an_error_not_clean(tmp_path):
    """A streamed blob whose object is damaged: exit 2 naming it, never a clean exit 0."""
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"big.log": "x" * (2 * 2**20) + "\n"}, "big")
    oid = git(repo, "rev-parse", "HEAD:big.log")
    loose = repo / ".git" / "objects" / oid[:2] / oid[2:]
    data = loose.read_bytes()
    loose.chmod(0o644)
    loose.write_bytes(data[: len(data) // 2])  # the stream ends early: zlib reports the damage
    run = jts("scan", "--history", str(repo), "--max-blob-mb", "1", "--no-progress")
    assert run.code == 2, run.output
    assert "big.log" in run.stderr and "Traceback" not in run.output


def test_a_blob_at_two_paths_is_judged_at_each_in_the_hook_and_the_gate(tmp_path):
    """Some rules depend on the path (a secrets/master.key; "jenkins" in a directory name). A blob
    scanned once at a neutral path hid the same content at the path that makes it a finding."""
    import secrets as random_bytes

    repo = init_repo(tmp_path / "repo")
    base = commit(repo, {"README": "hello\n"}, "init")
    key = random_bytes.token_hex(128)
    legacy = new_token()[2:]  # 32 hex: a legacy token, whose only Jenkins context here is its path
    # the neutral copies sort first, so each blob was scanned at the neutral path only
    staged = {"a-backup/master.key.bak": key, "jenkins_home/secrets/master.key": key,
              "a-backup/creds.properties": f"api.token={legacy}\n", "jenkins/creds.properties": f"api.token={legacy}\n"}
    for name, text in staged.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    work_tree = jts("scan", "-f", "json", "--no-progress", ".", cwd=repo)
    expected = sorted(loc["path"] for f in json.loads(work_tree.stdout)["findings"] for loc in f["locations"])
    assert expected == ["jenkins/creds.properties", "jenkins_home/secrets/master.key"], work_tree.output
    run = jts("scan", "--staged", "-f", "json", "--no-progress", cwd=repo)
    assert run.code == 1, run.output
    assert sorted(loc["path"] for f in json.loads(run.stdout)["findings"] for loc in f["locations"]) == expected
    # a pull request that adds the files at neutral paths, then moves them where they mean something
    for name in expected:
        (repo / name).unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "backups only")
    for name, text in staged.items():
        (repo / name).write_text(text)
    for name in ("a-backup/master.key.bak", "a-backup/creds.properties"):
        (repo / name).unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "moved into place")
    run = jts("scan", "--range", f"{base}..HEAD", "-f", "json", "--no-progress", cwd=repo)
    assert run.code == 1, run.output
    found = json.loads(run.stdout)["findings"]
    assert sorted(loc["path"] for f in found for loc in f["locations"]) == expected
    assert all(loc["in_head"] for f in found for loc in f["locations"])


def test_a_merge_that_brings_back_a_removed_token_fails_the_range_gate(tmp_path):
    """A branch forked before the token's removal, merged keeping its side of the file: the
    merge's combined diff lists no entry for it, and the gate used to pass with nothing said."""
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"README": "hello\n"}, "init")
    tok = new_token()
    leak = commit(repo, {"ci.env": f"JENKINS_URL=https://ci.example.com\nJENKINS_USER=alice\nJENKINS_API_TOKEN={tok}\n"},
                  "leak")
    git(repo, "rm", "-q", "ci.env")
    git(repo, "commit", "-q", "-m", "remove the leak")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature", leak)
    commit(repo, {"feature.txt": "feature\n"}, "feature")
    git(repo, "checkout", "-q", "-b", "pr", base)
    git(repo, "merge", "-q", "--no-ff", "--no-commit", "feature")
    git(repo, "checkout", "-q", "feature", "--", "ci.env")
    git(repo, "commit", "-q", "-m", "merge feature")
    for args in (("--range", f"{base}..pr"), ("--since-ref", base)):
        run = jts("scan", *args, "-f", "json", "--no-progress", cwd=repo)
        assert run.code == 1, (args, run.output)
        report = json.loads(run.stdout)
        (finding,) = report["findings"]
        assert [loc["path"] for loc in finding["locations"]] == ["ci.env"] and finding["locations"][0]["in_head"]
        assert any("through a merge" in w for w in report["warnings"]), report["warnings"]
    # an ordinary range: nothing extra, and the removal itself reports nothing
    quiet = jts("scan", "--range", f"{leak}..{base}", "-f", "json", "--no-progress", cwd=repo)
    assert quiet.code == 0 and json.loads(quiet.stdout)["warnings"] == [], quiet.output


def test_tokens_in_files_with_nul_bytes_are_found(tmp_path):
    """A NUL in the first 8 KB made a file binary and its text was never read: UTF-16 text (what
    PowerShell's > writes), a .env behind one NUL, a database page. The hook and the gate passed."""
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"README": "hello\n"}, "init")
    toks = [new_token() for _ in range(3)]
    env = "JENKINS_URL=https://ci.example.com\nJENKINS_USER=alice\nJENKINS_API_TOKEN={}\n"
    files = {
        "deploy.ps1": ("\ufeff" + "$env:JENKINS_URL = 'https://ci.example.com'\r\n"
                       f"$env:JENKINS_API_TOKEN = '{toks[0]}'\r\n").encode("utf-16-le"),
        "ci.env": b"\x00" + env.format(toks[1]).encode(),
        "settings.db": b"SQLite format 3\x00" + b"\x00\x01\x02" * 300 + env.format(toks[2]).encode() + b"\x00" * 64,
    }
    for name, data in files.items():
        (repo / name).write_bytes(data)
    git(repo, "add", "-A")
    for args in (("--staged",), (".",)):
        run = jts("scan", *args, "-f", "json", "--no-progress", cwd=repo)
        assert run.code == 1, (args, run.output)
        paths = {loc["path"]: f["fingerprint"] for f in json.loads(run.stdout)["findings"] for loc in f["locations"]}
        assert sorted(paths) == sorted(files), (args, paths)
        assert not any(t in run.output for t in toks)
    ps1 = json.loads(jts("scan", ".", "-f", "json", "--no-progress", cwd=repo).stdout)
    (located,) = [loc for f in ps1["findings"] for loc in f["locations"] if loc["path"] == "deploy.ps1"]
    assert located["line"] == 2  # UTF-16 is read as the text it is: lines stay true
