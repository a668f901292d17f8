"""Items and builds as Jenkins loads them from JENKINS_HOME/jobs/** (facts sheet 9.2, 9.3, 9.6).

Read from disk on every request, so whatever a test writes with HomeContent is served at once.
An item is a directory with a config.xml; its class is the XML root element. Folders keep
children in ``jobs/``, multibranch projects in ``branches/`` under a mangled directory name whose
item name is in ``name-utf8.txt`` (branch-api ChildNameGenerator).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from . import xstream as xs
from .names import raw_encode

FREESTYLE = "hudson.model.FreeStyleProject"
PIPELINE = "org.jenkinsci.plugins.workflow.job.WorkflowJob"
FOLDER = "com.cloudbees.hudson.plugins.folder.Folder"
MULTIBRANCH = "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
ORGANIZATION = "jenkins.branch.OrganizationFolder"
FOLDER_CLASSES = frozenset({FOLDER, MULTIBRANCH, ORGANIZATION})
# XStream aliases of the job classes; every other root element is the class name itself
ROOT_TAGS = {"project": FREESTYLE, "flow-definition": PIPELINE}
RUN_CLASSES = {FREESTYLE: "hudson.model.FreeStyleBuild", PIPELINE: "org.jenkinsci.plugins.workflow.job.WorkflowRun"}
CHILD_NAME_FILE = "name-utf8.txt"
PASSWORD_VALUE = "hudson.model.PasswordParameterValue"


def read_config(path: Path) -> ET.Element | None:
    """A config.xml Jenkins could load; a broken one is skipped, as Jenkins skips it at startup."""
    try:
        return xs.read(path)
    except (ET.ParseError, OSError):
        return None


@dataclass(eq=False)
class Item:
    name: str
    dir: Path
    config: ET.Element
    parent: "Item | None"

    @property
    def class_name(self) -> str:
        return ROOT_TAGS.get(self.config.tag, self.config.tag)

    @property
    def full_name(self) -> str:
        return self.name if self.parent is None else f"{self.parent.full_name}/{self.name}"

    @property
    def path(self) -> str:
        """URL path below the root: job/a/job/b/ (Util.rawEncode of each name)."""
        own = f"job/{raw_encode(self.name)}/"
        return own if self.parent is None else self.parent.path + own

    @property
    def is_folder(self) -> bool:
        return self.class_name in FOLDER_CLASSES

    @property
    def computed(self) -> bool:
        """Children named by a ChildNameGenerator (multibranch branches, organization repositories)."""
        return self.class_name in (MULTIBRANCH, ORGANIZATION)

    @property
    def children_dir(self) -> Path:
        return self.dir / ("branches" if self.class_name == MULTIBRANCH else "jobs")

    def children(self) -> list["Item"]:
        return load_children(self.children_dir, self) if self.is_folder else []

    def child(self, name: str) -> "Item | None":
        return find(self.children(), name)

    @property
    def description(self) -> str:
        return xs.text_of(self.config, "description") or ""

    # -- builds -------------------------------------------------------------------------------

    @property
    def builds_dir(self) -> Path:
        return self.dir / "builds"

    def build_numbers(self) -> list[int]:
        """Newest first."""
        if self.is_folder or not self.builds_dir.is_dir():
            return []
        numbers = [int(p.name) for p in self.builds_dir.iterdir() if p.name.isdigit() and (p / "build.xml").is_file()]
        return sorted(numbers, reverse=True)

    def build(self, number: int) -> "Build | None":
        build_dir = self.builds_dir / str(number)
        if self.is_folder or not (build_dir / "build.xml").is_file():
            return None
        return Build(self, number, build_dir)

    def builds(self) -> list["Build"]:
        return [Build(self, n, self.builds_dir / str(n)) for n in self.build_numbers()]

    def parameter_definitions(self) -> list[ET.Element]:
        return list(self.config.iterfind("properties/hudson.model.ParametersDefinitionProperty/parameterDefinitions/*"))


def find(items: list[Item], name: str) -> Item | None:
    """Item lookup is case-insensitive (CopyOnWriteMap.Tree with CASE_INSENSITIVE_ORDER)."""
    wanted = name.lower()
    return next((i for i in items if i.name.lower() == wanted), None)


def load_children(container: Path, parent: Item | None) -> list[Item]:
    if not container.is_dir():
        return []
    found = []
    for directory in container.iterdir():
        config = read_config(directory / "config.xml")
        if config is None:
            continue
        name = directory.name
        name_file = directory / CHILD_NAME_FILE
        if parent is not None and parent.computed and name_file.is_file():
            name = name_file.read_text(encoding="utf-8").strip() or name
        found.append(Item(name, directory, config, parent))
    return sorted(found, key=lambda i: i.name.lower())


def top_level(home: Path) -> list[Item]:
    return load_children(home / "jobs", None)


# -- builds -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ParameterValue:
    class_name: str
    name: str
    value: str | None = field(repr=False)


@dataclass(frozen=True)
class BuildRecord:
    """What build.xml persists; a build without <result> is still running."""

    timestamp: int
    result: str | None
    duration: int
    description: str | None
    display_name: str | None
    queue_id: int
    keep_log: bool
    parameters: list[ParameterValue]
    defined_names: list[str] | None  # parameterDefinitionNames; None = an old record, all shown

    @property
    def building(self) -> bool:
        return self.result is None


@dataclass(eq=False)
class Build:
    job: Item
    number: int
    dir: Path

    @cached_property
    def record(self) -> BuildRecord:
        root = read_config(self.dir / "build.xml")
        if root is None:
            return BuildRecord(0, "FAILURE", 0, None, None, 0, False, [], None)
        action = root.find("actions/hudson.model.ParametersAction")
        values: list[ParameterValue] = []
        names = None
        if action is not None:
            values = [ParameterValue(node.tag, xs.text_of(node, "name") or "", xs.text_of(node, "value"))
                      for node in action.iterfind("parameters/*")]
            defined = action.find("parameterDefinitionNames")
            names = None if defined is None else [s.text or "" for s in defined.iterfind("string")]
        return BuildRecord(_int(xs.text_of(root, "timestamp")), xs.text_of(root, "result"),
                           _int(xs.text_of(root, "duration")), xs.text_of(root, "description"),
                           xs.text_of(root, "displayName"), _int(xs.text_of(root, "queueId")),
                           xs.text_of(root, "keepLog") == "true", values, names)

    @property
    def class_name(self) -> str:
        return RUN_CLASSES.get(self.job.class_name, "hudson.model.FreeStyleBuild")

    @property
    def path(self) -> str:
        return f"{self.job.path}{self.number}/"

    @property
    def log_file(self) -> Path | None:
        """Run.getLogFile: ``log``, else ``log.gz``; None when neither exists."""
        for name in ("log", "log.gz"):
            candidate = self.dir / name
            if candidate.is_file():
                return candidate
        return None

    def visible_parameters(self) -> list[ParameterValue]:
        """ParametersAction.getParameters: only the names the job defined when it ran."""
        record = self.record
        if record.defined_names is None:
            return record.parameters
        return [p for p in record.parameters if p.name in record.defined_names]


def _int(text: str | None) -> int:
    try:
        return int((text or "0").strip())
    except ValueError:
        return 0
