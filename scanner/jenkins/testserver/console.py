"""Build logs over HTTP: consoleText and logText/progressiveText (facts sheet 9.4).

Both read ``log``, or ``log.gz`` transparently, and stream: the file is opened before the answer
starts (a log deleted meanwhile is still read to its end, as on a POSIX file system) and sent in
chunks. consoleText strips ConsoleNotes and copies bytes as they are; progressiveText sends raw
bytes from the ``start`` offset (notes stripped only before 2.509), turns lone LF into CRLF
(LineEndNormalizingWriter), and says where to continue (X-Text-Size) and whether the log still
grows (X-More-Data, only while the build runs).
"""
from __future__ import annotations

import gzip
import os
import re
import struct
from pathlib import Path
from typing import BinaryIO, Iterator

from . import responses as rs
from .items import Build
from .wire import Response

TEXT_TYPE = "text/plain;charset=UTF-8"
NOTE = re.compile(rb"\x1b\[8mha:[A-Za-z0-9+/=]*\x1b\[0m")
CHUNK = 64 * 1024
LINE_LIMIT = 1024 * 1024  # a longer "line" is handled in pieces; notes never get that long
V_RAW_NOTES = (2, 509)  # JENKINS-75081: plain progressiveText no longer strips notes


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115 - streamed


def _size(path: Path, handle: BinaryIO) -> int:
    """LargeText.length(): the file size, or for gzip the uncompressed size from the trailer."""
    if not path.name.endswith(".gz"):
        return os.fstat(handle.fileno()).st_size
    with open(path, "rb") as raw:
        raw.seek(0, os.SEEK_END)
        if raw.tell() < 4:
            return 0
        raw.seek(-4, os.SEEK_END)
        return struct.unpack("<I", raw.read(4))[0]


def _lines(handle: BinaryIO, limit: int) -> Iterator[bytes]:
    left = limit
    while left > 0:
        line = handle.readline(min(LINE_LIMIT, left))
        if not line:
            return
        left -= len(line)
        yield line


def _batched(lines: Iterator[bytes], handle: BinaryIO) -> Iterator[bytes]:
    try:
        batch = bytearray()
        for line in lines:
            batch += line
            if len(batch) >= CHUNK:
                yield bytes(batch)
                batch.clear()
        if batch:
            yield bytes(batch)
    finally:
        handle.close()


def headers() -> list[tuple[str, str]]:
    return [("X-Content-Type-Options", "nosniff"), ("Content-Type", TEXT_TYPE)]


def console_text(build: Build) -> Response:
    """Run.doConsoleText: the whole log up to its current end, notes stripped; a missing file is 200."""
    path = build.log_file
    if path is None:
        return Response(200, headers(), f"No such file: {build.dir / 'log'}".encode())
    try:
        handle = _open(path)
    except OSError:
        return Response(200, headers(), f"No such file: {path}".encode())
    stripped = (NOTE.sub(b"", line) for line in _lines(handle, 1 << 62))
    return Response(200, headers(), stream=_batched(stripped, handle))


def progressive_text(build: Build, start_param: str | None, version: tuple[int, ...], uri: str) -> Response:
    more = build.record.building
    path = build.log_file
    try:
        start = int(start_param) if start_param not in (None, "") else 0
    except ValueError:
        return rs.container_error(500, "java.lang.NumberFormatException", uri)
    if start < 0:
        return rs.container_error(500, "java.io.IOException: negative start", uri)
    if path is None:
        return _progress(0, True, iter(()))
    try:
        handle = _open(path)
        size = _size(path, handle)
    except OSError:
        return _progress(0, True, iter(()))
    if start > size:
        start = 0  # the log was rolled over: start again
    try:
        handle.seek(start)
    except OSError:
        handle.close()
        return _progress(0, True, iter(()))
    strip = version < V_RAW_NOTES
    lines = (_crlf(NOTE.sub(b"", line) if strip else line) for line in _lines(handle, size - start))
    return _progress(size, more, _batched(_with_state(lines), handle))


def _progress(size: int, more: bool, body: Iterator[bytes]) -> Response:
    response = Response(200, [*headers(), ("X-Text-Size", str(size))], stream=body)
    if more:
        response.add("X-More-Data", "true")
    return response


def _crlf(line: bytes) -> bytes:
    """One line at a time: an LF not preceded by CR becomes CRLF (a CR ending the previous piece is handled
    by _with_state)."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", line)


def _with_state(lines: Iterator[bytes]) -> Iterator[bytes]:
    """A piece may start with the LF of a CRLF split across pieces: it was wrongly doubled, undo that."""
    previous_cr = False
    for line in lines:
        if previous_cr and line.startswith(b"\r\n"):
            line = line[1:]
        previous_cr = line.endswith(b"\r")
        yield line
