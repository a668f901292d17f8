"""The GitHub Action (action.yml) run the way the runner runs a composite action, and linted.

``run_action`` reads action.yml and runs each ``run:`` step with ``bash --noprofile --norc -eo
pipefail`` (the runner's ``shell: bash``) in a real repository, with the runner's variables
(``GITHUB_EVENT_PATH`` with a real event payload, ``GITHUB_OUTPUT`` per step,
``GITHUB_STEP_SUMMARY``, ``GITHUB_ACTION_PATH``...). ``uses:`` steps (setup-python) are skipped:
nothing is installed from the network, the package under test is already in this venv, and the
action's install step must find it there at the pinned version. ``${{ }}`` expressions are
evaluated for the few forms the action may use (inputs, step outputs); any other form fails the
test, which keeps the action's YAML a thin shell around ``jts ci github``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from scanner import __version__
from tests.helpers import ROOT, commit, git, init_repo, new_token

ACTION = ROOT / "action.yml"
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
STEP_OUTPUT = re.compile(r"^steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$")
INPUT = re.compile(r"^inputs\.([A-Za-z0-9_-]+)$")


@dataclass
class ActionRun:
    code: int
    stdout: str
    stderr: str
    summary: str
    outputs: dict[str, str]
    steps: list[str] = field(default_factory=list)  # ids of the steps that ran

    @property
    def everything(self) -> str:
        return "\n".join([self.stdout, self.stderr, self.summary, json.dumps(self.outputs)])

    def annotations(self) -> list[dict]:
        return [parse_command(line) for line in workflow_commands(self.stdout)]


def parse_file_command(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the runner reads it: ``name=value`` or ``name<<DELIMITER`` ... ``DELIMITER``."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            values[name] = "\n".join(lines[i + 1:end])
            i = end + 1
            continue
        if line:
            name, value = line.split("=", 1)
            values[name] = value
        i += 1
    return values


def workflow_commands(stdout: str) -> list[str]:
    """Lines the runner would act on: it stops between ``::stop-commands::TOKEN`` and ``::TOKEN::``."""
    commands, stopped = [], None
    for line in stdout.splitlines():
        if stopped:
            if line == f"::{stopped}::":
                stopped = None
            continue
        if line.startswith("::stop-commands::"):
            stopped = line.split("::", 2)[2]
            continue
        if line.startswith("::"):
            commands.append(line)
    return commands


def _unescape(value: str, is_property: bool) -> str:
    # the runner's order: CR, LF, then (properties) ':' and ',', and '%' last
    pairs = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if is_property else []) + [("%25", "%")]
    for escaped, plain in pairs:
        value = value.replace(escaped, plain)
    return value


def parse_command(line: str) -> dict:
    """A workflow command, parsed as the runner's ActionCommand parser does."""
    match = re.match(r"^::([a-z-]+)( [^:]*)?::(.*)$", line)
    assert match, line
    props = {}
    for pair in (match.group(2) or "").strip().split(","):
        if pair:
            key, _, value = pair.partition("=")
            props[key] = _unescape(value, True)
    return {"command": match.group(1), "props": props, "message": _unescape(match.group(3), False)}


