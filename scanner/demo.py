"""`jts demo`: the main job end to end on a throw-away repository, offline.

Builds a small git repository whose history leaks Jenkins credentials (values generated now),
then runs the real CLI on it, printing each command as a user would type it.
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import click

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dana Developer", "GIT_AUTHOR_EMAIL": "dana@example.com",
    "GIT_COMMITTER_NAME": "Dana Developer", "GIT_COMMITTER_EMAIL": "dana@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
}


def _git(repo: Path, *args: str, date: str | None = None) -> None:
    env = {**os.environ, **GIT_ENV}
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
    subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args],
                   cwd=repo, env=env, check=True, capture_output=True)


def _commit(repo: Path, files: dict[str, str | None], message: str, date: str) -> None:
    for name, content in files.items():
        path = repo / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message, date=date)


def build_demo_repo(repo: Path, jenkins_url: str, user: str, token: str) -> None:
    """A repository whose history, not its HEAD, still holds the token."""
    repo.mkdir(parents=True, exist_ok=True)
    _git(repo, "init", "-q")
    _commit(repo, {"README.md": "# deploy scripts\n"}, "Initial commit", "2026-01-05T10:00:00+00:00")
    _commit(repo, {"deploy.sh": f"#!/bin/sh\ncurl -X POST -u {user}:{token} \\\n  {jenkins_url}job/deploy/build\n"},
            "Add deploy trigger", "2026-02-10T09:30:00+00:00")
    _commit(repo, {"deploy.sh": "#!/bin/sh\ncurl -X POST -u \"$JENKINS_USER:$JENKINS_API_TOKEN\" \\\n"
                                f"  {jenkins_url}job/deploy/build\n"},
            "Read the token from the environment", "2026-02-11T08:00:00+00:00")
    agent_secret = secrets.token_hex(32)
    _commit(repo, {"agents/start.sh": f"java -jar agent.jar -url {jenkins_url} -secret {agent_secret} -name build-01\n"},
            "Add agent start script", "2026-03-01T12:00:00+00:00")


def _run(args: list[str], show: str, env: dict[str, str] | None = None) -> int:
    click.secho(f"$ {show}", bold=True)
    done = subprocess.run([sys.executable, "-m", "scanner", *args], text=True, capture_output=True,
                          env={**os.environ, **(env or {})})
    click.echo(done.stdout.rstrip())
    if done.stderr.strip():
        click.echo(done.stderr.rstrip(), err=True)
    click.echo(f"(exit code {done.returncode})\n")
    return done.returncode


def run_demo(keep: Path | None) -> int:
    from scanner.jenkins.server import JenkinsTestServer, ServerOptions

    with tempfile.TemporaryDirectory(prefix="jts-demo-") as tmp:
        with JenkinsTestServer(Path(tmp) / "jenkins_home", ServerOptions(version="2.578")) as jenkins:
            jenkins.add_user("alice", password=secrets.token_urlsafe(12), full_name="Alice")
            jenkins.add_user("ops", password=secrets.token_urlsafe(12), full_name="Ops", admin=True)
            token = jenkins.create_token("alice", name="deploy-script").value
            admin_token = jenkins.create_token("ops", name="incident-response").value
            repo = keep or Path(tmp) / "demo-repo"
            click.secho("== jenkins-token-scanner demo ==", bold=True)
            click.echo(f"Started the built-in Jenkins test server at {jenkins.url} with user 'alice' and an API\n"
                       f"token 'deploy-script'. Building a throw-away repository at {repo}: a deploy script\n"
                       "leaked that token in one commit and removed it in the next; an agent secret is still in HEAD.\n")
            build_demo_repo(repo, jenkins.url, "alice", token)
            _run(["scan", str(repo)], f"jts scan {shlex.quote(str(repo))}")
            _run(["scan", "--history", str(repo)], f"jts scan --history {shlex.quote(str(repo))}")
            code = _run(["scan", "--history", str(repo), "--verify", "--jenkins-url", jenkins.url],
                        f"jts scan --history {shlex.quote(str(repo))} --verify --jenkins-url {jenkins.url}")
            click.echo("The working-tree scan sees only the agent secret; the history scan also finds the API token\n"
                       "that was 'removed', with the commit, author and date that introduced it, and --verify proves\n"
                       "it still authenticates as alice (who-am-i), sending it only to the Jenkins named by --jenkins-url.\n")
            revoked = _revoke(repo, jenkins.url, Path(tmp) / "audit.jsonl", admin_token)
            dead = not jenkins.token_works("alice", token)
            return 0 if code == 1 and revoked and dead else 1


def _revoke(repo: Path, jenkins_url: str, audit: Path, admin_token: str) -> bool:
    """Revoke the planted token as itself, show it dead for every user, and show what the audit log recorded."""
    quoted = shlex.quote(str(repo))
    _run(["scan", "--history", str(repo), "--revoke", "--as", "self", "--yes", "--jenkins-url", jenkins_url,
          "--audit-log", str(audit)],
         f"jts scan --history {quoted} --revoke --as self --yes --jenkins-url {jenkins_url} --audit-log {audit}")
    _run(["scan", "--history", str(repo), "--verify", "--jenkins-url", jenkins_url, "--find-owner",
          "--admin-user", "ops"],
         f"JTS_ADMIN_TOKEN=... jts scan --history {quoted} --verify --jenkins-url {jenkins_url} --find-owner "
         "--admin-user ops", env={"JTS_ADMIN_TOKEN": admin_token})
    lines = audit.read_text(encoding="utf-8").splitlines() if audit.exists() else []
    final = [line for line in lines if '"action": "revocation"' in line and '"outcome": "revoked"' in line]
    click.secho(f"$ tail -n 1 {audit}", bold=True)
    click.echo(final[-1] if final else "(no revocation recorded)")
    click.echo("\n--revoke found the token's UUID on alice's security page (the only token whose use counter rose\n"
               "by at least the who-am-i calls made with it), revoked it with alice's own leaked token, re-checked.\n"
               "A 401 for alice alone proves only that the token is not alice's, so the last verification lists\n"
               "Jenkins' users with an administrator's token (--find-owner) and tries each: 401 for every one is\n"
               "'invalid', dead for everyone. The agent secret has no Jenkins API, so the report gives the steps\n"
               "instead. The audit log has one JSON line per step and never a token value.")
    return bool(final)
