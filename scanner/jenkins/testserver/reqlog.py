"""A thread-safe log of every request that reached the server (faulted ones included)."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Iterator
from urllib.parse import unquote

LOG_ENDINGS = (["consoleText"], ["logText", "progressiveText"])


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    user: str | None  # authenticated user id; None = anonymous, failed or never authenticated
    basic_user: str | None = None  # username presented in a Basic header
    query: str = ""
    status: int | None = None  # None = connection dropped without a response
    via_token: bool = False
    fault: str | None = None  # fault kind that shaped the answer


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def entries(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def paths(self) -> list[str]:
        return [r.path for r in self.entries()]

    def matching(self, predicate: Callable[[RequestRecord], bool] | None = None, *, method: str | None = None,
                 prefix: str | None = None, suffix: str | None = None, contains: str | None = None
                 ) -> list[RequestRecord]:
        """Records whose (percent-encoded) path fits every condition given."""
        return [r for r in self.entries()
                if (method is None or r.method == method.upper()) and (prefix is None or r.path.startswith(prefix))
                and (suffix is None or r.path.endswith(suffix)) and (contains is None or contains in r.path)
                and (predicate is None or predicate(r))]

    def count(self, predicate: Callable[[RequestRecord], bool] | None = None, **conditions: str | None) -> int:
        return len(self.matching(predicate, **conditions))

    def log_fetches(self) -> list[tuple[str, int]]:
        """(job full name, build number) of every consoleText / progressiveText request, in order."""
        found = []
        for record in self.entries():
            place = build_log_of(record.path)
            if place is not None:
                found.append(place)
        return found

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.entries())

    def __getitem__(self, index: int) -> RequestRecord:
        return self.entries()[index]


def build_log_of(path: str) -> tuple[str, int] | None:
    """``/job/a/job/b%20c/7/consoleText`` -> ("a/b c", 7); None for any other path (permalinks too)."""
    segments = path.strip("/").split("/")
    ending = next((e for e in LOG_ENDINGS if segments[-len(e):] == e), None)
    if ending is None:
        return None
    head = segments[:-len(ending)]
    if len(head) < 3 or not head[-1].isdigit():
        return None
    pairs = [(head[i], head[i + 1]) for i in range(0, len(head) - 1, 2)]
    if len(head) % 2 == 0 or any(kind not in ("job", "view") for kind, _ in pairs):
        return None
    names = [unquote(name) for kind, name in pairs if kind == "job"]
    return ("/".join(names), int(head[-1])) if names else None
