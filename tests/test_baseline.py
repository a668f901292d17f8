"""Baselines: create / scan --baseline / update round trips, in detect-secrets' own format."""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_precommit import JTS, GitRepo, assert_no_secret, env_file, fake_token

BIN = Path(sys.executable).parent
DETECT_SECRETS = BIN / "detect-secrets"
OUR_CLASSES = {"JenkinsApiTokenDetector", "JenkinsLegacyApiTokenDetector", "JenkinsAgentSecretDetector",
               "JenkinsBuildTriggerTokenDetector", "JenkinsInitialAdminPasswordDetector",
               "JenkinsSecretStoreKeyDetector", "JenkinsCredentialDetector"}


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def ini(token: str, user: str = "deploy") -> str:
    return f"[jenkins]\nurl=https://ci.example.org\nuser={user}\npassword={token}\n"


def fake_aws_key() -> str:
    import secrets

    return "AKIA" + secrets.token_hex(8).upper()  # detect-secrets' AWSKeyDetector shape, made at run time


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def entries(data: dict) -> list[dict]:
    return [e for items in data["results"].values() for e in items]


def test_create_writes_a_detect_secrets_baseline(repo: GitRepo) -> None:
    tokens = [fake_token(), fake_token()]
    repo.write("ci/.env", env_file(tokens[0]))
    repo.write("jobs/jenkins.ini", ini(tokens[1]))
    repo.git("add", "-A")
    proc = repo.run(JTS, "baseline", "create")
    assert proc.returncode == 0, proc.stderr
    assert "2 Jenkins entries" in proc.stderr
    text = (repo.path / ".secrets.baseline").read_text(encoding="utf-8")
    assert_no_secret(tokens, text, proc.stdout, proc.stderr)
    data = json.loads(text)
    assert set(data) >= {"version", "plugins_used", "filters_used", "results", "generated_at"}
    assert data["results"] == {
        "ci/.env": [{"type": "Jenkins API Token", "filename": "ci/.env", "hashed_secret": sha1(tokens[0]),
                     "is_verified": False, "line_number": 3}],
        "jobs/jenkins.ini": [{"type": "Jenkins API Token", "filename": "jobs/jenkins.ini",
                              "hashed_secret": sha1(tokens[1]), "is_verified": False, "line_number": 4}],
    }
    ours = [p for p in data["plugins_used"] if p["name"] in OUR_CLASSES]
    assert {p["name"] for p in ours} == OUR_CLASSES
    assert all(p["path"].startswith("file://") and Path(p["path"][7:]).is_file() for p in ours)


