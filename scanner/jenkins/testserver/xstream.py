"""XStream-style XML: how Jenkins writes its XML files (2-space indent, `_-` for `$`, `<x/>`)."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

DECLARATION = "<?xml version='1.1' encoding='UTF-8'?>"
_JAVA_DATE = "%Y-%m-%d %H:%M:%S"


def element(tag: str, text: str | None = None, *children: ET.Element, **attrs: str) -> ET.Element:
    node = ET.Element(tag, {k: v for k, v in attrs.items()})
    node.text = text
    node.extend(children)
    return node


def render(root: ET.Element) -> str:
    lines = [DECLARATION]
    _render(root, 0, lines)
    return "\n".join(lines) + "\n"


def _render(node: ET.Element, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    attrs = "".join(f" {k}={quoteattr(v)}" for k, v in node.attrib.items())
    if len(node):
        lines.append(f"{pad}<{node.tag}{attrs}>")
        for child in node:
            _render(child, depth + 1, lines)
        lines.append(f"{pad}</{node.tag}>")
    elif node.text is None or node.text == "":
        lines.append(f"{pad}<{node.tag}{attrs}/>")
    else:
        lines.append(f"{pad}<{node.tag}{attrs}>{escape(node.text)}</{node.tag}>")


def write_atomic(path: Path, root: ET.Element) -> None:
    """Write via a temp file and rename, as Jenkins' AtomicFileWriter does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render(root), encoding="utf-8")
    tmp.replace(path)


def read(path: Path) -> ET.Element | None:
    if not path.is_file():
        return None
    return ET.fromstring(path.read_bytes())


def text_of(node: ET.Element | None, tag: str, default: str | None = None) -> str | None:
    if node is None:
        return default
    child = node.find(tag)
    if child is None:
        return default
    return child.text or ""


def format_java_date(value: datetime) -> str:
    """XStream's java.util.Date form: '2022-08-18 09:50:55.535 UTC'."""
    utc = value.astimezone(timezone.utc)
    return f"{utc.strftime(_JAVA_DATE)}.{utc.microsecond // 1000:03d} UTC"


def parse_java_date(text: str | None) -> datetime | None:
    if not text:
        return None
    stamp = text.strip()
    if stamp.endswith(" UTC"):
        stamp = stamp[:-4]
    main, _, millis = stamp.partition(".")
    parsed = datetime.strptime(main, _JAVA_DATE).replace(tzinfo=timezone.utc)
    return parsed.replace(microsecond=int(millis or "0") * 1000)


def format_local_date(value: date) -> str:
    """(open) XStream's java.time.LocalDate form, presumably ISO yyyy-MM-dd."""
    return value.isoformat()


def parse_local_date(text: str | None) -> date | None:
    return date.fromisoformat(text.strip()) if text else None
