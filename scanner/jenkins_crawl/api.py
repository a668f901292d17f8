"""The crawl's side of HTTP: one Jenkins, one credential, polite, every answer a value.

Requests go through the verification client (``scanner/jenkins/client.py``: whole-request
deadline, retries on connect errors and 5xx only, bodies capped, redirects only within the
Jenkins root) with its settings; on top, at most ``per_host`` requests are in flight and at most
``rate`` start per second. Console logs are the exception: they are streamed (``open_log``) and
handed to the detector chunk by chunk, with the same redirect rule and retries, a size cap, and a
deadline that grows with what has arrived (``timeout`` + one second per ``MIN_RATE`` bytes), so a
server that drips cannot hold the crawl and a large log is never in memory whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import httpx

from scanner.jenkins.client import _DEADLINE  # the deadline the client's sockets obey (see _set_deadline)
from scanner.jenkins.client import RETRY_STATUSES, Answer, HttpSettings, make_client, request
from scanner.jenkins.urls import UnusableUrl, parse_http_url, resolve
from scanner.jenkins.verify import RateLimiter

JSON_MAX = 64 * 2**20  # an item listing or allBuilds of a large Jenkins; far above any real answer
READ_CHUNK = 256 * 1024
MIN_RATE = 64 * 1024  # bytes per second a log must average once its first --timeout has passed


@dataclass
class Politeness:
    """How hard the crawl may press one Jenkins (the verification options' values)."""

    http: HttpSettings = field(default_factory=HttpSettings)
    per_host: int = 4
    rate: float = 20.0


@dataclass
class Counters:
    requests: int = 0
    bytes: int = 0


def denied_reason(answer: Answer) -> str:
    """Why an answer is not content, in a few words (never the body: it is the server's text)."""
    if answer.error:
        return answer.error
    status = answer.status
    if status == 401:
        return "HTTP 401: the credential was rejected"
    if status == 403:
        needed = answer.headers.get("x-required-permission", "")
        return "HTTP 403: permission denied" + (f" (needs {needed[:100]})" if needed else "")
    if status == 404:
        return "HTTP 404: not found (gone, or not visible to this credential)"
    return f"HTTP {status}"


class CrawlApi:
    """GET requests below one Jenkins root, with the crawl credential, counted."""

    def __init__(self, root: str, auth: str | None, politeness: Politeness, client: httpx.Client | None = None):
        self.root = root.rstrip("/")  # normalised by the caller (AllowedJenkins)
        self.auth = auth
        self.politeness = politeness
        self.client = client or make_client(politeness.http)
        self.gate = threading.BoundedSemaphore(max(1, politeness.per_host))
        self.limiter = RateLimiter(politeness.rate)
        self.counters = Counters()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def url(self, path: str, query: str = "") -> str:
        return f"{self.root}/{path.lstrip('/')}" + (f"?{query}" if query else "")

    def _count(self, size: int) -> None:
        with self._lock:
            self.counters.requests += 1
            self.counters.bytes += size

    def get(self, path: str, query: str = "", max_body: int = JSON_MAX) -> Answer:
        settings = replace(self.politeness.http, max_body=max_body)
        headers = {"Authorization": self.auth} if self.auth else None
        with self.gate:
            self.limiter.wait()
            answer = request(self.client, "GET", self.url(path, query), settings, headers=headers, root=self.root)
        self._count(len(answer.body))
        return answer

    def json(self, path: str, tree: str) -> tuple[dict | None, Answer]:
        """The object at ``path``/api/json, or None (the answer says why: status, error, not JSON)."""
        answer = self.get(f"{path.rstrip('/')}/api/json" if path else "api/json", f"tree={tree}")
        if answer.status != 200 or answer.error:
            return None, answer
        data = answer.json()
        if data is None:
            answer.error = "the answer is not a JSON object"
        return data, answer

    @contextmanager
    def open_log(self, path: str, query: str, limit: int) -> Iterator[LogBody | Answer]:
        """The body of ``path`` as a stream (``LogBody``), or the ``Answer`` saying why there is none."""
        settings = self.politeness.http
        headers = {"Authorization": self.auth} if self.auth else {}
        with self.gate:
            self.limiter.wait()
            opened = self._open(self.url(path, query), headers, settings)
            if isinstance(opened, Answer):
                self._count(0)
                yield opened
                return
            response, url = opened
            body = LogBody(response, url, limit, settings.timeout)
            try:
                yield body
            finally:
                response.close()
                self._count(body.received)

    def _open(self, url: str, headers: dict[str, str], settings: HttpSettings) -> tuple[httpx.Response, str] | Answer:
        """Follow redirects within the root (as ``client.request`` does) and retry connect errors and 5xx."""
        try:
            current = parse_http_url(url)
            scope = parse_http_url(self.root)
        except UnusableUrl as exc:
            return Answer(url=url, error=f"unusable URL: {exc}")
        for _hop in range(settings.max_redirects + 1):
            response = self._attempt(current.text, headers, settings)
            if isinstance(response, Answer):
                return response
            locations = response.extensions.get("jts_locations") or []
            if response.status_code not in (301, 302, 303, 307, 308) or not locations:
                if response.status_code != 200:
                    response.close()
                    return Answer(status=response.status_code, url=current.text,
                                  headers={k.lower(): v for k, v in response.headers.items()})
                return response, current.text
            response.close()
            try:
                target = resolve(current, locations[0]) if len(locations) == 1 else None
            except UnusableUrl as exc:
                return Answer(status=response.status_code, url=current.text, error=f"redirected to an unreadable location ({exc})")
            if target is None:
                return Answer(status=response.status_code, url=current.text,
                              error=f"redirected with {len(locations)} Location headers")
            if not target.under(scope):
                return Answer(status=response.status_code, url=current.text, redirect_to=target.text,
                              error=f"redirected outside the Jenkins root ({target.host})")
            current = target
        return Answer(url=url, error="too many redirects")

    def _attempt(self, url: str, headers: dict[str, str], settings: HttpSettings) -> httpx.Response | Answer:
        last = Answer(url=url, error="not attempted")
        for attempt in range(settings.retries + 1):
            if attempt:
                time.sleep(settings.backoff * (2 ** (attempt - 1)))
            # the same whole-request deadline as client.request, for connect and headers; the body
            # then extends it as bytes arrive (LogBody)
            token = _DEADLINE.set(time.monotonic() + settings.timeout)
            try:
                response = self.client.send(self.client.build_request("GET", url, headers=headers,
                                                                       timeout=httpx.Timeout(settings.timeout)),
                                            stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                last = Answer(url=url, error=f"connection failed: {type(exc).__name__}")
                continue
            except httpx.TimeoutException:
                return Answer(url=url, error=f"timed out after {settings.timeout:g}s")
            except (httpx.HTTPError, httpx.InvalidURL, ValueError, OSError) as exc:
                return Answer(url=url, error=f"{type(exc).__name__}: {str(exc)[:200]}")
            finally:
                _DEADLINE.reset(token)
            if response.status_code in RETRY_STATUSES:
                response.close()
                last = Answer(status=response.status_code, url=url)
                continue
            return response
        return last


class LogBody:
    """A streamed answer read like a file (``read``/``readline``, what ``scan_stream`` and
    ``NoteStripper`` take): stops at ``limit`` bytes, and when the server is too slow or the
    connection breaks, ends early with ``problem`` set (never an exception into the scan)."""

    def __init__(self, response: httpx.Response, url: str, limit: int, timeout: float):
        self.response = response
        self.url = url
        self.headers = {k.lower(): v for k, v in response.headers.items()}
        self.limit = limit
        self.timeout = timeout
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
        return self.started + self.timeout + self.received / MIN_RATE

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
