"""SSO interception: the login page a proxy or identity provider answers with instead of Jenkins."""
from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from .auth import MalformedBasicHeader, parse_basic
from .reqlog import RequestLog, RequestRecord
from .wire import Response

SSO_PATH = "/sso/login"
LOGIN_PAGE = ("<!DOCTYPE html><html><head><title>Sign in - Example SSO</title></head><body>"
              "<h1>Sign in to continue</h1><form method=\"post\" action=\"/sso/login\">"
              "<input name=\"username\" type=\"text\"><input name=\"password\" type=\"password\">"
              "<button type=\"submit\">Sign in</button></form></body></html>")


def login_page_response() -> Response:
    return Response(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                    LOGIN_PAGE.encode("utf-8"))


def redirect_to(sso_origin: str, original_url: str) -> Response:
    """A 302 like an OIDC proxy sends: to the IdP's login with the original URL as redirect_uri."""
    location = (f"{sso_origin.rstrip('/')}{SSO_PATH}?client_id=jenkins&response_type=code"
                f"&redirect_uri={quote(original_url, safe='')}&state={secrets.token_hex(8)}")
    return Response(302, [("Location", location), ("Content-Type", "text/html; charset=utf-8")])


class _SsoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    log: RequestLog


class _SsoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SsoHTTPServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path, _, query = self.path.partition("?")
        presented = _basic_user(self.headers.get("Authorization"))
        self.server.log.append(RequestRecord(self.command, path, None, presented, query, 200))
        response = login_page_response()
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


def _basic_user(header: str | None) -> str | None:
    try:
        credentials = parse_basic(header)
    except MalformedBasicHeader:
        return "<malformed>"
    return credentials[0] if credentials else None


class SsoServer:
    """A second origin (another port) that serves the login form on every path and logs who came."""

    def __init__(self, host: str, log: RequestLog) -> None:
        self._httpd = _SsoHTTPServer((host, 0), _SsoHandler)
        self._httpd.log = log
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="jts-sso", daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
