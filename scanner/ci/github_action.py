"""The GitHub Action's work: choose what to scan from the event, run the gate, publish the results.

``jts ci github`` (run by ``action.yml``'s one step) reads the action's inputs from the
environment and the event from ``$GITHUB_EVENT_PATH``, then:

1. picks the scan (``mode: auto``): ``--range BASE..HEAD`` for a pull request or merge queue
   group (the payload's SHAs), ``--history`` for the default branch, ``--since-ref
   origin/<default branch>`` for any other branch; and refuses a shallow checkout with the fix
   (``fetch-depth: 0``) rather than scanning it silently short;
2. runs ``jts scan`` once (in this process), to a JSON report written with secrets redacted, with
   ``--no-repo-config`` unless a trusted ``config`` is pinned (the repository's settings are
   content under review: see the README's trust model); everything published is rendered from
   that redacted report;
3. renders that report as SARIF (left for ``github/codeql-action/upload-sarif``), annotations
   (stdout) and the job summary (``$GITHUB_STEP_SUMMARY``), and writes the step outputs
   ``findings``, ``live`` and ``sarif-file`` (``$GITHUB_OUTPUT``);
4. exits with the scan's exit code: 0 clean, 1 the gate fails, 2 an error or an incomplete scan.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scanner.reports.markdown import md_text

MODES = ("auto", "range", "since-ref", "history", "files")
PULL_REQUEST_EVENTS = ("pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment")
SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# The action sets these itself; from extra-args they would fight it, or print secrets into a public summary.
RESERVED = ("--format", "--output", "--show-secrets", "--history", "--staged", "--range", "--since-ref", "--stdin",
            "--config", "--no-repo-config", "--fail-on", "--baseline")
RESERVED_SHORT = ("-f", "-o")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FIX_SHALLOW = ("Check out the whole history: `actions/checkout` with `fetch-depth: 0` (or run `git fetch "
               "--unshallow` before this step). A shallow clone hides the commits a token may have been added in.")


class ActionError(Exception):
    """A problem the user must fix in the workflow: shown as an annotation and in the summary, exit 2."""

    def __init__(self, title: str, message: str):
        super().__init__(message)
        self.title = title
        self.message = message


@dataclass
class Inputs:
    mode: str = "auto"
    fail_on: str = "any"
    baseline: str = ""
    config: str = ""
    sarif_file: str = "jts.sarif"
    extra_args: str = ""
    path: str = "."


@dataclass
class ScanPlan:
    args: list[str]  # the scan mode's own arguments, e.g. ["--range", "a..b"]; none for the working tree
    scope: str  # what is scanned, in Markdown (ours; values in it are escaped)
    needs_history: bool = True


# --------------------------------------------------------------------------- choosing the scan


def load_event(environ: Mapping[str, str]) -> dict:
    """The event payload; an absent or unreadable one is an empty event (``mode: auto`` then scans everything)."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _get(data: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _sha(value: object, what: str) -> str:
    if not isinstance(value, str) or not SHA.fullmatch(value):
        raise ActionError("jts: bad event", f"the event payload's {what} is not a commit SHA")
    return value


