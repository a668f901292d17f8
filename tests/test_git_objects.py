"""The in-process object reader against ``git cat-file`` on real repositories built with the git CLI."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.sources import git_objects
from scanner.sources.git_objects import NO_FAST_DELTAS_ENV, ObjectStore, ObjectStoreError, fast_deltas
from tests.helpers import GIT_ENV, commit, git, init_repo

TYPES = {"commit": 1, "tree": 2, "blob": 3, "tag": 4}


def git_bytes(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    done = subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, input=input,
                          capture_output=True, check=True)
    return done.stdout


def all_objects(repo: Path) -> list[tuple[str, str, int]]:
    out = git_bytes(repo, "cat-file", "--batch-all-objects", "--batch-check").decode()
    return [(oid, kind, int(size)) for oid, kind, size in (line.split() for line in out.splitlines())]


def cat_file_batch(repo: Path, oids: list[str]) -> dict[str, tuple[str, bytes]]:
    out = git_bytes(repo, "cat-file", "--batch", input="".join(f"{oid}\n" for oid in oids).encode())
    found: dict[str, tuple[str, bytes]] = {}
    pos = 0
    while pos < len(out):
        eol = out.index(b"\n", pos)
        oid, kind, size = out[pos:eol].decode().split()
        start = eol + 1
        found[oid] = (kind, out[start:start + int(size)])
        pos = start + int(size) + 1
    return found


def open_store(objects_dir: Path) -> ObjectStore:
    store = ObjectStore.open(objects_dir)
    assert store is not None
    return store


def assert_same_as_git(repo: Path) -> int:
    """Every object git sees: info() and read() agree with cat-file. Returns the object count."""
    listed = all_objects(repo)
    expected = cat_file_batch(repo, [oid for oid, _, _ in listed])
    with open_store(repo / ".git" / "objects") as store:
        for oid, kind, size in listed:
            assert store.info(oid) == (kind, size), oid
            assert store.read(oid) == expected[oid], oid
    return len(listed)


def pack_entry_types(repo: Path) -> set[int]:
    """The entry types (1-4, 6 OFS_DELTA, 7 REF_DELTA) used in the repository's packs."""
    store = open_store(repo / ".git" / "objects")
    kinds = set()
    with store:
        for oid, _, _ in all_objects(repo):
            found = store._locate(bytes.fromhex(oid), oid)
            if found is not None:
                pack, offset = found
                kinds.add(pack.header(offset, oid)[0])
    return kinds


def max_chain_length(repo: Path) -> int:
    lengths = [0]
    for pack_idx in (repo / ".git" / "objects" / "pack").glob("*.idx"):
        for line in git(repo, "verify-pack", "-s", str(pack_idx)).splitlines():
            if line.startswith("chain length = "):
                lengths.append(int(line.split("=")[1].split(":")[0]))
    return max(lengths)


def counts(repo: Path) -> dict[str, int]:
    return {key: int(value) for key, value in
            (line.split(": ") for line in git(repo, "count-objects", "-v").splitlines()) if value.isdigit()}


def small_history(repo: Path) -> None:
    """A few commits with a binary file, an empty file, a subdirectory, a deletion and an annotated tag."""
    init_repo(repo)
    commit(repo, {"README.md": "hello\n", "empty.txt": "", "src/app.py": "print('hi')\n"}, "one")
    (repo / "blob.bin").write_bytes(bytes(range(256)) * 64 + os.urandom(300))
    commit(repo, {"src/app.py": "print('hello')\n", "README.md": None}, "two")
    git(repo, "tag", "-a", "v1", "-m", "release one")


def edited_file_history(repo: Path, edits: int = 60) -> None:
    """One text file edited line by line: each version is nearest to the previous one, so deltas chain."""
    init_repo(repo)
    lines = [f"setting_{i} = value {i} with some padding text\n" for i in range(edits + 20)]
    for i in range(edits):
        lines[i] = f"setting_{i} = edited in commit {i}\n"
        commit(repo, {"settings.txt": "".join(lines), f"notes/{i % 5}.txt": f"note {i}\n" * (i + 1)}, f"edit {i}")


# -- hand-written packs: shapes git never writes (cross-pack REF_DELTA bases, damaged deltas) ----

def object_id(kind: str, data: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind.encode(), len(data)) + data).hexdigest()


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def make_delta(base: bytes, target: bytes) -> bytes:
    """Copy the common prefix (<= 64 KiB), insert the rest."""
    lo, hi = 0, min(len(base), len(target), 0xFFFF)
    while lo < hi:  # longest common prefix, by bisection
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if base[:mid] == target[:mid] else (lo, mid - 1)
    common = lo
    out = bytearray(varint(len(base)) + varint(len(target)))
    if common:
        out += bytes([0x80 | 0x10 | 0x20]) + struct.pack("<H", common)  # offset 0, 2 size bytes
    rest = target[common:]
    for start in range(0, len(rest), 0x7F):
        piece = rest[start:start + 0x7F]
        out += bytes([len(piece)]) + piece
    return bytes(out)


def entry_header(kind: int, size: int) -> bytes:
    out = bytearray([(kind << 4) | (size & 0x0F)])
    size >>= 4
    while size:
        out[-1] |= 0x80
        out.append(size & 0x7F)
        size >>= 7
    return bytes(out)


def ofs_encode(relative: int) -> bytes:
    out = [relative & 0x7F]
    relative >>= 7
    while relative:
        relative -= 1
        out.insert(0, 0x80 | (relative & 0x7F))
        relative >>= 7
    return bytes(out)


