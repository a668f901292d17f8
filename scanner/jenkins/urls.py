"""Parse and normalise the http(s) URLs a token may be sent to, refusing anything ambiguous.

URLs come from scanned content, from reports and from Jenkins' own ``Location`` headers, so
they are hostile input: parsing never raises anything but ``UnusableUrl``, dot segments
(also percent-encoded ones) are removed before any comparison (RFC 3986 section 5.2.4), and a
path a server could read two ways (encoded slashes, backslashes, ``;`` parameters, double
encoding) is refused rather than guessed at.

One exception, for paths this program builds itself (``below``): Jenkins spells an item name
that holds a ``/`` (a multibranch branch ``feature/x`` is the item ``feature%2Fx``) as
``feature%252Fx`` in its URLs. Such a path is accepted segment by segment, when every segment
is what ``Util.rawEncode`` writes and neither one nor two rounds of decoding turn it into a dot
segment, a backslash, a ``;`` parameter, a NUL or a control character: a server (or a proxy
in front of it) that decodes twice then still reads a path below the same root.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from scanner.findings import scrub

DEFAULT_PORTS = {"http": 80, "https": 443}
# "_" as in docker-compose service names (jenkins_master): not DNS-legal, but resolvable and httpx connects
_HOST_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_ENCODED_DOT = re.compile(r"%2e", re.IGNORECASE)
# Servers disagree on these (Jetty strips ";params" so "..;" climbs; "%2f" splits or not).
_AMBIGUOUS = re.compile(r"%2f|%5c|%25|%00|\\|;", re.IGNORECASE)
MAX_URL_LENGTH = 2048
_RAW_SEGMENT = re.compile(r"(?:[A-Za-z0-9!$&'()*+,\-.=@_]|%[0-9A-F]{2})+")  # Util.rawEncode's alphabet
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_DECODED_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\;]")


class UnusableUrl(ValueError):
    """A URL that cannot be used safely; the message says why (never the whole URL)."""


@dataclass(frozen=True)
class HttpUrl:
    scheme: str  # "http" or "https"
    host: str  # lowercase; an IPv6 address without brackets
    port: int  # explicit or the scheme's default
    path: str  # dot segments removed, no trailing slash kept or added
    query: str = ""
    explicit_port: bool = False

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port else host

    @property
    def text(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}" + (f"?{self.query}" if self.query else "")

    @property
    def root(self) -> str:
        """Scheme, host, port and path without a trailing slash: the form Jenkins roots are kept in."""
        return f"{self.scheme}://{self.netloc}{self.path.rstrip('/')}"

    def under(self, root: HttpUrl) -> bool:
        """Same origin, and the path is the root's path or below it (segment-wise)."""
        if self.origin != root.origin:
            return False
        base = root.path.rstrip("/")
        path = self.path.rstrip("/")
        return path == base or path.startswith(base + "/")


def has_unsafe_characters(text: str) -> bool:
    """Whitespace, control or non-ASCII characters: urlsplit would quietly drop some of them."""
    return bool(_CONTROL.search(text)) or not text.isascii()


def parse_http_url(text: str) -> HttpUrl:
    """A normalised http(s) URL, or ``UnusableUrl`` saying why it cannot be used."""
    if not isinstance(text, str) or not text:
        raise UnusableUrl("empty URL")
    if len(text) > MAX_URL_LENGTH:
        raise UnusableUrl(f"URL longer than {MAX_URL_LENGTH} characters")
    if has_unsafe_characters(text):
        raise UnusableUrl("URL holds spaces, control or non-ASCII characters")
    try:
        parts = urlsplit(text)
        username, hostname = parts.username, parts.hostname
    except ValueError:
        raise UnusableUrl("malformed URL (brackets or IPv6 address)") from None
    try:
        port = parts.port
    except ValueError:  # the message would echo the port text, which may be a secret
        raise UnusableUrl("the port is not a number from 1 to 65535") from None
    scheme = parts.scheme.lower()  # schemes are case-insensitive (RFC 3986 section 3.1): Http:// is http://
    if scheme not in DEFAULT_PORTS:
        raise UnusableUrl(f"not an http(s) URL (scheme {parts.scheme[:20]!r})")
    if not parts.netloc or not hostname:
        raise UnusableUrl("no host in the URL")
    if username is not None or "@" in parts.netloc:
        raise UnusableUrl("the URL carries credentials")
    host = _host(hostname, bracketed="[" in parts.netloc)
    if port == 0:
        raise UnusableUrl("the port is not a number from 1 to 65535")
    path = normalise_path(parts.path or "/")
    return HttpUrl(scheme, host, port or DEFAULT_PORTS[scheme], path, parts.query, explicit_port=port is not None)


