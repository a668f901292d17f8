"""Git sources against real repositories built with the git CLI in temporary directories."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scanner.sources.git import (
    GitSourceError,
    HistoryResult,
    open_repo,
    refs_digest,
    scan_history,
    scan_range,
    scan_staged,
    since_ref_range,
)

TOKEN_RE = re.compile(rb"(?<![0-9a-f])11[0-9a-f]{32}(?![0-9a-f])")


def token() -> str:
    return "11" + secrets.token_hex(16)


@dataclass
class FakeHit:
    rule_id: str
    secret: str = field(repr=False)
    line: int
    column: int
    end_column: int
    user: str | None = None
    jenkins_url: str | None = None
    confidence: str = "high"


class FakeDetector:
    def __init__(self, seen: list[tuple[str, bytes]] | None = None):
        self.seen = seen

    def scan_blob(self, path: str, data: bytes) -> list[FakeHit]:
        if self.seen is not None:
            self.seen.append((path, data))
        hits = []
        for m in TOKEN_RE.finditer(data):
            line_start = data.rfind(b"\n", 0, m.start()) + 1
            column = m.start() - line_start + 1
            hits.append(FakeHit("fake_token", m.group().decode(), data.count(b"\n", 0, m.start()) + 1,
                                column, column + len(m.group())))
        return hits


@dataclass(frozen=True)
class FakeSpec:
    """Picklable like the real DetectorSpec, so worker processes can build it."""

    def build(self) -> FakeDetector:
        return FakeDetector()


@dataclass
class CountingSpec:
    seen: list[tuple[str, bytes]] = field(default_factory=list)

    def build(self) -> FakeDetector:
        return FakeDetector(self.seen)


SPEC = FakeSpec()
ENV_BASE = {
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
    "GIT_COMMITTER_NAME": "Committer", "GIT_COMMITTER_EMAIL": "committer@example.com",
}


class Repo:
    """A throwaway repository with a clock, so every commit has a distinct, known author date."""

    def __init__(self, path: Path, *init_args: str):
        self.path = path
        self.tick = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("-c", "init.defaultBranch=main", "init", "-q", *init_args)

    def git(self, *args: str, author: str = "Alice", check: bool = True) -> str:
        self.tick += 1
        date = f"2024-01-{1 + self.tick // 24:02d}T{self.tick % 24:02d}:00:00+00:00"
        env = {**os.environ, **ENV_BASE, "GIT_AUTHOR_NAME": author,
               "GIT_AUTHOR_EMAIL": f"{author.lower()}@example.com", "GIT_AUTHOR_DATE": date,
               "GIT_COMMITTER_DATE": date}
        proc = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args],
                              check=False, cwd=self.path, env=env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {args}: {proc.stderr}")
        return proc.stdout.strip()

    def write(self, name: str, text: str | bytes) -> None:
        f = self.path / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(text if isinstance(text, bytes) else text.encode())

    def commit(self, files: dict[str, str | bytes | None] | None = None, msg: str = "change", author: str = "Alice",
               rm: tuple[str, ...] = ()) -> str:
        for name, text in (files or {}).items():
            if text is not None:  # None: already on disk (a symlink, say)
                self.write(name, text)
            self.git("add", "--", name)
        for name in rm:
            self.git("rm", "-q", "--", name)
        self.git("commit", "-q", "--allow-empty", "-m", msg, author=author)
        return self.git("rev-parse", "HEAD")


def config(tok: str, extra: str = "") -> str:
    return f"url: https://ci.example.com\nuser: alice\ntoken: {tok}\n{extra}"


def secrets_of(result: HistoryResult) -> list[str]:
    return sorted(h.secret for h, _ in result.hits)


def locs(result: HistoryResult, tok: str) -> list:
    return [loc for h, loc in result.hits if h.secret == tok]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit({"README.md": "hello\n"}, msg="init")
    return r


@dataclass
class Sizing:
    mode: str
    started: list[int]  # one entry per sizing git started

    def check(self) -> None:
        """The scans since the last check ran in this mode; starts counting again."""
        assert bool(self.started) == (self.mode == "sized")
        self.started.clear()


@pytest.fixture(params=["sized", "unsized"])
def sizing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Sizing:
    """A history scan with workers whose blobs a git sized first, or (reading in-process with
    compiled deltas) blobs listed without sizes, the workers skipping the large ones themselves."""
    from scanner.sources import git as git_source
    from scanner.sources.git_objects import NO_FAST_DELTAS_ENV, fast_deltas

    if request.param == "unsized" and fast_deltas() is None:
        pytest.skip("dulwich's compiled delta applier is not installed")  # the [test] extra installs it
    if request.param == "sized":
        monkeypatch.setenv(NO_FAST_DELTAS_ENV, "1")
    started: list[int] = []
    real = git_source.CatFile

    def counting(*args: object, **kwargs: object) -> object:
        if kwargs.get("sizes_only"):
            started.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(git_source, "CatFile", counting)
    return Sizing(request.param, started)


# --- all refs ------------------------------------------------------------------------------------


def test_refs_digest_moves_with_every_ref_and_nothing_else(repo: Repo, tmp_path: Path) -> None:
    def digest() -> str:
        return refs_digest(open_repo(repo.path))

    seen = [digest()]
    assert digest() == seen[0]  # reading twice changes nothing
    steps = [
        lambda: repo.commit({"a.txt": "1\n"}),
        lambda: repo.git("branch", "feature"),
        lambda: repo.git("tag", "v1"),
        lambda: repo.git("checkout", "-q", "--detach"),  # HEAD moves from a ref to a sha: same commit
        lambda: repo.git("pack-refs", "--all"),  # over-sensitive on purpose: a rescan, never a miss
        lambda: repo.git("update-ref", "refs/heads/feature", "HEAD~1"),  # a packed ref moved
        lambda: repo.git("worktree", "add", "-q", "--detach", str(tmp_path / "wt"), "HEAD~1"),
        lambda: (repo.write("a.txt", "2\n"), repo.git("stash", "-q"), repo.write("a.txt", "3\n"), repo.git("stash", "-q")),
        lambda: repo.git("stash", "drop", "-q", "stash@{1}"),  # only the stash's reflog changes
    ]
    for step in steps:
        step()
        seen.append(digest())
        assert seen[-1] not in seen[:-1]
    moved = tmp_path / "moved"
    repo.path.rename(moved)  # the same refs somewhere else: unchanged (worktree link aside)
    assert refs_digest(open_repo(moved)) == seen[-1]

def test_token_on_branch_attributed_with_author_date_and_path(repo: Repo) -> None:
    tok = token()
    repo.git("checkout", "-q", "-b", "feature")
    sha = repo.commit({"conf/app.yml": config(tok)}, msg="add config", author="Bob")
    repo.git("checkout", "-q", "main")
    result = scan_history(repo.path, SPEC)
    [loc] = locs(result, tok)
    assert (loc.commit, loc.author, loc.email, loc.path) == (sha, "Bob", "bob@example.com", "conf/app.yml")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", loc.date)
    assert (loc.line, loc.column, loc.end_column) == (3, 8, 42)
    assert loc.source == "history" and loc.in_head is False and loc.blob
    assert result.blobs >= 2 and result.bytes > 0 and result.warnings == []


def test_token_only_on_a_tag(repo: Repo) -> None:
    tok = token()
    repo.git("checkout", "-q", "-b", "release")
    sha = repo.commit({"release.env": config(tok)})
    repo.git("tag", "-a", "-m", "v1", "v1.0")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "release")
    [loc] = locs(scan_history(repo.path, SPEC), tok)
    assert loc.commit == sha and loc.in_head is False


def test_every_stash_entry_is_scanned(repo: Repo) -> None:
    older, newer = token(), token()
    repo.write("README.md", config(older))
    repo.git("stash", "-q")
    repo.write("README.md", config(newer))
    repo.git("stash", "-q")
    result = scan_history(repo.path, SPEC)
    assert secrets_of(result) == sorted([older, newer])
    assert all(loc.commit and loc.path == "README.md" for _, loc in result.hits)


def test_remote_tracking_ref(repo: Repo) -> None:
    tok = token()
    repo.git("checkout", "-q", "-b", "tmp")
    sha = repo.commit({"deploy.sh": config(tok)})
    repo.git("checkout", "-q", "main")
    repo.git("update-ref", "refs/remotes/origin/tmp", sha)
    repo.git("branch", "-q", "-D", "tmp")
    [loc] = locs(scan_history(repo.path, SPEC), tok)
    assert loc.commit == sha


# --- attribution ---------------------------------------------------------------------------------

def test_added_then_deleted_is_found_and_attributed_to_the_adding_commit(repo: Repo) -> None:
    tok = token()
    added = repo.commit({"creds.txt": config(tok)}, msg="oops", author="Carol")
    repo.commit(rm=("creds.txt",), msg="remove", author="Dave")
    [loc] = locs(scan_history(repo.path, SPEC), tok)
    assert (loc.commit, loc.author, loc.path, loc.in_head) == (added, "Carol", "creds.txt", False)


def test_token_kept_across_many_edits_is_one_introduction(repo: Repo) -> None:
    tok = token()
    added = repo.commit({"app.cfg": config(tok)})
    for i in range(12):
        repo.commit({"app.cfg": config(tok, extra=f"revision: {i}\n")})
    [loc] = locs(scan_history(repo.path, SPEC), tok)
    assert loc.commit == added and loc.in_head is True


def test_same_token_in_two_files_gives_two_locations(repo: Repo) -> None:
    tok = token()
    repo.commit({"a/one.txt": config(tok), "b/two.txt": config(tok), "c/three.txt": "x = " + tok + "\n"})
    found = locs(scan_history(repo.path, SPEC), tok)
    assert sorted(loc.path for loc in found) == ["a/one.txt", "b/two.txt", "c/three.txt"]
    assert {(loc.line, loc.column) for loc in found} == {(3, 8), (1, 5)}


def test_readding_a_deleted_token_is_a_second_introduction(repo: Repo) -> None:
    tok = token()
    first = repo.commit({"s.txt": config(tok)})
    repo.commit(rm=("s.txt",))
    second = repo.commit({"s.txt": config(tok)})
    found = locs(scan_history(repo.path, SPEC), tok)
    assert [loc.commit for loc in found] == [first, second]
    assert [loc.in_head for loc in found] == [True, True]  # the secret is in HEAD at that path


def test_merges_do_not_introduce_but_an_evil_merge_does(repo: Repo) -> None:
    tok, evil = token(), token()
    repo.git("checkout", "-q", "-b", "side")
    side = repo.commit({"side.txt": config(tok)})
    repo.git("checkout", "-q", "main")
    repo.commit({"main.txt": "main\n"})
    repo.git("merge", "-q", "--no-edit", "side")  # an ordinary merge introduces nothing
    repo.git("checkout", "-q", "-b", "other")
    repo.commit({"o.txt": "o\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"m2.txt": "m\n"})
    repo.git("merge", "-q", "--no-commit", "--no-ff", "other")
    repo.write("main.txt", config(evil))
    repo.git("add", "main.txt")
    repo.git("commit", "-q", "--no-edit")
    merge = repo.git("rev-parse", "HEAD")
    result = scan_history(repo.path, SPEC)
    assert [loc.commit for loc in locs(result, tok)] == [side]
    assert [loc.commit for loc in locs(result, evil)] == [merge]


def test_attribution_passes_over_unwanted_entries_with_the_same_answers(repo: Repo) -> None:
    """The attribution parse skips one-parent entries whose new id is not wanted without splitting
    them; merges, deletions and a path shaped like an entry naming the wanted id change nothing."""
    from scanner.sources.git_attribution import PrefetchedLog
    from scanner.sources.git_repo import open_repo as open_info

    tok, evil = token(), token()
    hit = repo.commit({"hit.txt": config(tok)})
    wanted = repo.git("rev-parse", f"{hit}:hit.txt")
    decoy = f":100644 100644 {'0' * 40} {wanted} M"  # a path shaped like an entry, not one
    repo.write(decoy, "decoy\n")
    repo.git("add", "--", f":(literal){decoy}")
    repo.commit()
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"side.txt": config(tok)})
    repo.git("checkout", "-q", "main")
    repo.commit({"main.txt": "main\n"}, rm=("hit.txt",))
    repo.git("merge", "-q", "--no-commit", "--no-ff", "side")
    repo.write("main.txt", config(evil))
    repo.git("add", "main.txt")
    repo.git("commit", "-q", "--no-edit")
    evil_blob = repo.git("rev-parse", "HEAD:main.txt")
    side_blob = repo.git("rev-parse", "side:side.txt")
    ids = {wanted, evil_blob, side_blob}
    with PrefetchedLog(open_info(repo.path), ["--all"]) as log:
        every = list(log.entries(lambda oid: oid in ids))
        skipping = list(log.entries(lambda oid: oid in ids, among={oid.encode() for oid in ids}))
    assert skipping == every
    assert {entry.new for entry in every} == ids
    assert any(len(entry.olds) == 2 for entry in every)  # the evil merge's combined entry


def test_each_unique_blob_is_scanned_once(repo: Repo) -> None:
    tok = token()
    repo.commit({"keep.txt": config(tok)})
    for i in range(50):
        repo.commit({"counter.txt": f"{i}\n"})
    spec = CountingSpec()
    result = scan_history(repo.path, spec, jobs=1)
    contents = [data for _, data in spec.seen]
    assert contents.count(config(tok).encode()) == 1
    assert len(contents) == len(set(contents)) == result.blobs == 52  # README, keep, 50 counters
    assert len(locs(result, tok)) == 1


@pytest.mark.parametrize("other_thread", [False, True], ids=["fork", "spawn"])
def test_jobs_1_and_2_give_the_same_hits(repo: Repo, other_thread: bool) -> None:
    toks = [token() for _ in range(6)]
    for i, tok in enumerate(toks):
        repo.commit({f"dir{i}/f.txt": config(tok), f"noise{i}.txt": "n" * 5000 + str(i)})
    one = scan_history(repo.path, SPEC, jobs=1)
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait) if other_thread else None  # a live thread forbids fork
    if waiter:
        waiter.start()
    try:
        two = scan_history(repo.path, SPEC, jobs=2, parallel_min_bytes=0)
    finally:
        stop.set()
    assert [(h.secret, loc) for h, loc in one.hits] == [(h.secret, loc) for h, loc in two.hits]
    assert (one.blobs, one.bytes) == (two.blobs, two.bytes)
    assert secrets_of(one) == sorted(toks)


def test_work_listed_faster_than_read_waits_on_disk_and_is_all_scanned(repo: Repo, monkeypatch) -> None:
    """One blob per chunk and one chunk in flight per worker: most chunks wait in the backlog file."""
    from scanner.sources import git_pool
    from scanner.sources.backlog import Backlog

    toks = [token() for _ in range(8)]
    for i, tok in enumerate(toks):
        repo.commit({f"dir{i}/f.txt": config(tok), f"noise{i}.txt": "n" * 5000 + str(i)})
    one = scan_history(repo.path, SPEC, jobs=1)
    pushed: list[object] = []
    real_push = Backlog.push
    monkeypatch.setattr(Backlog, "push", lambda self, item: (pushed.append(item), real_push(self, item))[1])
    monkeypatch.setattr(git_pool, "CHUNK_BLOBS", 1)
    monkeypatch.setattr(git_pool, "IN_FLIGHT", 1)
    two = scan_history(repo.path, SPEC, jobs=2, parallel_min_bytes=0)
    assert len(pushed) >= 10  # 17 blobs listed, 2 in flight at a time
    assert [(h.secret, loc) for h, loc in one.hits] == [(h.secret, loc) for h, loc in two.hits]
    assert (one.blobs, one.bytes) == (two.blobs, two.bytes) == (17, one.bytes)
    assert secrets_of(two) == sorted(toks)


def test_large_and_binary_blobs_are_counted_never_silently_dropped(repo: Repo) -> None:
    tok = token()
    repo.commit({"big.log": config(tok) + "x" * 4096, "img.bin": b"\x00\x01" + config(token()).encode()})
    result = scan_history(repo.path, SPEC, max_blob_bytes=2048)
    assert result.skipped_large == 0 and "streamed" in result.warnings[0] and "big.log" in result.warnings[0]
    assert tok in secrets_of(result)  # over --max-blob-mb: streamed, not skipped
    assert result.skipped_binary == 1 and len(result.hits) == 2  # binary still offered to the detector


def test_reflogs_only_on_request(repo: Repo) -> None:
    tok = token()
    amended = repo.commit({"oops.txt": config(tok)})
    repo.git("rm", "-q", "oops.txt")
    repo.git("commit", "-q", "--amend", "--allow-empty", "-m", "fixed")
    assert scan_history(repo.path, SPEC).hits == []
    [loc] = locs(scan_history(repo.path, SPEC, include_reflogs=True), tok)
    assert loc.commit == amended


def test_blob_under_a_tag_only_is_reported_without_commit(repo: Repo) -> None:
    tok = token()
    proc = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=config(tok).encode(),
                          capture_output=True, check=True)
    repo.git("tag", "loose-blob", proc.stdout.decode().strip())
    result = scan_history(repo.path, SPEC)
    [loc] = locs(result, tok)
    assert loc.commit is None and loc.blob and loc.in_head is False
    assert any("no commit introducing" in w for w in result.warnings)


def test_progress_reports_bytes(repo: Repo) -> None:
    repo.commit({"a.txt": "a" * 1000})
    calls: list[tuple[int, int]] = []
    result = scan_history(repo.path, SPEC, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (result.bytes, result.bytes)


def test_unicode_paths_symlinks_and_submodule_entries(repo: Repo) -> None:
    tok = token()
    gitlink = repo.git("rev-parse", "HEAD")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{gitlink},vendor/sub")
    (repo.path / "link").symlink_to("dir with space/ünï cödé.txt")
    added = repo.commit({"dir with space/ünï cödé.txt": config(tok), "link": None}, msg="odd paths")
    [loc] = locs(scan_history(repo.path, SPEC), tok)
    assert (loc.path, loc.commit) == ("dir with space/ünï cödé.txt", added)
    assert scan_staged(repo.path, SPEC).hits == []  # nothing staged differs from HEAD
    whole = scan_staged(repo.path, SPEC, changed_only=False).hits
    assert [loc.path for _, loc in whole] == ["dir with space/ünï cödé.txt"]


# --- repository shapes ---------------------------------------------------------------------------

def test_bare_repository(repo: Repo, tmp_path: Path) -> None:
    tok = token()
    added = repo.commit({"x.txt": config(tok)})
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    info = open_repo(bare)
    assert info.bare and not info.shallow and info.head == added
    [loc] = locs(scan_history(bare, SPEC), tok)
    assert loc.commit == added and loc.in_head is True
    with pytest.raises(GitSourceError, match="bare"):
        scan_staged(bare, SPEC)


def test_subdirectory_and_empty_repository(tmp_path: Path) -> None:
    empty = Repo(tmp_path / "empty")
    (empty.path / "sub").mkdir()
    info = open_repo(empty.path / "sub")
    assert info.path == str(empty.path.resolve()) and info.head is None and info.refs == 0
    result = scan_history(empty.path / "sub", SPEC)
    assert result.hits == [] and result.blobs == 0


def test_sha256_repository(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "s256", "--object-format=sha256")
    tok = token()
    added = repo.commit({"a.txt": config(tok)})
    [loc] = locs(scan_history(repo.path, SPEC), tok)
    assert len(added) == 64 and (loc.commit, loc.in_head) == (added, True)


def test_shallow_clone_scans_what_exists_and_says_so(repo: Repo, tmp_path: Path) -> None:
    old, kept = token(), token()
    repo.commit({"old.txt": config(old)})
    repo.commit(rm=("old.txt",))
    repo.commit({"kept.txt": config(kept)})
    tip = repo.commit({"other.txt": "x\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True)
    result = scan_history(clone, SPEC)
    assert result.repo.shallow
    assert secrets_of(result) == [kept]  # the deleted token is beyond the boundary
    [loc] = locs(result, kept)
    assert loc.commit == tip and loc.in_head is True  # the boundary commit "adds" everything
    assert any("shallow clone" in w and "--unshallow" in w for w in result.warnings)


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitSourceError, match="not a git repository"):
        scan_history(tmp_path, SPEC)
    with pytest.raises(GitSourceError, match="not a git repository"):
        open_repo(tmp_path / "nope")


def _loose(repo: Repo, oid: str) -> Path:
    path = repo.path / ".git" / "objects" / oid[:2] / oid[2:]
    path.chmod(0o644)
    return path


def test_corrupt_object_database(repo: Repo) -> None:
    repo.commit({"a.txt": "a\n"})
    tree = repo.git("rev-parse", "HEAD^{tree}")
    obj = _loose(repo, tree)
    obj.write_bytes(obj.read_bytes()[:10])
    with pytest.raises(GitSourceError) as err:
        scan_history(repo.path, SPEC)
    assert "\n" not in str(err.value) and "corrupt" in str(err.value)


def test_truncated_pack(repo: Repo) -> None:
    repo.commit({"a.txt": "a\n" * 100})
    repo.git("gc", "-q")
    [pack] = (repo.path / ".git" / "objects" / "pack").glob("*.pack")
    pack.chmod(0o644)
    pack.write_bytes(pack.read_bytes()[:200])
    with pytest.raises(GitSourceError) as err:
        scan_history(repo.path, SPEC)
    assert "\n" not in str(err.value)


def test_missing_object_is_a_warning_and_the_rest_is_scanned(repo: Repo) -> None:
    tok = token()
    repo.commit({"a.txt": "a\n", "good.txt": config(tok)})
    lost = repo.git("rev-parse", "HEAD:a.txt")
    _loose(repo, lost).unlink()
    result = scan_history(repo.path, SPEC)
    assert secrets_of(result) == [tok]
    assert any(lost in w and "missing from the object database" in w for w in result.warnings)


def test_unreadable_blob_is_an_error_and_the_rest_is_scanned(repo: Repo) -> None:
    tok = token()
    repo.commit({"bad.txt": "a much longer text " * 50, "good.txt": config(tok)})
    obj = _loose(repo, repo.git("rev-parse", "HEAD:bad.txt"))
    obj.write_bytes(obj.read_bytes()[:12])
    result = scan_history(repo.path, SPEC)
    assert secrets_of(result) == [tok]
    assert any("bad.txt" in e and "not scanned" in e for e in result.errors)


def test_git_missing(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(GitSourceError, match="git is not installed"):
        scan_history(repo.path, SPEC)


# --- staged --------------------------------------------------------------------------------------

def test_staged_token_removed_from_work_tree_is_caught(repo: Repo) -> None:
    tok = token()
    repo.write("app.env", config(tok))
    repo.git("add", "app.env")
    repo.write("app.env", "token: ${TOKEN}\n")  # fixed on disk, but the index still has it
    result = scan_staged(repo.path / "", SPEC)
    [(hit, loc)] = result.hits
    assert hit.secret == tok
    assert (loc.source, loc.path, loc.commit, loc.in_head, loc.line) == ("staged", "app.env", None, False, 3)


def test_staged_fix_is_not_flagged_and_committed_token_is_in_head(repo: Repo) -> None:
    tok = token()
    repo.commit({"app.env": config(tok), "other.env": config(tok)})
    repo.write("app.env", "token: ${TOKEN}\n")
    repo.git("add", "app.env")
    # The next commit adds nothing secret: the fix is staged, other.env is unchanged since HEAD.
    assert scan_staged(repo.path, SPEC).hits == []
    result = scan_staged(repo.path, SPEC, changed_only=False)
    assert [(loc.path, loc.in_head) for _, loc in result.hits] == [("other.env", True)]


# --- commit range --------------------------------------------------------------------------------

def test_range_token_added_then_removed_is_reported_with_the_adding_commit(repo: Repo) -> None:
    old, tok = token(), token()
    repo.commit({"legacy.cfg": config(old)})
    base = repo.git("rev-parse", "HEAD")
    added = repo.commit({"ci.cfg": config(tok)}, msg="add", author="Erin")
    repo.commit({"legacy.cfg": config(old, extra="edited\n"), "notes.md": "n\n"})
    repo.commit({"ci.cfg": "token: ${TOKEN}\n"}, msg="remove")
    result = scan_range(repo.path, SPEC, f"{base}..HEAD")
    [(hit, loc)] = result.hits
    assert hit.secret == tok
    assert (loc.source, loc.commit, loc.author, loc.path, loc.in_head) == ("range", added, "Erin", "ci.cfg", False)
    assert any("already present before" in w for w in result.warnings)  # legacy.cfg was only edited


def test_since_ref_range_and_three_dot(repo: Repo) -> None:
    tok = token()
    repo.git("checkout", "-q", "-b", "pr")
    added = repo.commit({"a.txt": config(tok)})
    repo.git("checkout", "-q", "main")
    repo.commit({"main-only.txt": config(token())})
    repo.git("checkout", "-q", "pr")
    assert since_ref_range(repo.path, "main") == "main..HEAD"
    for spec in (since_ref_range(repo.path, "main"), "main...pr"):
        assert [loc.commit for _, loc in scan_range(repo.path, SPEC, spec).hits] == [added]
    with pytest.raises(GitSourceError, match="not present"):
        since_ref_range(repo.path, "no-such-branch")


def test_range_in_shallow_clone(repo: Repo, tmp_path: Path) -> None:
    tok = token()
    for i in range(4):
        repo.commit({f"f{i}.txt": f"{i}\n"})
    added = repo.commit({"new.txt": config(tok)})
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{repo.path}", str(clone)], check=True)
    result = scan_range(clone, SPEC, "HEAD~2..HEAD")
    assert [loc.commit for _, loc in result.hits] == [added]
    with pytest.raises(GitSourceError, match="fetch more history: git fetch --deepen"):
        scan_range(clone, SPEC, "HEAD~5..HEAD")
    with pytest.raises(GitSourceError, match="fetch more history"):
        scan_range(clone, SPEC, "0123456789abcdef0123456789abcdef01234567..HEAD")


def test_range_reaching_the_shallow_boundary_is_an_error(repo: Repo, tmp_path: Path) -> None:
    repo.git("branch", "side")
    for i in range(3):
        repo.commit({f"f{i}.txt": f"{i}\n"})
    repo.git("checkout", "-q", "side")
    base = repo.commit({"side.txt": "s\n"})
    repo.git("checkout", "-q", "main")
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True)
    subprocess.run(["git", "fetch", "-q", "--depth", "1", "origin", base], cwd=clone, check=True,
                   env={**os.environ, **ENV_BASE})
    with pytest.raises(GitSourceError, match="shallow boundary"):
        scan_range(clone, SPEC, f"{base}..HEAD")


def test_a_boundary_commit_whose_parent_was_fetched_since_is_diffed_against_it(repo: Repo, tmp_path: Path) -> None:
    """A shallow clone that fetched the tip's parent later: the tip's shallow entry no longer
    cuts anything off (its parent is there), so the range is complete."""
    tok, older = token(), token()
    repo.commit({"old.txt": config(older)})
    tip = repo.commit({"cfg.txt": config(tok)})
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True)
    base = repo.git("rev-parse", "HEAD~1")
    subprocess.run(["git", "fetch", "-q", "--depth", "1", "origin", base], cwd=clone, check=True,
                   env={**os.environ, **ENV_BASE})
    result = scan_range(clone, SPEC, f"{base}..HEAD")
    assert [(loc.commit, loc.path) for loc in locs(result, tok)] == [(tip, "cfg.txt")]
    assert secrets_of(result) == [tok]  # old.txt is not "added" by the tip, as by a root


def test_invalid_range(repo: Repo) -> None:
    with pytest.raises(GitSourceError, match="invalid commit range"):
        scan_range(repo.path, SPEC, "HEAD")


def test_streamed_listing_keeps_large_blobs_and_attribution(repo: Repo, sizing: Sizing) -> None:
    """Workers start while rev-list still lists (issue 10): large blobs are still named, every
    hit still gets its commit from the log that runs beside the scan. Unsized, the workers find
    the large ones: a whole object, a delta whose result is large (its delta is small), a loose one."""
    toks = [token() for _ in range(4)]
    commits = [repo.commit({f"app{i}/cfg.txt": config(tok)}) for i, tok in enumerate(toks)]
    big_tok = token()
    big = config(big_tok) + "".join(f"line {n}\n" for n in range(600))
    big_commit = repo.commit({"big.log": big, "small.log": "x\n"})
    repo.commit({"big.log": big + "one more line\n"})
    repo.git("gc", "-q")
    repo.commit({"loose/big.txt": "y" * 5000})
    result = scan_history(repo.path, SPEC, jobs=2, parallel_min_bytes=0, max_blob_bytes=2048)
    sizing.check()
    assert result.skipped_large == 0 and result.errors == []
    assert re.search(r"3 blob\(s\) larger than .* were streamed .*: big.log \(.*\), big.log \(.*\), loose/big.txt",
                     result.warnings[0])
    # the large blob's token is found too, and attributed to the commit that added it
    assert {h.secret: loc.commit for h, loc in result.hits} == {**dict(zip(toks, commits)), big_tok: big_commit}


def _scan_in_a_daemon(path: str, results: object) -> None:
    result = scan_history(path, SPEC, jobs=2, parallel_min_bytes=0, max_blob_bytes=2048)
    streamed = any("streamed" in w and "big.log" in w for w in result.warnings)
    results.put((streamed, result.errors, len(result.hits)))  # type: ignore[attr-defined]


def test_unsized_large_blobs_the_store_cannot_read_are_sized_by_git(repo: Repo, sizing: Sizing) -> None:
    """A pack indexed in version 1 is left to git by the in-process store: an unsized listing
    still skips its large blob (git says how large), it is not read whole."""
    tok = token()
    repo.commit({"big.log": "x" * 5000, "cfg.txt": config(tok)})
    repo.git("gc", "-q")
    pack_dir = repo.path / ".git" / "objects" / "pack"
    (pack,) = pack_dir.glob("*.pack")
    idx = pack.with_suffix(".idx")
    idx.chmod(0o644)
    idx.unlink()
    repo.git("index-pack", "--index-version=1", str(pack))
    result = scan_history(repo.path, SPEC, jobs=2, parallel_min_bytes=0, max_blob_bytes=2048)
    sizing.check()
    assert result.skipped_large == 0 and "big.log" in result.warnings[0] and result.errors == []
    assert "streamed" in result.warnings[0] and secrets_of(result) == [tok]


def test_a_daemonic_process_still_sizes_what_it_lists(repo: Repo) -> None:
    """A daemonic process (a sweep's pool worker) may not start workers: it scans in-process from
    a full listing, so its blobs must come sized, or a large one would be read whole."""
    import multiprocessing as mp

    repo.commit({"big.log": "x" * 5000, "cfg.txt": config(token())})
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    proc = ctx.Process(target=_scan_in_a_daemon, args=(str(repo.path), results), daemon=True)
    proc.start()
    streamed, errors, hits = results.get(timeout=60)
    proc.join(timeout=10)
    assert (streamed, errors, hits) == (True, [], 1)


def test_prefetched_log_stops_with_the_scan(repo: Repo) -> None:
    """A scan that ends early (an error, Ctrl-C) leaves no git log running behind it."""
    from scanner.sources.git_attribution import PrefetchedLog
    from scanner.sources.git_repo import open_repo

    repo.commit({"a.txt": "x"})
    info = open_repo(Path(repo.path))
    with PrefetchedLog(info, ["--all"]) as log:
        log.start()
    assert log.parts and not log.parts[0].thread.is_alive() and log.parts[0].file.closed
    log.want()  # after the scan: nothing starts again
    assert len(log.parts) == 1
    with PrefetchedLog(info, ["--all"]) as log:
        assert "a.txt" in [e.path for e in log.entries()]
    with PrefetchedLog(info, ["no-such-ref-anywhere"]) as log:
        with pytest.raises(GitSourceError, match="cannot read commit history"):
            list(log.entries())


def test_prefetched_log_starts_at_the_first_hit(repo: Repo) -> None:
    """Not after the listing: started then, the log ended seconds after the workers, one core idle."""
    from scanner.sources.git_attribution import PrefetchedLog
    from scanner.sources.git_repo import open_repo

    repo.commit({"a.txt": "x"})
    with PrefetchedLog(open_repo(Path(repo.path)), ["--all"]) as log:
        assert not log.parts
        log.want()
        assert log.parts
        assert "a.txt" in [e.path for e in log.entries()]
    # while the listing runs, it starts the log (where to split it is the listing's to say)
    with PrefetchedLog(open_repo(Path(repo.path)), ["--all"], deferred=True) as log:
        log.want()
        assert log.wanted and not log.parts
        log.undefer()  # the listing ended without taking it
        assert log.parts and "a.txt" in [e.path for e in log.entries()]


# --- the real detector ---------------------------------------------------------------------------

def test_real_detector_in_workers_finds_token_and_binary_secret_store(repo: Repo) -> None:
    from scanner.detect import DetectorSpec

    tok = token()
    added = repo.commit({"ci/trigger.sh": f"curl -u bob:{tok} https://jenkins.example.org/job/deploy/build\n",
                         "jenkins_home/secrets/hudson.util.Secret": b"\x00" + secrets.token_bytes(255)})
    repo.commit(rm=("ci/trigger.sh",))
    result = scan_history(repo.path, DetectorSpec(), jobs=2, parallel_min_bytes=0)
    by_rule = {hit.rule_id: (hit, loc) for hit, loc in result.hits}
    hit, loc = by_rule["api_token"]
    assert hit.secret == tok and hit.user == "bob"
    assert (loc.commit, loc.path, loc.line, loc.column, loc.in_head) == (added, "ci/trigger.sh", 1, 13, False)
    assert by_rule["jenkins_secret_store"][1].path == "jenkins_home/secrets/hudson.util.Secret"
    assert result.skipped_binary == 1


def test_real_detector_staged_and_range(repo: Repo) -> None:
    from scanner.detect import DetectorSpec

    tok = token()
    base = repo.git("rev-parse", "HEAD")
    added = repo.commit({".env": f"JENKINS_URL=https://build.example.net\nJENKINS_USER_ID=erin\n"
                                 f"JENKINS_API_TOKEN={tok}\n"})
    [(hit, loc)] = scan_range(repo.path, DetectorSpec(), f"{base}..HEAD").hits
    assert (hit.secret, hit.user, loc.commit, loc.line) == (tok, "erin", added, 3)
    repo.write(".env", "JENKINS_API_TOKEN=${JENKINS_API_TOKEN}\n")
    repo.git("add", ".env")
    assert scan_staged(repo.path, DetectorSpec()).hits == []


def test_one_cat_file_gives_sizes_then_contents_past_the_info_window(repo: Repo) -> None:
    from scanner.sources.git_catfile import INFO_WINDOW, CatFile

    texts = [f"blob {i}\n".encode() for i in range(INFO_WINDOW * 2 + 7)]  # refills the window twice
    proc = subprocess.run(["git", "hash-object", "-w", "--stdin-paths"], cwd=repo.path, capture_output=True,
                          check=True, input=b"".join(_blob_file(repo, i, t) for i, t in enumerate(texts)))
    oids = proc.stdout.decode().split()
    absent = "0" * 39 + "1"
    with CatFile(repo.path) as reader:
        sizes = list(reader.info([*oids, absent]))
        first = reader.proc
        read = list(reader.read(oids))
        assert reader.proc is first  # contents came from the same git that gave the sizes
    assert sizes[:-1] == [(o, "blob", len(t)) for o, t in zip(oids, texts)]
    assert sizes[-1] == (absent, None, 0)
    assert [r.data for r in read] == texts


def _blob_file(repo: Repo, i: int, text: bytes) -> bytes:
    path = repo.path / "blobs" / str(i)
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text)
    return f"{path}\n".encode()


# --- where objects are read from -----------------------------------------------------------------


def _no_git_cat_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from scanner.sources.git_catfile import CatFile

    def refuse(self: CatFile) -> None:
        raise AssertionError("git cat-file was started")

    monkeypatch.setattr(CatFile, "_start", refuse)


def test_in_process_history_scan_needs_no_git_cat_file(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    tok = token()
    repo.commit({"deploy.sh": f"curl -u bob:{tok} https://jenkins.example.org/\n"})
    repo.git("gc", "-q")
    repo.commit({"more.txt": "loose objects too\n"})
    expected = secrets_of(scan_history(repo.path, SPEC))  # through git cat-file
    _no_git_cat_file(monkeypatch)
    result = scan_history(repo.path, SPEC, in_process=True)
    assert secrets_of(result) == expected == [tok]
    with pytest.raises(AssertionError, match="cat-file was started"):
        scan_history(repo.path, SPEC)  # the default reads through git


def test_objects_the_store_cannot_read_come_from_git(repo: Repo, tmp_path: Path) -> None:
    tok = token()
    repo.commit({"deploy.sh": f"curl -u bob:{tok} https://jenkins.example.org/\n"})
    shared = tmp_path / "shared"
    subprocess.run(["git", "clone", "-q", "--shared", str(repo.path), str(shared)], check=True, env={**os.environ, **ENV_BASE})
    alternates = shared / ".git" / "objects" / "info" / "alternates"
    # a C-quoted alternates line: git reads it, the in-process store leaves it to git
    alternates.write_text('"' + alternates.read_text().strip() + '"\n')
    result = scan_history(shared, SPEC, in_process=True)
    assert secrets_of(result) == [tok] and not result.warnings
    sha256 = Repo(tmp_path / "sha256", "--object-format=sha256")  # not read in-process at all
    sha256.commit({"deploy.sh": f"curl -u bob:{tok} https://jenkins.example.org/\n"})
    assert secrets_of(scan_history(sha256.path, SPEC, in_process=True)) == [tok]


def test_the_listing_stops_its_sizing_git_once_every_blob_is_listed(repo: Repo) -> None:
    """The sizer idles for the rest of the scan: its git (and the pack pages it maps) must not sit
    on the scan's memory peak beside the readers and the attribution log."""
    from scanner.sources.git_blobs import BlobSet, iter_history_blobs
    from scanner.sources.git_catfile import SIZER_TUNING, CatFile

    repo.commit({"a.txt": "one\n", "b.txt": "two\n"})
    with CatFile(repo.path, sizes_only=True) as sizer:
        listing = iter_history_blobs(open_repo(repo.path), [], sizer, BlobSet())
        first = next(listing)
        running = sizer.proc
        assert running is not None and running.poll() is None
        assert f"{SIZER_TUNING[0][0]}={SIZER_TUNING[0][1]}" in running.args  # few mapped pages: sizes only
        rest = list(listing)
        assert sizer.proc is None and running.poll() is not None
    assert {"a.txt", "b.txt"} <= {b.path for b in [first, *rest]}


def _versions(repo: Repo, names: tuple[str, ...], count: int) -> None:
    """``count`` commits, each a new version of every file (so a listing interleaves the files)."""
    for version in range(count):
        repo.commit({name: f"{name} version {version}\n" + "x" * 300 for name in names})


def test_a_files_versions_are_read_one_after_another_newest_first(repo: Repo) -> None:
    """Each version is mostly a delta against the one read just before it (git's delta cache
    serves it); in listing order the versions of a file lie a whole commit apart."""
    _versions(repo, ("a.txt", "b.txt", "c.txt"), 4)
    spec = CountingSpec()
    scan_history(repo.path, spec, jobs=1)
    paths = [path for path, _ in spec.seen]
    assert paths == sorted(paths)  # every file's versions in one run
    versions = [data.split(b"\n")[0] for path, data in spec.seen if path == "b.txt"]
    assert versions == [b"b.txt version %d" % v for v in (3, 2, 1, 0)]  # newest first, as listed


@dataclass(frozen=True)
class LoggingSpec:
    """Each worker process appends the paths it scans, in order, to its own file under ``folder``."""

    folder: str

    def build(self) -> FakeDetector:
        return LoggingDetector(Path(self.folder) / str(os.getpid()))


class LoggingDetector(FakeDetector):
    def __init__(self, log: Path):
        super().__init__()
        self.log = log

    def scan_blob(self, path: str, data: bytes) -> list[FakeHit]:
        with self.log.open("a") as out:
            out.write(path + "\n")
        return super().scan_blob(path, data)


def test_listed_blobs_reach_the_workers_in_windows_sorted_by_path(repo: Repo, tmp_path: Path, sizing: Sizing,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """While the listing runs, blobs wait for their window (10, then 12) to fill, are sorted by path
    and cut into chunks (4 blobs) for the workers; the last, partial window is not forgotten."""
    from scanner.sources import git_pool

    toks = [token() for _ in range(3)]
    _versions(repo, ("a.txt", "b.txt", "c.txt", "d.txt"), 4)
    for i, tok in enumerate(toks):
        repo.commit({f"z{i}.txt": config(tok)})
    one = scan_history(repo.path, SPEC, jobs=1)
    monkeypatch.setattr(git_pool, "WINDOW_FIRST", 10)
    monkeypatch.setattr(git_pool, "WINDOW_MOST", 12)
    monkeypatch.setattr(git_pool, "CHUNK_BLOBS", 4)
    monkeypatch.setattr(git_pool, "UNSIZED_CHUNK_BLOBS", 4)
    logs = tmp_path / "logs"
    logs.mkdir()
    sizing.started.clear()
    two = scan_history(repo.path, LoggingSpec(str(logs)), jobs=2, parallel_min_bytes=0)
    sizing.check()
    assert [(h.secret, loc) for h, loc in one.hits] == [(h.secret, loc) for h, loc in two.hits]
    assert (one.blobs, one.bytes) == (two.blobs, two.bytes) == (20, one.bytes)  # README + 16 + 3
    scanned = [line for log in logs.iterdir() for line in log.read_text().splitlines()]
    assert len(scanned) == 20 and sorted(set(scanned)) == sorted({"README.md", *(f"{c}.txt" for c in "abcd"),
                                                                   "z0.txt", "z1.txt", "z2.txt"})
    # the first window (the tip's 8 blobs, then 2 older versions) reaches the workers sorted
    out = repo.git("rev-list", "--objects", "--in-commit-order", "--all", "--filter=object:type=blob")
    listed = [line.split(" ", 1)[1] for line in out.splitlines() if " " in line]  # commits have no path
    first_chunk = sorted(listed[:10])[:4]
    assert first_chunk != listed[:4]  # the test means something: sorting changes this order
    assert any(log.read_text().splitlines()[:4] == first_chunk for log in logs.iterdir())


def test_an_idle_worker_does_not_wait_for_a_slow_listing_to_fill_a_window(repo: Repo, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The attribution log lists slower than rev-list: past the first window, a blob listed while
    a worker has nothing queued goes out at once, not when its window is full."""
    import time

    from scanner.sources import git_pool
    from scanner.sources.git_blobs import BlobEntry

    for name in ("a.txt", "b.txt", "c.txt"):
        repo.commit({name: f"{name}\n"})
    entries = [BlobEntry(oid=repo.git("rev-parse", f"HEAD:{name}"), size=4, path=name)
               for name in ("a.txt", "b.txt", "c.txt")]
    monkeypatch.setattr(git_pool, "WINDOW_FIRST", 1)
    monkeypatch.setattr(git_pool, "WINDOW_MOST", 10**6)
    logs = tmp_path / "logs"
    logs.mkdir()
    waited: list[float] = []

    def scanned(path: str) -> bool:
        return any(path in log.read_text().splitlines() for log in logs.iterdir())

    def slow_listing() -> Iterator[list[BlobEntry]]:
        yield [entries[0]]  # the first window
        yield [entries[1]]  # a window of 2 (or more) is not full with it
        start = time.monotonic()
        while not scanned("b.txt") and time.monotonic() - start < 10:
            time.sleep(0.02)
        waited.append(time.monotonic() - start)
        yield [entries[2]]

    totals = git_pool._scan_workers(str(repo.path), LoggingSpec(str(logs)), slow_listing(), lambda _t: 12, 2, None,
                                    str(repo.path / ".git" / "objects"), 1 << 20, listing=True)
    assert totals.blobs == 3 and waited and waited[0] < 10


def test_a_shared_clone_is_judged_by_the_history_it_borrows(repo: Repo, tmp_path: Path) -> None:
    """A --shared clone holds almost no objects of its own: counted alone it looked small, so its
    whole history was listed before any worker started, and the attribution log ran after all."""
    from scanner.sources.git import PACKED_RATIO, _looks_large

    for i in range(20):
        repo.commit({f"f{i}.txt": secrets.token_hex(2000)})
    repo.git("gc", "-q")
    packed = sum(p.stat().st_size for p in (repo.path / ".git" / "objects" / "pack").glob("*.pack"))
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--shared", str(repo.path), str(clone)], check=True,
                   env={**os.environ, **ENV_BASE}, capture_output=True)
    threshold = packed * PACKED_RATIO // 2
    assert _looks_large(open_repo(repo.path), threshold)
    assert _looks_large(open_repo(clone), threshold)
    assert not _looks_large(open_repo(clone), packed * PACKED_RATIO * 4)


# --- the listing handed from rev-list to the attribution log -------------------------------------

def _every_shape(repo: Repo) -> dict[str, str]:
    """A history with the shapes a listing can get wrong; returns the token placed in each."""
    toks = {name: token() for name in ("early", "renamed", "evil", "tag_blob", "tree_ref", "tag_tag_blob",
                                       "orphan", "stash", "note", "readded")}
    repo.commit({"cfg/app.txt": config(toks["early"]), "docs/a.md": "a\n"}, msg="early")
    # more listing than a pipe holds: rev-list is still writing when the log takes over
    bulk = repo.path / "bulk" / ("a-directory-name-long-enough-to-fill-the-pipe-" * 2)
    bulk.mkdir(parents=True)
    for i in range(1500):
        (bulk / f"file-{i}.txt").write_text(f"bulk {i}\n")
    repo.git("add", "bulk")
    repo.commit(msg="bulk")
    for i in range(12):
        repo.commit({f"src/f{i % 4}.txt": f"version {i}\n" * (i + 1)})
    (repo.path / "conf").mkdir()
    repo.git("mv", "cfg/app.txt", "conf/application.txt")
    repo.commit({"moved.txt": config(toks["renamed"])}, msg="rename and add")
    repo.commit({"copy/app.txt": (repo.path / "conf/application.txt").read_text()}, msg="copy")
    repo.commit(rm=("docs/a.md",), msg="delete")
    repo.commit({"docs/a.md": "a\n", "re.txt": config(toks["readded"])}, msg="re-add")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit({"side/s.txt": "side\n"})
    repo.git("checkout", "-q", "main")
    repo.commit({"main/m.txt": "main\n"})
    repo.git("merge", "-q", "--no-commit", "--no-ff", "side")
    repo.write("evil/new.txt", config(toks["evil"]))
    repo.git("add", "evil/new.txt")
    repo.git("commit", "-q", "--no-edit")

    def stored(text: str) -> str:
        return subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=text.encode(),
                              capture_output=True, check=True).stdout.decode().strip()

    repo.git("tag", "blob-tag", stored(config(toks["tag_blob"])))
    tree = subprocess.run(["git", "mktree"], cwd=repo.path, capture_output=True, check=True, text=True,
                          input=f"100644 blob {stored(config(toks['tree_ref']))}\tonly-here.txt\n").stdout.strip()
    repo.git("update-ref", "refs/trees/one", tree)
    repo.git("tag", "-a", "-m", "inner", "inner", stored(config(toks["tag_tag_blob"])))
    repo.git("tag", "-a", "-m", "outer", "outer", "inner")
    repo.git("notes", "add", "-m", config(toks["note"]), "HEAD")
    gitlink = repo.git("rev-parse", "HEAD")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{gitlink},vendor/sub")
    repo.commit(msg="submodule")
    repo.write("stash.txt", config(toks["stash"]))
    repo.git("add", "stash.txt")
    repo.git("stash", "-q")
    repo.git("checkout", "-q", "--orphan", "orphan")
    repo.git("rm", "-rq", "--cached", ".")
    repo.commit({"orphan.txt": config(toks["orphan"])}, msg="second root")
    repo.git("checkout", "-q", "-f", "main")
    return toks


def _listed(repo: Repo, switch_after: int | None,
            split: int | None = None) -> tuple[list[tuple[str, int]], list[str], list[int]]:
    """(oid, size) of every listed blob, the missing ones, and how each rev-list ended; the log
    takes over after ``switch_after`` blobs (None: never), split after ``split`` commits (None:
    where the listing says)."""
    from scanner.sources import git_blobs
    from scanner.sources.git_attribution import PrefetchedLog
    from scanner.sources.git_blobs import BlobSet, iter_history_blobs
    from scanner.sources.git_catfile import CatFile
    from scanner.sources.git_repo import stash_tips

    info = open_repo(repo.path)
    tips = stash_tips(info)
    out, ends = BlobSet(), []
    calls = [0]
    real_popen = git_blobs.popen_git

    def popen(*args, **kwargs):  # type: ignore[no-untyped-def]
        proc = real_popen(*args, **kwargs)
        real_wait = proc.wait

        def wait(*a, **k):  # type: ignore[no-untyped-def]
            ends.append(real_wait(*a, **k))
            return ends[-1]

        proc.wait = wait  # type: ignore[method-assign]
        return proc

    with PrefetchedLog(info, ["--all", *tips], deferred=True) as log, CatFile(info.path, sizes_only=True) as sizer:
        class Switch(git_blobs.LogHandOver):
            def take(self, first: int):  # type: ignore[no-untyped-def]
                calls[0] += 1
                if switch_after is None or calls[0] <= switch_after:
                    return None
                self.log.want()
                tails = super().take(first if split is None else split)
                list(log.entries())  # the whole log written: it is past rev-list at its first look
                return tails

        switch = Switch(log, info, tips)
        git_blobs.popen_git = popen
        try:
            blobs = [(b.oid, b.size) for b in iter_history_blobs(info, tips, sizer, out, log_listing=switch)]
        finally:
            git_blobs.popen_git = real_popen
    return blobs, sorted(out.missing), ends


@pytest.mark.parametrize(("switch_after", "split"), [(0, None), (1, None), (7, None), (25, None), (0, 0), (7, 1),
                                                     (7, 5), (25, 10**6)])
def test_the_log_lists_exactly_what_rev_list_would(repo: Repo, switch_after: int, split: int | None) -> None:
    """Once a blob hits, the attribution log (which diffs every commit anyway) lists the rest and
    rev-list stops: the same blobs, each once, including those only refs to trees, tags of blobs,
    evil merges, notes, stashes, second roots and renames hold; wherever the log is split in two."""
    _every_shape(repo)
    expected, missing, _ = _listed(repo, None)
    listed, missing_after, ends = _listed(repo, switch_after, split)
    assert len(listed) == len(set(listed))  # each blob once
    assert sorted(listed) == sorted(expected) and missing_after == missing
    assert ends[0] == -9  # rev-list was stopped, not left to walk the rest
    assert ends[1:] == [0]  # the refs to trees and blobs, listed after the log


def test_a_split_log_holds_exactly_the_whole_logs_entries(repo: Repo) -> None:
    """The log split in two (its first K commits, and the rest) from tips resolved once holds the
    same diff entries as the whole log over ``--all``: each commit once, wherever K falls, with a
    detached HEAD that no ref holds, a linked worktree's, a history only a tag of a tag holds,
    notes, merges, a stash and a second root."""
    from scanner.sources.git_attribution import PrefetchedLog
    from scanner.sources.git_blobs import commit_tips
    from scanner.sources.git_repo import stash_tips

    _every_shape(repo)
    # a history that only a tag of a tag holds (git peels it all the way for --all)
    repo.git("checkout", "-q", "--orphan", "tagged-only")
    repo.git("rm", "-rq", "--cached", ".")
    nested = repo.commit({"nested.txt": config(token())}, msg="only a tag of a tag holds this")
    repo.git("tag", "-a", "-m", "in", "in-nested", nested)
    repo.git("tag", "-a", "-m", "out", "out-nested", "in-nested")
    repo.git("tag", "-d", "in-nested")
    repo.git("checkout", "-q", "-f", "main")
    repo.git("branch", "-q", "-D", "tagged-only")
    # a linked worktree's detached HEAD, on no ref (--all walks every worktree's HEAD)
    worktree = repo.path.parent / "worktree"
    repo.git("worktree", "add", "-q", "--detach", str(worktree), "main")
    (worktree / "wt.txt").write_text(config(token()))
    repo.git("-C", str(worktree), "add", "wt.txt")
    repo.git("-C", str(worktree), "commit", "-q", "-m", "only a worktree's HEAD holds this")
    in_worktree = repo.git("-C", str(worktree), "rev-parse", "HEAD")
    repo.git("checkout", "-q", "--detach", "main")
    detached = repo.commit({"detached.txt": config(token())}, msg="only HEAD holds this")
    info = open_repo(repo.path)
    tips = stash_tips(info)
    revs = ["--all", *tips]

    def entries(log: PrefetchedLog) -> list[tuple[str, str, tuple[str, ...], str]]:
        return [(e.commit.sha, e.path, e.olds, e.new) for e in log.entries()]

    with PrefetchedLog(info, revs) as log:
        whole = entries(log)
    commits = int(repo.git("rev-list", "--count", *revs))
    assert {detached, nested, in_worktree} <= {sha for sha, *_ in whole} and commits > 25
    for first in (0, 1, 2, commits // 2, commits - 1, commits, commits + 5):
        with PrefetchedLog(info, revs, deferred=True) as log:
            log.want()
            tails = log.split(first, commit_tips(info, tips))
            assert len(tails) == (2 if first else 1)
            got = entries(log)
        assert sorted(got) == sorted(whole) and len(got) == len(whole), first


def test_a_history_of_no_commit_hands_over_to_a_whole_log(tmp_path: Path) -> None:
    """Only a ref to a tree (HEAD unborn): the log started at the hit walks nothing, and the
    token is reported without a commit, not as a failure to read the history."""
    path = tmp_path / "bare-ish"
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    tok = token()
    blobs = []
    for i in range(3):
        text = config(tok) if i == 2 else f"file {i}\n"
        blobs.append(subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=path, input=text.encode(),
                                    capture_output=True, check=True).stdout.decode().strip())
    listing = "".join(f"100644 blob {oid}\tf{i:02d}.txt\n" for i, oid in enumerate(blobs))
    tree = subprocess.run(["git", "mktree"], cwd=path, input=listing, capture_output=True, check=True,
                          text=True).stdout.strip()
    subprocess.run(["git", "update-ref", "refs/trees/only", tree], cwd=path, check=True)
    from scanner.sources.git_attribution import PrefetchedLog
    from scanner.sources.git_blobs import LogHandOver

    info = open_repo(path)
    with PrefetchedLog(info, ["--all"], deferred=True) as log:
        log.want()
        tails = LogHandOver(log, info, []).take(5)  # as if rev-list had stepped back already
        assert tails is not None and list(log.entries()) == []
    result = scan_history(path, SPEC, jobs=2, parallel_min_bytes=0)
    assert secrets_of(result) == [tok] and result.errors == []
    assert [loc.commit for loc in locs(result, tok)] == [None]


def test_a_switched_listing_finds_and_attributes_every_token(repo: Repo) -> None:
    """Through scan_history: workers running, the first hit starts the log, which lists the rest."""
    toks = _every_shape(repo)
    reference = scan_history(repo.path, SPEC, jobs=1)
    switched = scan_history(repo.path, SPEC, jobs=2, parallel_min_bytes=0)
    assert secrets_of(switched) == secrets_of(reference) and set(toks.values()) <= set(secrets_of(switched))
    assert switched.blobs == reference.blobs and switched.bytes == reference.bytes

    def where(result: HistoryResult) -> list[tuple[str, str | None, str | None]]:
        return sorted((h.secret, loc.path, loc.commit) for h, loc in result.hits)

    assert where(switched) == where(reference)


def test_a_crafted_author_cannot_hide_a_blob_from_the_log_listing(repo: Repo) -> None:
    """The log's output is NUL-separated: a NUL in an author name, followed by text shaped like a
    raw diff entry, would make the next real entry (the blob holding a token) a fake one's path.
    git ends a name at a NUL (checked here through the listing), so the blob is still listed."""
    tok = token()

    def stored(kind: str, data: bytes) -> str:
        return subprocess.run(["git", "hash-object", "--literally", "-t", kind, "-w", "--stdin"], cwd=repo.path,
                              input=data, capture_output=True, check=True).stdout.decode().strip()

    parent = repo.git("rev-parse", "HEAD")
    readme = repo.git("rev-parse", "HEAD:README.md")
    hidden = stored("blob", config(tok).encode())
    tree = subprocess.run(["git", "mktree"], cwd=repo.path, capture_output=True, check=True, text=True,
                          input=f"100644 blob {readme}\tREADME.md\n100644 blob {hidden}\tsecret.txt\n").stdout.strip()
    fake = f"\0\n:000000 100644 {'0' * 40} {readme} A".encode()
    commit = stored("commit", b"tree " + tree.encode() + b"\nparent " + parent.encode() + b"\nauthor Eve"
                    + fake + b" <eve@example.com> 1700000000 +0000\ncommitter Eve <eve@example.com> "
                    b"1700000000 +0000\n\ncrafted\n")
    repo.git("update-ref", "refs/heads/main", commit)
    expected, _, _ = _listed(repo, None)
    listed, _, _ = _listed(repo, 0)
    assert hidden in {oid for oid, _ in expected}
    assert sorted(listed) == sorted(expected)
    result = scan_history(repo.path, SPEC, jobs=2, parallel_min_bytes=0)
    assert tok in secrets_of(result)


# --- the history as its objects say, not as the scanned repository asks git to show it ------------

def test_a_replace_ref_cannot_swap_out_a_commit_holding_a_token(repo: Repo) -> None:
    """refs/replace/<commit> makes git show another commit in its place: a clean one would hide
    the token everywhere, while a clone of the branch still carries it."""
    tok = token()
    leak = repo.commit({"cfg.txt": config(tok)}, msg="leak")
    tip = repo.commit({"more.txt": "more\n"}, msg="after")
    repo.git("checkout", "-q", "--orphan", "clean")
    repo.git("rm", "-rq", "--cached", ".")
    clean = repo.commit({"README.md": "hello\n"}, msg="clean")
    repo.git("checkout", "-q", "-f", "main")
    repo.git("replace", leak, clean)
    repo.git("branch", "-q", "-D", "clean")
    for result in (scan_history(repo.path, SPEC), scan_range(repo.path, SPEC, f"{leak}~1..{tip}")):
        assert [loc.commit for loc in locs(result, tok)] == [leak]


def test_grafts_cannot_cut_off_the_history_holding_a_token(repo: Repo) -> None:
    """info/grafts (deprecated, still honoured by git) can make any commit a root."""
    tok = token()
    leak = repo.commit({"cfg.txt": config(tok)}, msg="leak")
    tip = repo.commit({"cfg.txt": None}, rm=("cfg.txt",), msg="removed")
    (repo.path / ".git" / "info").mkdir(exist_ok=True)
    (repo.path / ".git" / "info" / "grafts").write_text(tip + "\n")
    assert [loc.commit for loc in locs(scan_history(repo.path, SPEC), tok)] == [leak]


def test_a_rev_list_read_to_the_end_is_waited_for_not_stopped(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """At the end of its output rev-list may still be exiting: its failure must count, not be
    taken for a listing left early and killed (a truncated pack passed as a clean, empty history)."""
    from scanner.sources import git_blobs

    repo.commit({"a.txt": "a\n" * 100})
    repo.git("gc", "-q")
    [pack] = (repo.path / ".git" / "objects" / "pack").glob("*.pack")
    pack.chmod(0o644)
    pack.write_bytes(pack.read_bytes()[:200])
    real_popen = git_blobs.popen_git

    def still_exiting(*args, **kwargs):  # type: ignore[no-untyped-def]
        proc = real_popen(*args, **kwargs)
        proc.poll = lambda: None  # type: ignore[method-assign]
        return proc

    monkeypatch.setattr(git_blobs, "popen_git", still_exiting)
    with pytest.raises(GitSourceError, match="cannot list the objects"):
        scan_history(repo.path, SPEC)


def test_a_crafted_commit_graph_cannot_cut_off_the_history_holding_a_token(repo: Repo) -> None:
    """git trusts objects/info/commit-graph for parents: one that calls the tip a root would hide
    every commit before it."""
    import hashlib
    import struct

    tok = token()
    leak = repo.commit({"cfg.txt": config(tok)}, msg="leak")
    tip = repo.commit(rm=("cfg.txt",), msg="removed")
    repo.git("commit-graph", "write", "--reachable")
    graph = repo.path / ".git" / "objects" / "info" / "commit-graph"
    data = bytearray(graph.read_bytes())
    chunks = {}
    for i in range(data[6] + 1):  # the chunk table after the 8-byte header
        chunk_id, offset = struct.unpack_from(">4sQ", data, 8 + 12 * i)
        chunks[chunk_id] = offset
    ids = [bytes(data[chunks[b"OIDL"] + 20 * i:chunks[b"OIDL"] + 20 * (i + 1)]).hex()
           for i in range((chunks[b"CDAT"] - chunks[b"OIDL"]) // 20)]
    struct.pack_into(">I", data, chunks[b"CDAT"] + 36 * ids.index(tip) + 20, 0x70000000)  # first parent: none
    data[-20:] = hashlib.sha1(bytes(data[:-20])).digest()
    graph.chmod(0o644)
    graph.write_bytes(bytes(data))
    assert repo.git("log", "--format=%H") == tip  # git itself now sees a one-commit history
    assert [loc.commit for loc in locs(scan_history(repo.path, SPEC), tok)] == [leak]


def _alternate_claiming(repo: Repo, tmp_path: Path, tok: str) -> None:
    """The token's blob in the repository's own (older) pack; an alternate's newer pack holds a
    blob the history borrows (read first: git's cat-file then searches that pack first) and
    claims the token blob's id over clean bytes."""
    import hashlib
    import struct
    import zlib

    alt = tmp_path / "alt" / "objects"
    (alt / "pack").mkdir(parents=True)
    (repo.path / ".git" / "objects" / "info" / "alternates").write_text(f"{alt}\n")
    borrowed = b"a file this history borrows from its alternate\n"
    clean = b"url: https://ci.example.com\nuser: alice\n"
    ids = {"borrowed": hashlib.sha1(b"blob %d\0" % len(borrowed) + borrowed).hexdigest()}
    loose = alt / ids["borrowed"][:2] / ids["borrowed"][2:]  # for the commit; the pack serves it later
    loose.parent.mkdir()
    loose.write_bytes(zlib.compress(b"blob %d\0" % len(borrowed) + borrowed))
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{ids['borrowed']},a.txt")
    repo.commit({"b.env": config(tok)}, msg="leak")
    ids["token"] = repo.git("rev-parse", "HEAD:b.env")
    repo.git("repack", "-adlq")  # -l: the borrowed blob stays in the alternate only
    for path in (repo.path / ".git" / "objects" / "pack").iterdir():
        os.utime(path, (1_600_000_000, 1_600_000_000))
    entries = sorted([(ids["borrowed"], borrowed), (ids["token"], clean)])
    body = bytearray(b"PACK" + struct.pack(">II", 2, len(entries)))
    offsets, crcs = [], []
    for _oid, data in entries:
        offsets.append(len(body))
        raw = bytes([0x30 | (len(data) & 0x0F) | 0x80, len(data) >> 4]) + zlib.compress(data)
        crcs.append(zlib.crc32(raw))
        body += raw
    body += hashlib.sha1(body).digest()
    fanout = [sum(1 for oid, _ in entries if int(oid[:2], 16) <= first) for first in range(256)]
    idx = bytearray(b"\377tOc" + struct.pack(">I", 2) + struct.pack(">256I", *fanout))
    idx += b"".join(bytes.fromhex(oid) for oid, _ in entries) + struct.pack(f">{len(crcs)}I", *crcs)
    idx += struct.pack(f">{len(offsets)}I", *offsets) + body[-20:]
    idx += hashlib.sha1(idx).digest()
    (alt / "pack" / "pack-liar.pack").write_bytes(bytes(body))
    (alt / "pack" / "pack-liar.idx").write_bytes(bytes(idx))


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_pack_claiming_a_token_blobs_id_over_clean_bytes_cannot_hide_it(repo: Repo, tmp_path: Path,
                                                                          jobs: int) -> None:
    """git reads the repository's own packs before its alternates' (and a cat-file, after that,
    the pack it used last): neither order, nor which blob came before, may pick the clean bytes."""
    tok = token()
    _alternate_claiming(repo, tmp_path, tok)
    assert tok in repo.git("cat-file", "-p", repo.git("rev-parse", "HEAD:b.env"))
    result = scan_history(repo.path, SPEC, jobs=jobs, parallel_min_bytes=0)
    assert [loc.path for loc in locs(result, tok)] == ["b.env"]
    assert not result.errors


def test_a_shallow_file_naming_a_commit_of_a_complete_history_cannot_hide_it(repo: Repo) -> None:
    """git takes every commit .git/shallow names for a root, whatever its object says; one whose
    parents are all in the object database cuts nothing off, so it must not hide them."""
    tok = token()
    leak = repo.commit({"cfg.txt": config(tok)}, msg="leak")
    removed = repo.commit({"cfg.txt": None}, rm=("cfg.txt",), msg="removed")
    repo.commit({"a.txt": "a\n"}, msg="later")
    (repo.path / ".git" / "shallow").write_text(removed + "\n")
    assert tok not in repo.git("log", "-p", "--all")  # git itself no longer shows it
    result = scan_history(repo.path, SPEC)
    assert [loc.commit for loc in locs(result, tok)] == [leak]
    assert not result.repo.shallow
    assert not any("--unshallow" in w for w in result.warnings)  # the history is there: no fetch helps
    assert any("shallow file names 1 commit" in w and removed[:12] in w for w in result.warnings)


def test_a_shallow_clone_keeps_its_real_boundary_when_a_false_one_is_added(repo: Repo, tmp_path: Path) -> None:
    repo.commit({"a.txt": "1\n"}, msg="before the boundary")
    repo.commit({"a.txt": "2\n"}, msg="boundary")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(clone)], check=True)
    shallow = Repo.__new__(Repo)
    shallow.path, shallow.tick = clone, 100
    tok = token()
    leak = shallow.commit({"cfg.txt": config(tok)}, msg="leak")
    removed = shallow.commit({"cfg.txt": None}, rm=("cfg.txt",), msg="removed")
    boundary = (clone / ".git" / "shallow").read_text()
    (clone / ".git" / "shallow").write_text(boundary + removed + "\n")
    result = scan_history(clone, SPEC)
    assert [loc.commit for loc in locs(result, tok)] == [leak]
    assert result.repo.shallow and result.repo.ignored_shallow == (removed,)
    assert any("shallow clone" in w and "--unshallow" in w for w in result.warnings)


def test_every_worktrees_own_refs_and_pseudo_refs_are_scanned_from_any_worktree(repo: Repo, tmp_path: Path) -> None:
    """--all lists every worktree's HEAD but only the current worktree's refs/bisect and
    refs/worktree, and no pseudo-ref: what a scan found depended on where it ran."""
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "--detach", str(linked), "HEAD")
    base = repo.git("rev-parse", "HEAD")
    made: dict[str, tuple[str, str]] = {}

    def dangling(name: str) -> str:
        """A commit on top of HEAD holding a token, which no shared ref names."""
        tok = token()
        blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=config(tok),
                              capture_output=True, text=True, check=True).stdout.strip()
        tree = subprocess.run(["git", "mktree"], cwd=repo.path, input=f"100644 blob {blob}\t{name}.env\n",
                              capture_output=True, text=True, check=True).stdout.strip()
        sha = repo.git("commit-tree", tree, "-p", base, "-m", name)
        made[name] = (tok, sha)
        return sha

    wt = Repo.__new__(Repo)
    wt.path, wt.tick = linked, 100
    wt.git("update-ref", "refs/bisect/bad", dangling("linked_bisect"))
    wt.git("update-ref", "refs/worktree/keep", dangling("linked_worktree_ref"))
    wt.git("update-ref", "ORIG_HEAD", dangling("linked_orig_head"))
    repo.git("update-ref", "refs/bisect/good", dangling("main_bisect"))
    repo.git("update-ref", "MERGE_HEAD", dangling("merge_head"))
    (repo.path / ".git" / "FETCH_HEAD").write_text(
        f"{dangling('fetch_head')}\t\tbranch 'x' of /elsewhere\n{dangling('fetch_head_2')}\tnot-for-merge\tbranch 'y'\n"
        f"{'0' * 39}1\t\tbranch 'pruned' of /elsewhere\n")  # a commit gc pruned since: not an error
    before = refs_digest(open_repo(repo.path))
    for where, jobs in ((repo.path, 1), (linked, 2)):  # 2: the log takes the listing over (same tips)
        result = scan_history(where, SPEC, jobs=jobs, parallel_min_bytes=0)
        for name, (tok, sha) in made.items():
            assert [(loc.commit, loc.path) for loc in locs(result, tok)] == [(sha, f"{name}.env")], (where, name)
    wt.git("update-ref", "refs/bisect/bad", base)
    assert refs_digest(open_repo(repo.path)) != before  # an incremental sweep sees the move
