"""Jenkins XML files read as data: a small element tree that remembers where each text is.

Parsed with expat, which fetches no external entity; a file with a DOCTYPE (Jenkins never writes
one, an attacker would, for entity expansion) is not parsed at all and is scanned as plain text.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Iterator
from dataclasses import dataclass, field


class XmlRefused(Exception):
    """Not parsed: the message says why in a few words, never quoting the content."""


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    line: int
    parent: Node | None = field(default=None, repr=False)
    children: list[Node] = field(default_factory=list, repr=False)
    parts: list[str] = field(default_factory=list, repr=False)
    text_line: int = 0  # where the text starts (1-based line, 1-based column)
    text_column: int = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def child(self, tag: str) -> Node | None:
        for node in self.children:
            if node.tag == tag:
                return node
        return None

    def child_text(self, tag: str) -> str | None:
        node = self.child(tag)
        return node.text.strip() if node is not None else None

    def iter(self) -> Iterator[Node]:
        yield self
        for node in self.children:
            yield from node.iter()

    def path_below(self, top: Node | None) -> list[str]:
        """Tags from just below ``top`` (exclusive) down to this node."""
        tags: list[str] = []
        node: Node | None = self
        while node is not None and node is not top:
            tags.append(node.tag)
            node = node.parent
        return tags[::-1]


# XStream writes XML 1.1, where control characters may appear as references (&#x1b;); expat reads
# XML 1.0 and refuses them. They become U+FFFD (references) and "?" (raw bytes), then parse again.
CONTROL_REF = re.compile(rb"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));")
CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def parse(data: bytes) -> Node:
    try:
        return _parse(data)
    except XmlRefused:
        cleaned = CONTROL_BYTE.sub(b"?", CONTROL_REF.sub("&#xfffd;".encode(), data))
        if cleaned == data:
            raise
        return _parse(cleaned)


def _parse(data: bytes) -> Node:
    parser = xml.parsers.expat.ParserCreate()
    stack: list[Node] = []
    roots: list[Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag, attrs, parser.CurrentLineNumber, parent=stack[-1] if stack else None)
        if stack:
            stack[-1].children.append(node)
        else:
            roots.append(node)
        stack.append(node)

    def end(_tag: str) -> None:
        stack.pop()

    def chars(text: str) -> None:
        if not stack:
            return
        node = stack[-1]
        if not node.parts:
            node.text_line, node.text_column = parser.CurrentLineNumber, parser.CurrentColumnNumber + 1
        node.parts.append(text)

    def doctype(*_args: object) -> None:
        raise XmlRefused("has a DOCTYPE")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise XmlRefused(f"not well-formed XML (line {exc.lineno})") from None
    except RecursionError:
        raise XmlRefused("nested too deeply") from None
    if not roots:
        raise XmlRefused("no root element")
    return roots[0]


def value_position(node: Node) -> tuple[int, int]:
    """(line, 1-based column) of the first non-blank character of a node's text."""
    text = node.text
    lead = text[: len(text) - len(text.lstrip())]
    if "\n" in lead:
        return node.text_line + lead.count("\n"), len(lead) - lead.rfind("\n")
    return node.text_line, node.text_column + len(lead)


def text_nodes(root: Node) -> Iterator[Node]:
    """Elements holding non-blank text of their own."""
    for node in root.iter():
        if node.parts and node.text.strip():
            yield node
