"""URLs of items, builds, the All view and agents (facts sheet 9.2-9.5), served from JENKINS_HOME.

Walks ``/job/a/job/b/...`` the way Stapler does: each segment percent-decoded once, each child
looked up case-insensitively and checked for Job/Read (404 without Discover, 403 with it).
"""
from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from . import config_xml, console, exported, export
from . import responses as rs
from .auth import AccessDenied
from .context import Ctx
from .item_models import Exporter, Permalinks, computer, computer_set
from .item_perms import (COMPUTER_CONFIGURE, COMPUTER_EXTENDED_READ, ITEM_CONFIGURE, ITEM_DISCOVER,
                         ITEM_EXTENDED_READ, ITEM_READ, ItemAcl)
from .items import Build, Item, find, read_config, top_level
from .wire import Response

BUILT_IN = "(built-in)"


def home(ctx: Ctx) -> Path:
    return ctx.state.home.root


def acl(ctx: Ctx) -> ItemAcl:
    return ItemAcl(ctx.authorizer, ctx.options)


def exporter(ctx: Ctx) -> Exporter:
    rules = acl(ctx)
    return Exporter(ctx.site.root_url, lambda items: [i for i in items if rules.has(ctx.auth, i, ITEM_READ)])


def xml_tag(class_name: str) -> str:
    simple = class_name.rsplit(".", 1)[-1].rsplit("$", 1)[-1]
    return simple[:1].lower() + simple[1:]


def render_api(ctx: Ctx, rest: list[str], value: Any, class_name: str) -> Response:
    """.../api/json and .../api/xml of an exported bean, honouring tree= and depth=."""
    if not rest:
        return ctx.redirect_slash()
    if len(rest) > 2 or (len(rest) == 2 and rest[1]):
        return ctx.not_found()
    flavour = rest[0]
    if flavour == "":
        return ctx.page("Remote API", "<h1>REST API</h1><p>See <a href='json?pretty=true'>json</a>.</p>")
    if flavour not in ("json", "xml"):
        return ctx.not_found()
    try:
        plain = export.to_plain(value, ctx.req.param("tree"), ctx.req.param("depth"))
    except export.MalformedTree as exc:
        return rs.container_error(500, str(exc), ctx.req.uri)
    if flavour == "xml":
        return rs.rest(ctx.site, exported.render_xml(xml_tag(class_name), plain), "application/xml;charset=UTF-8")
    if ctx.req.param("pretty") == "true":
        return rs.rest(ctx.site, json.dumps(plain, indent=2, ensure_ascii=False))
    return rs.rest(ctx.site, json.dumps(plain, separators=(",", ":"), ensure_ascii=False))


def root_api(ctx: Ctx, rest: list[str]) -> Response:
    """/api/json: the Hudson object, its ``jobs`` being the top-level items the caller may read."""
    plain = exported.root(ctx.site.root_url, ctx.options.security_enabled, ctx.options.csrf_protection)
    value = export.Bean(plain["_class"], {k: (1, v) for k, v in plain.items() if k != "_class"})
    value.props["jobs"] = (1, exporter(ctx).root_jobs(lambda: top_level(home(ctx))))
    return render_api(ctx, rest, value, "hudson")


# -- walking the item tree ----------------------------------------------------------------------

def walk(ctx: Ctx, owner: Item | None, segments: list[str]) -> Response:
    """``segments`` start at ``job`` or ``view`` below ``owner`` (None = the root)."""
    rules = acl(ctx)
    while True:
        if segments[:1] == ["job"] and (owner is None or owner.is_folder):
            if len(segments) < 2 or not segments[1]:
                return ctx.not_found()
            name = unquote(segments[1])
            child = find(top_level(home(ctx)) if owner is None else owner.children(), name)
            if child is None:
                return ctx.not_found()
            if not rules.has(ctx.auth, child, ITEM_READ):
                if rules.has(ctx.auth, child, ITEM_DISCOVER):
                    raise AccessDenied(None, f"Please login to access job {name}")
                return ctx.not_found()
            owner, segments = child, segments[2:]
            continue
        if segments[:1] == ["view"] and (owner is None or owner.is_folder):
            if len(segments) < 2 or unquote(segments[1]).lower() != "all":
                return ctx.not_found()
            if segments[2:3] == ["job"]:
                segments = segments[2:]
                continue
            return view_object(ctx, owner, segments[2:])
        break
    if owner is None:
        return ctx.not_found()
    return item_object(ctx, owner, segments)


def view_object(ctx: Ctx, owner: Item | None, rest: list[str]) -> Response:
    """/view/all/: the built-in All view, whose jobs are the owner's immediate items."""
    if not rest:
        return ctx.redirect_slash()
    if rest == [""]:
        return ctx.page("All [Jenkins]", "<h1>All</h1>", model_type="hudson.model.AllView")
    if rest[0] == "api":
        if owner is None:
            view = exporter(ctx).all_view_full(None)
            view.props["jobs"] = (1, exporter(ctx).root_jobs(lambda: top_level(home(ctx))))
        else:
            view = exporter(ctx).all_view_full(owner)
        return render_api(ctx, rest[1:], view, "hudson.model.AllView")
    return ctx.not_found()


