"""Helpers for the Jenkins test-server tests: curl wrapper, Basic headers, a tiny HTML DOM, fixtures."""
from __future__ import annotations

import base64
import secrets
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterator

import pytest

from scanner.jenkins.server import JenkinsTestServer, ServerOptions

CURL = "/usr/bin/curl"
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "admin": "admin-pw", "norights": "norights-pw"}


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def fake_secret() -> str:
    """32 lowercase hex made at run time, never a literal in the repository."""
    return secrets.token_hex(16)


@dataclass
class CurlResult:
    status: int
    headers: dict[str, list[str]]
    body: str

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def curl(url: str, *args: str, auth: str | None = None, cookies: Path | None = None) -> CurlResult:
    """One request with curl; `auth` is a full Authorization header value."""
    command = [CURL, "-sS", "-i", "--max-time", "10", *args]
    if auth is not None:
        command += ["-H", f"Authorization: {auth}"]
    if cookies is not None:
        command += ["-b", str(cookies), "-c", str(cookies)]
    raw = subprocess.run([*command, url], capture_output=True, check=True).stdout.decode("utf-8", "replace")
    head, _, body = raw.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return CurlResult(int(lines[0].split()[1]), headers, body)


# -- a minimal DOM, enough to read token lists the way a client would -----------------------

VOID = {"input", "meta", "br", "hr", "img", "link"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list["Node"] = field(default_factory=list)
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)

    def iter(self) -> Iterator["Node"]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str, cls: str | None = None) -> list["Node"]:
        return [n for n in self.iter() if n.tag == tag and (cls is None or cls in n.classes)]

    def find(self, tag: str, cls: str | None = None) -> "Node | None":
        found = self.find_all(tag, cls)
        return found[0] if found else None


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, text=data))


def parse_html(document: str) -> Node:
    builder = _Builder()
    builder.feed(document)
    return builder.root


# -- fixtures ---------------------------------------------------------------------------------

ServerFactory = Callable[..., JenkinsTestServer]


def seed(srv: JenkinsTestServer) -> JenkinsTestServer:
    srv.add_user("alice", password=PASSWORDS["alice"], full_name="Alice")
    srv.add_user("bob", password=PASSWORDS["bob"])
    srv.add_user("admin", password=PASSWORDS["admin"], admin=True)
    srv.add_user("norights", password=PASSWORDS["norights"], overall_read=False)
    return srv


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[ServerFactory]:
    started: list[JenkinsTestServer] = []

    def factory(home: Path | None = None, seeded: bool = True, **option_fields: object) -> JenkinsTestServer:
        srv = JenkinsTestServer(home or tmp_path / f"home{len(started)}", ServerOptions(**option_fields))
        if seeded and not srv.users():
            seed(srv)
        started.append(srv.start())
        return srv

    yield factory
    for srv in started:
        srv.stop()


@pytest.fixture
def srv(make_server: ServerFactory) -> JenkinsTestServer:
    return make_server()