def _evaluate(text: str, inputs: dict[str, str], step_outputs: dict[str, dict[str, str]]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if m := INPUT.match(expression):
            return inputs[m.group(1)]
        if m := STEP_OUTPUT.match(expression):
            return step_outputs.get(m.group(1), {}).get(m.group(2), "")
        raise AssertionError(f"action.yml uses an expression this runner simulation does not support: {expression}")

    return EXPRESSION.sub(value, str(text))


def run_action(workspace: Path, tmp: Path, *, event_name: str, event: dict, ref: str = "refs/heads/main",
               with_inputs: dict[str, str] | None = None, env: dict[str, str] | None = None) -> ActionRun:
    action = yaml.safe_load(ACTION.read_text())
    declared = action["inputs"]
    unknown = set(with_inputs or {}) - set(declared)
    assert not unknown, f"inputs not declared in action.yml: {unknown}"
    inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    inputs.update(with_inputs or {})
    tmp.mkdir(parents=True, exist_ok=True)
    event_path = tmp / "event.json"
    event_path.write_text(json.dumps(event))
    summary = tmp / "step_summary.md"
    summary.write_text("")
    runner_temp = tmp / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_", "JTS_"))},
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "CI": "true", "GITHUB_ACTIONS": "true",
        "GITHUB_ACTION_PATH": str(ROOT), "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(event_path), "GITHUB_REF": ref,
        "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(runner_temp),
        **(env or {}),
    }
    step_outputs: dict[str, dict[str, str]] = {}
    stdout, stderr, ran = [], [], []
    code = 0
    for number, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"step{number}")
        if "uses" in step:
            continue  # setup-python: the runner's Python is this venv
        assert step.get("shell") == "bash", "composite run steps must name their shell"
        assert "${{" not in step["run"], "never splice expressions into a script: pass them as env"
        output_file = tmp / f"output_{step_id}"
        output_file.write_text("")
        step_env = {**base_env, "GITHUB_OUTPUT": str(output_file)}
        step_env.update({k: _evaluate(v, inputs, step_outputs) for k, v in (step.get("env") or {}).items()})
        script = tmp / f"step_{step_id}.sh"
        script.write_text(step["run"])
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=workspace,
                              env=step_env, capture_output=True, text=True, timeout=300)
        ran.append(step_id)
        stdout.append(done.stdout)
        stderr.append(done.stderr)
        step_outputs[step_id] = parse_file_command(output_file.read_text())
        if done.returncode != 0:
            code = done.returncode
            break  # later steps run only on success()
    outputs = {name: _evaluate(spec["value"], inputs, step_outputs) for name, spec in action["outputs"].items()}
    return ActionRun(code, "".join(stdout), "".join(stderr), summary.read_text(), outputs, ran)


# --------------------------------------------------------------------------- repositories and events


