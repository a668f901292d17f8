"""Settings in the scanned content must not decide the verdict or where a token is sent (issue 15).

Everything runs through the CLI. The attacks: a change that adds `fail_on = "none"` (gate bypass
in --staged, --range, --history), a repository naming its own Jenkins (`jenkins_urls`: a token
sent to the attacker on --verify), and `exclude` in the scanned tree (silent narrowing).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import commit, git, init_repo, jts, new_token

CORP_RULE = (
    'id = "corp_token"\ntitle = "Corp token"\nseverity = "high"\nremediation = "rotate"\n'
    "[detect]\npatterns = ['{pattern}']\nprefilter_keywords = [\"CORP-\"]\n"
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An empty user config directory, and no proxy between jts and 127.0.0.1."""
    home = tmp_path / "xdg"
    home.mkdir()
    return {"XDG_CONFIG_HOME": str(home), "NO_PROXY": "*", "no_proxy": "*", "HTTP_PROXY": "", "http_proxy": "",
            "HTTPS_PROXY": "", "https_proxy": ""}


def user_config(env: dict[str, str], text: str) -> Path:
    path = Path(env["XDG_CONFIG_HOME"]) / "jts" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def leak(token: str) -> str:
    """A token line naming no Jenkins URL, so --verify tries every allowed Jenkins."""
    return f"JENKINS_USER_ID=alice\nJENKINS_API_TOKEN={token}\n"


def settings_of(stdout: str) -> dict:
    return json.loads(stdout)["settings"]


# --------------------------------------------------------------------------- trust model as data


def test_every_setting_is_classified_and_secret_routing_never_comes_from_a_repository():
    from scanner.config import FIELDS
    from scanner.settings_trust import IGNORE, POLICY, SECRETS

    assert set(POLICY) == set(FIELDS)
    assert {key for key, p in POLICY.items() if p.decides == SECRETS} >= {"jenkins_urls", "users"}
    for key, policy in POLICY.items():
        if policy.decides == SECRETS:
            assert {policy.gate, policy.history, policy.worktree} == {IGNORE}, key


# --------------------------------------------------------------------------- gate bypass


def _base_repo(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"README.md": "docs\n", **(files or {})}, "base")
    return repo


def test_staged_change_adding_fail_on_none_still_blocks(tmp_path, env):
    repo = _base_repo(tmp_path)
    (repo / "pyproject.toml").write_text('[tool.jts]\nfail_on = "none"\n')
    (repo / "ci.env").write_text(leak(new_token()))
    git(repo, "add", "-A")
    run = jts("scan", "--staged", str(repo), env=env)
    assert run.code == 1, run.output
    assert "commit blocked" in run.stdout and "[SETTINGS]" in run.stdout and "tool.jts.fail_on" in run.stdout

    # The settings change alone fails the gate too: it loosens what judges the next commits.
    git(repo, "rm", "-q", "--cached", "ci.env")
    run = jts("scan", "--staged", str(repo), env=env)
    assert run.code == 1, run.output
    assert "loosens the jts settings" in run.stdout
    # ...but only under --fail-on any, where every finding would fail too.
    assert jts("scan", "--staged", str(repo), "--fail-on", "live", env=env).code == 0


def test_staged_reads_settings_from_head_not_the_index_or_work_tree(tmp_path, env):
    repo = _base_repo(tmp_path, {".jts.toml": 'exclude = ["fixtures/"]\n'})
    (repo / "fixtures").mkdir()
    (repo / "fixtures" / "sample.env").write_text(leak(new_token()))
    git(repo, "add", "-A")
    run = jts("scan", "--staged", str(repo), "-f", "json", env=env)
    assert run.code == 0, run.output  # HEAD's committed exclude applies...
    settings = settings_of(run.stdout)
    assert settings["repository_settings"].startswith("HEAD ")
    assert settings["skipped"] == 1 and settings["skipped_unit"] == "locations"  # ...and the report says so
    assert settings["exclude"][0]["patterns"] == ["fixtures/"]

    # An unstaged edit of the settings file is not what gets committed: it is not read.
    (repo / "deploy").mkdir()
    (repo / "deploy" / "ci.env").write_text(leak(new_token()))
    git(repo, "add", "deploy")
    (repo / ".jts.toml").write_text('exclude = ["fixtures/", "deploy/"]\n')
    assert jts("scan", "--staged", str(repo), env=env).code == 1


