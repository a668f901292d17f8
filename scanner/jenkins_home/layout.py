"""Where things are in a JENKINS_HOME, and how a report names them.

A location's path is ``jenkins-home://`` + the file's path inside the home, plus an optional
``#fragment`` naming the field inside an XML file (docs/report-format.md):

    jenkins-home://jobs/team/jobs/app/builds/12/log              (log line in Location.line)
    jenkins-home://jobs/team/jobs/app/config.xml#builders/hudson.tasks.Shell/command
    jenkins-home://jobs/team/jobs/app/builds/12/build.xml#parameter:DEPLOY_TOKEN
    jenkins-home://credentials.xml#credential:deploy-token/password
    jenkins-home://users/alice_123/config.xml#legacyApiToken

Item directories nest as Jenkins stores them (``jobs/<folder>/jobs/<job>``, multibranch
``branches/<branch>``, matrix ``configurations/axis-<a>/<v>``), so the job's full name and the
build number are read back from the path (``describe``).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from enum import Enum

SCHEME = "jenkins-home://"
SOURCE = "jenkins-home"  # Location.source of everything found in a JENKINS_HOME


class Kind(str, Enum):
    ROOT_CONFIG = "root config"  # config.xml
    CREDENTIALS = "credentials"  # credentials.xml
    LOCATION = "location config"  # jenkins.model.JenkinsLocationConfiguration.xml
    ROOT_XML = "global config"  # other top-level *.xml (per-plugin global configuration)
    SECRET = "key file"  # secrets/*, secret.key
    JOB_CONFIG = "item config"  # jobs/**/config.xml (jobs and folders)
    BUILD_XML = "build record"  # jobs/**/builds/<n>/build.xml
    BUILD_LOG = "build log"  # jobs/**/builds/<n>/log, log.gz
    ITEM_LOG = "item log"  # multibranch indexing / organization folder computation logs
    NODE_CONFIG = "node config"  # nodes/<name>/config.xml
    USER_CONFIG = "user record"  # users/<dir>/config.xml
    OTHER = "other"  # not a source: workspaces, plugins, fingerprints, artifacts ...


XML_KINDS = frozenset({Kind.ROOT_CONFIG, Kind.CREDENTIALS, Kind.LOCATION, Kind.ROOT_XML, Kind.JOB_CONFIG,
                       Kind.BUILD_XML, Kind.NODE_CONFIG, Kind.USER_CONFIG})
LOG_KINDS = frozenset({Kind.BUILD_LOG, Kind.ITEM_LOG})
LOCATION_FILE = "jenkins.model.JenkinsLocationConfiguration.xml"
# Names that only a JENKINS_HOME has at its top: they tell where the home starts in an archive.
MARKER_DIRS = frozenset({"jobs", "nodes", "users", "secrets", "plugins", "fingerprints", "userContent", "updates"})
MARKER_FILES = frozenset({"config.xml", "credentials.xml", "secret.key", LOCATION_FILE})
ITEM_CONTAINERS = frozenset({"jobs", "branches"})
BUILD_NUMBER = re.compile(r"[0-9]{1,10}")


@dataclass(frozen=True)
class HomePath:
    """A file of the home: its kind, and for item files the job's full name and build number."""

    rel: str
    kind: Kind
    item: str | None = None  # full name: "team/app"
    build: int | None = None


def classify(rel: str) -> HomePath:
    parts = rel.split("/")
    top = parts[0]
    if len(parts) == 1:
        if top == "config.xml":
            return HomePath(rel, Kind.ROOT_CONFIG)
        if top == "credentials.xml":
            return HomePath(rel, Kind.CREDENTIALS)
        if top == LOCATION_FILE:
            return HomePath(rel, Kind.LOCATION)
        if top == "secret.key":
            return HomePath(rel, Kind.SECRET)
        return HomePath(rel, Kind.ROOT_XML if top.endswith(".xml") else Kind.OTHER)
    if top == "secrets" and len(parts) == 2:
        return HomePath(rel, Kind.SECRET)
    if len(parts) == 3 and parts[2] == "config.xml" and top in ("nodes", "users"):
        return HomePath(rel, Kind.NODE_CONFIG if top == "nodes" else Kind.USER_CONFIG)
    if top == "jobs":
        return _classify_item(rel, parts)
    return HomePath(rel, Kind.OTHER)