def pull_request_repo(tmp_path: Path) -> tuple[Path, str, str, str, str]:
    """main with one clean commit; a feature branch adding a token. Returns repo, token, base, head, head commit."""
    repo = init_repo(tmp_path / "work")
    base = commit(repo, {"README.md": "docs\n"}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    token = new_token()
    head = commit(repo, {"deploy.sh": f"curl -u alice:{token} https://jenkins.example.com/job/x/build\n"}, "add")
    return repo, token, base, head, head


def pr_event(base: str, head: str) -> dict:
    return {"action": "synchronize", "number": 7,
            "pull_request": {"number": 7, "base": {"sha": base, "ref": "main"}, "head": {"sha": head, "ref": "feature"}},
            "repository": {"default_branch": "main", "full_name": "org/repo"}}


def assert_secret_free(run: ActionRun, *tokens: str, extra: str = "") -> None:
    for token in tokens:
        assert token not in run.everything and token not in extra


# --------------------------------------------------------------------------- the action, end to end


def test_pull_request_gate_outputs_summary_annotations(tmp_path):
    repo, token, base, head, _ = pull_request_repo(tmp_path)
    run = run_action(repo, tmp_path / "runner", event_name="pull_request", event=pr_event(base, head),
                     ref="refs/pull/7/merge")
    assert run.code == 1, run.everything  # a finding fails the job under fail-on: any
    assert run.steps == ["install", "scan"]
    assert f"using jts {__version__} already installed" in run.stdout  # nothing was installed
    assert run.outputs == {"findings": "1", "live": "0", "sarif-file": "jts.sarif"}

    sarif_text = (repo / "jts.sarif").read_text()
    sarif = json.loads(sarif_text)
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "api_token"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "deploy.sh"
    assert result["properties"]["commit"] == head

    [annotation] = [a for a in run.annotations() if a["props"].get("file")]
    assert annotation["command"] == "error"
    assert annotation["props"]["file"] == "deploy.sh" and annotation["props"]["line"] == "1"
    assert annotation["props"]["col"] == "15" and annotation["props"]["endColumn"] == "49"
    assert f"{token[:4]}…{token[-2:]}" in annotation["message"]

    assert "### jts: 1 Jenkins credential found, the gate fails (`--fail-on any`)" in run.summary
    assert f"(`{base[:10]}..{head[:10]}`)" in run.summary  # the range came from the event payload
    row = next(line for line in run.summary.splitlines() if line.startswith("| api\\_token"))
    assert row == (f"| api\\_token | {token[:4]}…{token[-2:]} | alice | deploy\\.sh\\:1 | "
                   f"{head[:10]} by Test Author | not verified |")
    assert "#### What to do" in run.summary
    assert_secret_free(run, token, extra=sarif_text)

    # the same change passes a gate that only counts live tokens; outputs and summary are still there
    again = run_action(repo, tmp_path / "runner2", event_name="pull_request", event=pr_event(base, head),
                       with_inputs={"fail-on": "live", "sarif-file": ""})
    assert again.code == 0, again.everything
    assert again.outputs == {"findings": "1", "live": "0", "sarif-file": ""}
    assert "none fails the gate (`--fail-on live`)" in again.summary


def test_clean_pull_request_passes(tmp_path):
    repo, _, base, _, _ = pull_request_repo(tmp_path)
    clean = commit(repo, {"deploy.sh": "curl -u alice:$TOKEN https://jenkins.example.com/job/x/build\n"}, "fix")
    feature_tip = git(repo, "rev-parse", "HEAD~1")
    run = run_action(repo, tmp_path / "runner", event_name="pull_request", event=pr_event(feature_tip, clean))
    assert run.code == 0, run.everything
    assert run.outputs["findings"] == "0"
    assert "### jts: no Jenkins credentials found" in run.summary
    assert not [a for a in run.annotations() if a["command"] == "error"]


def test_push_to_default_branch_scans_history_and_other_branches_since_default(tmp_path):
    repo = init_repo(tmp_path / "work")
    old = new_token()
    commit(repo, {"ci.env": f"JENKINS_USER_ID=bob\nJENKINS_API_TOKEN={old}\n"}, "leak")
    commit(repo, {"ci.env": None, "README.md": "x\n"}, "remove")
    push = {"ref": "refs/heads/main", "repository": {"default_branch": "main"}}
    run = run_action(repo, tmp_path / "r1", event_name="push", event=push)
    assert run.code == 1, run.everything
    assert "Scanned every blob of the git history" in run.summary
    assert "(history only)" in run.summary  # removed from HEAD, still in history: found
    assert_secret_free(run, old)

    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")  # what actions/checkout fetches with fetch-depth 0
    git(repo, "checkout", "-q", "-b", "topic")
    token = new_token()
    commit(repo, {"deploy.sh": f"curl -u carol:{token} https://jenkins.example.com/job/x/build\n"}, "topic")
    run = run_action(repo, tmp_path / "r2", event_name="push", event={**push, "ref": "refs/heads/topic"},
                     ref="refs/heads/topic")
    assert run.code == 1, run.everything
    assert "what this branch adds to `origin/main`" in run.summary
    findings = [line for line in run.summary.splitlines() if line.startswith("| api")]
    assert len(findings) == 1 and "carol" in findings[0]  # the old token on main is not this branch's
    assert_secret_free(run, old, token)


def test_shallow_checkout_is_explained_not_scanned_short(tmp_path):
    repo, token, base, head, _ = pull_request_repo(tmp_path)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo}", str(clone))
    run = run_action(clone, tmp_path / "runner", event_name="push",
                     event={"ref": "refs/heads/main", "repository": {"default_branch": "main"}})
    assert run.code == 2, run.everything
    [error] = [a for a in run.annotations() if a["command"] == "error"]
    assert error["props"]["title"] == "jts: shallow checkout"
    assert "fetch-depth: 0" in error["message"]
    assert "### jts: not scanned" in run.summary and "fetch\\-depth\\: 0" in run.summary
    assert run.outputs == {"findings": "", "live": "", "sarif-file": ""}
    # a pull request whose base commit is missing from the checkout is explained the same way
    run = run_action(clone, tmp_path / "runner2", event_name="pull_request", event=pr_event(base, head))
    assert run.code == 2 and "is not in the checkout" in run.stdout


