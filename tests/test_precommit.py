"""Pre-commit: `jts scan --staged` semantics, and the hook run by the real `pre-commit` framework.

Every repository is built in a tmp dir with its own HOME and PRE_COMMIT_HOME, so tests run in
parallel. Tokens are generated at run time; no output may ever contain one in full.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
JTS = BIN / "jts"
PRE_COMMIT = BIN / "pre-commit"

pytestmark = pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed (pip install -e .[test])")


def fake_token() -> str:
    return "11" + secrets.token_hex(16)  # made at run time: no token-shaped literal is committed


def env_file(token: str, user: str = "alice") -> str:
    return f"JENKINS_URL=https://jenkins.example.com\nJENKINS_USER_ID={user}\nJENKINS_API_TOKEN={token}\n"


@dataclass
class GitRepo:
    """A throw-away repository driven by the real git and pre-commit executables."""

    path: Path
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, tmp: Path) -> GitRepo:
        home = tmp / "home"
        home.mkdir()
        env = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Tess Ter", "GIT_AUTHOR_EMAIL": "tess@example.com",
            "GIT_COMMITTER_NAME": "Tess Ter", "GIT_COMMITTER_EMAIL": "tess@example.com",
            "PRE_COMMIT_HOME": str(tmp / "pre-commit-home"),
            "PRE_COMMIT_COLOR": "never",
            "NO_COLOR": "1",
        }
        env.pop("GIT_DIR", None)
        env.pop("GIT_INDEX_FILE", None)
        repo = cls(path=tmp / "repo", home=home, env=env)
        subprocess.run(["git", "-c", "init.defaultBranch=main", "init", "-q", str(repo.path)], env=env, check=True)
        repo.git("config", "commit.gpgsign", "false")
        return repo

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=self.path, env=self.env,
                              capture_output=True, text=True, check=check)

    def write(self, name: str, text: str) -> None:
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def commit(self, message: str, *, verify: bool = True) -> subprocess.CompletedProcess[str]:
        args = ["commit", "-m", message] + ([] if verify else ["--no-verify"])
        return self.git(*args, check=False)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def run(self, *argv: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(a) for a in argv], cwd=self.path, env=self.env, capture_output=True, text=True,
                              timeout=300)


def assert_no_secret(tokens: list[str], *outputs: str) -> None:
    for token in tokens:
        for output in outputs:
            assert token not in output


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo.create(tmp_path)
    r.write("README.md", "# demo\n")
    r.git("add", "README.md")
    assert r.commit("init", verify=False).returncode == 0
    return r


# --------------------------------------------------------------------------- jts scan --staged


def test_staged_token_blocks_even_when_removed_from_work_tree(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("deploy/.env", env_file(token))
    repo.git("add", "deploy/.env")
    repo.write("deploy/.env", env_file("${JENKINS_API_TOKEN}"))  # fixed on disk, but not staged
    proc = repo.run(JTS, "scan", "--staged")
    assert proc.returncode == 1, proc.stderr
    assert "deploy/.env:3" in proc.stdout
    assert "Jenkins API token" in proc.stdout
    assert f"{token[:4]}…{token[-2:]}" in proc.stdout
    assert_no_secret([token], proc.stdout, proc.stderr)


def test_working_tree_scan_would_have_missed_it(repo: GitRepo) -> None:
    """The contrast that makes --staged necessary: the file on disk is clean."""
    token = fake_token()
    repo.write("deploy/.env", env_file(token))
    repo.git("add", "deploy/.env")
    repo.write("deploy/.env", env_file("${JENKINS_API_TOKEN}"))
    assert repo.run(JTS, "scan", "deploy/.env").returncode == 0


def test_staged_fix_passes_even_with_token_left_in_work_tree(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("deploy/.env", env_file(token))
    repo.git("add", "deploy/.env")
    repo.write("deploy/.env", env_file("${JENKINS_API_TOKEN}"))
    repo.git("add", "deploy/.env")  # the fix is staged
    repo.write("deploy/.env", env_file(token))  # a local, unstaged copy keeps the token
    proc = repo.run(JTS, "scan", "--staged")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no Jenkins credentials staged" in proc.stdout
    assert_no_secret([token], proc.stdout, proc.stderr)


def test_block_message_is_short_and_says_how_to_fix(repo: GitRepo) -> None:
    tokens = [fake_token(), fake_token()]
    repo.write("ci/.env", env_file(tokens[0]))
    repo.write("scripts/trigger.sh", f"curl -X POST -u bob:{tokens[1]} https://jenkins.example.com/job/app/build\n")
    repo.git("add", "ci/.env", "scripts/trigger.sh")
    proc = repo.run(JTS, "scan", "--staged")
    assert proc.returncode == 1
    lines = proc.stdout.strip().splitlines()
    assert len(lines) <= 8, proc.stdout
    assert lines[0].startswith("jts: commit blocked: 2 Jenkins credentials staged")
    assert any("ci/.env:3" in line and "user alice" in line for line in lines)
    assert any("scripts/trigger.sh:1" in line and "user bob" in line for line in lines)
    text = proc.stdout
    for word in ("remove", "rotate", "jts:allow", "baseline"):
        assert word in text
    assert_no_secret(tokens, proc.stdout, proc.stderr)


def test_allow_marker_passes(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("docs/example.env", env_file(token).replace(token, f"{token}  # jts:allow"))
    repo.git("add", "docs/example.env")
    assert repo.run(JTS, "scan", "--staged").returncode == 0


def test_already_committed_token_says_rotate(repo: GitRepo) -> None:
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    repo.git("add", "ci/.env")
    assert repo.commit("leak", verify=False).returncode == 0
    repo.write("ci/.env", env_file(token) + "EXTRA=1\n")
    repo.git("add", "ci/.env")
    proc = repo.run(JTS, "scan", "--staged")
    assert proc.returncode == 1
    assert "already committed in HEAD" in proc.stdout
    assert_no_secret([token], proc.stdout, proc.stderr)


def test_staged_json_format_is_the_full_report(repo: GitRepo) -> None:
    """Only the text format is the compact pre-commit message; machine formats stay complete."""
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    repo.git("add", "ci/.env")
    proc = repo.run(JTS, "scan", "--staged", "--format", "json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["findings"][0]["locations"][0]["source"] == "staged"
    assert_no_secret([token], proc.stdout, proc.stderr)


@pytest.mark.parametrize("with_token", [False, True])
def test_staged_scan_stays_offline_and_lean(repo: GitRepo, with_token: bool) -> None:
    """No HTTP client is imported on the pre-commit path (and, when clean, not detect-secrets either)."""
    token = fake_token()
    repo.write("app.py", f"TOKEN = '{token}'  # jenkins\n" if with_token else "print('hello')\n")
    repo.git("add", "app.py")
    probe = textwrap.dedent("""
        import json, sys
        from scanner.cli import main
        sys.argv = ["jts", "scan", "--staged"]
        try:
            main()
        except SystemExit as exc:
            code = exc.code
        heavy = sorted({m.split(".")[0] for m in sys.modules} & {"httpx", "requests", "urllib3", "detect_secrets"})
        print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
    """)
    proc = repo.run(sys.executable, "-c", probe)
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    assert "httpx" not in result["heavy"]
    if not with_token:
        assert result == {"code": 0, "heavy": []}
    assert_no_secret([token], proc.stdout, proc.stderr)


# --------------------------------------------------------------------------- the real pre-commit


def local_hook_config(*args: str) -> str:
    """A `repo: local` hook that runs this checkout's jts exactly as the shipped hook does."""
    lines = [
        "repos:",
        "  - repo: local",
        "    hooks:",
        "      - id: jenkins-token-scan",
        "        name: Jenkins credentials (jts)",
        f"        entry: {JTS} scan --staged --no-progress",
        "        language: system",
        "        pass_filenames: false",
        "        require_serial: true",
    ]
    if args:
        lines.append(f"        args: {json.dumps(list(args))}")
    return "\n".join(lines) + "\n"


