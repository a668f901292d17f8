"""Inline allow markers cover the token's line as every reader sees it: never a line further."""

from __future__ import annotations

import pytest

from scanner.detect import Detector, DetectorSpec
from tests.helpers import new_token

URL = "JENKINS_URL=https://ci.example.com"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return DetectorSpec().build()


def found(detector: Detector, text: str, token: str) -> bool:
    return any(h.secret == token for h in detector.scan_blob("a.env", text.encode("utf-8")))


# CR (old Mac files), VT, FF, FS, NEL, LS, PS: str.splitlines, editors and detect-secrets break lines there
BREAKS = ["\r", "\x0b", "\x0c", "\x1c", "\u0085", "\u2028", "\u2029"]


@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b):04X}" for b in BREAKS])
def test_a_marker_does_not_reach_past_another_line_break(detector: Detector, brk: str) -> None:
    token = new_token()
    text = f"# harmless jts:allow{brk}{URL}{brk}JENKINS_API_TOKEN={token}{brk}"
    assert found(detector, text, token)
    text = f"{URL} # pragma: allowlist secret{brk}JENKINS_API_TOKEN={token}\n"
    assert found(detector, text, token)
    nextline = f"# pragma: allowlist nextline secret\n# note{brk}JENKINS_API_TOKEN={token}\n{URL}\n"
    assert found(detector, nextline, token)


@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b):04X}" for b in BREAKS])
def test_a_marker_on_the_same_line_still_allows(detector: Detector, brk: str) -> None:
    token = new_token()
    assert not found(detector, f"{URL}{brk}JENKINS_API_TOKEN={token}  # jts:allow{brk}", token)
    assert not found(detector, f"{URL}{brk}# pragma: allowlist nextline secret\r\nJENKINS_API_TOKEN={token}\r\n",
                     token)


def test_industry_semantics_are_kept(detector: Detector) -> None:
    """Anywhere on the line, as gitleaks and detect-secrets read it; CRLF files work as LF ones."""
    token = new_token()
    assert not found(detector, f"{URL}\nJENKINS_API_TOKEN={token}  # jts:allow\n", token)
    assert not found(detector, f"{URL}\r\nJENKINS_API_TOKEN={token}  # pragma: allowlist secret\r\n", token)
    assert not found(detector, f"{URL}\n# pragma: allowlist nextline secret\nJENKINS_API_TOKEN={token}\n", token)
    assert found(detector, f"{URL}\n# pragma: allowlist nextline secret\n\nJENKINS_API_TOKEN={token}\n", token)