def test_repository_settings_are_not_trusted_unless_pinned(tmp_path):
    repo, token, base, head_without, _ = pull_request_repo(tmp_path)
    # the change itself adds settings that would hide its token
    head = commit(repo, {".jts.toml": 'exclude = ["deploy.sh"]\nfail_on = "none"\n'}, "settings")
    run = run_action(repo, tmp_path / "runner", event_name="pull_request", event=pr_event(base, head))
    assert run.code == 1, run.everything
    assert run.outputs["findings"] == "1"
    trusted = tmp_path / "trusted.toml"
    trusted.write_text('exclude = ["deploy.sh"]\n')
    pinned = run_action(repo, tmp_path / "runner2", event_name="pull_request", event=pr_event(base, head),
                        with_inputs={"config": str(trusted)})
    assert pinned.outputs["findings"] == "0", pinned.everything  # the pinned exclude applies...
    # ...and the change's own loosening of .jts.toml still fails the gate: once merged, hooks read it
    assert pinned.code == 1, pinned.everything
    assert "Settings change" in pinned.summary and "pre\\-commit hook" in pinned.summary
    clean = run_action(repo, tmp_path / "runner3", event_name="pull_request", event=pr_event(base, head_without))
    assert clean.code == 1 and clean.outputs["findings"] == "1"  # control: no settings change, the token fails it
    assert "Settings change" not in clean.summary


def test_pull_request_loosening_repository_settings_fails_the_default_action(tmp_path):
    """The action ignores .jts.toml (--no-repo-config), but developers' hooks read it after the merge."""
    repo = init_repo(tmp_path / "work")
    base = commit(repo, {"README.md": "docs\n"}, "base")
    head = commit(repo, {".jts.toml": '# scanner tuning\nfail_on = "none"\n'}, "tune scanner")
    run = run_action(repo, tmp_path / "runner", event_name="pull_request", event=pr_event(base, head))
    assert run.code == 1, run.everything
    assert run.outputs["findings"] == "0"
    [annotation] = [a for a in run.annotations() if a["command"] == "error"]
    assert annotation["props"]["file"] == ".jts.toml" and "fail_on" in annotation["message"]
    assert "a settings change fails the gate" in run.summary


def test_config_inside_the_repository_is_read_from_the_base_commit(tmp_path):
    """A `config` in the checkout is content under review: the pull request must not widen its excludes."""
    repo = init_repo(tmp_path / "work")
    base = commit(repo, {".github/jts.toml": 'exclude = ["tests/fixtures/"]\n'}, "base")
    git(repo, "checkout", "-q", "-b", "feature")
    token = new_token()
    head = commit(repo, {".github/jts.toml": 'exclude = ["tests/fixtures/", "deploy/"]\n',
                         "deploy/prod.env": f"JENKINS_USER_ID=alice\nJENKINS_API_TOKEN={token}\n"}, "feature")
    run = run_action(repo, tmp_path / "runner", event_name="pull_request", event=pr_event(base, head),
                     with_inputs={"config": ".github/jts.toml"})
    assert run.code == 1, run.everything
    assert run.outputs["findings"] == "1"  # BASE's excludes judged the change: deploy/ was scanned
    assert "read from BASE" in run.summary and "this narrows the scan \\(deploy/\\)" in run.summary
    assert_secret_free(run, token)

    # BASE's own excludes still apply: a token under tests/fixtures/ is not this gate's finding
    clean = commit(repo, {"deploy/prod.env": None, ".github/jts.toml": 'exclude = ["tests/fixtures/"]\n',
                          "tests/fixtures/sample.env": f"JENKINS_API_TOKEN={new_token()}\n"}, "fixture")
    run = run_action(repo, tmp_path / "runner2", event_name="pull_request", event=pr_event(head, clean),
                     with_inputs={"config": ".github/jts.toml"})
    assert run.outputs["findings"] == "0", run.everything