def _feature(tmp_path: Path, base_files: dict[str, str] | None, feature_files: dict[str, str]) -> Path:
    repo = _base_repo(tmp_path, base_files)
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, feature_files, "feature")
    return repo


def test_range_change_adding_fail_on_none_still_fails(tmp_path, env):
    token = new_token()
    repo = _feature(tmp_path, None, {"pyproject.toml": '[tool.jts]\nfail_on = "none"\n', "ci.env": leak(token)})
    for args in (["--range", "main..feature"], ["--since-ref", "main"]):
        run = jts("scan", *args, str(repo), "-f", "json", env=env)
        assert run.code == 1, run.output
        report = json.loads(run.stdout)
        assert [f["rule_id"] for f in report["findings"]] == ["api_token"]
        assert report["settings"]["repository_settings"].startswith("none found in BASE ")
        assert report["settings"]["fail_on"] == "any"
        change = next(c for c in report["settings"]["changes"] if c["key"] == "fail_on")
        assert change["after"] == "none" and change["loosens"] and change["blocking"]
        assert token not in run.output


def test_gate_without_repository_settings_still_fails_on_a_change_that_loosens_them(tmp_path, env):
    """CI gates pass --no-repo-config (or --config); the file still judges every pre-commit hook once merged."""
    repo = _feature(tmp_path, {".jts.toml": 'exclude = ["tests/fixtures/"]\n'},
                    {".jts.toml": 'fail_on = "none"\nexclude = ["tests/fixtures/"]\n', "a.txt": "x\n"})
    pinned = tmp_path / "ci.toml"
    pinned.write_text('fail_on = "any"\n')
    for args in (["--range", "main..feature", "--no-repo-config"], ["--since-ref", "main", "--no-repo-config"],
                 ["--range", "main..feature", "--config", str(pinned)]):
        run = jts("scan", *args, str(repo), "-f", "json", env=env)
        assert run.code == 1, (args, run.output)
        settings = settings_of(run.stdout)
        assert settings["repository_settings"].startswith("not read")  # it still judges nothing here...
        [change] = settings["changes"]  # ...but its loosening is reported, and fails the gate
        assert change["key"] == "fail_on" and change["loosens"] and change["blocking"]
        assert "pre-commit hook" in change["message"]
    text = jts("scan", "--range", "main..feature", "--no-repo-config", str(repo), env=env)
    assert "[SETTINGS] .jts.toml: the change sets fail_on" in text.stdout
    assert jts("scan", "--range", "main..feature", "--no-repo-config", "--fail-on", "live", str(repo),
               env=env).code == 0

    # The same with a staged change; a change that only tightens is a note, not a failure.
    git(repo, "checkout", "-q", "main")
    (repo / ".jts.toml").write_text('fail_on = "none"\n')
    git(repo, "add", "-A")
    assert jts("scan", "--staged", "--no-repo-config", str(repo), env=env).code == 1
    (repo / ".jts.toml").write_text("exclude = []\n")
    git(repo, "add", "-A")
    run = jts("scan", "--staged", "--no-repo-config", str(repo), "-f", "json", env=env)
    assert run.code == 0, run.output
    assert [c["loosens"] for c in settings_of(run.stdout)["changes"]] == [False]


def test_gate_without_repository_settings_is_not_broken_by_an_unreadable_settings_file(tmp_path, env):
    repo = _feature(tmp_path, {".jts.toml": "fail_on = \n"}, {"a.txt": "x\n"})
    run = jts("scan", "--range", "main..feature", "--no-repo-config", str(repo), env=env)
    assert run.code == 0, run.output
    assert jts("scan", "--range", "main..feature", str(repo), env=env).code == 2  # read: a bad BASE file is an error


