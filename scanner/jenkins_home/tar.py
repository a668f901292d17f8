"""A JENKINS_HOME archive (``.tar``, ``.tar.gz``, ``.tar.bz2``, ``.tar.xz``) as a stream of entries.

Read once, front to back, with ``tarfile`` in stream mode: nothing is ever written to disk, so a
member name cannot escape anywhere. Still, names are data from whoever built the archive:

- an absolute or ``..`` name is never taken for a file of the home (a hostile
  ``../secrets/master.key`` must not pose as the key); it is named in a warning;
- symbolic and hard links are never followed (one leading out of the home is named);
- devices and FIFOs are skipped; a member's data is streamed, whatever size it claims;
- a truncated or damaged archive ends the listing with a message saying after which member.

The home may sit anywhere inside the archive (``jenkins_home/``, ``var/lib/jenkins/``): its
root is the first prefix followed by a name only a JENKINS_HOME has at its top (``layout.home_root``).
Until a member shows it, small members are held back (bounded), then handed out.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from scanner.jenkins_home.entries import STREAM_ERRORS, Entry, SafeReader, SourceProblems
from scanner.jenkins_home.layout import clean_member_name, home_root, relative_to_root

HELD_MEMBER_MAX = 4 * 2**20  # a member seen before the home's root is known is held if no larger
HELD_TOTAL_MAX = 64 * 2**20
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class ArchiveError(Exception):
    """The file cannot be read as an archive at all."""


class CountingReader(io.RawIOBase):
    """The archive file, counting what was read (progress in compressed bytes)."""

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        data = self.handle.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def archive_format(path: Path) -> str:
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic[:2] == b"\x1f\x8b":
        return "tar.gz"
    if magic[:3] == b"BZh":
        return "tar.bz2"
    if magic == b"\xfd7zXZ\x00":
        return "tar.xz"
    return "tar"


def read_archive(path: Path, problems: SourceProblems, on_root: Callable[[str], None],
                 progress: Callable[[int, int], None] | None = None) -> Iterator[Entry]:
    """Entries of the home inside the archive at ``path``; ``on_root`` learns where the home starts."""
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot read: {exc.strerror or exc}") from None
    counter = CountingReader(handle)
    total = max(path.stat().st_size, 1)
    with handle:
        try:
            archive = tarfile.open(fileobj=counter, mode="r|*")
        except (tarfile.TarError, *STREAM_ERRORS, OSError) as exc:
            raise ArchiveError(f"{path}: not a tar archive (plain, gzip, bzip2 or xz): {_why(exc)}") from None
        yield from _members(archive, problems, on_root, lambda: progress and progress(counter.count, total))


def _members(archive: tarfile.TarFile, problems: SourceProblems, on_root: Callable[[str], None],
             tick: Callable[[], object]) -> Iterator[Entry]:
    root: str | None = None
    held: list[tuple[str, bytes]] = []
    held_bytes = 0
    seen = 0
    last = "(start of archive)"
    while True:
        try:
            member = archive.next()
        except (tarfile.TarError, *STREAM_ERRORS, OSError) as exc:
            problems.truncated = f"the archive is truncated or damaged after {seen} member(s) (last: {last}): " \
                                 f"{_why(exc)}; the rest could not be read"
            break
        if member is None:
            break
        seen += 1
        archive.members.clear()  # stream mode keeps every TarInfo otherwise: memory grows with the archive
        tick()
        name = clean_member_name(member.name)
        last = name or member.name
        if name is None:
            problems.outside.append(member.name)
            continue
        if root is None:
            root = home_root(name, member.isdir())
            if root is not None:
                on_root(root)
                for held_name, data in held:
                    entry = _held_entry(held_name, data, root)
                    if entry:
                        yield entry
                held.clear()
        if member.isdir():
            continue
        if member.issym() or member.islnk():
            _link(member, name, root, problems)
            continue
        if not member.isfile():
            problems.special.append(name)
            continue
        if root is None:
            # where the home starts is not known yet: hold small members until it is
            if member.size <= HELD_MEMBER_MAX and held_bytes + member.size <= HELD_TOTAL_MAX:
                data = _read_all(archive, member, problems, name)
                if data is not None:
                    held.append((name, data))
                    held_bytes += len(data)
            else:
                problems.unreadable.append(f"{name}: read before the archive showed where the home starts; "
                                           "not scanned")
            continue
        rel = relative_to_root(name, root)
        if not rel:
            continue
        yield Entry(rel=rel, size=member.size, open=_opener(archive, member))
    if root is None:
        on_root("")
        for held_name, data in held:
            entry = _held_entry(held_name, data, "")
            if entry:
                yield entry


def _opener(archive: tarfile.TarFile, member: tarfile.TarInfo) -> Callable[[], BinaryIO]:
    def open_member() -> BinaryIO:
        stream = archive.extractfile(member)
        if stream is None:
            raise OSError("no data")
        return SafeReader(stream, member.name)  # type: ignore[return-value]

    return open_member


def _held_entry(name: str, data: bytes, root: str) -> Entry | None:
    rel = relative_to_root(name, root)
    if not rel:
        return None
    return Entry(rel=rel, size=len(data), open=lambda: io.BytesIO(data))


def _read_all(archive: tarfile.TarFile, member: tarfile.TarInfo, problems: SourceProblems, name: str) -> bytes | None:
    try:
        stream = archive.extractfile(member)
        return stream.read() if stream else b""
    except (*STREAM_ERRORS, OSError) as exc:
        problems.unreadable.append(f"{name}: cannot read: {_why(exc)}")
        return None


def _link(member: tarfile.TarInfo, name: str, root: str | None, problems: SourceProblems) -> None:
    """A link inside the home is skipped quietly (its target is read as itself); others are named."""
    target = member.linkname
    if member.issym():
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    else:
        resolved = posixpath.normpath(target)  # hard links name another member of the archive
    inside = not target.startswith("/") and not resolved.startswith("..") and \
        (root is None or root == "" or resolved == root or resolved.startswith(root + "/"))
    if not inside:
        problems.links.append(f"{name} -> {target}")


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
