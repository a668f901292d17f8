"""Which builds of a job to read, asking Jenkins as little as possible.

``builds`` holds the 100 newest builds and is cheap; ``allBuilds`` loads every build record on
the server (jenkins-api.md 9.3, 9.7), so it is asked for only when the job's ``firstBuild`` is
older than the oldest of those 100 *and* the selection (``--builds N``, ``--since``, the builds
already scanned in an earlier run) could still reach past them. The build list carries what the
crawl needs of each build (number, time, running or not, description, parameters), so a build
costs one more request only for its console log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

BUILD_FIELDS = "number,timestamp,building,description,actions[parameters[name,value]]"
JOB_TREE = f"builds[{BUILD_FIELDS}],firstBuild[number]"
ALL_TREE = f"allBuilds[{BUILD_FIELDS}]"
MAX_BUILD_NUMBER = 2**31 - 1
PASSWORD_PARAMETER = "hudson.model.PasswordParameterValue"


@dataclass(frozen=True)
class Parameter:
    name: str
    value: str | None = field(repr=False)  # None: not exported (a password parameter) or not text
    klass: str = ""


@dataclass(frozen=True)
class Build:
    number: int
    timestamp: int | None  # epoch milliseconds
    building: bool
    description: str | None = field(default=None, repr=False)
    parameters: tuple[Parameter, ...] = field(default=(), repr=False)


@dataclass
class Selection:
    builds: list[Build]  # newest first
    older_than_known: int = 0  # builds at or below the last one scanned before (skipped)
    before_since: int = 0
    beyond_limit: int = 0
    running: int = 0  # running builds scanned as far as they are written, and not marked as scanned


def parse_builds(entries: object) -> tuple[list[Build], int]:
    """Builds from a ``builds``/``allBuilds`` list, newest first; and how many entries made no sense."""
    if not isinstance(entries, list):
        return [], 1 if entries is not None else 0
    out: dict[int, Build] = {}
    bad = 0
    for entry in entries:
        build = _build(entry)
        if build is None:
            bad += 1
        else:
            out[build.number] = build
    return sorted(out.values(), key=lambda b: -b.number), bad


def _build(entry: object) -> Build | None:
    if not isinstance(entry, dict):
        return None
    number = entry.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or not 0 < number <= MAX_BUILD_NUMBER:
        return None
    stamp = entry.get("timestamp")
    description = entry.get("description")
    return Build(number=number, timestamp=stamp if isinstance(stamp, int) and not isinstance(stamp, bool) else None,
                 building=entry.get("building") is True,
                 description=description if isinstance(description, str) else None,
                 parameters=tuple(_parameters(entry.get("actions"))))


def _parameters(actions: object) -> list[Parameter]:
    out: list[Parameter] = []
    if not isinstance(actions, list):
        return out
    for action in actions:
        values = action.get("parameters") if isinstance(action, dict) else None
        if not isinstance(values, list):
            continue
        for value in values:
            if not isinstance(value, dict) or not isinstance(value.get("name"), str):
                continue
            klass = value.get("_class") if isinstance(value.get("_class"), str) else ""
            text = value.get("value")
            out.append(Parameter(name=value["name"][:200], value=text if isinstance(text, str) else None,
                                 klass=klass[:200]))
    return out


def first_number(job: dict) -> int | None:
    first = job.get("firstBuild")
    number = first.get("number") if isinstance(first, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def need_all_builds(newest: list[Build], first: int | None, *, after: int | None, since_ms: int | None,
                    limit: int | None) -> bool:
    """Whether the selection may reach builds older than the 100 ``builds`` returned."""
    if not newest or first is None or first >= newest[-1].number:
        return False
    if after is not None and newest[-1].number <= after + 1:
        return False  # everything older was scanned before
    if since_ms is not None and newest[-1].timestamp is not None and newest[-1].timestamp < since_ms:
        return False  # the oldest of the 100 is already before --since
    return limit is None or len(select(newest, after=after, since_ms=since_ms, limit=None).builds) < limit


def select(builds: list[Build], *, after: int | None, since_ms: int | None, limit: int | None) -> Selection:
    """The builds to read: newer than ``after``, not before ``since_ms``, the ``limit`` newest."""
    chosen: list[Build] = []
    selection = Selection(builds=chosen)
    for build in builds:
        if after is not None and build.number <= after:
            selection.older_than_known += 1
        elif since_ms is not None and (build.timestamp or 0) < since_ms:
            selection.before_since += 1
        elif limit is not None and len(chosen) >= limit:
            selection.beyond_limit += 1
        else:
            chosen.append(build)
            selection.running += build.building
    return selection


def done_through(previous: int | None, read: list[int], unfinished: list[int]) -> int | None:
    """The build number a state may call scanned through: the newest read, but below the oldest
    build that is still running or whose log could not be read completely (read again next time)."""
    best = max([previous or 0, *read]) or None
    if unfinished and best is not None:
        best = min(best, min(unfinished) - 1)
    return max(best, previous or 0) or None if best is not None else previous
