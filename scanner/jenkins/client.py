"""HTTP calls to one Jenkins, with the safety rules every caller needs.

Credentials go only where they were meant for: redirects are followed by hand, only within
the same origin and under the Jenkins root the caller names. Answers are bounded: the body is
streamed and dropped past ``max_body`` bytes, and ``timeout`` is a deadline for the whole
request (connect, send, headers and body), not for each read, so a server that drips one
byte a second cannot hold a run. Errors come back as values (``Answer``), never as exceptions
that could end a run or carry a token into a log.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpcore
import httpx

from scanner.jenkins.urls import UnusableUrl, parse_http_url, resolve

RETRY_STATUSES = {500, 502, 503, 504}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MIB = 1024 * 1024


@dataclass
class HttpSettings:
    timeout: float = 10.0  # seconds for each request as a whole, connect to last byte
    retries: int = 2  # extra attempts on connect errors and 5xx only
    backoff: float = 0.5
    ca_bundle: str | None = None
    insecure: bool = False
    max_redirects: int = 5
    max_body: int = 4 * MIB  # who-am-i answers and security pages are far smaller


@dataclass
class Answer:
    """What one logical request produced: a response, or why there is none."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    url: str = ""
    error: str | None = None  # timeout, connect error, TLS error, cross-origin redirect, oversized answer...
    redirect_to: str | None = None  # set when a redirect left the origin or looked like a login page
    locations: int = 0  # Location headers in the answer (more than one is ambiguous)

    def json(self) -> dict | None:
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # hostile JSON: huge numbers, deep nesting
            return None
        return value if isinstance(value, dict) else None


