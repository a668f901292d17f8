"""Scanning never executes code from the scanned content.

A repository's own config can name programs for git to run (fsmonitor, hooks, pagers, diff and
filter drivers, ssh/askpass/credential helpers, upload-pack for a partial clone's lazy fetch...).
Each such key is set, in the scanned repository's config or in a tracked file it includes, to a
script that leaves a marker; every mode of the CLI then runs on it and must leave no marker and
report exactly what it reports for the same repository without those keys. A ``git`` wrapper
first on PATH records every git process jts starts (GitPython's included) and each must carry
the hardening. Everything runs through the CLI, as a user or pre-commit calls it.
"""

from __future__ import annotations

import ast
import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers import GIT_ENV, ROOT, Run, commit, git, init_repo, jts, new_token

REAL_GIT = shutil.which("git") or "git"

# Every hook git knows of that a fetch, clone or index operation could run.
HOOKS = ("pre-commit", "post-checkout", "post-index-change", "reference-transaction", "pre-auto-gc",
         "post-merge", "post-rewrite", "pre-push", "fsmonitor-watchman", "post-update", "update",
         "pre-receive", "post-receive", "push-to-checkout", "sendemail-validate")


def program_keys(base: Path) -> dict[str, str]:
    """Config keys that make git run a program or open a connection -> a marker script each."""
    scripts, hooks, markers = base / "scripts", base / "hooks", base / "markers"
    keys = ["core.fsmonitor", "core.sshCommand", "core.askPass", "credential.helper", "core.pager",
            "pager.log", "pager.cat-file", "diff.external", "diff.evil.textconv", "diff.evil.command",
            "filter.evil.clean", "filter.evil.smudge", "filter.evil.process", "core.alternateRefsCommand",
            "gpg.program", "gpg.ssh.program", "gpg.x509.program", "core.gitProxy", "core.editor",
            "sequence.editor", "remote.origin.uploadpack", "remote.origin.receivepack",
            "uploadpack.packObjectsHook"]
    config = {key: str(scripts / key) for key in keys}
    config.update({
        "core.hooksPath": str(hooks),
        "log.showSignature": "true",  # with the signed commit below, log would run gpg.program
        "filter.evil.required": "true",
        "protocol.allow": "always",
        "protocol.ext.allow": "always",
        "remote.origin.url": f"ext::sh -c touch% {markers / 'ext-transport'}",
        "remote.origin.promisor": "true",
        "core.untrackedCache": "true",
        "status.showUntrackedFiles": "all",
    })
    return config


def write_scripts(base: Path) -> Path:
    """The marker scripts under ``base`` (scripts/, hooks/); returns the directory markers appear in."""
    scripts, hooks, markers = base / "scripts", base / "hooks", base / "markers"
    for directory in (scripts, hooks, markers):
        directory.mkdir(parents=True)
    names = [*program_keys(base)] + [f"hook-{h}" for h in HOOKS]
    for name in names:
        target = hooks / name[len("hook-"):] if name.startswith("hook-") else scripts / name
        target.write_text(f"#!/bin/sh\ntouch {shlex.quote(str(markers / name))}\nexit 1\n")
        target.chmod(0o755)
    return markers


def set_config(config_file: Path, values: dict[str, str]) -> None:
    """Write keys with git itself, on a file (never in a repository: that could run them)."""
    for key, value in values.items():
        subprocess.run([REAL_GIT, "config", "-f", str(config_file), "--add", key, value], check=True,
                       cwd=config_file.parent, env={**os.environ, **GIT_ENV})


def sign_head(repo: Path) -> None:
    """Give HEAD a (fake) signature: `log` with log.showSignature would hand it to gpg.program."""
    raw = git(repo, "cat-file", "commit", "HEAD") + "\n"
    head, _, rest = raw.partition("\ncommitter ")
    committer, _, body = rest.partition("\n")
    sig = "gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n -----END PGP SIGNATURE-----"
    signed = f"{head}\ncommitter {committer}\n{sig}\n{body}"
    sha = subprocess.run([REAL_GIT, "hash-object", "-t", "commit", "-w", "--stdin"], cwd=repo, input=signed,
                         text=True, capture_output=True, check=True).stdout.strip()
    git(repo, "update-ref", "HEAD", sha)