def plan_scan(mode: str, environ: Mapping[str, str], event: dict, repo: Path) -> ScanPlan:
    """The scan to run for ``mode`` in this event (``auto`` decides from the event itself)."""
    if mode not in MODES:
        raise ActionError("jts: bad input", f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    name = environ.get("GITHUB_EVENT_NAME", "")
    if mode == "files":
        return ScanPlan([], "the checked-out files (working tree)", needs_history=False)
    if mode == "history":
        return ScanPlan(["--history"], "every blob of the git history")
    change = _change(name, event)
    if mode == "range" or (mode == "auto" and change):
        if not change:
            raise ActionError("jts: bad input", f"mode range needs a pull_request or merge_group event, not {name or 'none'!r}")
        base, head = change
        for sha, what in ((base, "base"), (head, "head")):
            if not _has_commit(repo, sha):
                raise ActionError("jts: commit not checked out",
                                  f"the {what} commit {sha[:12]} of this {name} is not in the checkout. {FIX_SHALLOW}")
        return ScanPlan(["--range", f"{base}..{head}"],
                        f"what the commits of this change added (`{base[:10]}..{head[:10]}`)")
    default = _get(event, "repository", "default_branch")
    ref = environ.get("GITHUB_REF", "")
    if isinstance(default, str) and default and ref != f"refs/heads/{default}":
        base_ref = f"origin/{default}"
        if mode == "auto" and not _has_commit(repo, base_ref):
            raise ActionError("jts: default branch not checked out",
                              f"{base_ref} is not in the checkout, so what this branch adds cannot be told apart. "
                              + FIX_SHALLOW)
        return ScanPlan(["--since-ref", base_ref], f"what this branch adds to `{md_text(base_ref)}`")
    if mode == "since-ref":
        raise ActionError("jts: bad input", "mode since-ref needs a branch other than the default branch "
                                            "(the event names no default branch, or this is it)")
    # the default branch, or an event that names no default branch: nothing to compare with, scan all
    return ScanPlan(["--history"], "every blob of the git history")


def _change(name: str, event: dict) -> tuple[str, str] | None:
    if name in PULL_REQUEST_EVENTS and isinstance(event.get("pull_request"), dict):
        return (_sha(_get(event, "pull_request", "base", "sha"), "pull_request.base.sha"),
                _sha(_get(event, "pull_request", "head", "sha"), "pull_request.head.sha"))
    if name == "merge_group" and isinstance(event.get("merge_group"), dict):
        return (_sha(_get(event, "merge_group", "base_sha"), "merge_group.base_sha"),
                _sha(_get(event, "merge_group", "head_sha"), "merge_group.head_sha"))
    return None


def _git(repo: Path, *args: str) -> tuple[int, str]:
    """(exit code, stdout) of a hardened git command (``scanner.sources.git_cmd``: the one place git starts)."""
    from scanner.sources.git_cmd import GitSourceError, run_git

    try:
        done = run_git(repo, args, check=False)
    except GitSourceError as exc:
        raise ActionError("jts: git", str(exc)) from None
    return done.returncode, done.stdout.decode("utf-8", "replace")


def _has_commit(repo: Path, rev: str) -> bool:
    return _git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")[0] == 0


def check_checkout(repo: Path, plan: ScanPlan) -> None:
    """A git scan needs a repository and its whole history: say how to get them instead of scanning short."""
    if not plan.needs_history:
        return
    code, shallow = _git(repo, "rev-parse", "--is-shallow-repository")
    if code != 0:
        raise ActionError("jts: no repository",
                          f"{repo} is not a git repository: add `actions/checkout` (with `fetch-depth: 0`) before this "
                          "action, or use `mode: files`")
    if shallow.strip() == "true":
        raise ActionError("jts: shallow checkout", f"the checkout is shallow, so it was not scanned. {FIX_SHALLOW}")


def scan_arguments(inputs: Inputs, plan: ScanPlan, report_path: Path) -> list[str]:
    """``jts scan`` arguments: the plan's mode, the gate's inputs, the JSON report, and extra-args."""
    try:
        extra = shlex.split(inputs.extra_args)
    except ValueError as exc:
        raise ActionError("jts: bad input", f"extra-args: {exc}") from None
    for arg in extra:
        name = arg.split("=", 1)[0]
        if name in RESERVED or any(arg.startswith(short) for short in RESERVED_SHORT):
            raise ActionError("jts: bad input", f"extra-args may not set {name}: use the action's inputs "
                                                "(mode, fail-on, baseline, config, sarif-file)")
    args = [*plan.args, inputs.path]
    # the repository's settings are content under review: only a pinned config may replace the defaults
    args += ["--config", inputs.config] if inputs.config else ["--no-repo-config"]
    args += ["--fail-on", inputs.fail_on or "any", "--no-progress", "--no-color", "--format", "json",
             "--output", str(report_path)]
    if inputs.baseline:
        args += ["--baseline", inputs.baseline]
    return args + extra


# --------------------------------------------------------------------------- publishing


def write_outputs(environ: Mapping[str, str], values: dict[str, str]) -> None:
    """Step outputs in ``$GITHUB_OUTPUT``, in the delimiter form, so no value can add an output of its own."""
    target = environ.get("GITHUB_OUTPUT")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as handle:
        for name, value in values.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(environ: Mapping[str, str], text: str) -> None:
    target = environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


def echo_untrusted(lines: list[str]) -> None:
    """Print lines that quote scanned content with workflow commands off, as GitHub documents (stop-commands)."""
    if not lines:
        return
    token = uuid.uuid4().hex
    print(f"::stop-commands::{token}", flush=True)
    for line in lines:
        print(line, flush=True)
    print(f"::{token}::", flush=True)


def fail(environ: Mapping[str, str], error: ActionError) -> int:
    from scanner.reports.github import command

    print(command("error", error.message, title=error.title), flush=True)
    append_summary(environ, f"### jts: not scanned\n\n{md_text(error.message)}\n")
    write_outputs(environ, {"findings": "", "live": "", "sarif-file": ""})
    return EXIT_ERROR


def run(inputs: Inputs, environ: Mapping[str, str] = os.environ) -> int:
    """The whole action; returns the exit code."""
    repo = Path(inputs.path)
    try:
        if inputs.fail_on not in ("any", "live", "unknown", "none"):
            raise ActionError("jts: bad input", f"fail-on must be any, live, unknown or none, not {inputs.fail_on!r}")
        plan = plan_scan(inputs.mode or "auto", environ, load_event(environ), repo)
        check_checkout(repo, plan)
        with tempfile.TemporaryDirectory(prefix="jts-action-", dir=environ.get("RUNNER_TEMP") or None) as tmp:
            report_path = Path(tmp) / "jts.json"
            args = scan_arguments(inputs, plan, report_path)
            print(f"jts scan {' '.join(shlex.quote(a) for a in args[:2])} ...", flush=True)
            code, stderr = scan(args)
            echo_untrusted(stderr.splitlines())
            if not report_path.is_file() or not report_path.stat().st_size:
                lines = [line for line in stderr.splitlines() if line.strip()] or [f"exit code {code}"]
                raise ActionError("jts: scan failed", " / ".join(lines[-3:]))
            return publish(inputs, environ, report_path, plan, code)
    except ActionError as error:
        return fail(environ, error)


def scan(args: list[str]) -> tuple[int, str]:
    """``jts scan args`` in this process, as ``scanner.cli.main`` runs it: (exit code, what it wrote to stderr).

    Its stderr quotes scanned content (file names in warnings): it is kept, to be echoed with
    workflow commands off, never left to reach the log where a line could act as a command.
    """
    import click

    from scanner.cli.common import EXIT_ERROR as ERROR
    from scanner.cli import cli
    from scanner.errors import JtsError
    from scanner.findings import scrub
    from scanner.terminal import safe

    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        try:
            code = cli.main(args=["scan", *args], prog_name="jts", standalone_mode=False)
        except click.ClickException as exc:
            exc.show()
            code = ERROR
        except JtsError as exc:
            click.echo(f"jts: error: {safe(scrub(str(exc)))}", err=True)
            code = ERROR
    return (code if isinstance(code, int) else EXIT_CLEAN), captured.getvalue()


def publish(inputs: Inputs, environ: Mapping[str, str], report_path: Path, plan: ScanPlan, code: int) -> int:
    from scanner.reports import render, verification_status
    from scanner.reports.github import annotations
    from scanner.reports.json_report import load_report
    from scanner.reports.markdown import render_markdown

    report = load_report(report_path)
    sarif_file = ""
    if inputs.sarif_file:
        try:
            Path(inputs.sarif_file).write_text(render(report, "sarif"), encoding="utf-8")
        except OSError as exc:
            raise ActionError("jts: bad input", f"sarif-file: cannot write {inputs.sarif_file}: "
                                                f"{exc.strerror or exc}") from None
        sarif_file = inputs.sarif_file
    for line in annotations(report):
        print(line, flush=True)
    append_summary(environ, render_markdown(report, scope=plan.scope))
    live = sum(verification_status(f) == "live" for f in report.findings)
    write_outputs(environ, {"findings": str(len(report.findings)), "live": str(live), "sarif-file": sarif_file})
    return code
