"""HTTP calls to one Jenkins, with the safety rules every caller needs.

Credentials go only to the origin they were meant for: redirects are followed by hand, and
only within the same origin. Errors come back as values (``Answer``), never as exceptions that
could carry a token into a log.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

RETRY_STATUSES = {500, 502, 503, 504}


@dataclass
class HttpSettings:
    timeout: float = 10.0
    retries: int = 2  # extra attempts on connect errors and 5xx only
    backoff: float = 0.5
    ca_bundle: str | None = None
    insecure: bool = False
    max_redirects: int = 5


@dataclass
class Answer:
    """What one logical request produced: a response, or why there is none."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    url: str = ""
    error: str | None = None  # timeout, connect error, TLS error, cross-origin redirect...
    redirect_to: str | None = None  # set when a redirect left the origin or looked like a login page

    def json(self) -> dict | None:
        try:
            value = json.loads(self.body)
        except (ValueError, RecursionError):  # not JSON, a 5,000-digit number, or nested 100,000 deep
            return None
        return value if isinstance(value, dict) else None


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def basic_header(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def make_client(settings: HttpSettings) -> httpx.Client:
    verify: ssl.SSLContext | bool = True
    if settings.insecure:
        verify = False
    elif settings.ca_bundle:
        verify = ssl.create_default_context(cafile=settings.ca_bundle)
    # trust_env keeps HTTPS_PROXY / NO_PROXY working; redirects are handled in request().
    return httpx.Client(verify=verify, timeout=settings.timeout, follow_redirects=False, trust_env=True,
                        headers={"User-Agent": "jenkins-token-scanner"})


def _is_login_location(location: str) -> bool:
    lowered = location.lower()
    return any(word in lowered for word in ("login", "sso", "saml", "oauth", "auth?", "signin", "securityrealm"))


def request(client: httpx.Client, method: str, url: str, settings: HttpSettings, *,
            auth: str | None = None, data: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> Answer:
    """One request with retries (connect errors, 5xx) and same-origin redirects only."""
    start_origin = origin(url)
    current = url
    for _hop in range(settings.max_redirects + 1):
        answer = _attempt(client, method, current, settings, auth=auth, data=data, headers=headers)
        if answer.status not in (301, 302, 303, 307, 308):
            return answer
        location = answer.headers.get("location", "")
        try:
            target = urljoin(current, location)
            target_origin = origin(target)
        except ValueError:  # "host:99999", "[::1" ...: nowhere we could follow
            return Answer(status=answer.status, headers=answer.headers, url=current,
                          error=f"redirected to an unreadable location ({location[:100]!r})")
        if target_origin != start_origin:
            # Never forward credentials to another origin; report where it wanted to go.
            return Answer(status=answer.status, headers=answer.headers, url=current, redirect_to=target,
                          error=f"redirected to another origin ({target_origin[1]})")
        if _is_login_location(urlsplit(target).path + "?" + urlsplit(target).query):
            return Answer(status=answer.status, headers=answer.headers, url=current, redirect_to=target,
                          error="redirected to a login page")
        if answer.status == 303:
            method, data = "GET", None
        current = target
    return Answer(url=current, error="too many redirects")


def _attempt(client: httpx.Client, method: str, url: str, settings: HttpSettings, *, auth: str | None,
             data: dict[str, str] | None, headers: dict[str, str] | None) -> Answer:
    all_headers = dict(headers or {})
    if auth:
        all_headers["Authorization"] = auth
    last = Answer(url=url, error="not attempted")
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff * (2 ** (attempt - 1)))
        try:
            response = client.request(method, url, headers=all_headers, data=data)
        except httpx.TimeoutException:
            last = Answer(url=url, error=f"timed out after {settings.timeout:g}s")
            continue
        except httpx.ConnectError as exc:
            text = str(exc)
            if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
                return Answer(url=url, error=f"TLS error: {text[:200]}")
            last = Answer(url=url, error=f"connection failed: {text[:200]}")
            continue
        except httpx.RemoteProtocolError as exc:
            last = Answer(url=url, error=f"connection dropped: {str(exc)[:200]}")
            continue
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return Answer(url=url, error=f"{type(exc).__name__}: {str(exc)[:200]}")
        last = Answer(status=response.status_code, headers={k.lower(): v for k, v in response.headers.items()},
                      body=response.content, url=url)
        if response.status_code not in RETRY_STATUSES:
            return last
    return last


def who_am_i(client: httpx.Client, base_url: str, user: str, secret: str, settings: HttpSettings) -> Answer:
    return request(client, "GET", base_url.rstrip("/") + "/whoAmI/api/json", settings,
                   auth=basic_header(user, secret))
