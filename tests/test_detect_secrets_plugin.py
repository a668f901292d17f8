"""The detect-secrets plugin, driven only through detect-secrets' own executables."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import pytest

from scanner.baseline import plugin_file
from tests.test_precommit import JTS, GitRepo, assert_no_secret, env_file, fake_token

BIN = Path(sys.executable).parent
DETECT_SECRETS = BIN / "detect-secrets"
HOOK = BIN / "detect-secrets-hook"
PLUGIN = plugin_file()
OUR_TYPES = {"Jenkins API Token", "Jenkins Legacy API Token", "Jenkins Agent Secret", "Jenkins Build Trigger Token",
             "Jenkins Initial Admin Password", "Jenkins Secret Store Key", "Jenkins Credential"}
# detect-secrets' noisy generic detectors; off so each test sees what our plugin decides.
QUIET = ["--disable-plugin", "HexHighEntropyString", "--disable-plugin", "Base64HighEntropyString",
         "--disable-plugin", "KeywordDetector", "--disable-plugin", "BasicAuthDetector"]


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo.create(tmp_path)
    r.env.pop("JTS_JENKINS_URL", None)
    return r


def ds_scan(repo: GitRepo, *files: str) -> tuple[dict[str, list[dict]], str]:
    proc = repo.run(DETECT_SECRETS, "scan", "--plugin", PLUGIN, *QUIET, *files)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    ours = {name: [e for e in items if e["type"] in OUR_TYPES] for name, items in data["results"].items()}
    return {name: items for name, items in ours.items() if items}, proc.stdout + proc.stderr


def hex32() -> str:
    return secrets.token_hex(16)


def test_finds_jenkins_tokens_with_jts_precision(repo: GitRepo) -> None:
    token, legacy, decoy, md5 = fake_token(), hex32(), hex32(), hex32()
    repo.write("ci/.env", env_file(token))
    # Jenkins context sits 8 lines above the 32-hex value: beyond detect-secrets' 5-line snippet,
    # found because the plugin runs jts' engine over the whole file.
    repo.write("jobs/jenkins.ini", "[jenkins]\nurl=https://ci.example.org\nuser=deploy\n"
               + "".join(f"; note {i}\n" for i in range(5)) + f"password={legacy}\n")
    repo.write("app/settings.ini", f"password={decoy}\n")  # 32 hex, no Jenkins anywhere: not ours
    repo.write("dist/SUMS", f"{md5}  jenkins-plugin.hpi  md5\n")
    repo.write("docs/howto.md", env_file(fake_token()).rstrip("\n") + "  # jts:allow\n")
    found, out = ds_scan(repo, "ci/.env", "jobs/jenkins.ini", "app/settings.ini", "dist/SUMS", "docs/howto.md")
    assert found == {
        "ci/.env": [{"type": "Jenkins API Token", "filename": "ci/.env", "hashed_secret": _sha1(token),
                     "is_verified": False, "line_number": 3}],
        "jobs/jenkins.ini": [{"type": "Jenkins Legacy API Token", "filename": "jobs/jenkins.ini",
                              "hashed_secret": _sha1(legacy), "is_verified": False, "line_number": 9}],
    }
    assert_no_secret([token, legacy, decoy, md5], out)


def test_plugin_agrees_with_jts_on_the_same_files(repo: GitRepo) -> None:
    tokens = [fake_token() for _ in range(3)]
    repo.write("a.sh", f"curl -u bob:{tokens[0]} https://jenkins.example.com/job/app/build\n")
    repo.write("b.py", f"server = jenkins.Jenkins('https://jenkins.example.com', username='frank', password='{tokens[1]}')\n")
    repo.write("c/.netrc", f"machine jenkins.example.com login carol password {tokens[2]}\n")
    found, _ = ds_scan(repo, "a.sh", "b.py", "c/.netrc")
    ours = repo.run(JTS, "scan", "--format", "json", "a.sh", "b.py", "c/.netrc")
    jts_pairs = {(loc["path"], f["rule_id"]) for f in json.loads(ours.stdout)["findings"] for loc in f["locations"]}
    ds_pairs = {(name, e["type"]) for name, items in found.items() for e in items}
    # detect-secrets applies its own line filters too (e.g. is_indirect_reference drops `x = f(...)`
    # lines), so the plugin reports a subset of jts, never something jts would not.
    names = {"api_token": "Jenkins API Token", "legacy_api_token": "Jenkins Legacy API Token"}
    assert ds_pairs <= {(path, names[rule]) for path, rule in jts_pairs}
    assert ("a.sh", "Jenkins API Token") in ds_pairs and ("c/.netrc", "Jenkins API Token") in ds_pairs


def test_hook_blocks_new_token_and_honours_jts_baseline(repo: GitRepo) -> None:
    old, new = fake_token(), fake_token()
    repo.write("ci/.env", env_file(old))
    repo.git("add", "-A")
    assert repo.run(JTS, "baseline", "create").returncode == 0
    proc = repo.run(HOOK, "--plugin", PLUGIN, *QUIET, "--baseline", ".secrets.baseline", "ci/.env")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    repo.write("ci/.env", "# moved\n" + env_file(old))  # line moves: still baselined
    proc = repo.run(HOOK, "--plugin", PLUGIN, *QUIET, "--baseline", ".secrets.baseline", "ci/.env")
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr  # 3: detect-secrets refreshed line numbers

    repo.write("deploy.sh", f"curl -u bob:{new} https://jenkins.example.com/job/app/build\n")
    proc = repo.run(HOOK, "--plugin", PLUGIN, *QUIET, "--baseline", ".secrets.baseline", "ci/.env", "deploy.sh")
    assert proc.returncode == 1
    assert "Jenkins API Token" in proc.stdout and "deploy.sh:1" in proc.stdout
    assert "ci/.env" not in proc.stdout
    assert_no_secret([old, new], proc.stdout, proc.stderr)


def test_hook_without_baseline(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    proc = repo.run(HOOK, "--plugin", PLUGIN, *QUIET, "ci/.env")
    assert proc.returncode == 1
    assert "Jenkins API Token" in proc.stdout
    assert_no_secret([token], proc.stdout, proc.stderr)


def test_verify_stays_unverified_without_a_configured_jenkins(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("a.sh", f"curl -u alice:{token} http://127.0.0.1:9/job/app/build\n")  # never contacted
    found, _ = ds_scan(repo, "a.sh")
    assert found["a.sh"][0]["is_verified"] is False


def test_verify_asks_the_configured_jenkins(repo: GitRepo, tmp_path: Path) -> None:
    from scanner.jenkins.server import JenkinsTestServer, ServerOptions

    with JenkinsTestServer(tmp_path / "jenkins_home", ServerOptions(version="2.578")) as jenkins:
        jenkins.add_user("alice", password="pw-" + secrets.token_hex(4))
        live = jenkins.create_token("alice", name="ci").value
        dead = fake_token()
        url = jenkins.url.rstrip("/")
        repo.write("live.sh", f"curl -u alice:{live} https://jenkins.example.com/job/app/build\n")
        repo.write("dead.sh", f"curl -u alice:{dead} https://jenkins.example.com/job/app/build\n")
        repo.env["JTS_JENKINS_URL"] = url
        found, out = ds_scan(repo, "live.sh", "dead.sh")
    assert found["live.sh"][0]["is_verified"] is True
    # alice's 401 proves only "not alice's token" (it could be another user's): kept, unverified
    assert found["dead.sh"][0]["is_verified"] is False
    assert_no_secret([live, dead], out)


def test_plugin_file_is_what_jts_prints(repo: GitRepo) -> None:
    assert repo.run(JTS, "baseline", "plugin-path").stdout.strip() == PLUGIN


def _sha1(text: str) -> str:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest()
