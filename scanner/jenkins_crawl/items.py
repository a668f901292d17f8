"""Every item of a Jenkins, recursively: folders, multibranch projects, organization folders, jobs.

One ``tree=`` request reads ``LEVELS`` levels of ``jobs`` (jenkins-api.md 9.2); a folder whose
children came back as bare ``{"_class": ...}`` (the deepest level) is asked again at its own URL,
as python-jenkins does. Listings hold only what the credential may read (Item/Read), so an item
the credential cannot see is not named anywhere; a folder whose listing is refused is recorded
with the reason. A Jenkins' answer is hostile input: entries that are not objects, names that
are not strings (or hold a ``/``), and nesting past ``MAX_DEPTH`` are counted and skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from scanner.jenkins_crawl.api import CrawlApi, denied_reason
from scanner.jenkins_crawl.places import item_path

LEVELS = 4
MAX_DEPTH = 64  # folders nested deeper than this are not walked (a listing that loops, or a hostile one)
MAX_NAME = 512


@dataclass(frozen=True)
class Item:
    full_name: str  # "team/app"
    klass: str  # the item's _class
    folder: bool  # it has children (folders, multibranch and organization folders)

    @property
    def path(self) -> str:
        return item_path(self.full_name)


@dataclass(frozen=True)
class Refused:
    """A listing that could not be read: the folder ("" for the root) and why."""

    full_name: str
    reason: str
    status: int | None = None


def tree_query(levels: int = LEVELS) -> str:
    """``jobs[name,jobs[name,jobs[name,jobs]]]`` for 3 levels below the first."""
    inner = "name,jobs"
    for _ in range(levels - 1):
        inner = f"name,jobs[{inner}]"
    return f"jobs[{inner}]"


def walk_items(api: CrawlApi, on_problem: Callable[[Refused], None],
               first: dict | None = None) -> Iterator[Item]:
    """Items depth first, a folder before its children; ``first`` is the root listing if already read."""
    pending: list[tuple[str, int, dict | None]] = [("", 0, first)]
    while pending:
        folder, depth, listing = pending.pop()
        if listing is None:
            path = item_path(folder) if folder else ""
            listing, answer = api.json(path, tree_query())
            if listing is None:
                on_problem(Refused(folder, f"item listing not read: {denied_reason(answer)}", answer.status))
                continue
        found: list[Item] = []
        later: list[tuple[str, int, dict | None]] = []
        _read_level(listing, folder, depth, found, later, on_problem)
        yield from found
        pending.extend(reversed(later))


def _read_level(listing: dict, parent: str, depth: int, found: list[Item],
                later: list[tuple[str, int, dict | None]], on_problem: Callable[[Refused], None]) -> None:
    children = listing.get("jobs")
    if not isinstance(children, list):
        if "jobs" in listing:
            on_problem(Refused(parent, "item listing not understood (jobs is not a list)"))
        return
    bad = 0
    for child in children:
        if not isinstance(child, dict):
            bad += 1
            continue
        name = child.get("name")
        if not isinstance(name, str) or not name or "/" in name or len(name) > MAX_NAME or name in (".", ".."):
            bad += 1
            continue
        klass = child.get("_class") if isinstance(child.get("_class"), str) else "?"
        full = f"{parent}/{name}" if parent else name
        is_folder = "jobs" in child
        found.append(Item(full, klass[:200], is_folder))
        if not is_folder:
            continue
        if depth + 1 >= MAX_DEPTH:
            on_problem(Refused(full, f"folders nested deeper than {MAX_DEPTH} levels: not walked"))
            continue
        grand = child.get("jobs")
        if isinstance(grand, list) and grand and all(isinstance(g, dict) and "name" not in g for g in grand):
            later.append((full, depth + 1, None))  # the deepest level of this request: ask the folder
        else:
            _read_level(child, full, depth + 1, found, later, on_problem)
    if bad:
        where = f"folder {parent}" if parent else "the root"
        on_problem(Refused(parent, f"item listing of {where}: {bad} entr{'y' if bad == 1 else 'ies'} not understood "
                                   "(skipped)"))