def test_range_change_adding_excludes_is_scanned_and_reported_in_every_format(tmp_path, env):
    token = new_token()
    repo = _feature(tmp_path, None, {".jts.toml": 'exclude = ["deploy/"]\n', "deploy/ci.env": leak(token)})
    reports = {}
    for fmt in ("text", "json", "jsonl", "sarif", "gitlab"):
        run = jts("scan", "--range", "main..feature", str(repo), "-f", fmt, env=env)
        assert run.code == 1, run.output
        assert token not in run.output
        reports[fmt] = run.stdout
    assert "[SETTINGS] .jts.toml: the change sets exclude" in reports["text"]
    assert "deploy/ci.env" in reports["text"]  # BASE has no exclude: the token is found
    change = settings_of(reports["json"])["changes"][0]
    assert change["key"] == "exclude" and change["after"] == ["deploy/"] and change["blocking"]
    lines = [json.loads(line) for line in reports["jsonl"].splitlines()]
    assert [line.get("notice") for line in lines] == [None, "settings_change"]
    run = json.loads(reports["sarif"])["runs"][0]
    notice = next(r for r in run["results"] if r["ruleId"] == "settings_change")
    assert notice["level"] == "error"
    assert notice["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ".jts.toml"
    assert run["properties"]["settings"]["changes"][0]["key"] == "exclude"
    gitlab = json.loads(reports["gitlab"])
    assert any(v["identifiers"][0]["value"] == "settings_change" for v in gitlab["vulnerabilities"])


def test_reordering_exclude_patterns_counts_as_loosening(tmp_path, env):
    """With ``!`` patterns order decides: ["!prod.env", "*.env"] hides prod.env, ["*.env", "!prod.env"] does not."""
    repo = _base_repo(tmp_path, {".jts.toml": 'exclude = ["*.env", "!prod.env"]\n'})
    (repo / ".jts.toml").write_text('exclude = ["!prod.env", "*.env"]\n')
    git(repo, "add", "-A")
    run = jts("scan", "--staged", str(repo), "-f", "json", env=env)
    assert run.code == 1, run.output
    [change] = settings_of(run.stdout)["changes"]
    assert change["loosens"] and change["blocking"] and "last matching pattern wins" in change["message"]
    git(repo, "commit", "-q", "-m", "reorder")
    for args in (["--range", "HEAD~1..HEAD"], ["--range", "HEAD~1..HEAD", "--no-repo-config"]):
        assert jts("scan", *args, str(repo), env=env).code == 1, args

    # Dropping a plain pattern or adding a ``!`` one anywhere only scans more: a note, not a failure.
    (repo / ".jts.toml").write_text('exclude = ["!prod.env", "!staging.env", "*.env", "!dev.env"]\n')
    git(repo, "add", "-A")
    run = jts("scan", "--staged", str(repo), "-f", "json", env=env)
    assert run.code == 0, run.output
    assert [c["loosens"] for c in settings_of(run.stdout)["changes"]] == [False]


@pytest.mark.parametrize(("before", "after", "tightens"), [
    (["*.env", "!prod.env"], ["!prod.env", "*.env"], False),
    (["a/", "b/"], ["b/", "a/"], True),  # no negation: order does not matter
    (["a", "!b", "c"], ["a", "c", "!b"], True),  # a ``!`` moved later keeps more
    (["a", "!b", "c"], ["!b", "a", "c"], False),
    (["a", "!b"], ["a"], False),
    (["a"], ["a", "b"], False),
    (["a", "b"], ["a"], True),
    (["a"], ["!a", "a"], True),
    ([], ["!x"], True),
])
def test_exclude_comparison_follows_gitignore_order(before, after, tightens):
    import pathspec

    from scanner.settings_trust import only_tightens

    assert only_tightens(before, after) is tightens
    paths = ["prod.env", "x.env", "a", "b", "c", "a/f", "b/f", "x"]
    hidden = {p for p in paths if pathspec.PathSpec.from_lines("gitwildmatch", after).match_file(p)}
    kept = {p for p in paths if not pathspec.PathSpec.from_lines("gitwildmatch", before).match_file(p)}
    assert not tightens or not hidden & kept  # what it calls tightening really hides nothing new


def test_settings_change_text_is_escaped_for_the_terminal(tmp_path, env):
    repo = _base_repo(tmp_path)
    (repo / ".jts.toml").write_text('exclude = ["a\\u001b[2Jb"]\n')
    git(repo, "add", "-A")
    run = jts("scan", "--staged", str(repo), env=env)
    assert run.code == 1 and "\x1b" not in run.output
    assert "a\\x1b[2Jb" in run.stdout


def test_range_uses_base_settings_and_base_rule_files(tmp_path, env):
    """BASE's settings (and BASE's rule files) judge the change; the change's edits to them do not."""
    rule = CORP_RULE.format(pattern="CORP-(?P<secret>[A-Z0-9]{12})")
    repo = _feature(tmp_path, {".jts.toml": 'fail_on = "any"\nrules = ["jts-rules"]\n', "jts-rules/corp.toml": rule},
                    {"jts-rules/corp.toml": CORP_RULE.format(pattern="CORP-(?P<secret>NEVERMATCHES)"),
                     "app.txt": "key CORP-ABCDEF123456\n"})
    run = jts("scan", "--range", "main..feature", str(repo), "-f", "json", env=env)
    assert run.code == 1, run.output
    assert [f["rule_id"] for f in json.loads(run.stdout)["findings"]] == ["corp_token"]


def test_history_cannot_be_loosened_by_head_settings(tmp_path, env):
    token = new_token()
    repo = _base_repo(tmp_path)
    commit(repo, {"pyproject.toml": '[tool.jts]\nfail_on = "none"\nexclude = ["secrets/"]\n',
                  "secrets/ci.env": leak(token)}, "hide it")
    run = jts("scan", "--history", str(repo), "-f", "json", env=env)
    assert run.code == 1, run.output
    assert "pyproject.toml @ " in run.stderr and "tool.jts.fail_on: ignored" in run.stderr
    assert "tool.jts.exclude: ignored" in run.stderr  # no trusted side to vouch for a branch tip's excludes
    report = json.loads(run.stdout)
    assert len(report["findings"]) == 1
    assert sorted(report["settings"]["files"][0]["ignored"]) == ["exclude", "fail_on"]

    # A stricter value from the repository is taken; a looser one from the user is the user's choice.
    user_config(env, 'fail_on = "none"\n')
    assert jts("scan", "--history", str(repo), env=env).code == 0


# --------------------------------------------------------------------------- token exfiltration


class Listener:
    """A real HTTP server on 127.0.0.1 that counts connections and answers 401 like Jenkins."""

    def __init__(self) -> None:
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                seen.append((self.path, self.headers.get("Authorization")))
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="Jenkins"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener() as server:
        yield server


def test_repository_cannot_name_the_jenkins_tokens_are_sent_to(tmp_path, env, listener):
    repo = _base_repo(tmp_path, {"pyproject.toml": f'[tool.jts]\njenkins_urls = ["{listener.url}"]\nusers = ["x"]\n'})
    commit(repo, {"ci.env": leak(new_token())}, "leak")
    for args in ([str(repo)], ["--history", str(repo)], ["--range", "HEAD~1..HEAD", str(repo)]):
        run = jts("scan", *args, "--verify", "-f", "json", env=env)
        assert listener.seen == [], args
        assert "tool.jts.jenkins_urls: ignored" in run.stderr and "tool.jts.users: ignored" in run.stderr
        assert json.loads(run.stdout)["findings"][0]["verification"]["status"] == "unknown"
    report = tmp_path / "leaks.json"
    jts("scan", str(repo), "-f", "json", "--show-secrets", "-o", str(report), env=env)
    # Commands that read no repository of their own do not read the one they run in either.
    for args in (["verify", str(report)], ["sweep", str(repo), "--verify", "--state", str(tmp_path / "s.db")]):
        jts(*args, cwd=repo, env=env)
        assert listener.seen == [], args


def test_user_config_and_explicit_config_may_name_jenkins(tmp_path, env, listener):
    """The control: trusted settings files do reach the listener, so the test above can see a leak."""
    repo = _base_repo(tmp_path, {"ci.env": leak(new_token())})
    user_config(env, f'jenkins_urls = ["{listener.url}"]\n')
    run = jts("scan", str(repo), "--verify", "-f", "json", env=env)
    assert [path for path, _ in listener.seen] == ["/whoAmI/api/json"], run.output
    assert json.loads(run.stdout)["settings"]["files"][0]["origin"] == "user"
    (Path(env["XDG_CONFIG_HOME"]) / "jts" / "config.toml").unlink()
    pinned = tmp_path / "ci.toml"
    pinned.write_text(f'jenkins_urls = ["{listener.url}"]\n')
    jts("scan", str(repo), "--verify", "--config", str(pinned), env=env)
    assert len(listener.seen) == 2


# --------------------------------------------------------------------------- silent narrowing


def test_worktree_exclude_is_counted_in_every_report(tmp_path, env):
    repo = _base_repo(tmp_path, {"pyproject.toml": '[tool.jts]\nexclude = ["secrets/"]\n'})
    (repo / "secrets").mkdir()
    (repo / "secrets" / "ci.env").write_text(leak(new_token()))
    text = jts("scan", str(repo), env=env)
    assert text.code == 0, text.output  # narrowing the scope is allowed in a working-tree scan...
    assert "exclude skipped 1 file" in text.stdout and "pyproject.toml (repository, work tree)" in text.stdout
    settings = settings_of(jts("scan", str(repo), "-f", "json", env=env).stdout)
    assert settings["skipped"] == 1 and settings["exclude"][0]["source"].endswith("pyproject.toml")
    sarif = json.loads(jts("scan", str(repo), "-f", "sarif", env=env).stdout)
    assert sarif["runs"][0]["properties"]["settings"]["skipped"] == 1
    gitlab = json.loads(jts("scan", str(repo), "-f", "gitlab", env=env).stdout)
    assert any("exclude skipped 1 file" in m["value"] for m in gitlab["scan"]["messages"])

    # ...and --no-repo-config (what CI gates use) ignores it entirely.
    run = jts("scan", str(repo), "--no-repo-config", "-f", "json", env=env)
    assert run.code == 1
    settings = settings_of(run.stdout)
    assert settings["repository_settings"] == "not read: --no-repo-config" and settings["files"] == []


def test_worktree_fail_on_from_repository_only_tightens(tmp_path, env):
    repo = _base_repo(tmp_path, {".jts.toml": 'fail_on = "none"\n', "ci.env": leak(new_token())})
    run = jts("scan", str(repo), env=env)
    assert run.code == 1 and ".jts.toml: fail_on: ignored" in run.stderr
    user_config(env, 'fail_on = "live"\n')
    (repo / ".jts.toml").write_text('fail_on = "any"\n')
    assert jts("scan", str(repo), env=env).code == 1  # stricter than the user's: taken
    (repo / ".jts.toml").unlink()
    assert jts("scan", str(repo), env=env).code == 0  # the user's own choice


# --------------------------------------------------------------------------- precedence


def test_precedence_user_config_then_config_file_then_flags(tmp_path, env):
    repo = _base_repo(tmp_path, {".jts.toml": 'exclude = ["ci.env"]\n', "ci.env": leak(new_token())})
    user_config(env, 'fail_on = "none"\n')
    assert jts("scan", str(repo), env=env).code == 0  # user: none; the repository's exclude hides it anyway
    pinned = tmp_path / "ci.toml"
    pinned.write_text('fail_on = "any"\n')
    run = jts("scan", str(repo), "--config", str(pinned), "-f", "json", env=env)
    assert run.code == 1, run.output  # --config beats the user file, and replaces the repository's
    settings = settings_of(run.stdout)
    assert [f["origin"] for f in settings["files"]] == ["user", "config"]
    assert settings["fail_on_from"] == str(pinned) and settings["repository_settings"].startswith("not read: --config")
    run = jts("scan", str(repo), "--config", str(pinned), "--fail-on", "none", "-f", "json", env=env)
    assert run.code == 0 and settings_of(run.stdout)["fail_on_from"] == "command line"


def test_bad_user_config_is_a_one_line_error(tmp_path, env):
    path = user_config(env, 'fail_on = "sometimes"\n')
    run = jts("scan", str(tmp_path), env=env)
    assert run.code == 2 and "Traceback" not in run.output
    assert f"{path}: fail_on: must be one of" in run.stderr
