"""Objects read straight from a repository's object database: packs, loose objects, alternates.

A sweep reads every blob of thousands of small repositories. Inflating them in-process (zlib is
C, as fast as git's) saves a ``git cat-file`` process per repository, its pipe copies and its
CPU. Only SHA-1 repositories with version-2 pack indexes are read; anything this module cannot
read comes back ``None`` and the caller asks git, which stays the reference.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import stat
import struct
import sys
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import BinaryIO, Self

TYPE_NAMES = {1: "commit", 2: "tree", 3: "blob", 4: "tag"}
TYPE_NUMBERS = {name: number for number, name in TYPE_NAMES.items()}
OFS_DELTA = 6
REF_DELTA = 7

SHA_LEN = 20
IDX_MAGIC = b"\377tOc"
IDX_HEADER = 8
IDX_FANOUT_END = IDX_HEADER + 256 * 4
IDX_TRAILER = 2 * SHA_LEN  # checksum of the pack, then of the idx itself
PACK_HEADER = 12
PACK_TRAILER = SHA_LEN
LARGE_OFFSET = 0x80000000

CACHE_BYTES = 8 << 20  # resolved objects: sibling deltas share bases (git caches 96 MiB by default); on
# jenkinsci/jenkins 8 MiB costs the CPU of 16 in a reader (~20 MiB less peak), 4 MiB costs ~15% more
MAX_ALTERNATE_DEPTH = 5
LOOSE_HEADER_MAX = 64  # "<type> <size>\0" is far shorter
LOOSE_READ = 4096
DELTA_HEADER_MAX = 32  # two size varints of at most 10 bytes each
INFLATE_SLICE = 1 << 20
RELEASE_BYTES = 16 << 20  # inflated bytes between RSS releases (git maps 64 MiB windows here, see git_cmd)
PAGE_COST = 1 << 16  # what one entry-header read counts towards RELEASE_BYTES: Linux maps up to 64 KiB
# of cached pages around a faulting one (fault-around), not just its own page
# An entry's type/size header (<= 10 bytes here, see header), its delta base (<= 20 more) and, for
# most entries, all of their compressed data (90% of jenkinsci/jenkins' are under 512 bytes): one
# pread then serves both the header and inflating. Read with pread, so vetting every blob's chain
# maps no pack page (~5-11 MiB per history worker)
HEAD_READ = 1024
PACK_FDS = 64  # descriptors a store keeps for pread (headers and inflating); packs past them read from the map
FIND_SPAN = 48  # entries either side of an id's interpolated place searched first (see _Pack.find)
LOCATED_MAX = 1 << 18  # ~40 MiB at most
CHAIN_TYPES_MAX = 1 << 16  # remembered delta chain types (~100 bytes each): ~7 MiB, not 100
# Ids held outside a repository's largest pack that a store keeps in a set (~80 bytes each, ~5 MiB):
# an id not among them is looked up in the largest pack alone (see ObjectStore._locate)
ELSEWHERE_MAX = 1 << 16
DUPLICATED_MAX = 1 << 16  # ids found in more than one pack, remembered for read() to verify


DEFAULT_MAX_BYTES = 50 << 20  # the largest object inflated in-process (callers pass --max-blob-mb)
# set to 1 to apply deltas in Python even where the compiled applier is installed (benchmarks, tests)
NO_FAST_DELTAS_ENV = "JTS_NO_FAST_DELTAS"
# set to 1 to inflate pack entries with the standard zlib even where zlib-ng is installed (tests)
NO_ZLIB_NG_ENV = "JTS_NO_ZLIB_NG"
PROBE_BYTES = 127  # appended to a delta the compiled applier runs: the longest insert one instruction makes
PROBE_INSERT = bytes([PROBE_BYTES]) + bytes(PROBE_BYTES)  # see _fast_delta

# (base, delta) -> the result in one or more parts; raises on a delta that does not fit its base
FastDelta = Callable[[bytes, bytes], Sequence[bytes]]


def fast_deltas() -> FastDelta | None:
    """A compiled delta applier, or None (not installed, or turned off by $JTS_NO_FAST_DELTAS).

    The optional accelerator (``pip install 'jenkins-token-scanner[fast]'``) is dulwich's Rust
    extension. Applying real histories' deltas in Python is what made in-process reading cost
    more CPU than a ``git cat-file`` (a loop over ~100 instructions per delta); compiled, history
    workers reading in-process cost jenkinsci/jenkins ~1.5 CPU-s less in all (README "Architecture").
    """
    if os.environ.get(NO_FAST_DELTAS_ENV, "") not in ("", "0"):
        return None
    try:
        from dulwich._pack import apply_delta
    except Exception:  # noqa: BLE001 - not installed, or built without its extension: Python applies them
        return None
    return apply_delta  # type: ignore[no-any-return]


def inflating() -> ModuleType:
    """The zlib module pack entries are inflated with: zlib-ng's drop-in one where installed (the
    ``[fast]`` extra; it inflates jenkinsci/jenkins' blobs ~1.5x faster than zlib), else zlib;
    $JTS_NO_ZLIB_NG keeps zlib. A stream it refuses is an ObjectStoreError like any other: the
    entry is then asked of git, whose answer stands.
    """
    if os.environ.get(NO_ZLIB_NG_ENV, "") not in ("", "0"):
        return zlib
    try:
        from zlib_ng import zlib_ng
    except Exception:  # noqa: BLE001 - not installed (or not built for this platform): zlib inflates
        return zlib
    return zlib_ng


class ObjectStoreError(Exception):
    """An object that exists in-process but is damaged; the caller falls back to git for it.

    ``final``: git cannot read it either (a delta chain that loops, where git itself loops
    forever), so asking git would only waste its time: the object is reported as damaged.
    """

    def __init__(self, message: str, final: bool = False):
        super().__init__(message)
        self.final = final


class ObjectTooLarge(ObjectStoreError):
    """The object asked for is over the store's size limit, so it is not read: the caller reports
    it as skipped for its size (its size comes from its own header, or its delta's). Final: git is
    not asked for it either."""

    def __init__(self, oid: str, size: int, limit: int):
        super().__init__(f"{oid}: {size} bytes, over the {limit >> 20} MiB limit", final=True)
        self.size = size


class _GitReadsFirst(ObjectStoreError):
    """A pack git searches before any pack holding the object cannot be read here: git is asked
    (``info`` and ``read`` say None), whose answer stands."""


class _Cache:
    """Resolved pack objects by (pack number, offset): an LRU bounded by bytes."""

    def __init__(self, limit: int):
        self.limit = limit
        self.size = 0
        self.items: OrderedDict[tuple[int, int], tuple[int, bytes]] = OrderedDict()

    def get(self, key: tuple[int, int]) -> tuple[int, bytes] | None:
        item = self.items.get(key)
        if item is not None:
            self.items.move_to_end(key)
        return item

    def put(self, key: tuple[int, int], kind: int, data: bytes) -> None:
        # one huge object must not flush every base the next deltas need
        if len(data) > self.limit // 2 or key in self.items:
            return
        self.items[key] = (kind, data)
        self.size += len(data)
        while self.size > self.limit:
            _, (_, old) = self.items.popitem(last=False)
            self.size -= len(old)

    def clear(self) -> None:
        self.items.clear()
        self.size = 0


class _Pack:
    """One ``pack-*.idx`` and its ``.pack``, mapped on first use; unusable packs find nothing.

    Headers and compressed data are read with ``pread`` while the store's descriptor budget lasts,
    so no pack page counts in the process's RSS. Past it, they are read through the map, whose
    pages would count up to the whole pack (git bounds its own with core.packedGitLimit): every
    RELEASE_BYTES read, they are handed back (they stay in the page cache, so nothing is read
    twice from disk).
    """

    def __init__(self, number: int, idx_path: Path, pack_path: Path, fds: _FdBudget | None = None,
                 zlib_module: ModuleType = zlib, local: bool = True, mtime: int = 0):
        self.number = number
        self.local = local  # in the repository's own objects dir (not an alternate's): git searches it first
        self.mtime = mtime  # of the .pack, in whole seconds as git keeps it: newer packs are searched first
        self.zlib = zlib_module  # what inflate() uses (see inflating())
        self.zlib_errors = (zlib.error, zlib_module.error)
        self.idx_path = idx_path
        self.pack_path = pack_path
        self.usable: bool | None = None  # None until mapped
        self.idx: mmap.mmap | None = None
        self.pack: mmap.mmap | None = None
        self.fds = fds
        self.fd: int | None = None  # for reads with pread, while the store's budget lasts
        self.head_at = -1  # the last header read: (its offset, HEAD_READ bytes from there)
        self.head = b""
        self.view = memoryview(b"")  # of the pack map: slices for zlib without copying
        self.read_since_release = 0
        self.fanout: tuple[int, ...] = ()
        self.offsets_at = 0
        self.large_at = 0
        self.large_count = 0
        self.data_end = 0

    def _map(self) -> bool:
        try:
            with open(self.idx_path, "rb") as idx_file, open(self.pack_path, "rb") as pack_file:
                self.idx = mmap.mmap(idx_file.fileno(), 0, access=mmap.ACCESS_READ)
                self.pack = mmap.mmap(pack_file.fileno(), 0, access=mmap.ACCESS_READ)
                if self.fds is not None and self.fds.take():
                    self.fd = os.dup(pack_file.fileno())
        except (OSError, ValueError):  # vanished under a concurrent gc, or empty (mmap refuses 0 bytes)
            self.close()
            return False
        if not self._parse():
            self.close()
            return False
        self.view = memoryview(self.pack)
        return True

    def _parse(self) -> bool:
        idx, pack = self.idx, self.pack
        assert idx is not None and pack is not None
        if len(idx) < IDX_FANOUT_END + IDX_TRAILER or idx[:4] != IDX_MAGIC:
            return False  # a version-1 index (no magic) or not an index at all
        if struct.unpack_from(">I", idx, 4)[0] != 2:
            return False
        fanout = struct.unpack_from(">256I", idx, IDX_HEADER)
        if any(a > b for a, b in pairwise(fanout)):
            return False
        count = fanout[255]
        self.offsets_at = IDX_FANOUT_END + count * (SHA_LEN + 4)  # after the sha and crc tables
        self.large_at = self.offsets_at + count * 4
        large_bytes = len(idx) - IDX_TRAILER - self.large_at
        if large_bytes < 0 or large_bytes % 8 or large_bytes > max(count - 1, 0) * 8:
            return False  # sizes that only fit another hash length or a damaged index (git refuses more too)
        if len(pack) < PACK_HEADER + PACK_TRAILER or pack[:4] != b"PACK":
            return False
        version, pack_count = struct.unpack_from(">II", pack, 4)
        if version not in (2, 3) or pack_count != count:
            return False
        # the idx records the pack's checksum: a mismatch means a pack rewritten under us
        if pack[len(pack) - PACK_TRAILER:] != idx[len(idx) - IDX_TRAILER:len(idx) - SHA_LEN]:
            return False
        self.fanout = fanout
        self.large_count = large_bytes // 8
        self.data_end = len(pack) - PACK_TRAILER
        return True

    def opened(self) -> bool:
        """Mapped and readable in-process (mapped now if it was not yet)."""
        if self.usable is None:
            self.usable = self._map()
        return self.usable

    def count(self) -> int:
        """Its number of objects (0 when unusable)."""
        return self.fanout[255] if self.opened() else 0

    def ids(self) -> set[bytes]:
        """Every object id its index names."""
        if not self.opened():
            return set()
        idx = self.idx
        assert idx is not None
        table = idx[IDX_FANOUT_END:IDX_FANOUT_END + self.fanout[255] * SHA_LEN]
        return {table[at:at + SHA_LEN] for at in range(0, len(table), SHA_LEN)}

    def find(self, sha: bytes, oid: str) -> int | None:
        """Offset of ``sha`` in the pack, or None."""
        if self.usable is None:
            self.usable = self._map()
        if not self.usable:
            return None
        idx = self.idx
        assert idx is not None
        first = sha[0]
        lo = self.fanout[first - 1] if first else 0
        hi = self.fanout[first]
        if hi - lo > 2 * FIND_SPAN:
            # ids are uniform: the next bytes place one within a few dozen entries of a guess, and
            # one find() over those beats a bisection step by step (~7 us a lookup) in Python
            guess = lo + ((hi - lo) * int.from_bytes(sha[1:4], "big") >> 24)
            start, end = max(lo, guess - FIND_SPAN), min(hi, guess + FIND_SPAN)
            base = IDX_FANOUT_END + start * SHA_LEN
            at = idx.find(sha, base, IDX_FANOUT_END + end * SHA_LEN)
            while at != -1 and (at - IDX_FANOUT_END) % SHA_LEN:  # straddles two entries
                at = idx.find(sha, at + 1, IDX_FANOUT_END + end * SHA_LEN)
            if at != -1:
                return self._offset((at - IDX_FANOUT_END) // SHA_LEN, oid)
            below = start == lo or idx[base:base + SHA_LEN] < sha
            last = IDX_FANOUT_END + (end - 1) * SHA_LEN
            above = end == hi or idx[last:last + SHA_LEN] > sha
            if below and above:  # the window holds where it would be: it is not in this pack
                return None
        while lo < hi:
            mid = (lo + hi) // 2
            at = IDX_FANOUT_END + mid * SHA_LEN
            probe = idx[at:at + SHA_LEN]
            if probe < sha:
                lo = mid + 1
            elif probe > sha:
                hi = mid
            else:
                return self._offset(mid, oid)
        return None

    def _offset(self, index: int, oid: str) -> int:
        idx = self.idx
        assert idx is not None
        offset: int = struct.unpack_from(">I", idx, self.offsets_at + index * 4)[0]
        if offset & LARGE_OFFSET:
            large = offset & ~LARGE_OFFSET
            if large >= self.large_count:
                raise ObjectStoreError(f"{oid}: {self.idx_path.name}: large offset entry out of range")
            offset = struct.unpack_from(">Q", idx, self.large_at + large * 8)[0]
        return offset

    def _head(self, offset: int) -> bytes:
        """HEAD_READ bytes (fewer at the end) from ``offset``: an entry's header and delta base."""
        if offset == self.head_at:
            return self.head
        count = min(HEAD_READ, self.data_end - offset)
        if self.fd is None:
            pack = self.pack
            assert pack is not None
            # a read from the map maps (at least) one page: vetting every chain would touch the whole pack
            self.read_since_release += PAGE_COST
            if self.read_since_release > RELEASE_BYTES:
                self._release()
            head = pack[offset:offset + max(count, 0)]
        else:
            head = self._pread(offset, max(count, 0))
        if not head:  # nothing left at the offset
            raise ObjectStoreError(f"{self.pack_path.name}: nothing to read at {offset}")
        self.head_at, self.head = offset, head
        return head

    def _pread(self, pos: int, count: int) -> bytes:
        """``count`` bytes at ``pos`` through the descriptor (the caller checked the pack ends later)."""
        assert self.fd is not None
        try:
            data = os.pread(self.fd, count, pos)
        except OSError as exc:
            raise ObjectStoreError(f"{self.pack_path.name}: cannot read at {pos} ({exc.strerror})") from None
        if len(data) != count:  # the file shrank under its map (rewritten in place?)
            raise ObjectStoreError(f"{self.pack_path.name}: {len(data)} of {count} bytes at {pos}")
        return data

    def _bytes(self, pos: int, count: int) -> bytes:
        """Up to ``count`` bytes at ``pos``, from the last header read when it holds them."""
        at = pos - self.head_at
        if 0 <= at and at + count <= len(self.head):
            return self.head[at:at + count]
        return self._head(pos)[:count]

    def header(self, offset: int, oid: str) -> tuple[int, int, int]:
        """(type number, size, position after the header) of the entry at ``offset``."""
        end = self.data_end
        if not PACK_HEADER <= offset < end:
            raise ObjectStoreError(f"{oid}: {self.pack_path.name}: offset {offset} outside the pack")
        head = self._head(offset)
        c = head[0]
        kind = (c >> 4) & 7
        size = c & 0x0F
        shift = 4
        pos = offset + 1
        while c & 0x80:
            if pos >= end or shift > 64:
                raise ObjectStoreError(f"{oid}: {self.pack_path.name}: bad entry header at {offset}")
            c = head[pos - offset] if pos - offset < len(head) else self._bytes(pos, 1)[0]
            pos += 1
            size |= (c & 0x7F) << shift
            shift += 7
        return kind, size, pos

    def ofs_base(self, offset: int, pos: int, oid: str) -> tuple[int, int]:
        """(base offset, position of the delta data) of an OFS_DELTA entry."""
        end = self.data_end
        start = pos
        relative = -1
        c = 0x80
        while c & 0x80:
            if pos >= end or pos - start > 9:
                raise ObjectStoreError(f"{oid}: {self.pack_path.name}: bad delta base offset at {offset}")
            c = self._bytes(pos, 1)[0]
            pos += 1
            relative = ((relative + 1) << 7) | (c & 0x7F)  # git's encoding: no redundant forms
        base = offset - relative
        if relative <= 0 or base < PACK_HEADER:
            raise ObjectStoreError(f"{oid}: {self.pack_path.name}: delta base offset out of range at {offset}")
        return base, pos

    def ref_base(self, pos: int, oid: str) -> bytes:
        if pos + SHA_LEN > self.data_end:
            raise ObjectStoreError(f"{oid}: {self.pack_path.name}: truncated delta base at {pos}")
        base = self._bytes(pos, SHA_LEN)
        if len(base) != SHA_LEN:
            raise ObjectStoreError(f"{oid}: {self.pack_path.name}: truncated delta base at {pos}")
        return base

    def inflate(self, pos: int, size: int, oid: str, max_bytes: int) -> bytes:
        """The ``size`` bytes of the zlib stream at ``pos``, whose compressed length is unknown.

        Never more than ``max_bytes`` whatever the entry header claims (a 2 MB zlib bomb under a
        header saying 2^60 bytes would otherwise inflate to gigabytes).
        """
        if size > max_bytes:
            raise ObjectStoreError(f"{oid}: {self.pack_path.name}: entry at {pos} needs {size} bytes inflated, "
                                   f"over the {max_bytes >> 20} MiB limit")
        end = self.data_end
        inflater = self.zlib.decompressobj()
        # deflate output is rarely longer than its input; capped slices, because zlib copies the
        # input left over after the stream's end (unused_data)
        step = min(size + size // 8 + 4096, INFLATE_SLICE)
        parts: list[bytes] = []
        got = 0
        mapped = 0
        at = pos - self.head_at
        # the header's read holds the start of the data (often all of it): no second pread
        held = memoryview(self.head)[at:] if self.fd is not None and 0 <= at < len(self.head) else None
        try:
            while not inflater.eof:
                if pos >= end:
                    raise ObjectStoreError(f"{oid}: {self.pack_path.name}: truncated zlib stream")
                if held is not None:
                    compressed: bytes | memoryview = held
                    stop, held = pos + len(held), None
                else:
                    stop = min(pos + step, end)
                    if self.fd is None:
                        compressed = self.view[pos:stop]
                        mapped += stop - pos
                    else:
                        compressed = self._pread(pos, stop - pos)
                    step = INFLATE_SLICE
                # at most size+1 bytes out: a damaged stream cannot balloon memory
                out = inflater.decompress(compressed, min(size + 1 - got, sys.maxsize))
                if inflater.unconsumed_tail:
                    raise ObjectStoreError(f"{oid}: {self.pack_path.name}: object larger than its header says")
                parts.append(out)
                got += len(out)
                pos = stop
        except self.zlib_errors as exc:
            raise ObjectStoreError(f"{oid}: {self.pack_path.name}: bad zlib data ({exc})") from None
        if got != size:
            raise ObjectStoreError(f"{oid}: {self.pack_path.name}: inflated {got} bytes, header says {size}")
        if mapped:
            self.read_since_release += max(got, mapped, PAGE_COST)
            if self.read_since_release > RELEASE_BYTES:
                self._release()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _release(self) -> None:
        self.read_since_release = 0
        if self.pack is not None and hasattr(mmap, "MADV_DONTNEED"):
            self.pack.madvise(mmap.MADV_DONTNEED)

    def delta_target_size(self, pos: int, oid: str) -> int:
        """The target size at the start of the delta at ``pos``, inflating only its first bytes."""
        end = self.data_end
        inflater = zlib.decompressobj()
        head = b""
        step = 256
        try:
            while len(head) < DELTA_HEADER_MAX and not inflater.eof and pos < end:
                stop = min(pos + step, end)
                head += inflater.decompress(self.view[pos:stop], DELTA_HEADER_MAX - len(head))
                pos = stop
                step *= 2
        except zlib.error as exc:
            raise ObjectStoreError(f"{oid}: {self.pack_path.name}: bad zlib data ({exc})") from None
        _, at = _varint(head, 0, oid)
        target, _ = _varint(head, at, oid)
        return target

    def close(self) -> None:
        self.usable = False
        self.view.release()
        for mapped in (self.idx, self.pack):
            if mapped is not None:
                try:
                    mapped.close()
                except BufferError:  # a slice still alive somewhere: the map goes with it
                    pass
        self.idx = self.pack = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
            if self.fds is not None:
                self.fds.give_back()
        self.head_at, self.head = -1, b""


class _FdBudget:
    """How many pack descriptors a store may still hold (a repository may have thousands of packs)."""

    def __init__(self, left: int):
        self.left = left

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def give_back(self) -> None:
        self.left += 1


class ObjectStore:
    """Read-only objects of one SHA-1 repository: its packs, loose objects and alternates."""

    def __init__(self, object_dirs: list[Path], max_bytes: int = DEFAULT_MAX_BYTES):
        self.object_dirs = object_dirs  # the repository's own first, then its alternates
        self.max_bytes = max_bytes  # no object, delta or delta base is inflated past this
        self.fast = fast_deltas()
        self.zlib = inflating()
        self.packs: list[_Pack] = []  # in the order git searches them (see _scan_packs)
        self.pack_dir_stamps: dict[Path, int] = {}
        self.planned = False  # how ids are looked up was decided for these packs (see _plan)
        self.sole: _Pack | None = None  # the one pack an id outside ``elsewhere`` can be in
        self.elsewhere: set[bytes] = set()
        self.duplicated: set[bytes] = set()  # ids more than one pack holds: read() checks the copy's id
        self.cache = _Cache(CACHE_BYTES)
        self.chain_types: dict[tuple[int, int], int] = {}  # delta entry -> type of its chain's base
        self.located: dict[bytes, tuple[_Pack, int]] = {}  # found by info(), soon read(): look up once
        self.fds = _FdBudget(PACK_FDS)
        self._scan_packs()

    @classmethod
    def open(cls, objects_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> ObjectStore | None:
        """None when this store cannot be read in-process at all (SHA-256 repository, no objects dir)."""
        objects_dir = Path(objects_dir)
        if not objects_dir.is_dir() or _object_format(objects_dir.parent / "config") != "sha1":
            return None
        return cls(_object_dirs(objects_dir), max_bytes)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Unmap the packs; a closed store finds nothing."""
        for pack in self.packs:
            pack.close()
        self.packs = []
        self.object_dirs = []
        self.pack_dir_stamps = {}
        self.sole, self.elsewhere, self.duplicated = None, set(), set()
        self.cache.clear()
        self.chain_types = {}
        self.located = {}

    def info(self, oid: str) -> tuple[str, int] | None:
        """(type, size) without inflating the whole object; None when the object is not found in-process.

        The caller reads the object soon: its location is kept for ``read``.
        """
        sha = _sha(oid)
        if sha is None:
            return None
        try:
            found = self._locate(sha, oid)
        except _GitReadsFirst:
            return None
        if found is not None:
            if len(self.located) < LOCATED_MAX:
                self.located[sha] = found
            return self._packed_info(*found, oid)
        for objects_dir in self.object_dirs:
            loose = _loose_info(objects_dir / oid[:2] / oid[2:], oid)
            if loose is not None:
                return loose
        if self._rescan_packs():
            found = self._locate(sha, oid)
            if found is not None:
                return self._packed_info(*found, oid)
        return None

    def check_chain(self, oid: str) -> None:
        """Raise ObjectStoreError (``final`` for a loop) when ``oid``'s delta chain cannot end; a
        walk over entry headers only, remembered for the chain's other members (nothing inflated)."""
        sha = _sha(oid)
        try:
            found = self._locate(sha, oid) if sha is not None else None
        except _GitReadsFirst:  # git may read a copy this process cannot: the first readable one is vetted
            found = next(self._readable_copies(sha, oid), None) if sha is not None else None
        if found is None:
            return  # loose (never a delta) or absent: git says so without looping
        pack, offset = found
        kind, _size, _pos = pack.header(offset, oid)
        if kind not in TYPE_NAMES:
            self._base_type(pack, offset, oid)

    def read(self, oid: str) -> tuple[str, bytes] | None:
        """(type, content); None when not found. Raises ObjectStoreError when found but unreadable/corrupt,
        ObjectTooLarge (read no further) when it is over ``max_bytes``."""
        sha = _sha(oid)
        if sha is None:
            return None
        try:
            found = self.located.pop(sha, None) or self._locate(sha, oid)
        except _GitReadsFirst:
            return None
        if found is not None:
            kind, data = self._packed_read(*found, oid)
            if sha in self.duplicated:
                return self._true_copy(sha, oid, kind, data)
            return TYPE_NAMES[kind], data
        loose = self._loose_read(oid, asked=True)
        if loose is not None:
            return loose
        if self._rescan_packs():  # a concurrent gc may just have packed the loose object
            found = self._locate(sha, oid)
            if found is not None:
                kind, data = self._packed_read(*found, oid)
                return TYPE_NAMES[kind], data
        return None

    def _scan_packs(self) -> bool:
        """Add packs not seen yet and order them all as git searches them; True when there were any.

        git (packfile.c ``prepare_packed_git``) puts each pack it finds first in its list (object
        dirs in order, each in readdir order), then sorts that list stably: the repository's own
        packs before its alternates', then the newest ``.pack`` (mtime in whole seconds) first.
        Its first pack holding an id is the copy ``git cat-file`` shows; any other order would
        let a pack that claims an id over other bytes (an alternate's) decide what is scanned.
        """
        known = {pack.idx_path for pack in self.packs}
        listed = list(self.packs)
        added = False
        for depth, objects_dir in enumerate(self.object_dirs):
            pack_dir = objects_dir / "pack"
            try:
                self.pack_dir_stamps[pack_dir] = os.stat(pack_dir).st_mtime_ns
                entries = list(os.scandir(pack_dir))
            except OSError:
                continue
            for entry in entries:
                if not entry.name.endswith(".idx"):  # git takes any "<name>.idx" with a "<name>.pack"
                    continue
                idx_path = pack_dir / entry.name
                pack_path = pack_dir / (entry.name[:-4] + ".pack")
                if idx_path in known:
                    continue
                try:
                    pack_stat = os.stat(pack_path)
                except OSError:
                    continue
                if not stat.S_ISREG(pack_stat.st_mode):
                    continue
                number = len(known)
                known.add(idx_path)
                listed.insert(0, _Pack(number, idx_path, pack_path, self.fds, self.zlib, local=depth == 0,
                                       mtime=pack_stat.st_mtime_ns // 1_000_000_000))
                added = True
        listed.sort(key=lambda pack: (not pack.local, -pack.mtime))  # stable, as git's merge sort
        self.packs = listed
        self.planned = False
        return added

    def _rescan_packs(self) -> bool:
        for pack_dir, stamp in self.pack_dir_stamps.items():
            try:
                changed = os.stat(pack_dir).st_mtime_ns != stamp
            except OSError:
                changed = True
            if changed:
                return self._scan_packs()
        return False

    def _plan(self) -> None:
        """Decide how ids are looked up in these packs (once per set of packs: every index is read).

        Most repositories hold most objects in one pack: ids of the other packs are kept
        (``elsewhere``, bounded), so an id not among them is looked up in that pack alone and
        any other is looked up in every pack, in git's order. With too many such ids, or a pack
        this process cannot read (git may: it is asked instead, see _copies), every lookup goes
        through every pack in order.
        """
        self.planned = True
        self.sole, self.elsewhere = None, set()
        if not self.packs or not all(pack.opened() for pack in self.packs):
            return
        largest = max(self.packs, key=lambda pack: pack.count())
        others = [pack for pack in self.packs if pack is not largest]
        if sum(pack.count() for pack in others) > ELSEWHERE_MAX:
            return
        for pack in others:
            self.elsewhere |= pack.ids()
        self.sole = largest

    def _locate(self, sha: bytes, oid: str) -> tuple[_Pack, int] | None:
        """The copy of ``sha`` git would read: in the first pack of git's order that holds it."""
        if not self.planned:
            self._plan()
        sole = self.sole
        if sole is not None and sha not in self.elsewhere:
            offset = sole.find(sha, oid)
            return None if offset is None else (sole, offset)
        copies = self._copies(sha, oid)
        if len(copies) > 1 and len(self.duplicated) < DUPLICATED_MAX:
            self.duplicated.add(sha)
        return copies[0] if copies else None

    def _copies(self, sha: bytes, oid: str) -> list[tuple[_Pack, int]]:
        """Every pack's copy of ``sha``, in git's order. A pack this process cannot read (git may
        read it: a version-1 index, an index size git accepts) before the first copy: the
        ObjectStoreError has the caller ask git, whose answer stands."""
        copies: list[tuple[_Pack, int]] = []
        for pack in self.packs:
            if not pack.opened():
                if not copies:
                    raise _GitReadsFirst(f"{oid}: {pack.idx_path.name} cannot be read in-process; git reads it first")
                continue
            offset = pack.find(sha, oid)
            if offset is not None:
                copies.append((pack, offset))
        return copies

    def _readable_copies(self, sha: bytes, oid: str) -> Iterator[tuple[_Pack, int]]:
        """The copies of ``sha`` in the packs this process can read, in git's order."""
        for pack in self.packs:
            offset = pack.find(sha, oid)  # None in a pack it cannot read
            if offset is not None:
                yield pack, offset

    def _true_copy(self, sha: bytes, oid: str, kind: int, data: bytes) -> tuple[str, bytes]:
        """Of an id several packs hold, the copy whose content has that id: git reads the first
        copy of its order, or, in a long-running ``cat-file``, the copy in the pack it used last,
        so a pack that claims the id over other bytes must not decide what is scanned. The copy
        in git's order when none matches (what ``git cat-file -p`` shows)."""
        if _object_id(kind, data) == sha:
            return TYPE_NAMES[kind], data
        for pack, offset in self._copies(sha, oid)[1:]:
            try:
                other_kind, other = self._packed_read(pack, offset, oid)
            except ObjectStoreError:
                continue
            if _object_id(other_kind, other) == sha:
                return TYPE_NAMES[other_kind], other
        return TYPE_NAMES[kind], data

    def true_copy(self, oid: str, kind: str, data: bytes) -> bytes | None:
        """For content git gave for ``oid``: None when it is fine (its id matches, or no two packs
        hold ``oid``), else the copy read here (see _true_copy); ``cat-file`` readers ask this."""
        sha = _sha(oid)
        if sha is None or sha not in self.duplicated or kind not in TYPE_NUMBERS:
            return None
        if _object_id(TYPE_NUMBERS[kind], data) == sha:
            return None
        try:
            got = self.read(oid)
        except ObjectStoreError:
            return None
        if got is None or got[0] != kind or _object_id(TYPE_NUMBERS[kind], got[1]) != sha:
            return None
        return got[1]

    def _packed_info(self, pack: _Pack, offset: int, oid: str) -> tuple[str, int]:
        kind, size, pos = pack.header(offset, oid)
        if kind in TYPE_NAMES:
            return TYPE_NAMES[kind], size
        if kind == OFS_DELTA:
            _, pos = pack.ofs_base(offset, pos, oid)
        elif kind == REF_DELTA:
            pos += SHA_LEN
        else:
            raise ObjectStoreError(f"{oid}: {pack.pack_path.name}: unknown entry type {kind} at {offset}")
        size = pack.delta_target_size(pos, oid)
        return self._base_type(pack, offset, oid), size

    def _base_type(self, pack: _Pack, offset: int, oid: str) -> str:
        """The type at the end of a delta chain, walking entry headers only."""
        walked: list[tuple[int, int]] = []
        seen: set[tuple[int, int]] = set()
        while True:
            key = (pack.number, offset)
            known = self.chain_types.get(key)
            if known is None and (cached := self.cache.get(key)) is not None:
                known = cached[0]
            if known is not None:
                kind = known
                break
            if key in seen:
                raise ObjectStoreError(f"{oid}: delta chain loops (a delta is its own base)", final=True)
            seen.add(key)
            walked.append(key)
            kind, _, pos = pack.header(offset, oid)
            if kind in TYPE_NAMES:
                break
            if kind == OFS_DELTA:
                offset, _ = pack.ofs_base(offset, pos, oid)
            elif kind == REF_DELTA:
                base = pack.ref_base(pos, oid)
                found = self._locate(base, oid)
                if found is None:
                    kind = self._loose_type(base.hex(), oid)
                    break
                pack, offset = found
            else:
                raise ObjectStoreError(f"{oid}: {pack.pack_path.name}: unknown entry type {kind} at {offset}")
        if len(self.chain_types) > CHAIN_TYPES_MAX:
            self.chain_types.clear()
        # sibling deltas share most of their chain: the next walk stops where this one passed
        self.chain_types.update(dict.fromkeys(walked, kind))
        return TYPE_NAMES[kind]

    def _loose_type(self, base_oid: str, oid: str) -> int:
        for objects_dir in self.object_dirs:
            loose = _loose_info(objects_dir / base_oid[:2] / base_oid[2:], oid)
            if loose is not None:
                return TYPE_NUMBERS[loose[0]]
        raise ObjectStoreError(f"{oid}: delta base {base_oid} not found")

    def _packed_read(self, pack: _Pack, offset: int, oid: str) -> tuple[int, bytes]:
        # walk down to a cached or whole object, then apply the deltas back up: chains can be
        # thousands deep, so no recursion
        deltas: list[tuple[_Pack, int, int, int]] = []  # pack, offset, delta data position, delta size
        top: bytes | None = None  # the asked-for object's own delta, inflated first for its size
        seen: set[tuple[int, int]] = set()
        key = (pack.number, offset)
        while True:
            cached = self.cache.get(key)
            if cached is not None:
                kind, data = cached  # never over max_bytes: nothing larger is inflated or applied
                break
            if key in seen:
                raise ObjectStoreError(f"{oid}: delta chain loops (a delta is its own base)", final=True)
            seen.add(key)
            kind, size, pos = pack.header(offset, oid)
            if kind in TYPE_NAMES:
                if not deltas and size > self.max_bytes:  # nothing is inflated for an object too large
                    raise ObjectTooLarge(oid, size, self.max_bytes)
                data = pack.inflate(pos, size, oid, self.max_bytes)
                # cached even when read for itself: histories are read newest first, and older
                # versions are deltas against the newer ones
                self.cache.put(key, kind, data)
                break
            base: bytes | None = None
            if kind == OFS_DELTA:
                base_offset, pos = pack.ofs_base(offset, pos, oid)
            elif kind == REF_DELTA:
                base, pos = pack.ref_base(pos, oid), pos + SHA_LEN
            else:
                raise ObjectStoreError(f"{oid}: {pack.pack_path.name}: unknown entry type {kind} at {offset}")
            if not deltas:
                # the asked-for object's own delta says how large it is: checked before any base is
                # read (and inflated now, while its header's read still holds it: applying needs it)
                top = pack.inflate(pos, size, oid, self.max_bytes)
                target = _varint(top, _varint(top, 0, oid)[1], oid)[0]
                if target > self.max_bytes:
                    raise ObjectTooLarge(oid, target, self.max_bytes)
            deltas.append((pack, offset, pos, size))
            if base is None:
                offset = base_offset
            else:
                found = self._locate(base, oid)
                if found is None:
                    loose = self._loose_read(base.hex())
                    if loose is None:
                        raise ObjectStoreError(f"{oid}: delta base {base.hex()} not found")
                    kind, data = TYPE_NUMBERS[loose[0]], loose[1]
                    break
                pack, offset = found
            key = (pack.number, offset)
        for number, (delta_pack, delta_offset, pos, size) in enumerate(reversed(deltas), 1):
            delta = top if number == len(deltas) and top is not None else \
                delta_pack.inflate(pos, size, oid, self.max_bytes)
            data = _apply_delta(data, delta, oid, self.max_bytes, self.fast)
            self.cache.put((delta_pack.number, delta_offset), kind, data)
        return kind, data

    def _loose_read(self, oid: str, asked: bool = False) -> tuple[str, bytes] | None:
        """``asked``: the object itself, not a delta base: over the size limit, it is not read."""
        for objects_dir in self.object_dirs:
            try:
                with open(objects_dir / oid[:2] / oid[2:], "rb") as file:
                    if asked:
                        _, size = _loose_header(file, oid)
                        if size > self.max_bytes:
                            raise ObjectTooLarge(oid, size, self.max_bytes)
                        file.seek(0)
                    raw = file.read()
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                raise ObjectStoreError(f"{oid}: cannot read loose object ({exc.strerror})") from None
            except zlib.error as exc:
                raise ObjectStoreError(f"{oid}: bad zlib data in loose object ({exc})") from None
            return _parse_loose(raw, oid, self.max_bytes)
        return None


def _object_id(kind: int, data: bytes) -> bytes:
    """The SHA-1 object id of content of type ``kind``."""
    digest = hashlib.sha1(b"%s %d\0" % (TYPE_NAMES[kind].encode(), len(data)), usedforsecurity=False)
    digest.update(data)
    return digest.digest()


def _sha(oid: str) -> bytes | None:
    if len(oid) != 2 * SHA_LEN:
        return None
    try:
        return bytes.fromhex(oid)
    except ValueError:
        return None


def _varint(data: bytes, pos: int, oid: str) -> tuple[int, int]:
    """A delta header size: 7 bits a byte, least significant first."""
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ObjectStoreError(f"{oid}: truncated delta header")
        c = data[pos]
        pos += 1
        value |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return value, pos


def _fast_delta(fast: FastDelta, base: bytes, delta: bytes, target_at: int, body: int,
                target_size: int) -> bytes | None:
    """The compiled applier's result when git would give the same; None leaves the delta to Python.

    dulwich applies deltas as git once did: it stops at the first instruction it refuses, and
    keeps the result when that instruction was the last and the result already complete. Current
    git refuses such a delta (so does the Python loop). So the delta is applied once, as a probe:
    with PROBE_INSERT's 127 bytes more announced, and PROBE_INSERT (an insert of 127 zero bytes)
    appended. A probe that ends complete ran the delta's own instructions exactly up to its end,
    each within the announced size, as git does: an instruction left truncated by the delta would
    take some of the probe's bytes as its own (an insert takes at most 127, a copy 7), and
    parsing would then stop at a zero byte, the reserved instruction both refuse.
    """
    try:
        # the target size (at ``target_at``, instructions from ``body``) is the only header change
        probe = b"".join((delta[:target_at], _size_varint(target_size + PROBE_BYTES), memoryview(delta)[body:],
                          PROBE_INSERT))
        replayed = b"".join(fast(base, probe))  # one part: the join returns it without a copy
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - a damaged delta, or the accelerator failing (a Rust panic is
        return None  # a BaseException): the loop says why
    if len(replayed) != target_size + PROBE_BYTES or replayed[target_size:] != PROBE_INSERT[1:]:
        return None
    return replayed[:target_size]


def _size_varint(value: int) -> bytes:
    """A delta header size, encoded as ``_varint`` reads it."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if not value:
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def _apply_delta(base: bytes, delta: bytes, oid: str, max_bytes: int, fast: FastDelta | None = None) -> bytes:
    """git's delta format: sizes, then copy-from-base and insert-literal instructions.

    ``fast``: a compiled applier, given only deltas whose sizes passed the checks here (no result
    past ``max_bytes``) and trusted only for a result of the announced size; anything else it
    does, raising included, leaves the delta to the Python loop, whose answer or error stands.
    """
    source_size, at = _varint(delta, 0, oid)
    target_size, pos = _varint(delta, at, oid)
    if target_size > max_bytes:  # a few bytes of copy instructions can claim terabytes
        raise ObjectStoreError(f"{oid}: delta result of {target_size} bytes is over the {max_bytes >> 20} MiB limit")
    if source_size != len(base):
        raise ObjectStoreError(f"{oid}: delta expects a {source_size}-byte base, got {len(base)}")
    if fast is not None:
        result = _fast_delta(fast, base, delta, at, pos, target_size)
        if result is not None:
            return result
    source = memoryview(base)
    literal = memoryview(delta)
    parts: list[memoryview] = []  # joined once at the end: one copy of the result
    got = 0
    end = len(delta)
    try:
        while pos < end:
            c = delta[pos]
            pos += 1
            if c & 0x80:  # copy: flag bits pick which offset/size bytes follow (unrolled: the hot loop)
                start = length = 0
                if c & 0x01:
                    start = delta[pos]
                    pos += 1
                if c & 0x02:
                    start |= delta[pos] << 8
                    pos += 1
                if c & 0x04:
                    start |= delta[pos] << 16
                    pos += 1
                if c & 0x08:
                    start |= delta[pos] << 24
                    pos += 1
                if c & 0x10:
                    length = delta[pos]
                    pos += 1
                if c & 0x20:
                    length |= delta[pos] << 8
                    pos += 1
                if c & 0x40:
                    length |= delta[pos] << 16
                    pos += 1
                if length == 0:
                    length = 0x10000
                if start + length > source_size:
                    raise ObjectStoreError(f"{oid}: delta copies beyond its base")
                parts.append(source[start:start + length])
            elif c:
                length = c
                if pos + length > end:
                    raise ObjectStoreError(f"{oid}: delta inserts beyond its end")
                parts.append(literal[pos:pos + length])
                pos += length
            else:
                raise ObjectStoreError(f"{oid}: delta has a reserved zero instruction")
            got += length
            if got > target_size:
                raise ObjectStoreError(f"{oid}: delta result larger than {target_size} bytes")
    except IndexError:
        raise ObjectStoreError(f"{oid}: truncated delta instruction") from None
    if got != target_size:
        raise ObjectStoreError(f"{oid}: delta result is {got} bytes, expected {target_size}")
    return b"".join(parts)


def _parse_header(head: bytes, oid: str) -> tuple[str, int, int] | None:
    """(type, size, content start) of a loose object's "<type> <size>\\0"; None if incomplete."""
    nul = head.find(b"\0", 0, LOOSE_HEADER_MAX)
    if nul < 0:
        if len(head) >= LOOSE_HEADER_MAX:
            raise ObjectStoreError(f"{oid}: bad loose object header")
        return None
    kind, _, size = head[:nul].partition(b" ")
    name = kind.decode("ascii", "replace")
    if name not in TYPE_NUMBERS or not size.isdigit():
        raise ObjectStoreError(f"{oid}: bad loose object header")
    return name, int(size), nul + 1


def _parse_loose(raw: bytes, oid: str, max_bytes: int) -> tuple[str, bytes]:
    """(type, content) of a loose object file, inflating no more than its header's size (<= max_bytes)."""
    inflater = zlib.decompressobj()
    try:
        head = inflater.decompress(raw, LOOSE_HEADER_MAX)
        header = _parse_header(head, oid)
        if header is None:
            raise ObjectStoreError(f"{oid}: bad loose object header")
        name, size, start = header
        if size > max_bytes:
            raise ObjectStoreError(f"{oid}: loose object of {size} bytes is over the {max_bytes >> 20} MiB limit")
        got = len(head) - start
        if got > size:
            raise ObjectStoreError(f"{oid}: loose object is longer than its header says")
        # one byte more than the header allows: a longer stream is caught without inflating it all
        body = head[start:] + inflater.decompress(inflater.unconsumed_tail, size + 1 - got)
    except zlib.error as exc:
        raise ObjectStoreError(f"{oid}: bad zlib data in loose object ({exc})") from None
    if len(body) != size or not inflater.eof:
        raise ObjectStoreError(f"{oid}: loose object is not {size} bytes as its header says")
    return name, body


def _loose_info(path: Path, oid: str) -> tuple[str, int] | None:
    """Type and size of a loose object, inflating only its header."""
    try:
        with open(path, "rb") as file:
            return _loose_header(file, oid)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise ObjectStoreError(f"{oid}: cannot read loose object ({exc.strerror})") from None
    except zlib.error as exc:
        raise ObjectStoreError(f"{oid}: bad zlib data in loose object ({exc})") from None


def _loose_header(file: BinaryIO, oid: str) -> tuple[str, int]:
    inflater = zlib.decompressobj()
    head = b""
    while True:
        # with the output capped, unread input waits in unconsumed_tail
        chunk = inflater.unconsumed_tail or file.read(LOOSE_READ)
        if not chunk:
            raise ObjectStoreError(f"{oid}: truncated loose object")
        head += inflater.decompress(chunk, LOOSE_HEADER_MAX - len(head))
        header = _parse_header(head, oid)  # raises once LOOSE_HEADER_MAX bytes hold no header
        if header is not None:
            return header[0], header[1]
        if inflater.eof:
            raise ObjectStoreError(f"{oid}: bad loose object header")


def _object_format(config: Path) -> str:
    """``extensions.objectFormat`` from a repository's config; "sha1" when unset or unreadable."""
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "sha1"
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            close = line.find("]")
            if close < 0:
                continue
            section = line[1:close].strip().lower()
            line = line[close + 1:].strip()  # git allows "[section] key = value" on one line
        if section != "extensions" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        if key.strip().lower() == "objectformat":
            value = value.split("#")[0].split(";")[0].strip().strip('"').lower()
            return value or "sha1"
    return "sha1"


def alternate_dirs(objects_dir: Path) -> list[Path]:
    """The object directories ``objects_dir`` borrows from (its alternates, theirs, ...)."""
    return _object_dirs(objects_dir)[1:]


def _object_dirs(objects_dir: Path) -> list[Path]:
    """This objects dir, then its alternates in git's order (object-file.c ``link_alt_odb_entry``):
    each alternate followed at once by its own (depth first), a path taken as written (C-quoted
    when it starts with a quote), relative to the dir whose file names it, normalised, once
    each, and files nested deeper than MAX_ALTERNATE_DEPTH ignored. The order decides which
    loose copy is read and how packs tie (see ObjectStore._scan_packs), so it must be git's."""
    found = [objects_dir]
    seen = {os.path.realpath(objects_dir)}

    def link(base: Path, depth: int) -> None:
        if depth > MAX_ALTERNATE_DEPTH:
            return
        try:
            text = (base / "info" / "alternates").read_bytes().decode("utf-8", "surrogateescape")
        except OSError:
            return
        for line in text.split("\n"):
            if not line or line.startswith("#"):
                continue
            entry = _unquote(line) if line.startswith('"') else None
            path = Path(line if entry is None else entry)
            real = os.path.realpath(path if path.is_absolute() else Path(os.path.realpath(base)) / path)
            if real in seen or not os.path.isdir(real):
                continue
            seen.add(real)
            found.append(Path(real))
            link(Path(real), depth + 1)

    link(objects_dir, 0)
    return found


C_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}


def _unquote(line: str) -> str | None:
    """A C-quoted path as git's ``unquote_c_style`` reads it; None when the quoting is broken
    (git then takes the line as written)."""
    out: list[str] = []
    at = 1
    while at < len(line):
        char = line[at]
        at += 1
        if char == '"':
            return "".join(out)
        if char != "\\":
            out.append(char)
            continue
        if at >= len(line):
            return None
        char = line[at]
        at += 1
        if char in C_ESCAPES:
            out.append(C_ESCAPES[char])
        elif char in "0123":  # three octal digits: one byte
            digits = line[at - 1:at + 2]
            if len(digits) != 3 or any(d not in "01234567" for d in digits):
                return None
            out.append(bytes([int(digits, 8)]).decode("utf-8", "surrogateescape"))
            at += 2
        else:
            return None
    return None
