"""A thread-safe log of every request that reached the server (faulted ones included)."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterator


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

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.entries())

    def __getitem__(self, index: int) -> RequestRecord:
        return self.entries()[index]
