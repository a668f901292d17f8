"""Work listed faster than the workers take it: kept in a temporary file, not in memory.

rev-list lists a history in seconds, the workers read it for tens of seconds: holding the waiting
``(oid, path)`` lists in the coordinator cost ~25 MiB on jenkinsci/jenkins (a Python tuple and
string per blob), at the very moment rev-list, both workers and their gits are all running.
"""

from __future__ import annotations

import pickle
import struct
import tempfile
from typing import Any

from scanner.errors import JtsError

LENGTH = struct.Struct("<Q")


class BacklogError(JtsError):
    """The temporary file failed (a full disk): the scan stops with this one line."""


class Backlog:
    """A first-in first-out queue of picklable items, spilled to a temporary file."""

    def __init__(self) -> None:
        self._file: Any = None
        self._read_at = 0
        self._write_at = 0
        self.count = 0

    def __enter__(self) -> Backlog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def push(self, item: object) -> None:
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if self._file is None:
                self._file = tempfile.TemporaryFile()
            self._file.seek(self._write_at)
            self._file.write(LENGTH.pack(len(data)) + data)
            self._file.flush()  # a full disk fails here, not at a later read
        except OSError as exc:
            raise BacklogError(f"cannot keep the work waiting for the scan's workers in a temporary file: "
                               f"{exc.strerror or exc}") from None
        self._write_at = self._file.tell()
        self.count += 1

    def pop(self) -> Any:
        """The oldest item; IndexError when empty."""
        if not self.count:
            raise IndexError("pop from an empty backlog")
        self._file.seek(self._read_at)
        (size,) = LENGTH.unpack(self._file.read(LENGTH.size))
        data = self._file.read(size)
        self._read_at = self._file.tell()
        self.count -= 1
        if not self.count:  # drained: start over at the front instead of growing the file
            self._file.seek(0)
            self._file.truncate()
            self._read_at = self._write_at = 0
        return pickle.loads(data)  # noqa: S301 - our own file, written by this process just now

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self.count = 0