def _classify_item(rel: str, parts: list[str]) -> HomePath:
    item, rest = split_item(parts)
    if item is None:
        return HomePath(rel, Kind.OTHER)
    if rest == ["config.xml"]:
        return HomePath(rel, Kind.JOB_CONFIG, item)
    if rest in (["indexing", "indexing.log"], ["computation", "computation.log"]):
        return HomePath(rel, Kind.ITEM_LOG, item)
    if len(rest) == 3 and rest[0] == "builds" and BUILD_NUMBER.fullmatch(rest[1]):
        if rest[2] in ("log", "log.gz"):
            return HomePath(rel, Kind.BUILD_LOG, item, int(rest[1]))
        if rest[2] == "build.xml":
            return HomePath(rel, Kind.BUILD_XML, item, int(rest[1]))
    return HomePath(rel, Kind.OTHER, item)


def split_item(parts: list[str]) -> tuple[str | None, list[str]]:
    """(job full name, the rest) of ``jobs/a/jobs/b/builds/3/log``: ``("a/b", ["builds", "3", "log"])``."""
    names: list[str] = []
    index = 0
    while index + 1 < len(parts) and parts[index] in ITEM_CONTAINERS:
        names.append(parts[index + 1])
        index += 2
        # matrix configurations: configurations/axis-<a>/<v>[/axis-<b>/<w>] is one child item
        if index < len(parts) and parts[index] == "configurations":
            axes = []
            index += 1
            while index + 1 < len(parts) and parts[index].startswith("axis-"):
                axes.append(f"{parts[index][5:]}={parts[index + 1]}")
                index += 2
            if axes:
                names.append(",".join(axes))
    if not names:
        return None, parts
    return "/".join(names), parts[index:]


def display(rel: str, fragment: str | None = None) -> str:
    return SCHEME + rel + (f"#{fragment}" if fragment else "")


def describe(path: str) -> str | None:
    """A person's name for a jenkins-home:// location: ``job team/app #12 log``; None for other paths."""
    if not path.startswith(SCHEME):
        return None
    rel, _, fragment = path[len(SCHEME):].partition("#")
    place = classify(rel)
    if place.item is not None:
        text = f"job {place.item}"
        if place.build is not None:
            text += f" #{place.build}"
        text += f" {posixpath.basename(rel)}"
    elif place.kind in (Kind.NODE_CONFIG, Kind.USER_CONFIG):
        text = f"{'node' if place.kind == Kind.NODE_CONFIG else 'user'} {rel.split('/')[1]} config.xml"
    else:
        text = rel
    return f"{text} [{fragment}]" if fragment else text


# --------------------------------------------------------------------------- archive members


def clean_member_name(name: str) -> str | None:
    """A member name as a relative path, or None when it is absolute or climbs out with ``..``."""
    if name.startswith("/") or "\0" in name or re.match(r"^[A-Za-z]:[\\/]", name):
        return None
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return "/".join(parts)


def home_root(name: str, is_dir: bool) -> str | None:
    """The home's directory inside an archive, from one member name, when the name shows it.

    The shortest prefix followed by a name only a JENKINS_HOME has at its top (``jobs/``,
    ``secrets/``, ``config.xml``...): ``backup/jenkins/jobs/x/config.xml`` -> ``backup/jenkins``.
    """
    parts = name.split("/") if name else []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part in MARKER_DIRS and (not last or is_dir):
            return "/".join(parts[:index])
        if part in MARKER_FILES and last and not is_dir:
            return "/".join(parts[:index])
    return None


def relative_to_root(name: str, root: str) -> str | None:
    if not root:
        return name
    if name == root:
        return ""
    return name[len(root) + 1:] if name.startswith(root + "/") else None