def _host(hostname: str, bracketed: bool) -> str:
    host = hostname.lower()
    if bracketed:
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            raise UnusableUrl("malformed IPv6 address") from None
        if address.scope_id:
            raise UnusableUrl("IPv6 zone identifiers are not allowed")
        return host
    if not _HOST_NAME.fullmatch(host):
        raise UnusableUrl("malformed host name")
    return host


def normalise_path(path: str) -> str:
    """RFC 3986 remove_dot_segments, after decoding ``%2e``; ambiguous paths are refused."""
    if _AMBIGUOUS.search(path):
        raise UnusableUrl("ambiguous path (encoded slash or backslash, ';' parameter or double encoding)")
    decoded = _ENCODED_DOT.sub(".", path)
    return remove_dot_segments(decoded) or "/"


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, segment by segment."""
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1 or (output and output[0] != ""):
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def check_segment(segment: str) -> None:
    """One already-encoded path segment (``Util.rawEncode`` of a name), or ``UnusableUrl``.

    Decoded once (what Jenkins reads: the name, so no slash) and twice (what a server that decodes
    again would read), it must not climb (``.``/``..`` between slashes), hold a backslash, ``;``,
    NUL or control character, nor still hold an escape (a third round could change it again).
    """
    if not _RAW_SEGMENT.fullmatch(segment):
        raise UnusableUrl("a path segment that is not encoded as Jenkins encodes names")
    once = unquote(segment, errors="replace")
    twice = unquote(once, errors="replace")
    if "/" in once:  # a name never holds a slash: rawEncode writes it as %2F, which is %252F once more
        raise UnusableUrl("ambiguous path segment (an encoded slash)")
    for decoded in (once, twice):
        if _DECODED_UNSAFE.search(decoded) or any(part in (".", "..") for part in decoded.split("/")):
            raise UnusableUrl("ambiguous path segment (a dot segment, backslash, ';' or control character "
                              "once decoded)")
    if _ESCAPE.search(twice):
        raise UnusableUrl("ambiguous path segment (encoded three times)")


def below(root: HttpUrl, path: str, query: str = "") -> HttpUrl:
    """``root`` + ``path`` (segments already encoded, joined by ``/``), each segment checked with ``check_segment``."""
    segments = path.strip("/").split("/")
    for segment in segments:
        check_segment(segment)
    joined = root.path.rstrip("/") + "/" + "/".join(segments)
    if len(joined) + len(query) > MAX_URL_LENGTH:
        raise UnusableUrl(f"URL longer than {MAX_URL_LENGTH} characters")
    if has_unsafe_characters(query) or "#" in query:
        raise UnusableUrl("query holds spaces, control or non-ASCII characters")
    return HttpUrl(root.scheme, root.host, root.port, joined, query, root.explicit_port)


def resolve(base: HttpUrl, reference: str) -> HttpUrl:
    """Where a ``Location`` header points, as a normalised URL (``UnusableUrl`` if nowhere usable)."""
    if not isinstance(reference, str) or not reference:
        raise UnusableUrl("empty Location")
    if has_unsafe_characters(reference):
        raise UnusableUrl("Location holds spaces, control or non-ASCII characters")
    try:
        joined = urljoin(base.text, reference)
    except ValueError:
        raise UnusableUrl("malformed Location (brackets or IPv6 address)") from None
    return parse_http_url(joined)


_AUTHORITY = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*:)?//(?P<authority>[^/]*)(?P<rest>.*)$", re.S)
_PORT = re.compile(r"^(?P<host>.*?)(?::(?P<port>[^:\]]*))?$", re.S)


def public_url(text: str) -> str:
    """A URL from content or a server as it may be shown: without userinfo (everything up to the last
    ``@`` before the host), query, fragment (each shown as ``?…``, ``#…``), or a port that is not a port
    number (it may be a secret)."""
    text, query, fragment = _cut(text)
    parts = _AUTHORITY.match(text)
    if not parts:
        return text + query + fragment
    host = parts.group("authority").rpartition("@")[2]
    port = _PORT.match(host)
    assert port is not None  # matches any text
    number = port.group("port")
    if number is not None and not (number.isdigit() and len(number) <= 5):
        host = port.group("host") + ":<port>"
    return f"{parts.group('scheme') or ''}//{host}{parts.group('rest')}{query}{fragment}"


def _cut(text: str) -> tuple[str, str, str]:
    """(the URL before its query and fragment, ``"?…"`` if it had a query, ``"#…"`` if a fragment)."""
    before_fragment, hash_sign, _fragment = text.partition("#")
    before_query, question_mark, _query = before_fragment.partition("?")
    return before_query, "?…" if question_mark else "", "#…" if hash_sign else ""


def describe(text: object, limit: int = 80) -> str:
    """A URL as shown in a reason or a usage error: shortened, without what may be a secret (userinfo up
    to the last ``@``, query, fragment, a port that is not a number, token-shaped runs)."""
    shown = scrub(public_url(str(text)))
    return repr(shown if len(shown) <= limit else shown[:limit] + "...")
