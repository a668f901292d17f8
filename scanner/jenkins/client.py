"""HTTP calls to one Jenkins, with the safety rules every caller needs.

Credentials go only where they were meant for: redirects are followed by hand, only within
the same origin and under the Jenkins root the caller names. Answers are bounded: the body is
streamed and dropped past ``max_body`` bytes, and ``timeout`` is a deadline for the whole
request (connect, send, headers and body), not for each read, so a server that drips one
byte a second cannot hold a run. Errors come back as values (``Answer``), never as exceptions
that could end a run or carry a token into a log. ``stream`` is the same request for an answer
too large to hold (a console log): its body is read as it arrives, capped, under a deadline
that grows with what has arrived.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpcore
import httpx

from scanner.jenkins.urls import HttpUrl, UnusableUrl, parse_http_url, resolve

RETRY_STATUSES = {500, 502, 503, 504}
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MIB = 1024 * 1024
READ_CHUNK = 256 * 1024  # a streamed body is read in pieces of this size
MIN_RATE = 64 * 1024  # bytes per second a streamed body must average once its first ``timeout`` has passed


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


def request(client: httpx.Client, method: str, url: str | HttpUrl, settings: HttpSettings, *,
            auth: str | None = None, data: dict[str, str] | None = None,
            headers: dict[str, str] | None = None, root: str | None = None) -> Answer:
    """One request with retries (connect errors, 5xx) and redirects within ``root`` only.

    ``root`` is the Jenkins root the request belongs to: a redirect must stay on its origin and
    under its path (dot segments resolved first). Without it, the request's own origin. ``url``
    may be an ``HttpUrl`` already built (``urls.below``: names encoded and checked segment by segment).
    """
    answer, _ = _follow(client, method, url, settings, auth=auth, data=data, headers=headers, root=root,
                        keep_open=False)
    return answer


@contextmanager
def stream(client: httpx.Client, url: str | HttpUrl, settings: HttpSettings, *, limit: int,
           auth: str | None = None, headers: dict[str, str] | None = None, root: str | None = None,
           min_rate: int = MIN_RATE) -> Iterator[StreamedBody | Answer]:
    """A GET whose 200 body is read as it arrives (``StreamedBody``), or the ``Answer`` saying why there is none.

    The same rules as ``request`` (redirects within ``root``, retries on connect errors and 5xx,
    the deadline for connect and headers, Content-Encoding refused rather than inflated); the body
    stops at ``limit`` bytes and its deadline grows with what has arrived (``timeout`` + one second
    per ``min_rate`` bytes), so a large answer is never in memory whole and a drip cannot hold a run.
    """
    answer, response = _follow(client, "GET", url, settings, auth=auth, data=None, headers=headers, root=root,
                               keep_open=True)
    if response is None or answer.status != 200:
        if response is not None:
            response.close()
        yield answer
        return
    body = StreamedBody(response, answer.url, limit, settings.timeout, min_rate)
    try:
        yield body
    finally:
        response.close()


def _follow(client: httpx.Client, method: str, url: str | HttpUrl, settings: HttpSettings, *,
            auth: str | None, data: dict[str, str] | None, headers: dict[str, str] | None, root: str | None,
            keep_open: bool) -> tuple[Answer, httpx.Response | None]:
    """The redirect loop of ``request`` and ``stream``: the final answer (and its open response if ``keep_open``)."""
    try:
        current = url if isinstance(url, HttpUrl) else parse_http_url(url)
        scope = parse_http_url(root) if root else None
    except UnusableUrl as exc:
        return Answer(url=str(url), error=f"unusable URL: {exc}"), None
    start_origin = current.origin
    for _hop in range(settings.max_redirects + 1):
        answer, response = _attempt(client, method, current.text, settings, auth=auth, data=data, headers=headers,
                                    keep_open=keep_open)
        if answer.status not in REDIRECT_STATUSES or not answer.headers.get("location"):
            return answer, response
        if response is not None:
            response.close()
        target = _redirect_target(answer, current, start_origin, scope)
        if isinstance(target, Answer):
            return target, None
        if answer.status == 303:
            method, data = "GET", None
        current = target
    return Answer(url=current.text, error="too many redirects"), None


def _redirect_target(answer: Answer, current: HttpUrl, start_origin: tuple[str, str, int],
                     scope: HttpUrl | None) -> HttpUrl | Answer:
    """Where a redirect may be followed to, or the ``Answer`` saying why it is not followed."""
    def refused(error: str, to: str | None = None) -> Answer:
        return Answer(status=answer.status, headers=answer.headers, url=current.text, redirect_to=to, error=error)

    if answer.locations > 1:
        return refused(f"redirected with {answer.locations} Location headers")
    try:
        target = resolve(current, answer.headers["location"])
    except UnusableUrl as exc:
        return refused(f"redirected to an unreadable location ({exc})")
    if target.origin != start_origin:
        # Never forward credentials to another origin; report where it wanted to go.
        return refused(f"redirected to another origin ({target.host})", target.text)
    if scope is not None and not target.under(scope):
        return refused(f"redirected outside the Jenkins root {scope.root}", target.text)
    if _is_login_location(target.path + "?" + target.query):
        return refused("redirected to a login page", target.text)
    return target


class _BodyError(Exception):
    """Why an answer's body was not read to the end (too large, too slow, undecodable)."""


