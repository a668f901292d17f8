"""What the crawl reads, through the detector, with the places named as ``scan --jenkins-home`` names them.

- a ``config.xml`` (job, folder, node, view): scanned as text, parsed with the home scanner's XML
  reader so each hit names its field (``line_fields``: ``builders/hudson.tasks.Shell/command``,
  ``env:KEY``, ``credential:<id>/...``);
- a console log: streamed, console notes removed (``NoteStripper``: progressiveText sends them raw,
  jenkins-api.md 9.4), scanned in line-aligned chunks;
- a build's parameters, scanned as ``<NAME>value</NAME>`` so rules see the name; password
  parameters are not exported by Jenkins and are only counted;
- a build's description.
"""

from __future__ import annotations

from typing import BinaryIO

from scanner.detect import Detector, Hit, scan_or_error
from scanner.findings import Location
from scanner.jenkins_crawl.builds import PASSWORD_PARAMETER, Build
from scanner.jenkins_crawl.places import SOURCE
from scanner.jenkins_home import xmlread
from scanner.jenkins_home.layout import HomePath, Kind
from scanner.jenkins_home.scan import NoteStripper, line_fields
from scanner.sources.files import FileScanResult, scan_stream


def _locate(result: FileScanResult, hits: list[Hit], path: str, fields: dict[int, str] | None = None,
            line: int | None = None, shift: int = 0) -> None:
    for hit in hits:
        fragment = fields.get(hit.line) if fields else None
        where = f"{path}#{fragment}" if fragment else path
        column = max(1, hit.column - shift)
        result.hits.append((hit, Location(path=where, line=line or hit.line, column=column,
                                          end_column=column + (hit.end_column - hit.column), source=SOURCE)))


def scan_config(detector: Detector, data: bytes, path: str, kind: Kind, result: FileScanResult) -> None:
    """One config.xml; ``kind`` is JOB_CONFIG (jobs, folders, views) or NODE_CONFIG (env vars by name)."""
    result.files += 1
    result.bytes += len(data)
    hits, error = scan_or_error(detector, path, data)
    if error:
        result.errors.append(f"{path}: not scanned: {error}")
    if not hits:
        return
    try:
        root = xmlread.parse(data)
    except xmlread.XmlRefused as exc:
        result.warnings.append(f"{path}: {exc}: scanned as plain text")
        _locate(result, hits, path)
        return
    _locate(result, hits, path, line_fields(root, HomePath("config.xml", kind)))


def scan_log(detector: Detector, body: BinaryIO, path: str, result: FileScanResult) -> None:
    scan_stream(detector, NoteStripper(body), path, result, source=SOURCE)  # type: ignore[arg-type]


def scan_build_fields(detector: Detector, build: Build, build_path: str, result: FileScanResult) -> int:
    """Parameters and description of one build; returns how many password parameters it has."""
    passwords = 0
    for parameter in build.parameters:
        if parameter.klass == PASSWORD_PARAMETER:
            passwords += 1
            continue
        if not parameter.value:
            continue
        tag = "".join(c if c.isalnum() or c in "._-" else "_" for c in parameter.name) or "value"
        data = f"<{tag}>{parameter.value}</{tag}>\n".encode("utf-8", "surrogateescape")
        path = f"{build_path}/parameters#parameter:{parameter.name}"
        hits, error = scan_or_error(detector, path, data)
        if error:
            result.errors.append(f"{path}: not scanned: {error}")
        # columns of the value itself, as a person reads it in the parameters page
        _locate(result, hits, path, shift=len(tag) + 2)
    if build.description:
        path = f"{build_path}/description"
        hits, error = scan_or_error(detector, path, build.description.encode("utf-8", "surrogateescape"))
        if error:
            result.errors.append(f"{path}: not scanned: {error}")
        _locate(result, hits, path)
    return passwords
