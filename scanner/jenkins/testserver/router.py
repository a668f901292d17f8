"""Stapler-style URL dispatch: Jenkins.getTarget's READ check, then the object graph."""
from __future__ import annotations

from urllib.parse import unquote

from . import exported, item_api, pages, token_api
from . import responses as rs
from .auth import ADMINISTER, READ, AccessDenied
from .context import Ctx
from .token_pages import PROPERTY, TokenListView, TokenRow, cards, list_items
from .users import User
from .wire import Response

# Jenkins.ALWAYS_READABLE_PATHS and UnprotectedRootActions the server knows.
ALWAYS_READABLE = {"login", "loginError", "logout", "whoAmI"}
TOKEN_PROPERTY = "jenkins.security.ApiTokenProperty"


def dispatch(ctx: Ctx) -> Response:
    segments = ctx.req.path.lstrip("/").split("/")
    head, rest = unquote(segments[0]), segments[1:]
    if head == "whoAmI":
        return who_am_i(ctx, rest)
    if head in ("login", "loginError") and not rest:
        return ctx.page("Sign in", pages.login_form(ctx.req.param("from") or "/", head == "loginError"))
    if head == "logout" and not rest:
        return logout(ctx)
    ctx.authorizer.check(ctx.auth, READ)  # Jenkins.getTarget
    if head == "" and not rest:
        return ctx.page("Dashboard", pages.dashboard())
    if head == "api":
        return item_api.root_api(ctx, rest)
    if head in ("job", "view"):
        return item_api.walk(ctx, None, segments)
    if head == "computer":
        return item_api.computers(ctx, rest)
    if head == "crumbIssuer" and ctx.options.csrf_protection:
        return crumb_issuer(ctx, rest)
    if head == "me":
        if ctx.auth.user is None:
            raise AccessDenied(None, "/me is not available when not logged in")
        return user_object(ctx, ctx.auth.user, "/me", rest)
    if head == "user" and rest and rest[0]:
        target = ctx.state.find(unquote(rest[0]))
        if target is None:
            return ctx.not_found()
        return user_object(ctx, target, "/user/" + rest[0], rest[1:])
    if head in ("asynchPeople", "people"):
        return people(ctx, rest, head == "asynchPeople")
    if head == "administrativeMonitor" or (head == "manage" and rest[:1] == ["administrativeMonitor"]):
        return admin_monitor(ctx, rest if head == "administrativeMonitor" else rest[1:])
    return ctx.not_found()


def api(ctx: Ctx, rest: list[str], model: exported.Model, root_tag: str) -> Response:
    """.../api/json and .../api/xml, with or without a trailing slash: one exporter for every
    object (tree= with ranges, depth=), as Stapler has one."""
    return item_api.render_api(ctx, rest, model, root_tag)


def people(ctx: Ctx, rest: list[str], asynch: bool) -> Response:
    """/asynchPeople/api/json and /people/api/json: every user Jenkins knows (needs Overall/Read)."""
    if not rest:
        return ctx.redirect_slash()
    if rest[0] != "api":
        return ctx.page("People", "<h1>People</h1>") if rest == [""] else ctx.not_found()
    listed = exported.people(ctx.state.all_users(), ctx.site.root_url, asynch)
    if not ctx.req.param("tree") and not ctx.req.param("depth"):
        listed = exported.depth_zero_people(listed)
    return api(ctx, rest[1:], listed, "people")


def who_am_i(ctx: Ctx, rest: list[str]) -> Response:
    if not rest:
        return ctx.redirect_slash()
    if rest == [""]:
        return ctx.page("Who Am I", pages.who_am_i(ctx.auth, ctx.options.anonymous_authenticated))
    if rest[0] == "api":
        return api(ctx, rest[1:], exported.whoami(ctx.auth, ctx.options.anonymous_authenticated), "whoAmI")
    return ctx.not_found()


def logout(ctx: Ctx) -> Response:
    if ctx.session is not None:
        ctx.svc.sessions.invalidate(ctx.session.id)
        ctx.session = None
    return rs.redirect(ctx.absolute("/"))