def _attempt(client: httpx.Client, method: str, url: str, settings: HttpSettings, *, auth: str | None,
             data: dict[str, str] | None, headers: dict[str, str] | None,
             keep_open: bool) -> tuple[Answer, httpx.Response | None]:
    all_headers = dict(headers or {})
    if auth:
        all_headers["Authorization"] = auth
    last: tuple[Answer, httpx.Response | None] = (Answer(url=url, error="not attempted"), None)
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff * (2 ** (attempt - 1)))
        answer, response, retry = _once(client, method, url, settings, all_headers, data, keep_open)
        last = (answer, response)
        if not retry:
            return last
    return last


def _once(client: httpx.Client, method: str, url: str, settings: HttpSettings, headers: dict[str, str],
          data: dict[str, str] | None, keep_open: bool) -> tuple[Answer, httpx.Response | None, bool]:
    """One attempt under one deadline: the answer, its still open response (``keep_open``, when no
    retry is due) and whether a retry may help."""
    deadline = time.monotonic() + settings.timeout
    timed_out = Answer(url=url, error=f"timed out after {settings.timeout:g}s")
    token = _DEADLINE.set(deadline)
    response: httpx.Response | None = None
    try:
        response = client.send(client.build_request(method, url, headers=headers, data=data,
                                                    timeout=httpx.Timeout(settings.timeout)), stream=True)
        answer = Answer(status=response.status_code, url=url,
                        headers={k.lower(): v for k, v in response.headers.items()})
        locations = response.extensions.get("jts_locations") or []
        if locations:
            answer.headers["location"], answer.locations = locations[0], len(locations)
        if keep_open and answer.status not in RETRY_STATUSES:
            kept, response = response, None  # the caller reads and closes it
            return answer, kept, False
        try:
            answer.body = _read_body(response, settings.max_body, deadline)
        except _BodyError as exc:
            answer.error = str(exc)
            return answer, None, False
    except httpx.ConnectTimeout:
        return timed_out, None, True
    except httpx.TimeoutException:
        return timed_out, None, False  # the server is there but too slow: another try would be as slow
    except httpx.ConnectError as exc:
        text = str(exc)
        if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
            return Answer(url=url, error=f"TLS error: {text[:200]}"), None, False
        return Answer(url=url, error=f"connection failed: {text[:200]}"), None, True
    except httpx.RemoteProtocolError as exc:
        return Answer(url=url, error=f"connection dropped: {str(exc)[:200]}"), None, True
    except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict, ValueError, OSError) as exc:
        # Anything else a hostile server or URL can provoke is an answer, not the end of the run.
        return Answer(url=url, error=f"{type(exc).__name__}: {str(exc)[:200]}"), None, False
    finally:
        _DEADLINE.reset(token)
        if response is not None:
            response.close()
    return answer, None, answer.status in RETRY_STATUSES


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


class StreamedBody:
    """A streamed answer read like a file (``read``/``readline``, what ``scan_stream`` takes): stops
    at ``limit`` bytes, and when the server is too slow or the connection breaks, ends early with
    ``problem`` set (never an exception into the caller)."""

    def __init__(self, response: httpx.Response, url: str, limit: int, timeout: float, min_rate: int = MIN_RATE):
        self.url = url
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        self.limit = limit
        self.timeout = timeout
        self.min_rate = min_rate
        self.started = time.monotonic()
        self.received = 0
        self.truncated = False  # the cap was reached: the rest was not read
        self.problem: str | None = None
        self.buffer = bytearray()
        self.done = False
        encoding = self.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            self.problem, self.done = f"answer in Content-Encoding {encoding[:30]!r}, not read", True
        self.chunks = response.iter_raw(READ_CHUNK)

    def _deadline(self) -> float:
        return self.started + self.timeout + self.received / self.min_rate

    def _fill(self, wanted: int, until_newline: bool = False) -> None:
        token = _DEADLINE.set(self._deadline())  # each socket read ends by then, whatever the server drips
        try:
            self._fill_until(wanted, until_newline)
        finally:
            _DEADLINE.reset(token)

    def _fill_until(self, wanted: int, until_newline: bool) -> None:
        while not self.done and len(self.buffer) < wanted and not (until_newline and b"\n" in self.buffer):
            try:
                chunk = next(self.chunks)
            except StopIteration:
                self.done = True
                break
            except (httpx.HTTPError, OSError) as exc:
                self.problem, self.done = f"transfer broke off after {self.received:,} bytes ({type(exc).__name__})", True
                break
            room = self.limit - self.received
            if len(chunk) > room:
                chunk, self.truncated, self.done = chunk[:room], True, True
            self.received += len(chunk)
            self.buffer += chunk
            _DEADLINE.set(self._deadline())
            if time.monotonic() > self._deadline():
                self.problem = (f"too slow: {self.received:,} bytes in {time.monotonic() - self.started:.0f}s "
                                "(the rest was not read)")
                self.done = True

    def read(self, size: int = -1) -> bytes:
        self._fill(self.limit + 1 if size is None or size < 0 else size)
        size = len(self.buffer) if size is None or size < 0 else size
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out

    def readline(self, size: int = -1) -> bytes:
        cap = self.limit + 1 if size is None or size < 0 else size
        self._fill(cap, until_newline=True)
        end = self.buffer.find(b"\n")
        cut = min(cap, len(self.buffer) if end < 0 else end + 1)
        out = bytes(self.buffer[:cut])
        del self.buffer[:cut]
        return out


def who_am_i(client: httpx.Client, base_url: str, user: str, secret: str, settings: HttpSettings) -> Answer:
    return request(client, "GET", base_url.rstrip("/") + "/whoAmI/api/json", settings,
                   auth=basic_header(user, secret), root=base_url)
