"""Item directories, multibranch layouts, matrix grants and running builds on disk (facts sheet 9.6).

Helpers of HomeContent: where an item's directory is (a multibranch child lives under
``branches/<NameMangler name>`` with its item name in ``name-utf8.txt``), the
``AuthorizationMatrixProperty`` of an item's config.xml, and build.xml records, so the server
reads back exactly what Jenkins would have written.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from . import xstream as xs
from .item_perms import MATRIX_PROPERTIES, NAMES, NON_INHERITING
from .items import CHILD_NAME_FILE, FOLDER_CLASSES, MULTIBRANCH, ORGANIZATION, ROOT_TAGS, read_config
from .names import mangle, name_decode

INHERIT_PARENT = "org.jenkinsci.plugins.matrixauth.inheritance.InheritParentStrategy"
BRANCH_PROPERTY = "org.jenkinsci.plugins.workflow.multibranch.BranchJobProperty"


def class_of(config: ET.Element | None) -> str | None:
    return None if config is None else ROOT_TAGS.get(config.tag, config.tag)


def item_dir(root: Path, full_name: str) -> Path:
    """The directory of ``a/b/c``: ``jobs/a/jobs/b/...``, ``branches/<mangled>`` below a multibranch project."""
    path = root
    parent_class: str | None = None
    for name in full_name.split("/"):
        container = "branches" if parent_class == MULTIBRANCH else "jobs"
        directory = mangle(name_decode(name)) if parent_class in (MULTIBRANCH, ORGANIZATION) else name
        path = path / container / directory
        parent_class = class_of(read_config(path / "config.xml"))
    return path


def matrix_tag(config: ET.Element) -> str:
    return MATRIX_PROPERTIES[1] if class_of(config) in FOLDER_CLASSES else MATRIX_PROPERTIES[0]


def find_matrix(config: ET.Element) -> ET.Element | None:
    properties = config.find("properties")
    if properties is None:
        return None
    return next((p for p in properties if p.tag in MATRIX_PROPERTIES), None)


def properties_of(config: ET.Element) -> ET.Element:
    properties = config.find("properties")
    if properties is None:
        properties = xs.element("properties")
        description = config.find("description")
        index = list(config).index(description) + 1 if description is not None else 0
        config.insert(index, properties)
    return properties


def matrix_of(config: ET.Element) -> ET.Element:
    found = find_matrix(config)
    if found is None:
        found = xs.element(matrix_tag(config), None,
                           xs.element("inheritanceStrategy", **{"class": INHERIT_PARENT}))
        properties_of(config).append(found)
    return found


def grant(config_path: Path, user_id: str, permissions: tuple[str, ...]) -> None:
    """Add ``USER:<permission id>:<user>`` entries (short names: read, discover, extended_read, configure)."""
    config = _require(config_path)
    matrix = matrix_of(config)
    present = {p.text for p in matrix.iterfind("permission")}
    for permission in permissions:
        entry = f"USER:{NAMES.get(permission, permission)}:{user_id}"
        if entry not in present:
            matrix.append(xs.element("permission", entry))
            present.add(entry)
    xs.write_atomic(config_path, config)


def set_inheritance(config_path: Path, inherit: bool) -> None:
    config = _require(config_path)
    strategy = matrix_of(config).find("inheritanceStrategy")
    assert strategy is not None
    strategy.set("class", INHERIT_PARENT if inherit else NON_INHERITING)
    xs.write_atomic(config_path, config)


def keep_matrix(config_path: Path, new_root: ET.Element) -> ET.Element:
    """A rewritten config.xml keeps the grants the old one had (tests may grant before or after)."""
    old = read_config(config_path)
    matrix = None if old is None else find_matrix(old)
    if matrix is not None:
        properties_of(new_root).append(matrix)
    return new_root


def _require(config_path: Path) -> ET.Element:
    config = read_config(config_path)
    if config is None:
        raise FileNotFoundError(f"no item at {config_path.parent}: add it first")
    return config


def write_child_name(directory: Path, item_name: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / CHILD_NAME_FILE).write_text(item_name, encoding="utf-8")


def branch_job(branch: str) -> ET.Element:
    """A WorkflowJob of a multibranch project: its branch recorded in BranchJobProperty."""
    head = xs.element("head", None, xs.element("name", branch), **{"class": "jenkins.plugins.git.GitBranchSCMHead"})
    prop = xs.element(BRANCH_PROPERTY, None, xs.element("branch", None, xs.element("sourceId", "1"), head))
    definition = xs.element("definition", None, xs.element("scriptPath", "Jenkinsfile"),
                            **{"class": "org.jenkinsci.plugins.workflow.multibranch.SCMBinder"})
    root = xs.element("flow-definition", None, xs.element("actions"), xs.element("description"),
                      xs.element("properties", None, prop), definition, xs.element("disabled", "false"),
                      plugin="workflow-job@1520.v56d65e3b_4566")
    return root


def computed_folder(class_name: str, plugin: str) -> ET.Element:
    return xs.element(class_name, None, xs.element("actions"), xs.element("description"), xs.element("properties"),
                      xs.element("folderViews"), xs.element("healthMetrics"), plugin=plugin)


def set_result(build_xml: Path, result: str | None, duration: int) -> None:
    """Rewrite build.xml's <result> (None removes it: the build is running) and <duration>."""
    root = _require(build_xml)
    node = root.find("result")
    if result is None:
        if node is not None:
            root.remove(node)
    else:
        if node is None:
            node = xs.element("result")
            children = list(root)
            anchor = root.find("startTime")
            root.insert(children.index(anchor) + 1 if anchor is not None else len(children), node)
        node.text = result
    duration_node = root.find("duration")
    if duration_node is not None:
        duration_node.text = str(duration)
    xs.write_atomic(build_xml, root)