@dataclass
class Lab:
    """One clean repository and its copies whose config sets every program key (directly / via include)."""

    root: Path
    markers: Path
    tokens: list[str]

    def repo(self, variant: str) -> Path:
        return self.root / variant / "repo"


def build_lab(root: Path) -> Lab:
    markers = write_scripts(root)
    tokens = [new_token() for _ in range(4)]
    repo = init_repo(root / "clean" / "repo")
    # Tracked content an attacker controls: attributes naming the drivers, and a config file to include.
    set_config(repo / "evil.gitconfig", program_keys(root))
    commit(repo, {".gitattributes": "* diff=evil filter=evil\n", "deploy.env": f"JENKINS_API_TOKEN={tokens[0]}\n",
                  "README.md": "# app\n"}, "one", date="2024-01-01T10:00:00")
    commit(repo, {"ci/jenkins.ini": f"[jenkins]\nurl=https://jenkins.example.com/\nuser=alice\npassword={tokens[1]}\n"},
           "two", date="2024-02-01T10:00:00")
    sign_head(repo)
    (repo / "staged.sh").write_text(f"curl -u bob:{tokens[2]} https://jenkins.example.com/job/x/build\n")
    git(repo, "add", "staged.sh")
    (repo / "untracked.env").write_text(f"JENKINS_API_TOKEN={tokens[3]}\n")
    for variant in ("direct", "include"):
        shutil.copytree(root / "clean", root / variant, symlinks=True)
    direct = root / "direct" / "repo" / ".git"
    set_config(direct / "config", program_keys(root))
    for hook in HOOKS:  # the default hooks directory too
        shutil.copy(root / "hooks" / hook, direct / "hooks" / hook)
    included = root / "include" / "repo" / ".git" / "config"
    set_config(included, {"include.path": "../evil.gitconfig",
                          f"includeIf.gitdir:{root / 'include'}/**.path": "../evil.gitconfig"})
    return Lab(root=root, markers=markers, tokens=tokens)


# --------------------------------------------------------------------------- the recording git


def git_wrapper(bindir: Path) -> Path:
    """A `git` first on PATH that records argv and the relevant environment of each call, then runs git."""
    bindir.mkdir(parents=True, exist_ok=True)
    wrapper = bindir / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        'f=$(mktemp "$JTS_TEST_GIT_LOG/call.XXXXXX")\n'
        'printf "%s\\n" "env GIT_TERMINAL_PROMPT=$GIT_TERMINAL_PROMPT" "env GIT_NO_LAZY_FETCH=$GIT_NO_LAZY_FETCH" '
        '"env GIT_PAGER=$GIT_PAGER" > "$f"\n'
        'for a in "$@"; do printf "arg %s\\n" "$a" >> "$f"; done\n'
        f"exec {shlex.quote(REAL_GIT)} \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper


@dataclass
class GitCall:
    args: list[str]
    env: dict[str, str]

    def _split(self) -> int:
        """Index of the subcommand: git's own options come before it."""
        i = 0
        while i < len(self.args) and self.args[i].startswith("-"):
            i += 2 if self.args[i] in ("-c", "-C") else 1
        return i

    @property
    def subcommand(self) -> str:
        i = self._split()
        return self.args[i] if i < len(self.args) else ""

    def config(self) -> dict[str, str]:
        """The -c overrides (the last of a key wins, as in git)."""
        options = self.args[:self._split()]
        return dict(options[i + 1].split("=", 1) for i, a in enumerate(options[:-1]) if a == "-c")


def recorded_calls(log: Path) -> list[GitCall]:
    calls = []
    for path in sorted(log.iterdir()):
        env, args = {}, []
        for line in path.read_text().splitlines():
            kind, _, value = line.partition(" ")
            if kind == "env":
                name, _, val = value.partition("=")
                env[name] = val
            else:
                args.append(value)
        calls.append(GitCall(args, env))
    return calls


