"""Stapler's export of beans with @Exported visibility: depth= and tree= (with {M,N} ranges).

A Bean's property is (visibility, value); a value may be a zero-argument callable, evaluated only
when the property is written, so ``allBuilds`` of a large job costs nothing unless asked for.
depth follows TreePruner.ByDepth(1 - depth): a property is written when its visibility is at least
the level's threshold, and each nested object raises the threshold by one. tree follows
NamedPathPruner: only the named properties, a name without [...] gives objects with ``_class`` only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_VISIBILITY = 1


@dataclass
class Bean:
    class_name: str | None  # None: no _class (the declared type is the runtime type)
    props: dict[str, tuple[int, Any]] = field(default_factory=dict)


def bean(class_name: str | None, visibility: dict[str, int] | None = None, **values: Any) -> Bean:
    shown = visibility or {}
    return Bean(class_name, {k: (shown.get(k, DEFAULT_VISIBILITY), values[k]) for k in sorted(values)})


class MalformedTree(ValueError):
    """Stapler: "Malformed tree expression" (a ServletException, so HTTP 500)."""


@dataclass
class Tree:
    children: dict[str, "Tree"] = field(default_factory=dict)
    start: int | None = None  # {M,N}: half-open range applied to a list property
    end: int | None = None

    def child(self, name: str) -> "Tree | None":
        return self.children.get(name) or self.children.get("*")

    def apply_range(self, values: list[Any]) -> list[Any]:
        if self.start is None and self.end is None:
            return values
        return values[self.start or 0: self.end]


def parse_tree(spec: str) -> Tree:
    tree, pos = _parse(spec, 0, top=True)
    if pos != len(spec):
        raise MalformedTree(f"Malformed tree expression: {spec}")
    return tree


def _parse(spec: str, pos: int, top: bool) -> tuple[Tree, int]:
    tree = Tree()
    while True:
        start = pos
        while pos < len(spec) and spec[pos] not in ",[]{}":
            pos += 1
        name = spec[start:pos].strip()
        if not name:
            raise MalformedTree(f"Malformed tree expression: {spec}")
        node = tree.children.setdefault(name, Tree())
        if pos < len(spec) and spec[pos] == "[":
            sub, pos = _parse(spec, pos + 1, top=False)
            node.children.update(sub.children)
            if pos >= len(spec) or spec[pos] != "]":
                raise MalformedTree(f"Malformed tree expression: {spec}")
            pos += 1
        if pos < len(spec) and spec[pos] == "{":
            close = spec.find("}", pos)
            if close < 0:
                raise MalformedTree(f"Malformed tree expression: {spec}")
            node.start, node.end = _range(spec[pos + 1:close], spec)
            pos = close + 1
        if pos < len(spec) and spec[pos] == ",":
            pos += 1
            continue
        if pos < len(spec) and spec[pos] == "]" and not top:
            return tree, pos
        return tree, pos


def _range(text: str, spec: str) -> tuple[int | None, int | None]:
    """Range.fromString: {M,N} {M,} {,N} {N}."""
    try:
        if "," not in text:
            single = int(text)
            return single, single + 1
        low, high = text.split(",", 1)
        return (int(low) if low.strip() else None), (int(high) if high.strip() else None)
    except ValueError as exc:
        raise MalformedTree(f"Malformed tree expression: {spec}") from exc


def _resolve(value: Any) -> Any:
    return value() if callable(value) else value


def by_tree(value: Any, tree: Tree) -> Any:
    """Write ``value`` keeping only what ``tree`` names."""
    value = _resolve(value)
    if isinstance(value, list):
        return [by_tree(v, tree) for v in tree.apply_range(value)]
    if isinstance(value, Bean):
        out: dict[str, Any] = {} if value.class_name is None else {"_class": value.class_name}
        for name, (_, prop) in value.props.items():
            sub = tree.child(name)
            if sub is not None:
                out[name] = by_tree(prop, sub)
        return out
    if isinstance(value, dict):
        out = {"_class": value["_class"]} if "_class" in value else {}
        out.update({k: by_tree(v, tree.child(k)) for k, v in value.items() if k != "_class" and tree.child(k)})
        return out
    return value


def by_depth(value: Any, threshold: int) -> Any:
    """Write ``value`` at a nesting level whose visibility threshold is ``threshold``."""
    value = _resolve(value)
    if isinstance(value, list):
        return [by_depth(v, threshold) for v in value]
    if isinstance(value, Bean):
        out: dict[str, Any] = {} if value.class_name is None else {"_class": value.class_name}
        for name, (visibility, prop) in value.props.items():
            if visibility >= threshold:
                out[name] = by_depth(prop, threshold + 1)
        return out
    return value  # plain dicts are written as they are


def to_plain(value: Any, tree: str | None, depth: str | None) -> Any:
    """tree wins over depth (ResponseImpl.serveExposedBean)."""
    if tree:
        return by_tree(value, parse_tree(tree))
    try:
        levels = int(depth) if depth else 0
    except ValueError as exc:
        raise MalformedTree("Depth parameter must be a number") from exc
    return by_depth(value, 1 - levels)