def item_object(ctx: Ctx, item: Item, rest: list[str]) -> Response:
    if not rest:
        return ctx.redirect_slash()
    head, tail = rest[0], rest[1:]
    if head == "" and not tail:
        return ctx.page(item.full_name, f"<h1>{escape(item.name)}</h1><div>{escape(item.description)}</div>",
                        model_type=item.class_name)
    if head == "api":
        return render_api(ctx, tail, exporter(ctx).item(item), item.class_name)
    if head == "config.xml" and not tail:
        return item_config(ctx, item)
    if head == "description" and not tail and not item.is_folder:
        return Response(200, console.headers(), item.description.encode("utf-8"))
    if not item.is_folder:
        build = lookup_build(item, unquote(head))
        if build is not None:
            return build_object(ctx, build, tail)
    return ctx.not_found()


def lookup_build(item: Item, token: str) -> Build | None:
    """Job.getDynamic: a build number, else a permalink."""
    if token.isdigit():
        return item.build(int(token))
    return Permalinks(item).get(token)


def build_object(ctx: Ctx, build: Build, rest: list[str]) -> Response:
    if not rest:
        return ctx.redirect_slash()
    head, tail = rest[0], rest[1:]
    if head == "" and not tail:
        title = f"{build.job.full_name} #{build.number}"
        return ctx.page(title, f"<h1>Build #{build.number}</h1>", model_type=build.class_name)
    if head == "api":
        return render_api(ctx, tail, exporter(ctx).build(build), build.class_name)
    if head == "consoleText" and not tail:
        return console.console_text(build)
    if head == "logText" and tail == ["progressiveText"]:
        return console.progressive_text(build, ctx.req.param("start"), ctx.options.version_tuple, ctx.req.uri)
    return ctx.not_found()


def item_config(ctx: Ctx, item: Item) -> Response:
    """AbstractItem.doConfigDotXml: GET needs ExtendedRead; POST needs Configure (not implemented: 400)."""
    rules = acl(ctx)
    if ctx.req.method == "POST":
        if not rules.has(ctx.auth, item, ITEM_CONFIGURE):
            raise AccessDenied(ITEM_CONFIGURE)
        return rs.container_error(400, "Updating config.xml is not supported by the test server", ctx.req.uri)
    if ctx.req.method not in ("GET", "HEAD"):
        return rs.container_error(400, "Bad Request", ctx.req.uri)
    if not rules.has(ctx.auth, item, ITEM_EXTENDED_READ):
        raise AccessDenied(ITEM_EXTENDED_READ)
    return config_xml.item_config(item.dir / "config.xml", ctx.state.home.confidential, ctx.options.version_tuple,
                                  rules.has(ctx.auth, item, ITEM_CONFIGURE))


# -- agents ---------------------------------------------------------------------------------------

def nodes(ctx: Ctx) -> list[tuple[str, int, Path]]:
    found = []
    root = home(ctx) / "nodes"
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        config = read_config(directory / "config.xml")
        if config is not None:
            executors = config.findtext("numExecutors") or "1"
            found.append((config.findtext("name") or directory.name, int(executors) if executors.isdigit() else 1,
                          directory / "config.xml"))
    return sorted(found, key=lambda n: n[0].lower())


def computers(ctx: Ctx, rest: list[str]) -> Response:
    """/computer/: the node list, each agent's api, and its config.xml (Computer/ExtendedRead)."""
    if not rest:
        return ctx.redirect_slash()
    if rest == [""]:
        return ctx.page("Nodes", "<h1>Nodes</h1>", model_type="hudson.model.ComputerSet")
    listed = nodes(ctx)
    if rest[0] == "api":
        return render_api(ctx, rest[1:], computer_set([(n, e) for n, e, _ in listed], ctx.site.root_url),
                          "hudson.model.ComputerSet")
    name, tail = unquote(rest[0]), rest[1:]
    if name == BUILT_IN:
        if tail == ["config.xml"]:
            return rs.container_error(400, "Cannot read config.xml of the built-in node", ctx.req.uri)
        model = computer("hudson.model.Hudson$MasterComputer", "Built-In Node", 2, False,
                         "the Jenkins controller's built-in node", [export.bean(None, name="built-in")])
        return computer_object(ctx, tail, model, None)
    node = next((n for n in listed if n[0] == name), None)
    if node is None:
        return ctx.not_found()
    model = computer("hudson.slaves.SlaveComputer", node[0], node[1], True, "", [export.bean(None, name=node[0])])
    return computer_object(ctx, tail, model, node[2])


def computer_object(ctx: Ctx, rest: list[str], model: export.Bean, config: Path | None) -> Response:
    if not rest:
        return ctx.redirect_slash()
    if rest == [""]:
        return ctx.page("Agent", "<h1>Agent</h1>", model_type=model.class_name or "")
    if rest[0] == "api":
        return render_api(ctx, rest[1:], model, model.class_name or "computer")
    if rest == ["config.xml"] and config is not None:
        rules = acl(ctx)
        if not rules.has_on_computer(ctx.auth, COMPUTER_EXTENDED_READ):
            raise AccessDenied(COMPUTER_EXTENDED_READ)
        return config_xml.node_config(config, ctx.state.home.confidential, ctx.options.version_tuple,
                                      rules.has_on_computer(ctx.auth, COMPUTER_CONFIGURE))
    return ctx.not_found()
