"""Append-only audit log of revocation work: one JSON object per line, on disk before the next step.

Each line is flushed and fsynced as it is written, so a crash leaves a readable file whose last
lines say what was attempted. Token values never belong here; as a last line of defence every
value registered with ``forbid`` is replaced before a line is written.
"""

from __future__ import annotations

from scanner.errors import JtsError

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from scanner.findings import Finding, Location
from scanner.terminal import json_dumps

REDACTED = "[REDACTED]"
_MIN_FORBIDDEN = 8  # shorter values would mangle unrelated text and are not token-shaped anyway


class AuditError(JtsError):
    """The audit log cannot be written; revocation must not go ahead without it."""


def default_audit_path() -> Path:
    """``$XDG_STATE_HOME/jts/audit.jsonl``, else ``~/.local/state/jts/audit.jsonl``."""
    state = os.environ.get("XDG_STATE_HOME", "").strip()
    base = Path(state) if state and Path(state).is_absolute() else Path.home() / ".local" / "state"
    return base / "jts" / "audit.jsonl"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def leak_places(finding: Finding) -> list[dict[str, Any]]:
    """Where a finding was seen: path/line and, for history, commit and repository."""
    return [_place(loc) for loc in finding.locations]


def _place(loc: Location) -> dict[str, Any]:
    place: dict[str, Any] = {"path": loc.path, "line": loc.line}
    for key in ("commit", "repo", "source"):
        value = getattr(loc, key)
        if value and not (key == "source" and value == "file"):
            place[key] = value
    return place


class AuditLog:
    """Opened lazily on the first line; use as a context manager or call ``close``."""

    def __init__(self, path: Path | None = None):
        self.path = path or default_audit_path()
        self._file: IO[str] | None = None
        self._forbidden: set[str] = set()

    def forbid(self, value: str | None) -> None:
        """Never let this value (a token) reach the file, whatever field it slipped into."""
        if value and len(value) >= _MIN_FORBIDDEN:
            self._forbidden.add(value)

    def write(self, event: str, **fields: Any) -> None:
        record = {"time": now_iso(), "event": event, **fields}
        line = json_dumps(record, sort_keys=False)
        for value in sorted(self._forbidden, key=len, reverse=True):
            line = line.replace(value, REDACTED)
        handle = self._open()
        try:
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot write the audit log: {exc.strerror or exc}") from None

    def _open(self) -> IO[str]:
        if self._file is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                self._file = os.fdopen(fd, "a", encoding="utf-8")
            except OSError as exc:
                raise AuditError(f"{self.path}: cannot open the audit log: {exc.strerror or exc}") from None
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