def test_bad_inputs_and_events_are_one_clear_error(tmp_path):
    repo, token, base, head, _ = pull_request_repo(tmp_path)
    cases = [
        ({"extra-args": "--show-secrets"}, pr_event(base, head), "extra-args may not set --show-secrets"),
        ({"extra-args": "-fjson"}, pr_event(base, head), "extra-args may not set -fjson"),
        ({"mode": "sideways"}, pr_event(base, head), "mode must be one of"),
        ({"fail-on": "sometimes"}, pr_event(base, head), "fail-on must be any, live, unknown or none"),
        ({}, pr_event("$(touch pwned)", head), "pull_request.base.sha is not a commit SHA"),
        ({"mode": "range"}, {"ref": "refs/heads/main"}, "mode range needs a pull_request"),
    ]
    for number, (inputs, event, message) in enumerate(cases):
        run = run_action(repo, tmp_path / f"runner{number}", event_name="pull_request" if "pull_request" in event
                         else "push", event=event, with_inputs=inputs)
        assert run.code == 2, (inputs, run.everything)
        errors = [a for a in run.annotations() if a["command"] == "error"]
        assert len(errors) == 1 and message in errors[0]["message"], (inputs, run.stdout)
        assert "Traceback" not in run.everything
    assert not (tmp_path / "pwned").exists() and not (repo / "pwned").exists()


def test_hostile_file_names_stay_in_their_annotation_property(tmp_path):
    repo = init_repo(tmp_path / "work")
    base = commit(repo, {"README.md": "docs\n"}, "base")
    token = new_token()
    name = "a,b:c%0A::warning file=x::pwned.sh"
    head = commit(repo, {name: f"curl -u alice:{token} https://jenkins.example.com/job/x/build\n"}, "add")
    run = run_action(repo, tmp_path / "runner", event_name="pull_request", event=pr_event(base, head))
    assert run.code == 1, run.everything
    annotations = run.annotations()
    assert [a["command"] for a in annotations] == ["error"]  # nothing smuggled in a second command
    assert annotations[0]["props"]["file"] == name
    assert_secret_free(run, token)


def test_version_input_is_checked_and_installs_only_when_needed(tmp_path):
    repo, _, base, head, _ = pull_request_repo(tmp_path)
    pinned = run_action(repo, tmp_path / "r1", event_name="pull_request", event=pr_event(base, head),
                        with_inputs={"version": __version__})
    assert pinned.steps == ["install", "scan"] and "already installed" in pinned.stdout
    bad = run_action(repo, tmp_path / "r2", event_name="pull_request", event=pr_event(base, head),
                     with_inputs={"version": "1.0 --index-url=https://evil.example/"})
    assert bad.code == 2 and bad.steps == ["install"]
    assert "is not a version number" in bad.annotations()[0]["message"]
    # another version must be installed: offline (no index), that fails with a clear error, and no scan runs
    other = run_action(repo, tmp_path / "r3", event_name="pull_request", event=pr_event(base, head),
                       with_inputs={"version": "999.0.0"}, env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""})
    assert other.code == 2 and other.steps == ["install"], other.everything
    assert "could not install jenkins-token-scanner==999.0.0" in other.annotations()[0]["message"]


# --------------------------------------------------------------------------- linters


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(VENV_BIN)) or shutil.which(name)
    if not path:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return path


def readme_yaml_blocks() -> dict[str, str]:
    """The README's YAML examples that name their file on the first line (``# .github/workflows/x.yml``)."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), flags=re.DOTALL)
    named = {}
    for block in blocks:
        first = block.splitlines()[0]
        if first.startswith("# .github/workflows/") or first.startswith("# .gitlab-ci"):
            named[first[2:].split()[0]] = block
    return named


def _lint_tree(tmp_path: Path, local_action: bool) -> Path:
    """A repository with the README's workflows (and, for actionlint, the action itself at ./)."""
    project = tmp_path / ("local" if local_action else "exact")
    workflows = project / ".github" / "workflows"
    workflows.mkdir(parents=True)
    for name, block in readme_yaml_blocks().items():
        if not name.startswith(".github/workflows/"):
            continue
        if local_action:  # actionlint then checks every `with:` and output against our action.yml
            block = re.sub(r"uses: [\w.-]+/jenkins-token-scanner@\S+(.*)", r"uses: ./", block)
        (project / name).write_text(block)
    shutil.copy(ACTION, project / "action.yml")
    return project


