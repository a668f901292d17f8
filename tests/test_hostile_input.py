"""Hostile input, first round (issue 13): reports, inputs and state that an attacker can shape."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.helpers import commit, init_repo, jts, new_token


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
