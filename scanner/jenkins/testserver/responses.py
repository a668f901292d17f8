"""Response shapes Jenkins produces: REST, layout pages, container errors, 403 flavours, redirects."""
from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from .auth import Permission
from .wire import Response

JSON_TYPE = "application/json;charset=UTF-8"
HTML_TYPE = "text/html;charset=UTF-8"
JETTY_VERSION = "12.0.25"
GROUP_HEADERS_DISABLED = ("JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true"
                          " or use /whoAmI to diagnose")


@dataclass(frozen=True)
class Site:
    """Per-start facts every response may advertise."""

    version: str
    session_hash: str  # X-Jenkins-Session: 8 hex, new per start
    instance_identity: str
    root_url: str  # with trailing slash

    def absolute(self, path: str) -> str:
        return self.root_url.rstrip("/") + path


def advertise(site: Site) -> list[tuple[str, str]]:
    """Functions.advertiseHeaders."""
    return [("X-Hudson", "1.395"), ("X-Jenkins", site.version), ("X-Jenkins-Session", site.session_hash)]


def rest(site: Site, body: str, content_type: str = JSON_TYPE) -> Response:
    """Api.setHeaders: note there is no X-Hudson on REST responses."""
    headers = [("X-Jenkins", site.version), ("X-Jenkins-Session", site.session_hash),
               ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "deny"), ("Content-Type", content_type)]
    return Response(200, headers, body.encode("utf-8"))


def layout_headers(site: Site) -> list[tuple[str, str]]:
    """layout.jelly + page decorators (httpHeaders.jelly of instance-identity)."""
    return [("Expires", "0"), ("Cache-Control", "no-cache,no-store,must-revalidate"),
            ("X-Hudson-Theme", "default"), ("Referrer-Policy", "same-origin"),
            ("Cross-Origin-Opener-Policy", "same-origin"), *advertise(site),
            ("X-Instance-Identity", site.instance_identity), ("Content-Type", HTML_TYPE)]


def html(site: Site, document: str, status: int = 200) -> Response:
    return Response(status, layout_headers(site), document.encode("utf-8"))


def token_json(payload: dict) -> Response:
    """hudson.util.HttpResponses okJSON/errorJSON: always 200."""
    body = json.dumps(payload, separators=(",", ":"))
    return Response(200, [("Content-Type", "application/json; charset=UTF-8")], body.encode("utf-8"))


def ok_json(data: dict | None = None) -> Response:
    return token_json({"status": "ok"} if data is None else {"status": "ok", "data": data})


def error_json(message: str) -> Response:
    return token_json({"status": "error", "message": message})


def empty(status: int = 200) -> Response:
    """Stapler HttpResponses.ok()/forbidden(): a status and nothing else."""
    return Response(status)


def container_error(status: int, message: str, uri: str) -> Response:
    """sendError(status, message): the servlet container's own error page."""
    text = escape(message)
    body = (f'<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html;charset=ISO-8859-1"/>\n'
            f"<title>Error {status} {text}</title>\n</head>\n<body>\n<h2>HTTP ERROR {status} {text}</h2>\n"
            f"<table>\n<tr><th>URI:</th><td>{escape(uri)}</td></tr>\n<tr><th>STATUS:</th><td>{status}</td></tr>\n"
            f"<tr><th>MESSAGE:</th><td>{text}</td></tr>\n<tr><th>SERVLET:</th><td>Stapler</td></tr>\n</table>\n"
            f'<hr/><a href="https://jetty.org/">Powered by Jetty:// {JETTY_VERSION}</a><hr/>\n\n</body>\n</html>\n')
    return Response(status, [("Content-Type", "text/html;charset=iso-8859-1"),
                             ("Cache-Control", "must-revalidate,no-cache,no-store")], body.encode("iso-8859-1", "replace"))


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, [("Location", location)])


def unauthorized(site: Site, uri: str, *, x_jenkins: bool, cancel_remember_me: bool) -> Response:
    """BasicAuthenticationEntryPoint: 401 + WWW-Authenticate, from a filter (no advertised headers)."""
    response = container_error(401, "Unauthorized", uri)
    response.add("WWW-Authenticate", 'Basic realm="Jenkins"')
    if cancel_remember_me:
        response.add("Set-Cookie", "remember-me=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    if x_jenkins:
        response.headers[:0] = [("X-Jenkins", site.version), ("X-Jenkins-Session", site.session_hash)]
    return response


def login_redirect(site: Site, uri: str, *, xhr: bool, permission: Permission | None) -> Response:
    """HudsonAuthenticationEntryPoint: anonymous 403 whose body redirects to the login page."""
    if xhr:
        return container_error(403, "Forbidden", uri)
    target = "/login?from=" + quote(uri, safe="")
    padding = "Padding for IE" * 10
    body = (f"<html><head><meta http-equiv='refresh' content='1;url={escape(target)}'/>"
            f"<script id='redirect' data-redirect-url='{escape(target)}' src='/static/{site.session_hash}"
            f"/scripts/redirect.js'></script></head><body style='background-color:white; color:white;'>\n"
            f"Authentication required\n<!--\n{padding}-->\n</body></html>\n")
    response = Response(403, [("Content-Type", HTML_TYPE), *advertise(site)], body.encode("utf-8"))
    if permission is not None:
        _report_permission(response, "anonymous", permission)
    return response


def access_denied(site: Site, auth_name: str, permission: Permission, document: str) -> Response:
    """AccessDeniedHandlerImpl: authenticated but not permitted, the /accessDenied page."""
    response = html(site, document, 403)
    _report_permission(response, auth_name, permission)
    return response


def _report_permission(response: Response, name: str, permission: Permission) -> None:
    """AccessDeniedException3.reportAsHeaders."""
    response.add("X-You-Are-Authenticated-As", name)
    response.add("X-You-Are-In-Group-Disabled", GROUP_HEADERS_DISABLED)
    response.add("X-Required-Permission", permission.id)
    for implied in permission.implied_by:
        response.add("X-Permission-Implied-By", implied)