def test_readme_workflows_use_the_action_and_pass_actionlint(tmp_path):
    blocks = readme_yaml_blocks()
    workflows = [b for n, b in blocks.items() if n.startswith(".github/workflows/")]
    assert len(workflows) >= 2
    assert any(re.search(r"uses: [\w.-]+/jenkins-token-scanner@[0-9a-f]{40} ", b) for b in workflows)
    project = _lint_tree(tmp_path, local_action=True)
    git(project, "init", "-q")
    done = subprocess.run([_tool("actionlint"), "-no-color", "-pyflakes="], cwd=project, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_and_readme_workflows_pass_zizmor(tmp_path):
    project = _lint_tree(tmp_path, local_action=False)
    # --offline: no GitHub API (the online audits need it); every offline audit runs, pedantic included
    done = subprocess.run([_tool("zizmor"), "--offline", "--persona", "pedantic", "--no-progress",
                           str(project / "action.yml"), str(project / ".github" / "workflows")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout


def test_action_and_examples_validate_against_their_schemas(tmp_path):
    check = _tool("check-jsonschema")
    done = subprocess.run([check, "--builtin-schema", "vendor.github-actions", str(ACTION)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    project = _lint_tree(tmp_path, local_action=False)
    files = sorted(str(p) for p in (project / ".github" / "workflows").iterdir())
    done = subprocess.run([check, "--builtin-schema", "vendor.github-workflows", *files],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    gitlab = readme_yaml_blocks()[".gitlab-ci.yml"]
    (tmp_path / ".gitlab-ci.yml").write_text(gitlab)
    done = subprocess.run([check, "--builtin-schema", "vendor.gitlab-ci", str(tmp_path / ".gitlab-ci.yml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_action_inputs_reach_scripts_only_through_env():
    action = yaml.safe_load(ACTION.read_text())
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"]
    assert {"mode", "fail-on", "baseline", "sarif-file", "extra-args", "version"} <= set(action["inputs"])
    assert set(action["outputs"]) == {"findings", "live", "sarif-file"}


# --------------------------------------------------------------------------- the README's example summary

SUMMARY_START, SUMMARY_END = "<!-- summary-example:start -->\n", "<!-- summary-example:end -->"
TIMING = re.compile(r" in \d+\.\d\d s ")


def _example_token(user: str) -> str:
    # derived, not a literal: the same made-up token on every run, so the example is reproducible
    return "11" + hashlib.sha256(f"jts README example {user}".encode()).hexdigest()[:32]


def test_readme_shows_the_summary_this_test_produces(tmp_path):
    """The README's example job summary is this run's, quoted. JTS_UPDATE_README=1 rewrites it."""
    repo = init_repo(tmp_path / "work")
    date = "2026-03-02T10:00:00+00:00"
    base = commit(repo, {"README.md": "deploy tooling\n"}, "base", date=date)
    git(repo, "checkout", "-q", "-b", "feature")
    alice, bob = _example_token("alice"), _example_token("bob")
    head = commit(repo, {
        "deploy.sh": f"curl -u alice:{alice} https://jenkins.example.com/job/deploy/build\n",
        "ci/jenkins.env": f"JENKINS_URL=https://jenkins.example.com/\nJENKINS_USER_ID=bob\nJENKINS_API_TOKEN={bob}\n",
    }, "Add deploy script", date=date)
    run = run_action(repo, tmp_path / "runner", event_name="pull_request", event=pr_event(base, head))
    assert run.code == 1, run.everything
    assert_secret_free(run, alice, bob)
    quoted = "".join(f"> {line}".rstrip() + "\n" for line in TIMING.sub(" in 0.10 s ", run.summary).splitlines())
    text = README.read_text()
    start, end = text.index(SUMMARY_START) + len(SUMMARY_START), text.index(SUMMARY_END)
    if os.environ.get("JTS_UPDATE_README"):
        README.write_text(text[:start] + quoted + text[end:])
        text = README.read_text()
        start, end = text.index(SUMMARY_START) + len(SUMMARY_START), text.index(SUMMARY_END)
    assert TIMING.sub(" in 0.10 s ", text[start:end]) == quoted, "run with JTS_UPDATE_README=1 to refresh it"
