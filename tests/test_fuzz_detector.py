"""Property-based fuzzing of the detector and every report format (issue 13, defences that stay).

Content, file names and URLs are drawn at random and from hostile pieces (URLs with odd ports and
userinfo, Basic headers, netrc lines, runs of separators, invalid UTF-8, NULs). Properties:
no exception escapes ``Detector.scan_blob``; every secret found is a substring of the content;
no report format shows a full secret unless ``show_secrets``.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.aggregate import build_findings
from scanner.detect import Detector, DetectorSpec
from scanner.findings import Location, Report
from scanner.reports import FORMATS, render

HEX = "0123456789abcdef"
PIECES = (
    "JENKINS_URL=", "JENKINS_USER_ID=", "JENKINS_API_TOKEN=", "JENKINS_SECRET ", "token=", "password ",
    "machine ", " login ", " password ", "-auth ", " -s ", "curl -u ", "Authorization: Basic ", "basic ",
    "http://", "https://", "jenkins", ".example.com", ":8080", ":port", ":99999", ":-1", "@", ":", "/", "//",
    "/job/", "/build?", "/buildByToken/build?job=x&", "&token=", "?token=", "<authToken>", "</authToken>",
    "<argument>", "</argument>", "<hash>", "crumb", "jts:allow", "pragma: allowlist nextline secret",
    "name: ", "value: ", "ENV ", "- ", "=", "==", "\"", "'", "`", "\\", "\\\n", "\n", "\r\n", " ", "\t",
    "${", "}", "{{", "}}", "<", ">", "[", "]", "(", ")", ",", ";", "%", "$", "\x00", "\u00e9", "\u202e",
    "[::1]", "[::ffff:127.0.0.1]", "xn--", "%2F", "?", "#", "user", "alice", "admin",
)


@functools.lru_cache(maxsize=1)
def detector() -> Detector:
    return DetectorSpec().build()


def _token(draw_hex: str, kind: int) -> str:
    if kind == 0:
        return "11" + draw_hex[:32]
    if kind == 1:
        return draw_hex[:32]
    return (draw_hex * 2)[:64]


@st.composite
def secret_like(draw) -> str:
    """Token-shaped values: API tokens, legacy hex, agent secrets, trigger words, Basic pairs."""
    hex_text = draw(st.text(HEX, min_size=64, max_size=64))
    kind = draw(st.integers(0, 4))
    if kind < 3:
        return _token(hex_text, kind)
    if kind == 3:
        user = draw(st.sampled_from(["alice", "bob", "a:b", "", "é"]))
        return base64.b64encode(f"{user}:11{hex_text[:32]}".encode()).decode()
    return draw(st.text(st.characters(codec="ascii", exclude_characters="&\n '\"#<>\\"), min_size=1, max_size=40))


content_parts = st.one_of(
    st.sampled_from(PIECES),
    secret_like(),
    st.text(max_size=40),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "a=", ":", "<", " ", "/job/a", "http://", "\n"]),
              st.integers(0, 400)),
)
contents = st.lists(content_parts, max_size=40).map("".join)
paths = st.one_of(
    st.sampled_from(["deploy.sh", ".env", "jenkins_jobs.ini", "secrets/master.key", "secrets/initialAdminPassword",
                     "jobs/x/config.xml", "a b/ü.txt", "x.jnlp", "../etc/passwd", "dir/\u202etxt.sh"]),
    st.text(min_size=1, max_size=30).filter(lambda p: "\x00" not in p),
)
encodings = st.sampled_from(["utf-8", "latin-1", "raw"])


def _bytes(text: str, encoding: str, junk: bytes) -> bytes:
    if encoding == "raw":  # invalid UTF-8 sprinkled in
        return text.encode("utf-8", "surrogatepass") + junk
    return text.encode(encoding, "replace")


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(text=contents, path=paths, encoding=encodings, junk=st.binary(max_size=16))
def test_no_exception_escapes_scan_blob(text, path, encoding, junk):
    data = _bytes(text, encoding, junk)
    hits = detector().scan_blob(path, data)
    decoded = data.decode("utf-8", "replace")
    for hit in hits:
        assert hit.line >= 1 and hit.column >= 1
        assert hit.secret in decoded or data.hex().find(hit.secret) >= 0 or _basic_pair(decoded, hit.secret)


def _basic_pair(text: str, secret: str) -> bool:
    """A secret found inside ``Basic base64(user:secret)`` is not in the text as such."""
    for word in re.finditer(r"[A-Za-z0-9+/]{8,}={0,2}", text):
        try:
            decoded = base64.b64decode(word.group(0) + "=" * (-len(word.group(0)) % 4))
        except ValueError:
            continue
        if secret in decoded.decode("utf-8", "replace"):
            return True
    return False


@FUZZ
@given(prefix=contents, suffix=contents, path=paths, url=st.sampled_from(PIECES) | st.text(max_size=30),
       user=st.text(max_size=12))
def test_no_full_secret_in_any_report_unless_asked(prefix, suffix, path, url, user):
    token = "11" + secrets.token_hex(16)
    text = f"{prefix}\ncurl -u {user}:{token} https://{url}/job/x\nJENKINS_API_TOKEN={token}\n{suffix}"
    found = detector().scan_blob(path, text.encode("utf-8", "surrogatepass"))
    pairs = [(hit, Location(path=path, line=hit.line, column=hit.column, end_column=hit.end_column))
             for hit in found]
    findings = build_findings(pairs, detector().rules)
    # (the planted token may rightly be missed: a NUL makes the content binary, jts:allow hides a line)
    # warnings can quote content (a URL with the token as its port): they are redacted too
    report = Report(findings=findings, targets=[path], warnings=[f"{path}: bad port in http://{url}:{token}/"])
    full = [f.secret for f in findings if len(f.secret) >= 16]
    for fmt in FORMATS:
        hidden = render(report, fmt)
        assert not any(secret in hidden for secret in full), fmt
        if fmt == "json":
            json.loads(hidden)
        if findings:
            assert findings[0].secret in render(report, fmt, show_secrets=True), fmt