def write_pack(objects_dir: Path, entries: list[tuple[str, int, bytes, bytes]],
               hidden: frozenset[str] = frozenset()) -> Path:
    """A pack and its version-2 index from (oid, entry type, prefix after the header, payload) entries.

    ``prefix`` is the REF_DELTA base id, or for OFS_DELTA the base's oid (replaced by its encoded
    offset here); the payload is zlib-compressed. ``hidden`` entries are in the pack but not in
    its index (reachable only as an OFS_DELTA base: git reads a header wherever one points).
    """
    body = bytearray(b"PACK" + struct.pack(">II", 2, len(entries) - len(hidden)))
    offsets: dict[str, int] = {}
    crcs: dict[str, int] = {}
    for oid, kind, prefix, payload in entries:
        offsets[oid] = len(body)
        if kind == 6:
            prefix = ofs_encode(len(body) - offsets[prefix.decode()])
        raw = entry_header(kind, len(payload)) + prefix + zlib.compress(payload)
        crcs[oid] = zlib.crc32(raw)
        body += raw
    pack_sha = hashlib.sha1(body).digest()
    body += pack_sha
    ids = sorted(set(offsets) - hidden)
    fanout = [sum(1 for oid in ids if int(oid[:2], 16) <= first) for first in range(256)]
    idx = bytearray(b"\377tOc" + struct.pack(">I", 2) + struct.pack(">256I", *fanout))
    idx += b"".join(bytes.fromhex(oid) for oid in ids)
    idx += b"".join(struct.pack(">I", crcs[oid]) for oid in ids)
    idx += b"".join(struct.pack(">I", offsets[oid]) for oid in ids)
    idx += pack_sha
    idx += hashlib.sha1(idx).digest()
    pack_dir = objects_dir / "pack"
    pack_dir.mkdir(parents=True, exist_ok=True)
    name = f"pack-{pack_sha.hex()}"
    (pack_dir / f"{name}.pack").write_bytes(bytes(body))
    (pack_dir / f"{name}.idx").write_bytes(bytes(idx))
    return pack_dir / f"{name}.pack"


def loose_blob(repo: Path, data: bytes) -> str:
    return git_bytes(repo, "hash-object", "-w", "--stdin", input=data).decode().strip()


# -- real repositories ---------------------------------------------------------------------------

APPLIERS = ["compiled", "python"]


@pytest.fixture(params=APPLIERS)
def applier(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with the compiled delta applier (the test extra installs it) and without it."""
    if request.param == "python":
        monkeypatch.setenv(NO_FAST_DELTAS_ENV, "1")
    else:
        monkeypatch.delenv(NO_FAST_DELTAS_ENV, raising=False)
        assert fast_deltas() is not None, "the test extra installs dulwich: its compiled delta applier is tested"
    return str(request.param)


def test_real_deltas_read_like_git_with_either_applier(tmp_path: Path, applier: str, inflater: str) -> None:
    repo = tmp_path / "repo"
    edited_file_history(repo)
    (repo / "big.bin").write_bytes(os.urandom(3 << 20))  # inflated in several slices
    commit(repo, {"settings.txt": "final\n"}, "big")
    git(repo, "gc", "-q", "--aggressive")
    assert {6} <= pack_entry_types(repo) and max_chain_length(repo) > 5
    with open_store(repo / ".git" / "objects") as store:
        assert (store.fast is not None) == (applier == "compiled")
        assert (store.zlib is zlib) == (inflater == "zlib")
    assert assert_same_as_git(repo) > 100


def _instruction(draw: st.DrawFn, base_size: int) -> tuple[bytes, int]:
    """One delta instruction and the bytes it makes: mostly valid for a base of ``base_size``
    bytes, sometimes not (copies past the base, short inserts, a reserved zero, truncation)."""
    kind = draw(st.sampled_from(["copy", "copy", "insert", "zero", "truncated"]))
    if kind == "insert":
        length = draw(st.integers(1, 0x7F))
        return bytes([length]) + draw(st.binary(min_size=max(0, length - 2), max_size=length)), length
    if kind == "zero":
        return b"\0", 0
    start = draw(st.integers(0, base_size + 4))
    length = draw(st.integers(1, max(1, base_size - start) + 4))
    encoded = bytes([0x80 | 0x01 | 0x02 | 0x10 | 0x20]) + struct.pack("<HH", start, length)
    return (encoded[:draw(st.integers(1, 4))], 0) if kind == "truncated" else (encoded, length)


@st.composite
def deltas(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """(base, delta) pairs whose announced sizes are usually right, sometimes not."""
    base = draw(st.binary(max_size=300))
    instructions = [_instruction(draw, len(base)) for _ in range(draw(st.integers(0, 12)))]
    made = sum(length for _, length in instructions)
    source = len(base) + draw(st.sampled_from([0, 0, 0, 1]))
    # what all instructions make, what all but the last make (complete before a last one git
    # refuses: the shape dulwich alone accepts), or anything
    last = instructions[-1][1] if instructions else 0
    target = draw(st.sampled_from([made, made, made - last, -1]))
    target = draw(st.integers(0, 2000)) if target < 0 else target
    return base, varint(source) + varint(target) + b"".join(code for code, _ in instructions)


@settings(max_examples=400, deadline=None)
@given(deltas())
def test_compiled_and_python_deltas_agree(case: tuple[bytes, bytes]) -> None:
    """Same result, or the same error, for valid and damaged deltas alike."""
    base, delta = case
    fast = fast_deltas()
    assert fast is not None, "the test extra installs dulwich: its compiled delta applier is tested"

    def apply(with_fast: object) -> bytes | str:
        try:
            return git_objects._apply_delta(base, delta, "x" * 40, 1 << 20, with_fast)  # type: ignore[arg-type]
        except ObjectStoreError as exc:
            return f"error: {exc}"

    assert apply(fast) == apply(None)


def test_an_instruction_truncated_at_the_deltas_end_cannot_borrow_the_probes_bytes() -> None:
    """The compiled applier runs each delta once, with a probe appended. An insert or a copy the
    delta leaves truncated at its end would read the probe's bytes as its own; whatever size the
    delta announces, the answer stays git's (the Python loop's), never a result the probe made."""
    fast = fast_deltas()
    assert fast is not None, "the test extra installs dulwich: its compiled delta applier is tested"
    base = bytes(range(256)) * 2  # holds zeros, "J" and every other byte a probe could end with
    lead = bytes([0x90 | 0x01, 0, 40])  # a valid copy of 40 bytes first
    # every length an insert can leave missing, so a shorter probe than PROBE_INSERT would be eaten whole
    shapes = [bytes([n]) + bytes([0xB3]) * have for n in range(1, 128) for have in {0, n - 1}]
    shapes += [opcode.to_bytes(1, "big") + bytes([1]) * have
               for opcode in (0x81, 0x90, 0x91, 0xB3, 0xF0, 0xFF) for have in range(bin(opcode).count("1") - 1)]
    shapes.append(bytes([1, 0xB3, 1, 0, 3, 0]))  # a case that fooled a 2-byte probe (insert 1 of "J")
    compared = 0
    for shape in shapes:
        for target in sorted({*range(38, 48), *range(160, 175), 40 + 127, 40 + 128, 40 + 129}):
            delta = varint(len(base)) + varint(target) + lead + shape

            def apply(with_fast: object, delta: bytes = delta) -> bytes | str:
                try:
                    return git_objects._apply_delta(base, delta, "x" * 40, 1 << 20, with_fast)  # type: ignore[arg-type]
                except ObjectStoreError as exc:
                    return f"error: {exc}"

            assert apply(fast) == apply(None), (shape, target)
            compared += 1
    assert compared > 3000


@pytest.mark.parametrize("failure", ["raises", "short", "long"])
def test_a_failing_compiled_applier_leaves_the_answer_to_python(failure: str) -> None:
    """The accelerator failing costs speed, never answers: its result is used only when it is the
    announced size, and any exception it raises is not the caller's."""
    base = b"base content\n" * 10
    target = base + b"tail\n"
    good = make_delta(base, target)
    damaged = varint(len(base)) + varint(8) + bytes([0x80 | 0x01 | 0x10, 0xF0, 8])  # copies beyond its base

    def broken(_base: bytes, _delta: bytes) -> list[bytes]:
        if failure == "raises":
            raise MemoryError("accelerator failed")
        return [b"x" * (len(target) + (1 if failure == "long" else -1))]

    assert git_objects._apply_delta(base, good, "a" * 40, 1 << 20, broken) == target
    with pytest.raises(ObjectStoreError, match="copies beyond its base"):
        git_objects._apply_delta(base, damaged, "a" * 40, 1 << 20, broken)


