"""Jenkins' filter chain: authentication (HudsonFilter) -> crumb (CrumbFilter) -> Stapler."""
from __future__ import annotations

from urllib.parse import quote

from . import pages, router
from . import responses as rs
from .auth import ANONYMOUS, AccessDenied, Auth, MalformedBasicHeader, parse_basic
from .context import Ctx, Services
from .sessions import CRUMB_FIELD, crumb_matches
from .users import same_id
from .wire import Request, Response


class AuthenticationFailed(Exception):
    pass


def process(svc: Services, req: Request) -> tuple[Ctx, Response]:
    ctx = Ctx(svc, req)
    ctx.session = svc.sessions.get(req.cookies.get(svc.sessions.cookie_name))
    response = _process(ctx)
    response.headers.extend(("Set-Cookie", cookie) for cookie in ctx.new_cookies)
    return ctx, response


def _process(ctx: Ctx) -> Response:
    req, options = ctx.req, ctx.options
    if options.security_enabled:
        if req.path == "/j_spring_security_check" and req.method == "POST":
            return form_login(ctx)
        try:
            ctx.auth = authenticate(ctx)
        except AuthenticationFailed:
            return rs.unauthorized(ctx.site, req.uri, x_jenkins=options.x_jenkins_on_401,
                                   cancel_remember_me=options.remember_me_cancel_cookie_on_401)
    if req.method == "POST" and options.csrf_protection and not crumb_exempt(ctx):
        presented = req.header(CRUMB_FIELD) or req.param(CRUMB_FIELD)
        if ctx.session is None or not crumb_matches(ctx.crumb_for(ctx.session), presented):
            return rs.container_error(403, "No valid crumb was included in the request", req.uri)
    try:
        return router.dispatch(ctx)
    except AccessDenied as denied:
        return access_denied(ctx, denied)


def authenticate(ctx: Ctx) -> Auth:
    """BasicHeaderProcessor: API token first, then the real password; a bad header fails like bad creds."""
    state = ctx.state
    try:
        credentials = parse_basic(ctx.req.header("Authorization"))
    except MalformedBasicHeader as exc:
        raise AuthenticationFailed(str(exc)) from exc
    session_user = state.find(ctx.session.user_id) if ctx.session and ctx.session.user_id else None
    if credentials is None:
        return Auth(session_user.id, session_user) if session_user else ANONYMOUS
    username, secret = credentials
    if session_user is not None and same_id(session_user.id, username):
        return Auth(session_user.id, session_user)  # already authenticated in this session: header unchecked
    user = state.find(username)
    if user is None:
        user = state.create_user_by_legacy_token(username, secret)
        if user is None:
            raise AuthenticationFailed("unknown user")
    if state.authenticate_token(user, secret) is not None:
        return Auth(user.id, user, via_token=True)
    if not ctx.options.ignore_basic_auth and state.check_password(user, secret):
        return Auth(user.id, user)
    raise AuthenticationFailed("bad credentials")


def crumb_exempt(ctx: Ctx) -> bool:
    """ApiCrumbExclusion (token-authenticated requests) and CliCrumbExclusion."""
    return ctx.auth.via_token or ctx.req.path == "/cli" or ctx.req.path.startswith("/cli/")


def access_denied(ctx: Ctx, denied: AccessDenied) -> Response:
    """ExceptionTranslationFilter: anonymous -> login entry point; authenticated -> access denied page."""
    if ctx.auth.anonymous:
        permission = denied.permission if ctx.options.anonymous_403_permission_headers else None
        xhr = ctx.req.header("X-Requested-With") == "XMLHttpRequest"
        return rs.login_redirect(ctx.site, ctx.req.uri, xhr=xhr, permission=permission)
    if denied.permission is None:
        # a plain AccessDeniedException (e.g. "Please login to access job x"): no permission headers
        document = pages.layout(ctx.site, "Access Denied", pages.denied_message(str(denied)), auth=ctx.auth,
                                crumb=ctx.issue_crumb())
        return rs.html(ctx.site, document, 403)
    permission = denied.permission
    document = pages.layout(ctx.site, "Access Denied", pages.access_denied(ctx.auth.name, permission.id),
                            auth=ctx.auth, crumb=ctx.issue_crumb())
    return rs.access_denied(ctx.site, ctx.auth.name, permission, document)


def form_login(ctx: Ctx) -> Response:
    """j_spring_security_check: password login into a fresh session (no crumb needed here)."""
    username = ctx.req.param("j_username") or ""
    user = ctx.state.find(username)
    target = ctx.req.param("from") or "/"
    if user is None or not ctx.state.check_password(user, ctx.req.param("j_password") or ""):
        return rs.redirect(ctx.absolute("/loginError?from=" + quote(target, safe="")))
    if ctx.session is not None:
        ctx.svc.sessions.invalidate(ctx.session.id)  # session fixation protection
    ctx.session = ctx.svc.sessions.create(user.id)
    ctx.new_cookies.append(ctx.svc.sessions.set_cookie(ctx.session))
    safe_target = target if target.startswith("/") and not target.startswith("//") else "/"
    return rs.redirect(ctx.absolute(safe_target))
