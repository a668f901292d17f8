"""Where a scan reads objects from: the object database in this process, or a ``git cat-file``.

In-process reading (``git_objects``) spends less CPU in all: no git process, no copy of every
blob through a pipe. git stays the reference: an object the store cannot find or read (a
damaged pack, a partial clone's promisor objects, a SHA-256 repository) is asked of git, whose
answer or error is then what the scan reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from scanner.sources.git_catfile import BlobRead, CatFile, ObjectInfo
from scanner.sources.git_objects import DEFAULT_MAX_BYTES, ObjectStore, ObjectStoreError, ObjectTooLarge


class BlobReader(Protocol):
    def start(self) -> None: ...

    def info(self, oids: Iterable[str]) -> Iterator[ObjectInfo]: ...

    def read(self, oids: Iterable[str]) -> Iterator[BlobRead]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> BlobReader: ...

    def __exit__(self, *exc: object) -> None: ...


class StoreReader:
    """Objects from an ``ObjectStore``; a ``git cat-file`` is started only for what it cannot read.

    Damage git cannot read either (a delta chain that loops: git would loop forever) is reported
    without asking git.
    """

    def __init__(self, cwd: Path | str, store: ObjectStore):
        self.store = store
        self.git = CatFile(cwd, max_bytes=store.max_bytes)
        self.damaged: dict[str, str] = {}  # oid -> why it cannot be read, found while sizing

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Nothing to start: git runs only when an object needs it."""

    def info(self, oids: Iterable[str]) -> Iterator[ObjectInfo]:
        for oid in oids:
            try:
                got = self.store.info(oid)
            except ObjectStoreError as exc:
                if exc.final:
                    self.damaged[oid] = _reason(exc, oid)
                    yield ObjectInfo(oid, "blob", 0)  # reading it reports why
                    continue
                got = None
            if got is None:
                yield from self.git.info([oid])
            else:
                yield ObjectInfo(oid, got[0], got[1])

    def read(self, oids: Iterable[str]) -> Iterator[BlobRead]:
        for oid in oids:
            if oid in self.damaged:
                yield BlobRead(oid, None, self.damaged[oid])
                continue
            try:
                got = self.store.read(oid)
            except ObjectTooLarge as exc:
                yield _too_large(exc, oid)
                continue
            except ObjectStoreError as exc:
                if exc.final:
                    yield BlobRead(oid, None, _reason(exc, oid))
                    continue
                got = None
            if got is None:
                yield from self._from_git(oid)
            elif got[0] != "blob":
                yield BlobRead(oid, None, f"it is a {got[0]}, not a blob")
            else:
                yield BlobRead(oid, got[1])

    def _from_git(self, oid: str) -> Iterator[BlobRead]:
        """What the store cannot read, git reads; sized by git first, since a listing left
        unsized relies on the reader to skip the blobs too large to read (never read whole)."""
        for info in self.git.info([oid]):
            if info.kind is not None and info.size > self.store.max_bytes:
                yield _too_large(ObjectTooLarge(oid, info.size, self.store.max_bytes), oid)
                return
        yield from self.git.read([oid])

    def stop(self) -> None:
        self.git.stop()

    def close(self) -> None:
        self.git.close()
        self.store.close()


def _reason(exc: ObjectStoreError, oid: str) -> str:
    """The store's message without its leading ``<oid>: `` (the report names the blob already)."""
    return str(exc).removeprefix(f"{oid}: ")


def _too_large(exc: ObjectTooLarge, oid: str) -> BlobRead:
    return BlobRead(oid, None, _reason(exc, oid), too_large=exc.size)


def open_reader(cwd: Path | str, objects_dir: str | None, max_bytes: int = DEFAULT_MAX_BYTES,
                in_process: bool = True) -> BlobReader:
    """A reader for the repository at ``cwd``: in-process when ``objects_dir`` is given and readable.

    ``max_bytes`` (--max-blob-mb): the in-process reader inflates no object past it, whatever
    its header says; git is asked for such objects (it answers or fails on its own terms).
    ``in_process=False``: a ``git cat-file`` reads, and the store (when readable) only checks each
    blob's delta chain first, so that git is never asked for one that loops.
    """
    store = ObjectStore.open(Path(objects_dir), max_bytes) if objects_dir else None
    if store is None:
        return CatFile(cwd, max_bytes=max_bytes)
    return StoreReader(cwd, store) if in_process else CatFile(cwd, vet=store, max_bytes=max_bytes)