SAFE_SUBCOMMANDS = {"cat-file", "clone", "config", "count-objects", "fetch", "for-each-ref", "log", "ls-files", "ls-tree",
                    "merge-base", "reflog", "remote", "rev-list", "rev-parse", "show-ref"}


def assert_hardened(call: GitCall) -> None:
    """What every git process jts starts must carry, whatever it does."""
    where = " ".join(call.args)
    assert call.args[:1] == ["--no-pager"], where
    config = call.config()
    assert config.get("core.fsmonitor") == "false", where
    assert config.get("core.hooksPath") == os.devnull, where
    assert config.get("core.alternateRefsCommand") == "", where
    assert config.get("log.showSignature") == "false", where
    assert config.get("protocol.allow") == "never", where
    assert config.get("protocol.ext.allow") == "never" and config.get("protocol.fd.allow") == "never", where
    assert call.env == {"GIT_TERMINAL_PROMPT": "0", "GIT_NO_LAZY_FETCH": "1", "GIT_PAGER": "cat"}, where
    assert call.subcommand in SAFE_SUBCOMMANDS, where  # GitPython's `git version` would show up here
    if call.subcommand in ("clone", "fetch"):  # the user's credentials stay usable for sweep URLs
        assert {config.get(f"protocol.{p}.allow") for p in ("file", "git", "ssh", "http", "https")} == {"always"}, where
    else:  # nothing else connects anywhere
        assert config.get("credential.helper") == "" and config.get("core.sshCommand") == "", where
        assert config.get("core.askPass") == "", where
        assert {config.get(f"protocol.{p}.allow") for p in ("file", "git", "ssh", "http", "https")} == {"never"}, where
    assert not {"--filters", "--textconv", "-p", "--patch", "--ext-diff"} & set(call.args), where
    if call.subcommand == "log":
        assert {"--no-textconv", "--no-ext-diff", "--raw"} <= set(call.args), where


def run_recorded(tmp: Path, *args: str, cwd: Path) -> tuple[Run, list[GitCall]]:
    log = tmp / f"git-log-{len(list(tmp.glob('git-log-*')))}"
    log.mkdir()
    bindir = git_wrapper(tmp / "bin").parent
    env = {**GIT_ENV, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "JTS_TEST_GIT_LOG": str(log)}
    run = jts(*args, cwd=cwd, env=env)
    assert "Traceback" not in run.stderr, run.stderr
    calls = recorded_calls(log)
    for call in calls:
        assert_hardened(call)
    return run, calls


# --------------------------------------------------------------------------- what each mode reports


def findings_of(run: Run) -> list:
    """Findings without the parts that name the directory the repository sits in."""
    assert run.code in (0, 1), run.output
    report = json.loads(run.stdout)
    return sorted(
        (f["rule_id"], f["fingerprint"], sorted((loc["path"], loc["line"], loc.get("commit") or "")
                                                for loc in f["locations"]))
        for f in report["findings"])


def baseline_of(path: Path) -> dict:
    data = json.loads(path.read_text())
    return {name: sorted((e["type"], e["hashed_secret"], e.get("line_number")) for e in entries)
            for name, entries in data["results"].items()}


