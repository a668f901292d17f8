"""The sweep's HTML report, rendered by headless Chromium: content, self-containment, a screenshot.

Chromium comes from the Debian package (`make test` installs it when missing, see the Makefile's
`tools` target); the test skips only when no Chromium binary exists at all.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions
from tests.helpers import commit, jts, new_token
from tests.test_sweep import FAST, fp, make_repo

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("Chromium is not installed and could not be installed (`apt-get install chromium`, as the "
                "Makefile's `tools` target does); the HTML report was not rendered in a browser")


def chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless, offline Chromium: no network services, a throw-away profile."""
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False,
                          env={"HOME": str(profile), "PATH": "/usr/bin:/bin"})


class Dom(HTMLParser):
    """Just enough of the DOM Chromium dumped: text per element id, elements by tag and attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str | None] = []
        self.text_by_id: dict[str, list[str]] = {}
        self.all_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.elements.append((tag, values))
        if tag in ("meta", "br", "hr", "img", "input", "link"):
            return
        self.stack.append(values.get("id"))
        if values.get("id"):
            self.text_by_id[values["id"]] = []

    def handle_endtag(self, tag: str) -> None:
        if self.stack and tag not in ("meta", "br", "hr", "img", "input", "link"):
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.all_text.append(data)
        for element_id in self.stack:
            if element_id:
                self.text_by_id[element_id].append(data)

    def text(self, element_id: str) -> str:
        return " ".join(" ".join(self.text_by_id.get(element_id, [])).split())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def test_html_report_in_headless_chromium(tmp_path: Path) -> None:
    binary = chromium_binary()
    with JenkinsTestServer(tmp_path / "jenkins_home", ServerOptions(version="2.578")) as jenkins:
        jenkins.add_user("alice", password="pw-alice")
        jenkins.add_user("admin", password="pw-admin", admin=True)
        admin_token = jenkins.create_token("admin").value
        live = jenkins.create_token("alice", name="ci").value
        dead = new_token()
        org = tmp_path / "org"
        make_repo(org / "api", live, url=jenkins.url, date="2023-02-10T09:00:00")
        make_repo(org / "web", live, url=jenkins.url, remove=True, date="2023-09-01T09:00:00")
        make_repo(org / "ops", dead, url=jenkins.url, date="2024-04-15T09:00:00")
        commit(org / "ops", {"notes.txt": "nothing here\n"})
        missing = f"file://{tmp_path}/gone.git"
        html = tmp_path / "report.html"
        # a 401 for alice alone only says "not alice's token": --find-owner proves the dead one dead for all
        run = jts("sweep", "--state", str(tmp_path / "s.sqlite"), str(org), missing, "--verify", "--jenkins-url",
                  jenkins.url, "--find-owner", "--admin-user", "admin", "--html", str(html), "-f", "json",
                  "--no-progress", *FAST, env={"JTS_ADMIN_TOKEN": admin_token})
    assert run.code == 1, run.output
    assert admin_token not in run.output
    report = json.loads(run.stdout)
    assert {f["fingerprint"]: f["verification"]["status"] for f in report["findings"]} == {
        fp(live): "live", fp(dead): "invalid"}
    page = html.read_text(encoding="utf-8")
    # self-contained: nothing to fetch, nothing to run
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|@import|url\(", page, re.IGNORECASE)
    assert not re.search(r'href="(?!#)', page)
    for secret in (live, dead):
        assert secret not in page and secret not in run.output

    profile = tmp_path / "chromium-profile"
    dumped = chromium(binary, profile, "--dump-dom", html.as_uri())
    assert dumped.returncode == 0 and "</html>" in dumped.stdout, dumped.stderr[-2000:]
    dom = Dom()
    dom.feed(dumped.stdout)
    summary = dom.text("summary")
    assert "4 repositories" in summary and "1 failed to scan" in summary
    assert "2 unique secrets" in summary and "3 occurrences" in summary and "1 live" in summary
    assert "Jenkins API token" in dom.text("by-kind")
    tokens = {a["data-fingerprint"]: a for a in dom.find("section", **{"class": "token"})}
    assert {k: v["data-status"] for k, v in tokens.items()} == {fp(live): "live", fp(dead): "invalid"}
    live_text = dom.text(tokens[fp(live)]["id"])
    assert f"{live[:4]}…{live[-2:]}" in live_text and "authenticated as alice" in live_text
    assert str(org / "api") in live_text and str(org / "web") in live_text
    assert "in HEAD" in live_text and "history only" in live_text and "2023-09-01" in live_text
    assert "Test Author" in live_text and "deploy.sh:2" in live_text
    bars = dom.find("rect", **{"class": "bar"})
    assert {b["data-month"] for b in bars} == {"2023-02", "2023-09", "2024-04"}
    assert {(b["data-month"], b["data-status"]) for b in bars} >= {("2023-02", "live"), ("2024-04", "invalid")}
    assert missing in dom.text("errors") and "clone failed" in dom.text("errors")
    assert str(org / "ops") in dom.text("repositories")
    assert live not in dumped.stdout and dead not in dumped.stdout

    shot = tmp_path / "report.png"
    done = chromium(binary, profile, f"--screenshot={shot}", "--window-size=1280,2200", "--hide-scrollbars",
                    html.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a rendered page, not a blank canvas
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2200)


def test_html_report_with_nothing_found(tmp_path: Path) -> None:
    make_repo(tmp_path / "org" / "clean", None)
    html = tmp_path / "clean.html"
    run = jts("sweep", "--state", str(tmp_path / "s.sqlite"), str(tmp_path / "org"), "-f", "html", "-o", str(html),
              "--no-progress")
    assert run.code == 0, run.output
    page = html.read_text(encoding="utf-8")
    assert "No Jenkins credentials found." in page and "No dated leaks" in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
