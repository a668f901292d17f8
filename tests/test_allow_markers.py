"""Inline allow markers cover the token's line as every reader sees it: never a line further."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from scanner.detect import Detector, DetectorSpec
from tests.helpers import commit, init_repo, jts, new_token

URL = "JENKINS_URL=https://ci.example.com"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return DetectorSpec().build()


def found(detector: Detector, text: str, token: str) -> bool:
    return any(h.secret == token for h in detector.scan_blob("a.env", text.encode("utf-8")))


# CR (old Mac files), VT, FF, FS, NEL, LS, PS: str.splitlines, editors and detect-secrets break lines there
BREAKS = ["\r", "\x0b", "\x0c", "\x1c", "\u0085", "\u2028", "\u2029"]


@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b):04X}" for b in BREAKS])
def test_a_marker_does_not_reach_past_another_line_break(detector: Detector, brk: str) -> None:
    token = new_token()
    text = f"# harmless jts:allow{brk}{URL}{brk}JENKINS_API_TOKEN={token}{brk}"
    assert found(detector, text, token)
    text = f"{URL} # pragma: allowlist secret{brk}JENKINS_API_TOKEN={token}\n"
    assert found(detector, text, token)
    nextline = f"# pragma: allowlist nextline secret\n# note{brk}JENKINS_API_TOKEN={token}\n{URL}\n"
    assert found(detector, nextline, token)


@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b):04X}" for b in BREAKS])
def test_a_marker_on_the_same_line_still_allows(detector: Detector, brk: str) -> None:
    token = new_token()
    assert not found(detector, f"{URL}{brk}JENKINS_API_TOKEN={token}  # jts:allow{brk}", token)
    assert not found(detector, f"{URL}{brk}# pragma: allowlist nextline secret\r\nJENKINS_API_TOKEN={token}\r\n",
                     token)


def test_industry_semantics_are_kept(detector: Detector) -> None:
    """Anywhere on the line, as gitleaks and detect-secrets read it; CRLF files work as LF ones."""
    token = new_token()
    assert not found(detector, f"{URL}\nJENKINS_API_TOKEN={token}  # jts:allow\n", token)
    assert not found(detector, f"{URL}\r\nJENKINS_API_TOKEN={token}  # pragma: allowlist secret\r\n", token)
    assert not found(detector, f"{URL}\n# pragma: allowlist nextline secret\nJENKINS_API_TOKEN={token}\n", token)
    assert found(detector, f"{URL}\n# pragma: allowlist nextline secret\n\nJENKINS_API_TOKEN={token}\n", token)


def test_what_a_marker_keeps_out_is_said_in_every_mode(tmp_path: Path) -> None:
    """A marker in scanned content may be an attacker's: the finding it hides is named in the report's
    warnings (working tree, hook, history), never dropped in silence; a marked placeholder is not counted."""
    repo = init_repo(tmp_path / "repo")
    commit(repo, {"README": "hello\n"}, "init")
    token = new_token()
    (repo / "ci.env").write_text("JENKINS_URL=https://ci.example.com\nJENKINS_USER=alice\n"
                                 f"JENKINS_API_TOKEN={token}  # jts:allow\nexample=11{'x' * 32}  # jts:allow\n")
    subprocess.run(["git", "-C", str(repo), "add", "ci.env"], check=True)
    for args in ((".",), ("--staged",)):
        run = jts("scan", *args, "-f", "json", "--no-progress", cwd=repo)
        report = json.loads(run.stdout)
        assert run.code == 0 and report["findings"] == [], run.output
        assert [w for w in report["warnings"] if "allow marker" in w] == [
            "1 place(s) where an inline allow marker (jts:allow, pragma: allowlist secret) kept a finding out of "
            "this report: ci.env:3"], report["warnings"]
        assert token not in run.output
    commit(repo, {}, "marked")
    run = jts("scan", "--history", ".", "-f", "json", "--no-progress", cwd=repo)
    assert any("ci.env:3" in w and "allow marker" in w for w in json.loads(run.stdout)["warnings"]), run.output