def test_sizes_are_checked_before_the_compiled_applier_sees_a_delta() -> None:
    """A few bytes can claim a terabyte result: the limit is checked first, so the applier never
    allocates what the delta claims."""
    called: list[bytes] = []

    def spy(base: bytes, delta: bytes) -> list[bytes]:
        called.append(delta)
        return [b""]

    huge = varint(4) + varint(1 << 40) + bytes([0x80 | 0x10 | 0x20 | 0x40, 0xFF, 0xFF, 0xFF])
    with pytest.raises(ObjectStoreError, match="over the 1 MiB limit"):
        git_objects._apply_delta(b"base", huge, "a" * 40, 1 << 20, spy)
    with pytest.raises(ObjectStoreError, match="expects a 5-byte base"):
        git_objects._apply_delta(b"base", varint(5) + varint(4) + bytes([0x90, 4]), "a" * 40, 1 << 20, spy)
    assert called == []

def test_loose_objects_only(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    small_history(repo)
    assert counts(repo)["in-pack"] == 0
    assert assert_same_as_git(repo) > 10


def test_fully_packed_after_aggressive_gc_with_deep_ofs_delta_chains(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    edited_file_history(repo)
    # long unchanged runs: git's deltas copy them 64 KiB at a time (an encoded copy size of 0)
    rng = random.Random(7)
    big = "".join(f"row {i} {rng.random()}\n" for i in range(12_000))
    commit(repo, {"big.txt": big}, "big file")
    commit(repo, {"big.txt": "new first line\n" + big + "new last line\n"}, "big file edited")
    git(repo, "gc", "-q", "--aggressive")
    assert counts(repo)["count"] == 0
    assert max_chain_length(repo) >= 20
    assert 6 in pack_entry_types(repo)
    assert assert_same_as_git(repo) > 180


def test_delta_chain_thousands_deep(tmp_path: Path) -> None:
    """Resolved without recursion; git reads the same hand-written pack."""
    repo = init_repo(tmp_path / "repo")
    objects = repo / ".git" / "objects"
    lines = [f"line {i}\n".encode() for i in range(3000)]
    versions = [b"".join(lines[:i + 1]) for i in range(3000)]
    oids = [object_id("blob", data) for data in versions]
    entries = [(oids[0], 3, b"", versions[0])]
    entries += [(oids[i], 6, oids[i - 1].encode(), make_delta(versions[i - 1], versions[i]))
                for i in range(1, len(versions))]
    write_pack(objects, entries)
    with open_store(objects) as store:
        assert store.info(oids[-1]) == ("blob", len(versions[-1]))
        assert store.read(oids[-1]) == ("blob", versions[-1])
        assert store.read(oids[1500]) == ("blob", versions[1500])
    assert git_bytes(repo, "cat-file", "blob", oids[-1]) == versions[-1]
    assert assert_same_as_git(repo) == 3000


def test_ref_delta_pack(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    edited_file_history(repo, edits=30)
    listing = git_bytes(repo, "rev-list", "--objects", "--all")
    # without --delta-base-offset, pack-objects names every base by id: REF_DELTA entries
    pack = git_bytes(repo, "pack-objects", "-q", "--no-reuse-delta", "--window=10", "--stdout", input=listing)
    git_bytes(repo, "index-pack", "--stdin", input=pack)
    git(repo, "prune-packed")
    assert counts(repo)["count"] == 0
    kinds = pack_entry_types(repo)
    assert 7 in kinds and 6 not in kinds
    assert assert_same_as_git(repo) > 90


def test_several_packs_plus_loose_objects(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    edited_file_history(repo, edits=12)
    git(repo, "repack", "-q", "-d")
    commit(repo, {"settings.txt": "rewritten\n" * 50, "extra.txt": "more\n"}, "after first pack")
    git(repo, "repack", "-q")  # a second, incremental pack
    commit(repo, {"settings.txt": "rewritten again\n" * 50}, "loose")
    assert len(list((repo / ".git" / "objects" / "pack").glob("*.pack"))) == 2
    assert counts(repo)["count"] > 0
    assert assert_same_as_git(repo) > 40


def test_large_blobs(tmp_path: Path) -> None:
    """A blob far larger than its compressed form, and one whose compressed form spans several 1 MiB slices."""
    repo = tmp_path / "repo"
    init_repo(repo)
    text = "".join(f"the same long line, number {i % 1000}\n" for i in range(200_000))
    rng = random.Random(3)
    noise = "".join(f"{rng.getrandbits(64)} {rng.random()}\n" for i in range(120_000))
    commit(repo, {"big.txt": text, "noise.txt": noise})
    commit(repo, {"big.txt": text + "one more line\n"})
    git(repo, "gc", "-q")
    (pack,) = (repo / ".git" / "objects" / "pack").glob("*.pack")
    assert pack.stat().st_size > 2 << 20
    assert assert_same_as_git(repo) == 7


def test_alternates_of_a_shared_clone(tmp_path: Path) -> None:
    source = tmp_path / "source"
    edited_file_history(source, edits=10)
    git(source, "gc", "-q")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--shared", str(source), str(clone))
    commit(clone, {"settings.txt": "only in the clone\n"}, "clone commit")
    assert (clone / ".git" / "objects" / "info" / "alternates").is_file()
    assert assert_same_as_git(clone) > assert_same_as_git(source)


def test_alternates_relative_path_and_cycle(tmp_path: Path) -> None:
    source = tmp_path / "source"
    small_history(source)
    git(source, "gc", "-q")
    other = init_repo(tmp_path / "other")
    info = other / ".git" / "objects" / "info"
    info.mkdir(exist_ok=True)
    (info / "alternates").write_text("# shared objects\n\n../../../source/.git/objects\n")
    # and back again: a cycle must not loop
    (source / ".git" / "objects" / "info" / "alternates").write_text(f"{other / '.git' / 'objects'}\n")
    assert assert_same_as_git(other) == assert_same_as_git(source)


def test_info_of_deltas_does_not_apply_the_chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    edited_file_history(repo, edits=20)
    git(repo, "gc", "-q", "--aggressive")
    import scanner.sources.git_objects as module

    def no_apply(*args: object) -> bytes:
        raise AssertionError("info applied a delta")

    monkeypatch.setattr(module, "_apply_delta", no_apply)
    with open_store(repo / ".git" / "objects") as store:
        for oid, kind, size in all_objects(repo):
            assert store.info(oid) == (kind, size)


def test_missing_and_malformed_ids_are_none(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    small_history(repo)
    git(repo, "repack", "-q", "-d")
    commit(repo, {"loose.txt": "loose\n"})
    missing = hashlib.sha1(os.urandom(16)).hexdigest()
    with open_store(repo / ".git" / "objects") as store:
        for oid in (missing, "0" * 40, "f" * 40, "", "abc", "z" * 40, missing[:39]):
            assert store.info(oid) is None
            assert store.read(oid) is None


def test_empty_repository(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    with open_store(repo / ".git" / "objects") as store:
        assert store.read(hashlib.sha1(b"x").hexdigest()) is None
    assert assert_same_as_git(repo) == 0


def test_no_objects_directory(tmp_path: Path) -> None:
    assert ObjectStore.open(tmp_path / "nowhere" / "objects") is None


def test_sha256_repository_is_left_to_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "--object-format=sha256")
    commit(repo, {"a.txt": "a\n"})
    assert ObjectStore.open(repo / ".git" / "objects") is None


def test_large_offset_table(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    edited_file_history(repo, edits=10)
    git(repo, "gc", "-q")
    (pack,) = (repo / ".git" / "objects" / "pack").glob("*.pack")
    idx = pack.with_suffix(".idx")
    idx.chmod(0o644)
    idx.unlink()
    git(repo, "index-pack", "--index-version=2,0x20", str(pack))  # offsets above 32 go to the 8-byte table
    assert assert_same_as_git(repo) > 30


def test_version_1_index_is_ignored(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    small_history(repo)
    git(repo, "gc", "-q")
    (pack,) = (repo / ".git" / "objects" / "pack").glob("*.pack")
    idx = pack.with_suffix(".idx")
    idx.chmod(0o644)
    idx.unlink()
    git(repo, "index-pack", "--index-version=1", str(pack))
    with open_store(repo / ".git" / "objects") as store:
        for oid, _, _ in all_objects(repo):
            assert store.info(oid) is None and store.read(oid) is None


def test_idx_without_pack_and_pack_without_idx_are_skipped(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    small_history(repo)
    git(repo, "gc", "-q")
    pack_dir = repo / ".git" / "objects" / "pack"
    (pack_dir / ("pack-" + "1" * 40 + ".idx")).write_bytes(b"\377tOc junk")
    (pack_dir / ("pack-" + "2" * 40 + ".pack")).write_bytes(b"PACK junk")
    assert assert_same_as_git(repo) > 10


def test_pack_vanishing_before_it_is_mapped(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    small_history(repo)
    git(repo, "gc", "-q")
    listed = all_objects(repo)
    store = open_store(repo / ".git" / "objects")
    for path in (repo / ".git" / "objects" / "pack").iterdir():
        path.unlink()
    with store:
        assert all(store.read(oid) is None for oid, _, _ in listed)


def test_objects_packed_after_open_are_found(tmp_path: Path) -> None:
    """A concurrent gc moves loose objects into a new pack: the store looks for new packs on a miss."""
    repo = tmp_path / "repo"
    small_history(repo)
    listed = all_objects(repo)
    reader = open_store(repo / ".git" / "objects")
    sizer = open_store(repo / ".git" / "objects")
    git(repo, "gc", "-q")
    assert counts(repo)["count"] == 0
    expected = cat_file_batch(repo, [oid for oid, _, _ in listed])
    with reader, sizer:
        for oid, kind, size in listed:
            assert reader.read(oid) == expected[oid]
            assert sizer.info(oid) == (kind, size)


def test_ref_delta_bases_in_another_pack_or_loose(tmp_path: Path) -> None:
    """Shapes git does not write but the format allows: REF_DELTA bases outside the delta's pack."""
    repo = init_repo(tmp_path / "repo")
    objects = repo / ".git" / "objects"
    loose_base = b"a loose base\n" * 20
    packed_base = b"a packed base\n" * 20
    from_loose = loose_base + b"plus a tail\n"
    from_packed = packed_base + b"plus another tail\n"
    on_delta = from_loose + b"and one more line\n"
    loose_oid = loose_blob(repo, loose_base)
    packed_oid = object_id("blob", packed_base)
    write_pack(objects, [(packed_oid, 3, b"", packed_base)])
    ids = {data: object_id("blob", data) for data in (from_loose, from_packed, on_delta)}
    write_pack(objects, [
        (ids[from_loose], 7, bytes.fromhex(loose_oid), make_delta(loose_base, from_loose)),
        (ids[from_packed], 7, bytes.fromhex(packed_oid), make_delta(packed_base, from_packed)),
        (ids[on_delta], 7, bytes.fromhex(ids[from_loose]), make_delta(from_loose, on_delta)),
    ])
    with open_store(objects) as store:
        for data, oid in ids.items():
            assert store.info(oid) == ("blob", len(data))
            assert store.read(oid) == ("blob", data)
        assert store.read(packed_oid) == ("blob", packed_base)
        assert store.read(loose_oid) == ("blob", loose_base)


def test_a_delta_git_refuses_is_refused_by_either_applier(tmp_path: Path, applier: str) -> None:
    """dulwich (like git once did) stops at an instruction it refuses and keeps the result when
    that was the last one and the result was complete; current git refuses the delta, and so do we."""
    repo = init_repo(tmp_path / "repo")
    objects = repo / ".git" / "objects"
    base = b"base content\n" * 10
    base_oid = object_id("blob", base)
    complete = varint(len(base)) + varint(4) + bytes([0x90, 4])  # copies the first 4 bytes: done
    cases = {
        "copy past the base, last": complete + bytes([0x91, 0xF0, 8]),
        "copy of 1 byte once complete": complete + bytes([0x90, 1]),
        "insert without its bytes, last": complete + bytes([9]),
        "insert of 1 without its byte, last": complete + bytes([1]),
        "copy past the base, then more": varint(len(base)) + varint(4) + bytes([0x91, 0xF0, 8, 0x90, 4]),
    }
    fast = fast_deltas()
    if applier == "compiled":  # the shapes the second pass exists for: dulwich alone accepts some
        assert fast is not None
        accepted = []
        for name, delta in cases.items():
            try:
                accepted += [name] if b"".join(fast(base, delta)) == b"base" else []
            except Exception:  # noqa: BLE001 - refused by dulwich itself
                pass
        assert "copy past the base, last" in accepted
    entries = [(base_oid, 3, b"", base)]
    for number, delta in enumerate(cases.values()):
        entries.append((hashlib.sha1(b"edge %d" % number).hexdigest(), 6, base_oid.encode(), delta))
    write_pack(objects, entries)
    with open_store(objects) as store:
        for (oid, _kind, _prefix, _payload), name in zip(entries[1:], cases):
            shown = subprocess.run(["git", "cat-file", "blob", oid], cwd=repo, env={**os.environ, **GIT_ENV},
                                   capture_output=True)
            assert shown.returncode != 0 and b"gone wild" in shown.stderr, name
            with pytest.raises(ObjectStoreError):
                store.read(oid)
        assert store.read(base_oid) == ("blob", base)


def test_damaged_deltas_raise_object_store_error(tmp_path: Path, applier: str) -> None:
    repo = init_repo(tmp_path / "repo")
    objects = repo / ".git" / "objects"
    base = b"base content\n" * 10
    base_oid = object_id("blob", base)
    target = base + b"tail\n"
    good = make_delta(base, target)
    cases = {
        "wrong source size": varint(len(base) + 1) + good[len(varint(len(base))):],
        "zero instruction": good + b"\0",
        "copy beyond base": varint(len(base)) + varint(8) + bytes([0x80 | 0x01 | 0x10, 0xF0, 8]),
        "insert beyond end": varint(len(base)) + varint(20) + bytes([20]) + b"short",
        "wrong target size": varint(len(base)) + varint(len(target) + 3)
        + good[len(varint(len(base))) + len(varint(len(target))):],
        "truncated copy": varint(len(base)) + varint(8) + bytes([0x80 | 0x01 | 0x02 | 0x10]),
    }
    entries = [(base_oid, 3, b"", base)]
    names = {}
    for number, (name, delta) in enumerate(cases.items()):
        oid = hashlib.sha1(b"case %d" % number).hexdigest()  # any id: never checked against content
        names[oid] = name
        entries.append((oid, 6, base_oid.encode(), delta))
    missing_base = hashlib.sha1(b"no such base").digest()
    orphan = hashlib.sha1(b"orphan").hexdigest()
    entries.append((orphan, 7, missing_base, good))
    write_pack(objects, entries)
    with open_store(objects) as store:
        for oid, name in names.items():
            with pytest.raises(ObjectStoreError) as raised:
                store.read(oid)
            assert oid in str(raised.value), name
            assert "\n" not in str(raised.value)
        with pytest.raises(ObjectStoreError, match="not found"):
            store.read(orphan)
        with pytest.raises(ObjectStoreError, match="not found"):
            store.info(orphan)
        assert store.read(base_oid) == ("blob", base)


def test_entry_size_mismatch_raises(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    objects = repo / ".git" / "objects"
    pack = write_pack(objects, [(object_id("blob", b"twelve bytes"), 3, b"", b"twelve bytes")])
    data = bytearray(pack.read_bytes())
    data[12] = (3 << 4) | 11  # the header now says 11 bytes
    pack.write_bytes(bytes(data))
    with open_store(objects) as store, pytest.raises(ObjectStoreError, match="header"):
        store.read(object_id("blob", b"twelve bytes"))


def read_everything(store: ObjectStore, listed: list[tuple[str, str, int]]) -> int:
    """info() and read() of every object; only ObjectStoreError may escape. Returns how many raised."""
    errors = 0
    for oid, _, _ in listed:
        for call in (store.info, store.read):
            try:
                call(oid)
            except ObjectStoreError as exc:
                assert oid in str(exc) and "\n" not in str(exc)
                errors += 1
    return errors


@pytest.mark.parametrize("damage", ["middle", "scattered", "truncated", "idx"])
def test_damaged_pack_raises_only_object_store_error(tmp_path: Path, damage: str, inflater: str) -> None:
    original = tmp_path / "original"
    edited_file_history(original, edits=20)
    (original / "big.bin").write_bytes(os.urandom(50_000))
    commit(original, {"settings.txt": "final\n"}, "big")
    git(original, "gc", "-q", "--aggressive")
    listed = all_objects(original)
    repo = tmp_path / "copy"
    shutil.copytree(original, repo)
    (pack,) = (repo / ".git" / "objects" / "pack").glob("*.pack")
    target = pack.with_suffix(".idx") if damage == "idx" else pack
    target.chmod(0o644)
    data = bytearray(target.read_bytes())
    rng = random.Random(damage)
    if damage == "middle":
        middle = len(data) // 2
        data[middle:middle + 64] = bytes(rng.randrange(256) for _ in range(64))
    elif damage == "scattered":
        for _ in range(40):
            data[rng.randrange(12, len(data) - 20)] ^= 0xFF
    elif damage == "truncated":
        del data[len(data) // 2:]
    else:  # offsets and sha table of the index
        for _ in range(40):
            data[rng.randrange(8 + 1024, len(data) - 40)] ^= 0xFF
    target.write_bytes(bytes(data))
    with open_store(repo / ".git" / "objects") as store:
        errors = read_everything(store, listed)
    if damage in ("middle", "scattered"):
        assert errors > 0


def test_damaged_loose_object_raises(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    small_history(repo)
    listed = all_objects(repo)
    oid = next(oid for oid, kind, _ in listed if kind == "blob")
    path = repo / ".git" / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2])
    with open_store(repo / ".git" / "objects") as store:
        with pytest.raises(ObjectStoreError):
            store.read(oid)
        path.write_bytes(zlib.compress(b"blob 99\0short"))
        with pytest.raises(ObjectStoreError):
            store.read(oid)
        assert store.info(oid) == ("blob", 99)  # info reads the header only
        path.write_bytes(zlib.compress(b"nonsense"))
        with pytest.raises(ObjectStoreError):
            store.info(oid)
        assert read_everything(store, listed) > 0


def test_close_releases_maps(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    small_history(repo)
    git(repo, "gc", "-q")
    oid = all_objects(repo)[0][0]
    store = open_store(repo / ".git" / "objects")
    assert store.read(oid) is not None
    mapped = [pack for pack in store.packs if pack.pack is not None]
    assert mapped
    store.close()
    assert all(pack.pack is None and pack.idx is None for pack in mapped)
    assert store.read(oid) is None
    store.close()  # twice is fine


def test_pages_read_are_handed_back_and_reading_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    edited_file_history(repo)
    git(repo, "gc", "-q", "--aggressive")
    monkeypatch.setattr(git_objects, "RELEASE_BYTES", 1024)  # release after nearly every object
    monkeypatch.setattr(git_objects, "PACK_FDS", 0)  # packs read through their map (pread maps nothing)
    released: list[int] = []
    real_release = git_objects._Pack._release

    def counting(self: git_objects._Pack) -> None:
        released.append(self.number)
        real_release(self)

    monkeypatch.setattr(git_objects._Pack, "_release", counting)
    assert assert_same_as_git(repo) > 0  # contents stay right across releases
    assert released


class NoMapReads:
    """Stands in for a pack's map: any byte read through it fails the test."""

    def __getitem__(self, key: object) -> bytes:
        raise AssertionError(f"read through the pack map at {key}")

    def close(self) -> None:
        pass

    def release(self) -> None:
        pass


@pytest.mark.parametrize("packing", ["ofs", "ref"])
def test_vetting_and_reading_map_no_pack_page(tmp_path: Path, packing: str) -> None:
    """Vetting every blob's chain reads entry headers with pread, and reading inflates what pread
    returns: a history worker's map of the pack would otherwise hold its pages (measured on
    jenkins: 5-11 MiB per worker for vetting, ~50 MiB per in-process reading worker)."""
    repo = tmp_path / "repo"
    edited_file_history(repo, edits=30)
    if packing == "ref":
        listing = git_bytes(repo, "rev-list", "--objects", "--all")
        pack = git_bytes(repo, "pack-objects", "-q", "--no-reuse-delta", "--window=10", "--stdout", input=listing)
        git_bytes(repo, "index-pack", "--stdin", input=pack)
        git(repo, "prune-packed")
    else:
        git(repo, "gc", "-q", "--aggressive")
    assert {6, 7} & pack_entry_types(repo)
    listed = all_objects(repo)
    with open_store(repo / ".git" / "objects") as store:
        store.check_chain(listed[0][0])  # maps the pack
        for pack in store.packs:
            pack.pack = NoMapReads()  # type: ignore[assignment]
            pack.view = NoMapReads()  # type: ignore[assignment]
        for oid, _, _ in listed:
            store.check_chain(oid)
        expected = cat_file_batch(repo, [oid for oid, _, _ in listed])
        for oid, _, _ in listed:
            assert store.read(oid) == expected[oid]


def test_headers_read_from_the_map_once_descriptors_run_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A repository may hold thousands of packs: a store keeps at most PACK_FDS descriptors, and
    packs past them read headers from their map, with the same answers."""
    monkeypatch.setattr(git_objects, "PACK_FDS", 2)
    repo = tmp_path / "repo"
    edited_file_history(repo, edits=8)
    git(repo, "repack", "-q", "-d")
    for round_ in range(3):  # three more packs, each with deltas of their own
        commit(repo, {"settings.txt": f"round {round_}\n" * 40, f"more/{round_}.txt": "x\n" * 30}, f"round {round_}")
        git(repo, "repack", "-q")
    assert len(list((repo / ".git" / "objects" / "pack").glob("*.pack"))) == 4
    assert assert_same_as_git(repo) > 30
    with open_store(repo / ".git" / "objects") as store:
        for oid, _, _ in all_objects(repo):
            store.check_chain(oid)
        with_fd = [pack for pack in store.packs if pack.fd is not None]
        assert len(with_fd) == 2 and all(pack.usable for pack in store.packs)
        fds = [pack.fd for pack in with_fd]
    assert all(pack.fd is None for pack in with_fd)
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)  # closed with the store


# -- delta chains that loop ------------------------------------------------------------------

def test_a_loop_through_an_entry_no_index_names_is_caught(tmp_path: Path) -> None:
    """An OFS_DELTA base may point anywhere earlier in the pack, also at bytes no index entry names:
    there a hidden REF_DELTA names the first delta again. Reading only the indexed entries' types
    would call this pack loop-free; the chain walk must follow the offset and find the loop."""
    repo = init_repo(tmp_path / "repo")
    objects = repo / ".git" / "objects"
    target = b"what the looping delta claims to be\n"
    looping = object_id("blob", target)
    hidden = "ab" * 20
    write_pack(objects, [(hidden, 7, bytes.fromhex(looping), make_delta(target, target)),
                         (looping, 6, hidden.encode(), make_delta(target, target))], hidden=frozenset({hidden}))
    with open_store(objects) as store:
        with pytest.raises(ObjectStoreError, match="loops") as caught:
            store.check_chain(looping)
        assert caught.value.final


def index_only_pack(pack_dir: Path, offsets: dict[bytes, int]) -> git_objects._Pack:
    """A version-2 index of ``{raw id: offset}`` beside a pack that claims as many entries but
    holds none: enough to look ids up, nothing to read."""
    ids = sorted(offsets)
    body = b"PACK" + struct.pack(">II", 2, len(ids))
    pack_sha = hashlib.sha1(body).digest()
    fanout = [0] * 256
    for raw in ids:
        fanout[raw[0]] += 1
    for first in range(1, 256):
        fanout[first] += fanout[first - 1]
    idx = bytearray(b"\377tOc" + struct.pack(">I", 2) + struct.pack(">256I", *fanout))
    idx += b"".join(ids) + b"\0\0\0\0" * len(ids) + b"".join(struct.pack(">I", offsets[raw]) for raw in ids)
    idx += pack_sha
    idx += hashlib.sha1(idx).digest()
    pack_dir.mkdir(parents=True, exist_ok=True)
    (pack_dir / "pack-x.pack").write_bytes(body + pack_sha)
    (pack_dir / "pack-x.idx").write_bytes(bytes(idx))
    return git_objects._Pack(0, pack_dir / "pack-x.idx", pack_dir / "pack-x.pack")


def test_lookups_in_large_index_buckets(tmp_path: Path) -> None:
    """Buckets of hundreds of ids are searched around an interpolated guess first: uniform ids,
    a crowded bucket that defeats the guess, and an id found straddling two entries all answer as
    a plain bisection would."""
    rng = random.Random(7)
    ids = {rng.randbytes(20) for _ in range(60_000)}
    # crowded buckets: every id shares its second byte, so the guesses land far below or above
    ids |= {b"\x42\x00" + rng.randbytes(18) for _ in range(400)}
    ids |= {b"\x43\xff" + rng.randbytes(18) for _ in range(400)}
    # ``straddle`` is absent (it sorts between them), but its bytes run across two neighbouring
    # entries of bucket 0x99, right where its guess looks
    head, tail = b"\x99\x40" + bytes(8), b"\x99\x40" + bytes(7) + b"\x01"
    straddle = head + tail
    left, right = head + head, tail + bytes(10)
    assert left < straddle < right
    ids = {raw for raw in ids if not left <= raw <= right} | {left, right}
    offsets = {raw: 12 + 7 * n for n, raw in enumerate(sorted(ids))}
    pack = index_only_pack(tmp_path / "pack", offsets)
    assert sum(raw[0] == 0x99 for raw in ids) > 2 * git_objects.FIND_SPAN  # the guess is tried
    try:
        for raw, offset in offsets.items():
            assert pack.find(raw, raw.hex()) == offset
        absent = [rng.randbytes(20) for _ in range(5000)] + [straddle]
        absent += [raw[:-1] + bytes([raw[-1] ^ 1]) for raw in rng.sample(sorted(ids), 5000)]
        for raw in absent:
            if raw not in offsets:
                assert pack.find(raw, raw.hex()) is None
    finally:
        pack.close()


def test_objects_over_the_limit_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for an object over its limit, the store reads no further than its size (its own
    header, or its delta's): nothing else is inflated, and git is not asked (ObjectTooLarge is
    final). A small object on a large base is not "too large": git is asked for it as before."""
    repo = init_repo(tmp_path / "repo")
    objects = repo / ".git" / "objects"
    small = b"small\n" * 10
    large = small * 40
    shrunk = b"small\n" * 9
    ids = {data: object_id("blob", data) for data in (small, large, shrunk)}
    # a small delta (40 two-byte copies of the whole base), a large result
    copies = varint(len(small)) + varint(len(large)) + bytes([0x80 | 0x10, len(small)]) * 40
    write_pack(objects, [(ids[small], 3, b"", small), (ids[large], 6, ids[small].encode(), copies)])
    big_base = b"big base\n" * 300
    base_oid = object_id("blob", big_base)
    on_big = object_id("blob", shrunk)
    write_pack(objects, [(base_oid, 3, b"", big_base), (on_big, 6, base_oid.encode(), make_delta(big_base, shrunk))])
    loose_oid = loose_blob(repo, b"loose and large\n" * 200)
    inflated: list[int] = []
    real = git_objects._Pack.inflate

    def counting(self: git_objects._Pack, pos: int, size: int, oid: str, max_bytes: int) -> bytes:
        inflated.append(size)
        return real(self, pos, size, oid, max_bytes)

    monkeypatch.setattr(git_objects._Pack, "inflate", counting)
    with ObjectStore.open(objects, max_bytes=1024) as store:
        assert store is not None
        with pytest.raises(git_objects.ObjectTooLarge) as whole:
            store.read(base_oid)
        assert (whole.value.size, whole.value.final, inflated) == (len(big_base), True, [])
        with pytest.raises(git_objects.ObjectTooLarge) as delta:
            store.read(ids[large])
        assert (delta.value.size, len(inflated)) == (len(large), 1)  # its delta only, not its base
        with pytest.raises(git_objects.ObjectTooLarge) as loose:
            store.read(loose_oid)
        assert loose.value.size == len(b"loose and large\n" * 200)
        with pytest.raises(ObjectStoreError) as base_too_large:
            store.read(on_big)
        assert not isinstance(base_too_large.value, git_objects.ObjectTooLarge) and not base_too_large.value.final
        assert store.read(ids[small]) == ("blob", small)
    assert assert_same_as_git(repo) == 5  # under the default limit, each reads as git reads it


# -- which copy of an id several packs hold: git's, never one a pack claims over other bytes ---------

def _two_claims(tmp_path: Path) -> tuple[Path, Path, str, bytes, bytes]:
    """A repository packing a blob (older .pack) and an alternate whose newer pack's index names
    that blob's id over other bytes: git reads the repository's own pack first."""
    repo = tmp_path / "repo"
    init_repo(repo)
    true = b"the blob's own bytes\n" * 3
    commit(repo, {"a.txt": true.decode()}, "one")
    git(repo, "repack", "-adq")
    oid = git(repo, "rev-parse", "HEAD:a.txt")
    old = 1_600_000_000
    for path in (repo / ".git" / "objects" / "pack").iterdir():
        os.utime(path, (old, old))
    alt = tmp_path / "alt" / "objects"
    other = b"bytes of another object\n"
    write_pack(alt, [(oid, TYPES["blob"], b"", other)])
    (repo / ".git" / "objects" / "info" / "alternates").write_text(f"{alt}\n")
    return repo, alt, oid, true, other


def test_an_alternates_pack_claiming_a_local_id_does_not_decide_its_bytes(tmp_path: Path) -> None:
    repo, _alt, oid, true, _other = _two_claims(tmp_path)
    assert cat_file_batch(repo, [oid])[oid] == ("blob", true)
    with open_store(repo / ".git" / "objects") as store:
        assert store.read(oid) == ("blob", true)
        assert store.info(oid) == ("blob", len(true))


def test_packs_are_searched_in_gits_order(tmp_path: Path) -> None:
    """Own packs first, then alternates'; newest .pack first, in whole seconds (git's time_t)."""
    repo, alt, oid, true, other = _two_claims(tmp_path)
    # a second own pack, newer, claiming the id over other bytes: git reads it first
    newer = write_pack(repo / ".git" / "objects", [(oid, TYPES["blob"], b"", other)])
    with open_store(repo / ".git" / "objects") as store:
        assert [(p.local, p.pack_path == newer) for p in store.packs][:2] == [(True, True), (True, False)]
        assert not store.packs[-1].local
    assert cat_file_batch(repo, [oid])[oid] == ("blob", other)  # git's own answer ...
    with open_store(repo / ".git" / "objects") as store:
        assert store._locate(bytes.fromhex(oid), oid)[0].pack_path == newer  # ... is the copy located
        assert store.read(oid) == ("blob", true)  # and read only once its id is checked


def test_a_pack_git_reads_first_but_this_reader_cannot_leaves_the_id_to_git(tmp_path: Path) -> None:
    """An index git reads (version 1) before the pack holding an id: git is asked for it."""
    repo, _alt, oid, true, other = _two_claims(tmp_path)
    newer = write_pack(repo / ".git" / "objects", [(oid, TYPES["blob"], b"", other)])
    newer.with_suffix(".idx").unlink()
    git(repo, "index-pack", "--index-version=1", str(newer))
    with open_store(repo / ".git" / "objects") as store:
        assert store.info(oid) is None and store.read(oid) is None
        store.check_chain(oid)  # vetted where it can be read: no error


def test_alternates_are_followed_depth_first_as_written(tmp_path: Path) -> None:
    """git's order: each alternate followed by its own alternates; a C-quoted path unquoted; a
    line taken as written (a trailing space is part of the path)."""
    dirs = {name: tmp_path / name / "objects" for name in ("a", "a b", "c", "d")}
    for path in dirs.values():
        (path / "info").mkdir(parents=True)
    main = tmp_path / "main" / "objects"
    (main / "info").mkdir(parents=True)
    (main / "info" / "alternates").write_text(f'{dirs["a"]}\n"{dirs["a b"]}"\n{dirs["d"]} \n')
    (dirs["a"] / "info" / "alternates").write_text(f"{dirs['c']}\n")
    got = git_objects._object_dirs(main)
    assert got == [main, *(Path(os.path.realpath(dirs[name])) for name in ("a", "c", "a b"))]
