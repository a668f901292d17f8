"""Read the API token list off a Jenkins user's security page, in both HTML generations.

2.505+ renders token cards (``div.token-card`` with the UUID as ``id``); 2.129-2.504 (and
2.468-2.504 at ``/security/``) render ``div.token-list-existing-item`` rows with a hidden
``tokenUuid`` input (facts sheet §6). Only the stdlib HTML parser is used.

The page comes from a server that may be broken or hostile: a page that cannot be parsed raises
``PageError`` (never anything else), and a value that cannot be a use counter reads as unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Iterator, NamedTuple

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_DIGITS = re.compile(r"\d[\d,.\u00a0\u202f ]*")
MAX_COUNTER_DIGITS = 19  # Jenkins counts uses in a Java int (a long holds 19 digits): longer is no counter
MAX_DEPTH = 512  # real token pages nest a few dozen elements deep
MAX_PAGE_CHARS = 8 * 2**20  # a page of a few hundred tokens is well under 1 MiB


class PageError(ValueError):
    """The page could not be parsed as HTML (malformed, too deep, too large)."""


class PageToken(NamedTuple):
    uuid: str
    name: str
    use_counter: int | None  # None: statistics disabled, or the usage text could not be read
    legacy: bool


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node] = field(default_factory=list)
    text: str = ""

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def text_content(self) -> str:
        return "".join(node.text for node in self.walk())

    def walk(self) -> Iterator[_Node]:
        """Every node in document order; iterative, so no page is too deep to walk."""
        pending = [self]
        while pending:
            node = pending.pop()
            yield node
            pending.extend(reversed(node.children))

    def find_all(self, tag: str, cls: str | None = None) -> list[_Node]:
        return [n for n in self.walk() if n.tag == tag and (cls is None or cls in n.classes)]

    def find(self, tag: str, cls: str | None = None) -> _Node | None:
        found = self.find_all(tag, cls)
        return found[0] if found else None


class _TreeBuilder(HTMLParser):
    """Just enough of a DOM: unclosed tags are closed by the next matching end tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.stack = [self.root]
        self.open: dict[str, int] = {}  # open elements per tag: a stray end tag costs O(1), not O(depth)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            if len(self.stack) > MAX_DEPTH:
                raise PageError(f"elements nested more than {MAX_DEPTH} deep")
            self.stack.append(node)
            self.open[tag] = self.open.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if not self.open.get(tag):
            return
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                for closed in self.stack[index:]:
                    self.open[closed.tag] -= 1
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(_Node("#text", {}, text=data))


def _parse(document: str) -> _Node:
    if len(document) > MAX_PAGE_CHARS:
        raise PageError(f"the page is larger than {MAX_PAGE_CHARS // 2**20} MiB")
    builder = _TreeBuilder()
    try:
        builder.feed(document)
        builder.close()
    except PageError:
        raise
    except (AssertionError, ValueError) as exc:  # html.parser asserts on some malformed declarations
        raise PageError(f"malformed HTML (the parser gave up: {type(exc).__name__})") from None
    return builder.root


def _number(text: str) -> int | None:
    match = _DIGITS.search(text)
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(0))  # "1,234" in some locales
    if not digits or len(digits) > MAX_COUNTER_DIGITS:
        return None  # no number, or one no use counter can hold: unreadable, not a crash
    return int(digits)


def parse_tokens(document: str) -> list[PageToken] | None:
    """Every token on the page, or None when the page holds no token list at all.

    Raises ``PageError`` when the page cannot be parsed.
    """
    root = _parse(document)
    cards = [n for n in root.find_all("div", "token-card") if n.attrs.get("id")]
    items = root.find_all("div", "token-list-existing-item")
    if not cards and not items and not root.find_all("div", "token-list"):
        return None
    return [_card(n) for n in cards] + [_list_item(n) for n in items]


def usage_statistics_disabled(document: str) -> bool:
    """True when Jenkins says 'No statistics available' for the tokens on this page (``PageError`` as above)."""
    root = _parse(document)
    if root.find_all("span", "no-statistics"):
        return True
    return any("no statistics available" in n.text_content().lower() for n in root.find_all("span", "token-last-used"))


def _card(node: _Node) -> PageToken:
    """2.505+: <div class="token-card [legacy-token]" id="UUID"> ... <span class="token-name">."""
    name_node = node.find("span", "token-name")
    return PageToken(node.attrs["id"], name_node.text_content().strip() if name_node else "",
                     _card_counter(node), "legacy-token" in node.classes)


def _card_counter(node: _Node) -> int | None:
    counter = node.find("span", "token-use-counter")
    if counter is not None:
        return _number(counter.text_content())
    last_used = node.find("span", "token-last-used")
    if last_used is not None and "never used" in last_used.text_content().lower():
        return 0
    return None  # "No statistics available", or a wording this parser does not know


def _list_item(node: _Node) -> PageToken:
    """2.129-2.504: hidden input tokenUuid, text input tokenName, 'Used <b>N</b> time(s)'."""
    uuid = name = ""
    for element in node.find_all("input"):
        if element.attrs.get("name") == "tokenUuid" or "token-uuid-input" in element.classes:
            uuid = element.attrs.get("value", "")
        elif element.attrs.get("name") == "tokenName":
            name = element.attrs.get("value", "")
    return PageToken(uuid, name.strip(), _list_counter(node), "legacy-token" in node.classes)


def _list_counter(node: _Node) -> int | None:
    if node.find("span", "no-statistics") is not None:
        return None
    counter = node.find("span", "token-use-counter")
    if counter is None:
        return None
    bold = counter.find("b")
    if bold is not None:
        return _number(bold.text_content())
    if "never used" in counter.text_content().lower():
        return 0
    return None
