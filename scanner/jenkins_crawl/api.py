"""The crawl's side of HTTP: one Jenkins, one credential, polite, every answer a value.

Requests go through the verification client (``scanner/jenkins/client.py``: whole-request
deadline, retries on connect errors and 5xx only, bodies capped, redirects only within the
Jenkins root) with its settings; on top, at most ``per_host`` requests are in flight and at most
``rate`` start per second. Console logs are streamed (``open_log``, the client's ``stream``) and
handed to the detector chunk by chunk, so a large log is never in memory whole.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import httpx

from scanner.jenkins.client import Answer, HttpSettings, StreamedBody, make_client, request, stream
from scanner.jenkins.urls import HttpUrl, UnusableUrl, below, parse_http_url
from scanner.jenkins.verify import RateLimiter

JSON_MAX = 64 * 2**20  # an item listing or allBuilds of a large Jenkins; far above any real answer


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
        self.root_url = parse_http_url(self.root)
        self.auth = auth
        self.politeness = politeness
        self.client = client or make_client(politeness.http)
        self.gate = threading.BoundedSemaphore(max(1, politeness.per_host))
        self.limiter = RateLimiter(politeness.rate)
        self.counters = Counters()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def url(self, path: str, query: str = "") -> HttpUrl | Answer:
        """``path`` (segments encoded by ``places.raw_encode``) below the root, each segment checked:
        a name Jenkins encodes (``feature%2Fx``, sent as ``feature%252Fx``) passes, one that a
        second decoding would turn into a climb does not (the ``Answer`` says why)."""
        try:
            return below(self.root_url, path, query)
        except UnusableUrl as exc:
            return Answer(url=f"{self.root}/{path}", error=f"unusable URL: {exc}")

    def _count(self, size: int) -> None:
        with self._lock:
            self.counters.requests += 1
            self.counters.bytes += size

    def get(self, path: str, query: str = "", max_body: int = JSON_MAX) -> Answer:
        settings = replace(self.politeness.http, max_body=max_body)
        url = self.url(path, query)
        if isinstance(url, Answer):
            return url
        with self.gate:
            self.limiter.wait()
            answer = request(self.client, "GET", url, settings, auth=self.auth, root=self.root)
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
    def open_log(self, path: str, query: str, limit: int) -> Iterator[StreamedBody | Answer]:
        """The body of ``path`` as a stream (``StreamedBody``), or the ``Answer`` saying why there is none."""
        url = self.url(path, query)
        if isinstance(url, Answer):
            yield url
            return
        with self.gate:
            self.limiter.wait()
            with stream(self.client, url, self.politeness.http, limit=limit, auth=self.auth,
                        root=self.root) as body:
                try:
                    yield body
                finally:
                    self._count(body.received if isinstance(body, StreamedBody) else 0)