def hook_entries() -> dict[str, list[str]]:
    """The shipped pre-commit hooks' commands, without the leading `jts`."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    out = {}
    for hook in hooks:
        argv = shlex.split(hook["entry"])
        assert argv[0] == "jts"
        out[hook["id"]] = argv[1:]
    return out


Mode = Callable[[Path, Path], tuple[object, int]]  # (repo, work dir) -> (result, git calls)


def _scan(*args: str) -> Mode:
    def mode(repo: Path, work: Path) -> tuple[object, int]:
        run, calls = run_recorded(work, "scan", "--no-progress", "-f", "json", *args, cwd=repo)
        return (run.code, findings_of(run)), len(calls)
    return mode


def _sweep(as_url: bool) -> Mode:
    def mode(repo: Path, work: Path) -> tuple[object, int]:
        target = repo.as_uri() if as_url else str(repo)
        run, calls = run_recorded(work, "sweep", "--state", str(work / "state.sqlite"), "--cache-dir",
                                  str(work / "cache"), "-j", "1", "--no-progress", "-f", "json", target, cwd=work)
        return (run.code, findings_of(run)), len(calls)
    return mode


def _baseline(repo: Path, work: Path) -> tuple[object, int]:
    """create, then update, then audit the same baseline (kept beside the repository)."""
    target = repo.parent / f"{work.name}.baseline"
    created, calls = run_recorded(work, "baseline", "create", ".", "-b", str(target), cwd=repo)
    assert created.code == 0, created.output
    after_create = baseline_of(target)
    updated, more = run_recorded(work, "baseline", "update", str(target), cwd=repo)
    assert updated.code == 0, updated.output
    audit, none = run_recorded(work, "baseline", "audit", "--stats", "--json", str(target), cwd=repo)
    assert audit.code == 0, audit.output
    return (after_create, baseline_of(target), json.loads(audit.stdout)), len(calls) + len(more) + len(none)


def _hook(hook_id: str) -> Mode:
    def mode(repo: Path, work: Path) -> tuple[object, int]:
        argv = [*hook_entries()[hook_id], "-f", "json"]  # the entry, then `args:` a config may add
        if hook_id == "jenkins-token-scan-files":  # pre-commit passes the staged file names
            argv += ["staged.sh", "deploy.env"]
        run, calls = run_recorded(work, *argv, cwd=repo)
        return (run.code, findings_of(run)), len(calls)
    return mode


# (--since-ref is --range once resolved; --staged is run as the pre-commit hook's own entry)
MODES: dict[str, Mode] = {
    "scan": _scan("."),
    "history": _scan("--history", "."),
    "range": _scan("--range", "HEAD~1..HEAD", "."),
    "sweep-path": _sweep(as_url=False),
    "sweep-url": _sweep(as_url=True),
    "baseline": _baseline,
    "hook-staged": _hook("jenkins-token-scan"),
    "hook-files": _hook("jenkins-token-scan-files"),
}
# What each mode finds in the clean repository: a matrix comparing two empty results proves nothing.
EXPECTED_FINDINGS = {"scan": 4, "history": 2, "range": 1, "sweep-path": 2, "sweep-url": 2, "baseline": 4,
                     "hook-staged": 1, "hook-files": 2}


def count_findings(mode: str, result: object) -> int:
    if mode == "baseline":
        created = result[0]  # type: ignore[index]
        return sum(len(entries) for entries in created.values())
    return len(result[1])  # type: ignore[index]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return build_lab(tmp_path_factory.mktemp("no-exec"))


@pytest.fixture(scope="module")
def clean_results(lab: Lab) -> dict[str, object]:
    """Each mode's result on the clean repository, computed once per worker when first needed."""
    return {}


@pytest.mark.parametrize("variant", ["direct", "include"])
@pytest.mark.parametrize("mode", sorted(MODES))
def test_no_config_key_runs_a_program_in_any_mode(lab: Lab, clean_results: dict, mode: str, variant: str,
                                                  tmp_path: Path) -> None:
    if mode not in clean_results:
        (tmp_path / "clean").mkdir()
        clean_results[mode], _ = MODES[mode](lab.repo("clean"), tmp_path / "clean")
        assert count_findings(mode, clean_results[mode]) == EXPECTED_FINDINGS[mode]
    for leftover in lab.markers.iterdir():  # left by an earlier failure in this worker: reported there
        leftover.unlink()
    work = tmp_path / variant
    work.mkdir()
    result, git_calls = MODES[mode](lab.repo(variant), work)
    assert sorted(p.name for p in lab.markers.iterdir()) == []
    assert result == clean_results[mode]
    assert git_calls > 0 or mode == "hook-files"  # files named on the command line need no git


# --------------------------------------------------------------------------- a partial clone's lazy fetch


