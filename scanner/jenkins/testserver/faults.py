"""Runtime fault injection: latency, 5xx, dropped connections, SSO interception, hostile answers, hooks.

Hostile answers (``add_response``) are what a malicious Jenkins or a server in the middle could
send: any status, headers and body, a body repeated to any size without holding it in memory,
and bytes dripped slowly (the body, or the header block too). Hooks (``add_hook``) run test code
before a request is processed, e.g. someone else using a token while jts revokes it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["latency", "error", "drop", "sso", "respond", "hook"]
SsoMode = Literal["external", "same_origin", "inline"]


@dataclass
class CannedResponse:
    """Bytes written as they are: nothing of Jenkins' own protocol is added."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    repeat: int = 1  # the body is sent this many times (1 GiB costs the server one chunk of memory)
    drip: float = 0.0  # seconds between single bytes of the body
    drip_headers: bool = False  # drip the header block too, after the status line
    content_length: bool = True  # False: no Content-Length, the body ends when the connection closes

    @property
    def size(self) -> int:
        return len(self.body) * self.repeat


@dataclass
class FaultRule:
    kind: FaultKind
    prefix: str | None = None  # path prefix ("/user/"), None = every path
    method: str | None = None  # "POST", None = every method
    remaining: int | None = None  # requests left to affect, None = until removed
    seconds: float = 0.0  # latency
    status: int = 503  # error
    after_action: bool = True  # drop: close only after the request was fully processed
    reset: bool = False  # drop: send a TCP RST instead of a FIN
    sso_mode: SsoMode = "external"
    response: CannedResponse | None = None  # respond
    action: Callable[[str, str], None] | None = None  # hook: called with (method, path)
    hits: int = 0
    sent: int = 0  # respond: body bytes written before the client stopped reading

    def applies(self, method: str, path: str) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.prefix is None or path.startswith(self.prefix)


class Faults:
    """Thread-safe rule list; each add_* returns the rule so tests can read `hits` or remove it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add_latency(self, seconds: float, *, prefix: str | None = None, method: str | None = None,
                    count: int | None = None) -> FaultRule:
        return self._add(FaultRule("latency", prefix, method, count, seconds=seconds))

    def add_error(self, status: int = 503, *, prefix: str | None = None, method: str | None = None,
                  count: int | None = None) -> FaultRule:
        return self._add(FaultRule("error", prefix, method, count, status=status))

    def add_drop(self, *, prefix: str | None = None, method: str | None = None, count: int | None = None,
                 after_action: bool = True, reset: bool = False) -> FaultRule:
        return self._add(FaultRule("drop", prefix, method, count, after_action=after_action, reset=reset))

    def add_sso_redirect(self, mode: SsoMode = "external", *, prefix: str | None = None,
                         method: str | None = None, count: int | None = None) -> FaultRule:
        return self._add(FaultRule("sso", prefix, method, count, sso_mode=mode))

    def add_response(self, status: int = 200, headers: list[tuple[str, str]] | None = None, body: bytes = b"", *,
                     repeat: int = 1, drip: float = 0.0, drip_headers: bool = False, content_length: bool = True,
                     prefix: str | None = None, method: str | None = None, count: int | None = None) -> FaultRule:
        """Answer with exactly these bytes instead of Jenkins (the connection is closed after it)."""
        canned = CannedResponse(status, list(headers or []), body, repeat, drip, drip_headers, content_length)
        return self._add(FaultRule("respond", prefix, method, count, response=canned))

    def add_hook(self, action: Callable[[str, str], None], *, prefix: str | None = None, method: str | None = None,
                 count: int | None = None) -> FaultRule:
        """Run ``action(method, path)`` before the request is processed (its answer is unchanged)."""
        return self._add(FaultRule("hook", prefix, method, count, action=action))

    def _add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, kind: FaultKind, method: str, path: str) -> list[FaultRule]:
        """Every applicable rule of a kind, each consuming one of its counted requests."""
        with self._lock:
            taken = [r for r in self._rules if r.kind == kind and r.applies(method, path)]
            for rule in taken:
                rule.hits += 1
                if rule.remaining is not None:
                    rule.remaining -= 1
            return taken

    def wants_sso(self) -> bool:
        with self._lock:
            return any(r.kind == "sso" and r.sso_mode == "external" for r in self._rules)
