"""Runtime fault injection: latency, 5xx, dropped connections and SSO interception."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["latency", "error", "drop", "sso"]
SsoMode = Literal["external", "same_origin", "inline"]


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
    hits: int = 0

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