def test_detect_secrets_loads_our_baseline(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    assert repo.run(JTS, "baseline", "create").returncode == 0
    probe = textwrap.dedent("""
        import json, sys
        from detect_secrets.core.baseline import load, load_from_file
        secrets = load(load_from_file(".secrets.baseline"), ".secrets.baseline")
        print(json.dumps([[name, s.type, s.secret_hash, s.line_number] for name, s in secrets]))
    """)
    proc = repo.run(sys.executable, "-c", probe)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [["ci/.env", "Jenkins API Token", sha1(token), 3]]


def test_scan_baseline_suppresses_and_survives_line_moves(repo: GitRepo) -> None:
    token, other = fake_token(), fake_token()
    repo.write("jobs/jenkins.ini", ini(token))
    assert repo.run(JTS, "scan").returncode == 1
    assert repo.run(JTS, "baseline", "create").returncode == 0
    proc = repo.run(JTS, "scan", "--baseline", ".secrets.baseline")
    assert proc.returncode == 0, proc.stdout

    repo.write("jobs/jenkins.ini", "; comment\n; another\n\n" + ini(token))  # the token moves 3 lines down
    assert repo.run(JTS, "scan", "--baseline", ".secrets.baseline").returncode == 0

    repo.write("copy/jenkins.ini", ini(token))  # same secret, new file: not covered by the baseline
    repo.write("ci/.env", env_file(other))
    proc = repo.run(JTS, "scan", "--baseline", ".secrets.baseline", "--format", "json")
    assert proc.returncode == 1
    paths = sorted(loc["path"] for f in json.loads(proc.stdout)["findings"] for loc in f["locations"])
    assert paths == ["ci/.env", "copy/jenkins.ini"]
    assert_no_secret([token, other], proc.stdout, proc.stderr)


def test_baseline_in_a_subdirectory_uses_paths_relative_to_it(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("svc/conf/jenkins.ini", ini(token))
    proc = repo.run(JTS, "baseline", "create", "svc")
    assert proc.returncode == 0, proc.stderr
    data = load(repo.path / "svc/.secrets.baseline")
    assert list(data["results"]) == ["conf/jenkins.ini"]
    assert repo.run(JTS, "scan", "svc", "--baseline", "svc/.secrets.baseline").returncode == 0
    assert repo.run(JTS, "scan", "--baseline", "svc/.secrets.baseline").returncode == 0
    # the hook reads a baseline inside the repository from HEAD: commit it on its own first
    repo.git("add", "svc/.secrets.baseline")
    repo.git("commit", "-q", "--no-verify", "-m", "accept")
    repo.git("add", "svc/conf/jenkins.ini")  # git sources report repository-relative paths
    assert repo.run(JTS, "scan", "--staged", "--baseline", "svc/.secrets.baseline").returncode == 0
    assert repo.run(JTS, "scan", "--staged").returncode == 1


def test_update_prunes_refreshes_lines_and_keeps_audit_flags(repo: GitRepo) -> None:
    kept, removed, aws = fake_token(), fake_token(), fake_aws_key()
    repo.write("jobs/jenkins.ini", ini(kept))
    repo.write("ci/.env", env_file(removed))
    assert repo.run(JTS, "baseline", "create").returncode == 0
    path = repo.path / ".secrets.baseline"
    data = load(path)
    for entry in entries(data):
        if entry["hashed_secret"] == sha1(kept):
            entry["is_secret"] = False  # what `detect-secrets audit` records for a false positive
            entry["is_verified"] = True
    data["results"]["gone.py"] = [{"type": "AWS Access Key", "filename": "gone.py", "hashed_secret": sha1(aws),
                                   "is_verified": False, "line_number": 1}]
    data["results"]["still.py"] = [{"type": "AWS Access Key", "filename": "still.py", "hashed_secret": sha1(aws),
                                    "is_verified": False, "line_number": 1}]
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    repo.write("still.py", f"key = '{aws}'\n")

    repo.write("jobs/jenkins.ini", "\n\n" + ini(kept))  # moved
    repo.write("ci/.env", env_file("${JENKINS_API_TOKEN}"))  # fixed
    proc = repo.run(JTS, "baseline", "update")
    assert proc.returncode == 0, proc.stderr
    assert "2 entries pruned" in proc.stderr
    after = load(path)
    assert sorted(after["results"]) == ["jobs/jenkins.ini", "still.py"]
    [entry] = after["results"]["jobs/jenkins.ini"]
    assert entry["line_number"] == 6
    assert entry["is_secret"] is False and entry["is_verified"] is True
    assert_no_secret([kept, removed], path.read_text(encoding="utf-8"), proc.stdout, proc.stderr)


def test_update_adds_nothing_new(repo: GitRepo) -> None:
    repo.write("jobs/jenkins.ini", ini(fake_token()))
    assert repo.run(JTS, "baseline", "create").returncode == 0
    repo.write("jobs/jenkins.ini", ini(fake_token()))  # a different token in the same file
    assert repo.run(JTS, "baseline", "update").returncode == 0
    assert load(repo.path / ".secrets.baseline")["results"] == {}
    assert repo.run(JTS, "scan", "--baseline", ".secrets.baseline").returncode == 1


def test_create_merges_into_an_existing_detect_secrets_baseline(repo: GitRepo) -> None:
    token, aws = fake_token(), fake_aws_key()
    repo.write("aws.py", f"key = '{aws}'\n")
    repo.write("jobs/jenkins.ini", ini(token))
    repo.git("add", "-A")
    made = repo.run(DETECT_SECRETS, "scan", "--disable-plugin", "HexHighEntropyString",
                    "--disable-plugin", "KeywordDetector")
    assert made.returncode == 0, made.stderr
    (repo.path / ".secrets.baseline").write_text(made.stdout, encoding="utf-8")
    theirs = json.loads(made.stdout)
    assert [e["type"] for e in entries(theirs)] == ["AWS Access Key"]

    proc = repo.run(JTS, "baseline", "create", "--baseline", ".secrets.baseline")
    assert proc.returncode == 0, proc.stderr
    assert "updated" in proc.stderr and "1 other entry kept" in proc.stderr
    merged = load(repo.path / ".secrets.baseline")
    assert merged["results"]["aws.py"] == theirs["results"]["aws.py"]
    assert [e["type"] for e in merged["results"]["jobs/jenkins.ini"]] == ["Jenkins API Token"]
    names = {p["name"] for p in merged["plugins_used"]}
    assert {p["name"] for p in theirs["plugins_used"]} | OUR_CLASSES == names
    assert merged["filters_used"] == theirs["filters_used"]
    assert merged["version"] == theirs["version"]

    # An audit flag set in between survives a second create.
    for entry in merged["results"]["jobs/jenkins.ini"]:
        entry["is_secret"] = True
    (repo.path / ".secrets.baseline").write_text(json.dumps(merged, indent=2), encoding="utf-8")
    assert repo.run(JTS, "baseline", "create", "--baseline", ".secrets.baseline").returncode == 0
    again = load(repo.path / ".secrets.baseline")
    assert again["results"]["jobs/jenkins.ini"][0]["is_secret"] is True
    assert again["results"]["aws.py"] == theirs["results"]["aws.py"]

    # detect-secrets' own hook still accepts the merged file and finds nothing new.
    hook = repo.run(BIN / "detect-secrets-hook", "--baseline", ".secrets.baseline", "aws.py", "jobs/jenkins.ini")
    assert hook.returncode == 0, hook.stdout + hook.stderr


def test_detect_secrets_audit_reads_our_baseline(repo: GitRepo) -> None:
    """Through `jts baseline audit`, which works around detect-secrets#611 (custom plugins in audit)."""
    token = fake_token()
    repo.write("jobs/jenkins.ini", ini(token))
    repo.git("add", "-A")
    assert repo.run(JTS, "baseline", "create").returncode == 0
    stats = repo.run(JTS, "baseline", "audit", "--stats", "--json", ".secrets.baseline")
    assert stats.returncode == 0, stats.stderr
    assert "JenkinsApiTokenDetector" in json.loads(stats.stdout)
    assert_no_secret([token], stats.stdout, stats.stderr)
    # --report is detect-secrets' plaintext report: it prints secrets by design, so only types are checked.
    report = repo.run(JTS, "baseline", "audit", "--report", ".secrets.baseline")
    assert report.returncode == 0, report.stderr
    [result] = json.loads(report.stdout)["results"]
    assert result["filename"] == "jobs/jenkins.ini" and result["types"] == ["Jenkins API Token"]


@pytest.mark.parametrize("content", [None, "{not json", '{"version": "1.5.0"}', '{"results": {"a": [{"x": 1}]}}'])
def test_missing_or_corrupt_baseline_is_a_one_line_error(repo: GitRepo, content: str | None) -> None:
    repo.write("jobs/jenkins.ini", ini(fake_token()))
    if content is not None:
        repo.write("bad.baseline", content)
    for argv in (["scan", "--baseline", "bad.baseline"], ["baseline", "update", "bad.baseline"],
                 ["baseline", "audit", "--stats", "bad.baseline"]):
        proc = repo.run(JTS, *argv)
        assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("jts: error: bad.baseline"), proc.stderr


def test_plugin_path_command_prints_an_importable_plugin(repo: GitRepo) -> None:
    proc = repo.run(JTS, "baseline", "plugin-path")
    assert proc.returncode == 0
    path = Path(proc.stdout.strip())
    assert path.is_file() and path.name == "detect_secrets_jenkins.py"


def test_repository_relative_plugin_shim_is_recorded_and_kept(repo: GitRepo) -> None:
    """A shim committed in the repo makes the baseline portable: detect-secrets finds our plugin by it."""
    old, new = fake_token(), fake_token()
    repo.write(".jts/detect_secrets_jenkins.py", "from scanner.plugins.detect_secrets_jenkins import *  # noqa\n")
    repo.write("ci/.env", env_file(old))
    repo.git("add", "-A")
    shim = ".jts/detect_secrets_jenkins.py"
    assert repo.run(JTS, "baseline", "create", "--plugin-path", shim).returncode == 0
    paths = {p.get("path") for p in load(repo.path / ".secrets.baseline")["plugins_used"]}
    assert paths == {f"file://{shim}"}
    assert repo.run(JTS, "baseline", "create").returncode == 0  # a later create keeps the team's choice
    assert {p.get("path") for p in load(repo.path / ".secrets.baseline")["plugins_used"]} == {f"file://{shim}"}

    repo.write("deploy.sh", f"curl -u bob:{new} https://jenkins.example.com/job/app/build\n")
    hook = repo.run(BIN / "detect-secrets-hook", "--baseline", ".secrets.baseline", "ci/.env", "deploy.sh")
    assert hook.returncode == 1, hook.stdout + hook.stderr
    assert "Jenkins API Token" in hook.stdout and "deploy.sh:1" in hook.stdout and "ci/.env" not in hook.stdout
    assert_no_secret([old, new], hook.stdout, hook.stderr)