def test_partial_clone_never_fetches_missing_objects(tmp_path: Path) -> None:
    """A missing blob would make git connect to the promisor remote, running its upload-pack or ssh command."""
    markers = write_scripts(tmp_path)
    scripts = tmp_path / "scripts"
    source = init_repo(tmp_path / "source")
    git(source, "config", "uploadpack.allowFilter", "true")
    commit(source, {"deploy.env": f"JENKINS_API_TOKEN={new_token()}\n"}, "one")
    commit(source, {"ci/deploy.sh": f"curl -u bob:{new_token()} https://jenkins.example.com/job/x/build\n"}, "two")
    clone = tmp_path / "partial"
    git(tmp_path, "clone", "-q", "--bare", "--filter=blob:none", source.as_uri(), str(clone))
    set_config(clone / "config", {"remote.origin.uploadpack": str(scripts / "remote.origin.uploadpack")})
    history, calls = run_recorded(tmp_path, "scan", "--no-progress", "--history", str(clone), cwd=tmp_path)
    assert calls and history.code == 0, history.output
    assert "2 blob(s) missing from the object database (not scanned)" in history.stderr
    assert sorted(p.name for p in markers.iterdir()) == []
    scoped, calls = run_recorded(tmp_path, "scan", "--no-progress", "--range", "HEAD~1..HEAD", str(clone),
                                 cwd=tmp_path)
    assert calls and scoped.code == 2 and len(scoped.stderr.strip().splitlines()) == 1, scoped.output
    assert "promisor remote" in scoped.stderr  # git's own words: the blob is not here and was not fetched
    assert sorted(p.name for p in markers.iterdir()) == []
    set_config(clone / "config", {"remote.origin.url": "ssh://git.example.invalid/repo.git",
                                  "core.sshCommand": str(scripts / "core.sshCommand")})
    run, _ = run_recorded(tmp_path, "scan", "--no-progress", "--range", "HEAD~1..HEAD", str(clone), cwd=tmp_path)
    assert sorted(p.name for p in markers.iterdir()) == []


# --------------------------------------------------------------------------- one module starts git


def test_only_git_cmd_starts_processes() -> None:
    """No module but scanner/sources/git_cmd.py may start a process (the demo builds its own repository)."""
    starters = {("subprocess", name) for name in ("run", "Popen", "call", "check_call", "check_output",
                                                   "getoutput", "getstatusoutput")}
    starters |= {("os", name) for name in ("system", "popen", "execv", "execvp", "execvpe", "spawnv", "spawnvp",
                                           "posix_spawn", "posix_spawnp")}
    allowed = {ROOT / "scanner" / "sources" / "git_cmd.py", ROOT / "scanner" / "demo.py"}
    offenders = []
    for path in sorted((ROOT / "scanner").rglob("*.py")):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                    and (func.value.id, func.attr) in starters:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {func.value.id}.{func.attr}")
            if isinstance(node, ast.ImportFrom) and node.module in ("subprocess", "os") \
                    and any((node.module, a.name) in starters for a in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import")
    assert offenders == []


# --------------------------------------------------------------------------- baselines' plugins


@pytest.fixture
def baseline_repo(tmp_path: Path) -> Path:
    """A repository with a baselined token and a Python file that leaves a marker when imported."""
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"deploy.env": f"JENKINS_API_TOKEN={new_token()}\n",
                  "evil.py": f"open({str(tmp_path / 'imported')!r}, 'w').close()\n\ndef f(secret):\n    return False\n"})
    created = jts("baseline", "create", cwd=repo)
    assert created.code == 0, created.output
    return repo


def with_entries(repo: Path, name: str, *, plugins: list[dict] | None = None, filters: list[dict] | None = None,
                 our_path: str | None = None) -> str:
    """A copy of the repository's baseline with extra plugin/filter entries (or our plugin's path changed)."""
    data = json.loads((repo / ".secrets.baseline").read_text())
    if our_path:
        data["plugins_used"] = [{**p, "path": our_path} if p["name"].startswith("Jenkins") else p
                                for p in data["plugins_used"]]
    data["plugins_used"] += plugins or []
    data["filters_used"] += filters or []
    (repo / name).write_text(json.dumps(data, indent=2))
    return name


FOREIGN = {
    "plugin file": {"plugins": [{"name": "EvilDetector", "path": "file://./evil.py"}]},
    "filter file": {"filters": [{"path": "file://./evil.py::f"}]},
    "filter module": {"filters": [{"path": "evil.f"}]},  # python -m puts the current directory on sys.path
}


