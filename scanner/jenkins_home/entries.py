"""What a home source (a directory, an archive) hands the scanner: files, one at a time."""

from __future__ import annotations

import lzma
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from scanner.findings import some_of

# What a damaged archive or gzip stream raises while being read; turned into OSError so every
# reader (and scan_stream) reports it as a read error of that file, never as a crash.
STREAM_ERRORS = (EOFError, zlib.error, lzma.LZMAError, tarfile.TarError, ValueError)


@dataclass
class Entry:
    rel: str  # path inside the home, "/"-separated
    size: int
    open: Callable[[], BinaryIO]  # for an archive: valid until the next entry is asked for


@dataclass
class SourceProblems:
    """Members or files the source would not hand out, named in warnings (bounded lists)."""

    outside: list[str] = field(default_factory=list)  # absolute or ../ member names
    links: list[str] = field(default_factory=list)  # "name -> target" leading out of the home
    special: list[str] = field(default_factory=list)  # fifos, devices, sockets
    unreadable: list[str] = field(default_factory=list)
    not_scanned_dirs: list[str] = field(default_factory=list)  # top-level dirs holding no source
    truncated: str | None = None  # the archive ended early or is damaged: what and where

    def warnings(self) -> list[str]:
        out = []
        if self.outside:
            out.append(f"{len(self.outside)} archive member(s) with an absolute or '..' path, not read as part of "
                       f"the home (nothing is ever extracted): {some_of(self.outside)}")
        if self.links:
            out.append(f"{len(self.links)} symbolic or hard link(s) leading out of the home, not followed: "
                       f"{some_of(self.links)}")
        if self.special:
            out.append(f"{len(self.special)} fifo(s), socket(s) or device(s), not opened: {some_of(self.special)}")
        out.extend(self.unreadable)
        return out


class SafeReader:
    """A binary stream whose damage shows up as OSError (what readers expect), never as a crash."""

    def __init__(self, raw: BinaryIO, name: str):
        self.raw = raw
        self.name = name

    def read(self, size: int = -1) -> bytes:
        try:
            return self.raw.read(size)
        except STREAM_ERRORS as exc:
            raise OSError(f"damaged or truncated ({type(exc).__name__})") from None

    def readline(self, size: int = -1) -> bytes:
        try:
            return self.raw.readline(size)
        except STREAM_ERRORS as exc:
            raise OSError(f"damaged or truncated ({type(exc).__name__})") from None

    def close(self) -> None:
        try:
            self.raw.close()
        except (OSError, *STREAM_ERRORS):
            pass
