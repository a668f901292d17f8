"""Parsed HTTP requests and to-be-written responses, independent of the socket server."""
from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from functools import cached_property
from typing import Iterator
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl


@dataclass
class Request:
    method: str
    path: str  # percent-encoded path as sent, without the query
    query: str
    headers: Message
    body: bytes
    client_ip: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def uri(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @cached_property
    def params(self) -> dict[str, str]:
        """Servlet getParameter: query string first, then a form-urlencoded body; first value wins."""
        pairs = parse_qsl(self.query, keep_blank_values=True)
        content_type = (self.header("Content-Type") or "").split(";")[0].strip().lower()
        if self.method == "POST" and content_type == "application/x-www-form-urlencoded":
            pairs += parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        result: dict[str, str] = {}
        for key, value in pairs:
            result.setdefault(key, value)
        return result

    def param(self, name: str) -> str | None:
        return self.params.get(name)

    @cached_property
    def cookies(self) -> dict[str, str]:
        jar: SimpleCookie = SimpleCookie()
        for raw in self.headers.get_all("Cookie") or []:
            try:
                jar.load(raw)
            except CookieError:
                continue
        return {key: morsel.value for key, morsel in jar.items()}


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: Iterator[bytes] | None = None  # sent chunked instead of body, with no Content-Length

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def add(self, name: str, value: str) -> "Response":
        self.headers.append((name, value))
        return self