@pytest.mark.parametrize("kind", sorted(FOREIGN))
def test_baseline_audit_refuses_foreign_code_unless_trusted(baseline_repo: Path, kind: str) -> None:
    name = with_entries(baseline_repo, "foreign.baseline", **FOREIGN[kind])
    marker = baseline_repo.parent / "imported"
    for args in (["--stats", "--json", name], ["--diff", ".secrets.baseline", name]):
        refused = jts("baseline", "audit", *args, cwd=baseline_repo)
        assert refused.code == 2, refused.output
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"jts: error: {name}: "), refused.stderr
        assert "--trust-baseline-plugins" in lines[0]
        assert not marker.exists()
    trusted = jts("baseline", "audit", "--stats", "--json", name, "--trust-baseline-plugins", cwd=baseline_repo)
    assert "JenkinsApiTokenDetector" in trusted.stdout, trusted.output
    assert marker.exists() or kind != "plugin file"  # the user vouched for it: detect-secrets loads it


def test_our_plugin_is_loaded_by_module_name_whatever_path_is_recorded(baseline_repo: Path) -> None:
    """An entry naming our detector class but pointing at another file must not run that file."""
    name = with_entries(baseline_repo, "ours.baseline", our_path="file://./evil.py")
    for args in (["--stats", "--json", name], ["--report", name]):
        audit = jts("baseline", "audit", *args, cwd=baseline_repo)
        assert audit.code == 0, audit.output
        assert not (baseline_repo.parent / "imported").exists()
    stats = jts("baseline", "audit", "--stats", "--json", name, cwd=baseline_repo)
    assert json.loads(stats.stdout)["JenkinsApiTokenDetector"]["stats"]["raw"]["unknown"] == 1


def test_baselines_outside_audit_are_read_as_data(baseline_repo: Path) -> None:
    """--baseline, create and update never hand a baseline to detect-secrets: foreign entries load nothing."""
    name = with_entries(baseline_repo, "foreign.baseline", plugins=FOREIGN["plugin file"]["plugins"],
                        filters=[*FOREIGN["filter file"]["filters"], *FOREIGN["filter module"]["filters"]])
    for args in (["scan", "--no-progress", "--baseline", name, "."],
                 ["scan", "--no-progress", "--history", "--baseline", name, "."],
                 ["baseline", "update", name], ["baseline", "create", ".", "-b", name]):
        run = jts(*args, cwd=baseline_repo)
        assert run.code == 0, (args, run.output)  # the token is baselined: nothing left to report
        assert not (baseline_repo.parent / "imported").exists(), args
    kept = json.loads((baseline_repo / name).read_text())
    assert {"name": "EvilDetector", "path": "file://./evil.py"} in kept["plugins_used"]  # kept, never run


@pytest.mark.parametrize("args", [("diff", "HEAD"), ("status",), ("log", "--raw"), ("log", "-p", "--no-textconv",
                                  "--no-ext-diff"), ("cat-file", "--filters", "HEAD:a"), ("show", "HEAD"),
                                  ("version",), ("clone", "--upload-pack=touch x", "u", "d")])
def test_git_commands_that_could_run_drivers_are_never_built(args: tuple[str, ...]) -> None:
    """Filter and diff drivers cannot be switched off by -c for unknown names: such commands are refused."""
    from scanner.sources.git_cmd import git_argv

    with pytest.raises(ValueError):
        git_argv(*args)


def test_memory_tuning_can_set_nothing_but_memory() -> None:
    """The readers' delta cache and pack limit go through ``tuning``: it is applied last, so it must never
    carry a key that names a program or a transport."""
    from scanner.sources.git_cmd import git_argv

    argv = git_argv("cat-file", "--batch-command", tuning=(("core.deltaBaseCacheLimit", "16m"),))
    assert argv[argv.index("cat-file") - 1] == "core.deltaBaseCacheLimit=16m"  # last: it wins
    for key in ("core.fsmonitor", "core.sshCommand", "protocol.allow", "core.hooksPath"):
        with pytest.raises(ValueError):
            git_argv("cat-file", "--batch-command", tuning=((key, "x"),))