def install_hook(repo: GitRepo, config: str) -> None:
    repo.write(".pre-commit-config.yaml", config)
    repo.git("add", ".pre-commit-config.yaml")
    assert repo.commit("pre-commit config", verify=False).returncode == 0
    proc = repo.run(PRE_COMMIT, "install")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_hook_manifest_validates() -> None:
    proc = subprocess.run([str(PRE_COMMIT), "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shipped_hook_is_the_staged_scan() -> None:
    """What the local-hook tests below run is what the manifest ships."""
    manifest = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    block = manifest.split("- id: jenkins-token-scan\n", 1)[1].split("\n- id:", 1)[0]
    assert "entry: jts scan --staged" in block
    assert "pass_filenames: false" in block


def test_precommit_refuses_commit_with_token(repo: GitRepo) -> None:
    install_hook(repo, local_hook_config())
    before = repo.head()
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    repo.git("add", "ci/.env")
    proc = repo.commit("add ci env")
    assert proc.returncode != 0
    assert repo.head() == before
    out = proc.stdout + proc.stderr
    assert "Jenkins credentials (jts)" in out and "Failed" in out
    assert "ci/.env:3" in out and "jts:allow" in out
    assert_no_secret([token], out)


def test_precommit_passes_clean_commit(repo: GitRepo) -> None:
    install_hook(repo, local_hook_config())
    before = repo.head()
    repo.write("src/app.py", "print('deploying')\n")
    repo.git("add", "src/app.py")
    proc = repo.commit("clean change")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert repo.head() != before
    assert "Passed" in proc.stdout + proc.stderr


def test_precommit_blocks_token_staged_but_removed_from_work_tree(repo: GitRepo) -> None:
    install_hook(repo, local_hook_config())
    before = repo.head()
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    repo.git("add", "ci/.env")
    repo.write("ci/.env", env_file("${JENKINS_API_TOKEN}"))
    proc = repo.commit("sneaky")
    assert proc.returncode != 0
    assert repo.head() == before
    assert (repo.path / "ci/.env").read_text(encoding="utf-8") == env_file("${JENKINS_API_TOKEN}")  # restored
    assert_no_secret([token], proc.stdout + proc.stderr)


def test_precommit_passes_staged_fix(repo: GitRepo) -> None:
    install_hook(repo, local_hook_config())
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    repo.git("add", "ci/.env")
    assert repo.commit("leak", verify=False).returncode == 0  # a leak that got in earlier
    repo.write("ci/.env", env_file("${JENKINS_API_TOKEN}"))
    repo.git("add", "ci/.env")
    repo.write("ci/.env", env_file(token))  # unstaged local copy
    proc = repo.commit("remove token")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert token not in repo.git("show", "HEAD:ci/.env").stdout
    assert_no_secret([token], proc.stdout + proc.stderr)


def test_precommit_passes_baselined_finding(repo: GitRepo) -> None:
    token, new_token = fake_token(), fake_token()
    repo.write("legacy/jenkins.ini", f"[jenkins]\nurl=https://ci.example.org\nuser=deploy\npassword={token}\n")
    repo.git("add", "legacy/jenkins.ini")
    assert repo.commit("old leak, accepted", verify=False).returncode == 0
    made = repo.run(JTS, "baseline", "create")
    assert made.returncode == 0, made.stderr
    repo.git("add", ".secrets.baseline")
    install_hook(repo, local_hook_config("--baseline", ".secrets.baseline"))

    repo.write("legacy/jenkins.ini", "# moved down\n\n" + (repo.path / "legacy/jenkins.ini").read_text())
    repo.write("src/app.py", "print('ok')\n")
    repo.git("add", "legacy/jenkins.ini", "src/app.py")
    proc = repo.commit("unrelated change, baselined token moved")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    repo.write("ci/.env", env_file(new_token))
    repo.git("add", "ci/.env")
    proc = repo.commit("new leak")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "ci/.env:3" in out and "legacy/jenkins.ini" not in out
    assert_no_secret([token, new_token], out, made.stdout, made.stderr)


@pytest.mark.slow
def test_try_repo_installs_this_checkout(repo: GitRepo) -> None:
    """SLOW (pip-installs this checkout into pre-commit's own env): the hook as users get it."""
    committed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--error-unmatch", ".pre-commit-hooks.yaml"],
                               capture_output=True)
    if committed.returncode != 0:
        pytest.skip(".pre-commit-hooks.yaml is not committed yet (try-repo clones the repository)")
    # The committed state (what users install), not whatever is half-edited in this checkout.
    ref = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    repo.git("add", "ci/.env")
    proc = repo.run(PRE_COMMIT, "try-repo", ROOT, "jenkins-token-scan", "--ref", ref)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "ci/.env:3" in out and "Jenkins API token" in out
    assert_no_secret([token], out)

    repo.write("ci/.env", env_file("${JENKINS_API_TOKEN}"))
    repo.git("add", "ci/.env")
    proc = repo.run(PRE_COMMIT, "try-repo", ROOT, "jenkins-token-scan", "--ref", ref)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_precommit_all_files_and_ref_ranges_do_not_pass_unscanned(repo: GitRepo) -> None:
    """`pre-commit run --all-files` / `--from-ref X --to-ref Y` (pre-commit.ci, CI jobs) stage nothing:
    the staged hook must scan what they name instead of passing without reading a byte."""
    repo.env["PYTHONPATH"] = str(ROOT)  # this checkout's scanner, whatever the venv's jts points at
    install_hook(repo, local_hook_config())
    token = fake_token()
    repo.write("ci/.env", env_file(token))
    repo.git("add", "ci/.env")
    assert repo.commit("leak", verify=False).returncode == 0
    repo.write("src/app.py", "print('ok')\n")
    repo.git("add", "src/app.py")
    assert repo.commit("clean", verify=False).returncode == 0

    proc = repo.run(PRE_COMMIT, "run", "--all-files")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "ci/.env:3" in out and "nothing staged" in out
    proc = repo.run(PRE_COMMIT, "run", "--from-ref", "HEAD~2", "--to-ref", "HEAD")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "ci/.env:3" in out, out
    proc = repo.run(PRE_COMMIT, "run", "--from-ref", "HEAD~1", "--to-ref", "HEAD")  # only the clean commit
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_no_secret([token], out)

    # A commit still scans only what it adds: the old token does not block an unrelated one.
    repo.write("src/app.py", "print('still ok')\n")
    repo.git("add", "src/app.py")
    proc = repo.commit("unrelated")
    assert proc.returncode == 0, proc.stdout + proc.stderr