def crumb_issuer(ctx: Ctx, rest: list[str]) -> Response:
    if rest[:1] != ["api"]:
        return ctx.not_found() if rest else ctx.redirect_slash()
    value = ctx.issue_crumb() or ""
    xpath = ctx.req.param("xpath")
    if rest[1:2] == ["xml"] and xpath:
        # RestrictedApi allows a few XPath forms; the common one yields "Jenkins-Crumb:<crumb>"
        if xpath.replace(" ", "") == 'concat(//crumbRequestField,":",//crumb)':
            response = rs.rest(ctx.site, f"Jenkins-Crumb:{value}", "text/plain;charset=UTF-8")
            return response
        return rs.container_error(400, "Bad Request", ctx.req.uri)
    return api(ctx, rest[1:], exported.crumb(value), "defaultCrumbIssuer")


def user_object(ctx: Ctx, target: User, base: str, rest: list[str]) -> Response:
    if not rest:
        return ctx.redirect_slash()
    sub = rest[0]
    if sub == "" and len(rest) == 1:
        return ctx.page(target.full_name, pages.user_index(target, base), model_type="hudson.model.User")
    if sub == "api":
        shows = ctx.authorizer.has_on_user(ctx.auth, target, ADMINISTER)
        return api(ctx, rest[1:], exported.user(target, ctx.site.root_url, shows), "user")
    if sub == "descriptorByName" and len(rest) >= 3 and rest[1] == TOKEN_PROPERTY and rest[3:] in ([], [""]):
        return token_api.dispatch(ctx, target, rest[2])
    if sub in ("security", "account") and ctx.options.has_security_page:
        if len(rest) == 1:
            return ctx.redirect_slash()
        if rest[1:] != [""]:
            return ctx.not_found()
        ctx.authorizer.check_on_user(ctx.auth, target, ADMINISTER)  # <l:layout permission="${app.ADMINISTER}">
        if sub == "account":
            return ctx.page("Account", pages.account(target), model_type="hudson.model.User")
        return ctx.page("Security", security_body(ctx, target, base), model_type="hudson.model.User")
    if sub == "configure" and rest[1:] in ([], [""]):
        return configure(ctx, target, base)
    return ctx.not_found()


def configure(ctx: Ctx, target: User, base: str) -> Response:
    mode = ctx.options.configure_mode
    if mode == "absent":
        return ctx.not_found()
    ctx.authorizer.check_on_user(ctx.auth, target, ADMINISTER)
    body = pages.account(target)
    if mode == "tokens":
        body += token_list_html(ctx, target, base, cards_ui=False)
    return ctx.page(f"{target.full_name} Configuration", body, model_type="hudson.model.User")


def security_body(ctx: Ctx, target: User, base: str) -> str:
    return ('<h1>Security</h1><form method="post" action="configSubmit" name="config" class="jenkins-form">'
            f"{token_list_html(ctx, target, base, cards_ui=ctx.options.token_cards)}</form>")


def token_list_html(ctx: Ctx, target: User, base: str, cards_ui: bool) -> str:
    with ctx.state.lock:
        rows = [TokenRow(t, target.stats_for(t.uuid)) for t in sorted(target.tokens, key=lambda t: t.name.lower())]
        legacy_shown = target.legacy_seed is not None or ctx.state.api_config.creation_of_legacy_token_enabled
        legacy_value = None
        if legacy_shown:
            if not token_api.may_see_legacy_token(ctx, target):
                legacy_value = "Token is hidden"
            else:
                legacy_value = ctx.state.legacy_token_value(target) or "The user does not have a legacy token"
    view = TokenListView(rows=rows, property_url=f"{base}/{PROPERTY}",
                         stats_enabled=ctx.state.api_config.usage_statistics_enabled,
                         can_generate=token_api.can_generate(ctx, target), now=ctx.state.now(),
                         expiring_tokens=ctx.options.has_expiring_tokens,
                         about_to_expire_days=ctx.options.about_to_expire_days, legacy_value=legacy_value)
    return cards(view) if cards_ui else list_items(view)


def admin_monitor(ctx: Ctx, rest: list[str]) -> Response:
    """/manage/administrativeMonitor/legacyApiToken/revokeAllSelected (also without /manage)."""
    if rest[:2] == ["legacyApiToken", "revokeAllSelected"] and rest[2:] in ([], [""]):
        return token_api.revoke_all_selected(ctx)
    return ctx.not_found()