def basic_header(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


# -- the whole-request deadline ----------------------------------------------------------------
# httpx timeouts bound each socket operation; the deadline of the request running in this thread
# clips every one of them, so a drip of bytes (in the headers or the body) ends on time.

_DEADLINE: ContextVar[float | None] = ContextVar("jts_http_deadline", default=None)


def _clip(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("deadline reached")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clip(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clip(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _clip(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: object = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_tcp(host, port, _clip(timeout, httpcore.ConnectTimeout),
                                                         local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: object = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(path, _clip(timeout, httpcore.ConnectTimeout),
                                                                 socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _install_deadlines(client: httpx.Client) -> None:
    """Put the deadline under every connection pool of the client (direct and proxies).

    httpx has no public hook for httpcore's network backend; if its internals change, the
    per-chunk deadline check in ``_read_body`` still bounds body drips, and the hostile-Jenkins
    tests (header drip) say so.
    """
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _DeadlineBackend):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]


def make_client(settings: HttpSettings) -> httpx.Client:
    verify: ssl.SSLContext | bool = True
    if settings.insecure:
        verify = False
    elif settings.ca_bundle:
        verify = ssl.create_default_context(cafile=settings.ca_bundle)
    # trust_env keeps HTTPS_PROXY / NO_PROXY working; redirects are handled in request().
    # identity: a compressed answer could inflate far past max_body in a single read.
    client = httpx.Client(verify=verify, timeout=settings.timeout, follow_redirects=False, trust_env=True,
                          headers={"User-Agent": "jenkins-token-scanner", "Accept-Encoding": "identity"},
                          event_hooks={"response": [_hold_location]})
    _install_deadlines(client)
    return client


def _hold_location(response: httpx.Response) -> None:
    """Take Location out of httpx's sight: it parses it for a redirect we never let it follow,
    and raises on a malformed one. ``request`` resolves it itself, safely."""
    locations = response.headers.get_list("location")
    if locations:
        del response.headers["location"]
        response.extensions = {**response.extensions, "jts_locations": locations}


# -- requests -----------------------------------------------------------------------------------


def _is_login_location(location: str) -> bool:
    lowered = location.lower()
    return any(word in lowered for word in ("login", "sso", "saml", "oauth", "auth?", "signin", "securityrealm"))


def request(client: httpx.Client, method: str, url: str, settings: HttpSettings, *,
            auth: str | None = None, data: dict[str, str] | None = None,
            headers: dict[str, str] | None = None, root: str | None = None) -> Answer:
    """One request with retries (connect errors, 5xx) and redirects within ``root`` only.

    ``root`` is the Jenkins root the request belongs to: a redirect must stay on its origin and
    under its path (dot segments resolved first). Without it, the request's own origin.
    """
    try:
        current = parse_http_url(url)
        scope = parse_http_url(root) if root else None
    except UnusableUrl as exc:
        return Answer(url=url, error=f"unusable URL: {exc}")
    start_origin = current.origin
    for _hop in range(settings.max_redirects + 1):
        answer = _attempt(client, method, current.text, settings, auth=auth, data=data, headers=headers)
        if answer.status not in REDIRECT_STATUSES or not answer.headers.get("location"):
            return answer
        if answer.locations > 1:
            return Answer(status=answer.status, headers=answer.headers, url=current.text,
                          error=f"redirected with {answer.locations} Location headers")
        try:
            target = resolve(current, answer.headers["location"])
        except UnusableUrl as exc:
            return Answer(status=answer.status, headers=answer.headers, url=current.text,
                          error=f"redirected to an unreadable location ({exc})")
        if target.origin != start_origin:
            # Never forward credentials to another origin; report where it wanted to go.
            return Answer(status=answer.status, headers=answer.headers, url=current.text, redirect_to=target.text,
                          error=f"redirected to another origin ({target.host})")
        if scope is not None and not target.under(scope):
            return Answer(status=answer.status, headers=answer.headers, url=current.text, redirect_to=target.text,
                          error=f"redirected outside the Jenkins root {scope.root}")
        if _is_login_location(target.path + "?" + target.query):
            return Answer(status=answer.status, headers=answer.headers, url=current.text, redirect_to=target.text,
                          error="redirected to a login page")
        if answer.status == 303:
            method, data = "GET", None
        current = target
    return Answer(url=current.text, error="too many redirects")


class _BodyError(Exception):
    """Why an answer's body was not read to the end (too large, too slow, undecodable)."""


def _attempt(client: httpx.Client, method: str, url: str, settings: HttpSettings, *, auth: str | None,
             data: dict[str, str] | None, headers: dict[str, str] | None) -> Answer:
    all_headers = dict(headers or {})
    if auth:
        all_headers["Authorization"] = auth
    last = Answer(url=url, error="not attempted")
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff * (2 ** (attempt - 1)))
        last, retry = _once(client, method, url, settings, all_headers, data)
        if not retry:
            return last
    return last


def _once(client: httpx.Client, method: str, url: str, settings: HttpSettings, headers: dict[str, str],
          data: dict[str, str] | None) -> tuple[Answer, bool]:
    """One attempt under one deadline; the answer and whether a retry may help."""
    deadline = time.monotonic() + settings.timeout
    timed_out = Answer(url=url, error=f"timed out after {settings.timeout:g}s")
    token = _DEADLINE.set(deadline)
    try:
        with client.stream(method, url, headers=headers, data=data,
                           timeout=httpx.Timeout(settings.timeout)) as response:
            answer = Answer(status=response.status_code, url=url,
                            headers={k.lower(): v for k, v in response.headers.items()})
            locations = response.extensions.get("jts_locations") or []
            if locations:
                answer.headers["location"], answer.locations = locations[0], len(locations)
            try:
                answer.body = _read_body(response, settings.max_body, deadline)
            except _BodyError as exc:
                answer.error = str(exc)
                return answer, False
    except httpx.ConnectTimeout:
        return timed_out, True
    except httpx.TimeoutException:
        return timed_out, False  # the server is there but too slow: another try would be as slow
    except httpx.ConnectError as exc:
        text = str(exc)
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return Answer(url=url, error=f"TLS error: {text[:200]}"), False
        return Answer(url=url, error=f"connection failed: {text[:200]}"), True
    except httpx.RemoteProtocolError as exc:
        return Answer(url=url, error=f"connection dropped: {str(exc)[:200]}"), True
    except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, ValueError, OSError) as exc:
        # Anything else a hostile server or URL can provoke is an answer, not the end of the run.
        return Answer(url=url, error=f"{type(exc).__name__}: {str(exc)[:200]}"), False
    finally:
        _DEADLINE.reset(token)
    return answer, answer.status in RETRY_STATUSES


def _read_body(response: httpx.Response, limit: int, deadline: float) -> bytes:
    """The body, read chunk by chunk; stops past ``limit`` bytes (decoded) or at the deadline."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _BodyError(f"answer of {int(declared):,} bytes is larger than {_size(limit)}: not read")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    chunks = response.iter_raw() if encoding in ("", "identity") else _inflated(response.iter_raw(), encoding, limit)
    body = bytearray()
    for data in chunks:
        body += data
        if len(body) > limit:
            how = " once decompressed" if encoding not in ("", "identity") else ""
            raise _BodyError(f"answer larger than {_size(limit)}{how}: the rest was not read")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("deadline reached")
    return bytes(body)


def _inflated(raw: Iterator[bytes], encoding: str, limit: int) -> Iterator[bytes]:
    """gzip/deflate chunks decompressed, each step's output bounded by ``limit`` (a bomb stays small)."""
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise _BodyError(f"answer in an unsupported Content-Encoding ({encoding[:30]!r})")
    inflater = zlib.decompressobj(wbits=47)  # 32 + 15: gzip or zlib header, detected
    try:
        for data in raw:
            yield inflater.decompress(data, limit + 1)
            while inflater.unconsumed_tail:  # more output is waiting: the caller stops past the limit
                yield inflater.decompress(inflater.unconsumed_tail, limit + 1)
        yield inflater.flush()
    except zlib.error:
        raise _BodyError(f"answer claims {encoding} but does not decompress") from None


def _size(limit: int) -> str:
    return f"{limit / MIB:g} MiB" if limit >= MIB else f"{limit:,} bytes"


def who_am_i(client: httpx.Client, base_url: str, user: str, secret: str, settings: HttpSettings) -> Answer:
    return request(client, "GET", base_url.rstrip("/") + "/whoAmI/api/json", settings,
                   auth=basic_header(user, secret), root=base_url)
