"""The fast detection paths find exactly what the plain ones find (issue 10: same answers).

Hex-run rules search only the lines around each hex run, and Basic auth only around each "basic";
whole-content gates drop candidates early. Here the same content goes through a detector with
those shortcuts and one without, on content dense with candidates, and the hits must be equal.
"""

from __future__ import annotations

import random
import secrets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.detect import Detector
from scanner.rules import load_rules


def _detectors() -> tuple[Detector, Detector]:
    rules = load_rules()
    return Detector(rules), Detector(rules, shortcuts=False)


FAST, PLAIN = _detectors()

PIECES = [
    lambda: f"curl -u alice:11{secrets.token_hex(16)} https://jenkins.example.com/job/x/build",
    lambda: f"JENKINS_API_TOKEN={secrets.token_hex(16)}",
    lambda: f"password: {secrets.token_hex(16)}",
    lambda: f"{secrets.token_hex(16)}  dist/file.tar.gz",
    lambda: f"    resolved {secrets.token_hex(20)}",
    lambda: f"java -jar agent.jar -jnlpUrl https://ci.example.org/computer/a/jenkins-agent.jnlp -secret {secrets.token_hex(32)}",
    lambda: f"Authorization: Basic {__import__('base64').b64encode(f'bob:11{secrets.token_hex(16)}'.encode()).decode()}",
    lambda: "Please use the following password to proceed to installation:",
    lambda: secrets.token_hex(16),
    lambda: "initialAdminPassword",
    lambda: "résumé naïve 東京 \u00e9",  # non-ASCII before candidates: byte and text offsets differ
    lambda: "x" * random.randint(0, 300),
    lambda: "",
    lambda: "machine jenkins.example.com login carol password " + secrets.token_hex(16),
    lambda: "BASIC    " + secrets.token_hex(12),
    # split tokens (derived patterns around shorter runs) and runs longer than any token beside them
    lambda: (lambda h: f"TOKEN=11{h[:10]}\\\n{h[10:]}")(secrets.token_hex(16)),
    lambda: (lambda h: f"token = ('11{h[:16]}' '{h[16:]}')")(secrets.token_hex(16)),
    lambda: (lambda h: f'jenkins_token = "11{h[:20]}" +\n    "{h[20:]}"')(secrets.token_hex(16)),
    lambda: (lambda h: f"jenkins_password = '{h[:16]}' '{h[16:]}'")(secrets.token_hex(16)),
    lambda: f"sha256 {secrets.token_hex(32)} 11{secrets.token_hex(16)} {secrets.token_hex(20)}",
    lambda: f"'{secrets.token_hex(20)}' '{secrets.token_hex(8)}' \"{secrets.token_hex(17)}\" + \"11{secrets.token_hex(8)}\"",
    lambda: f"jenkins {secrets.token_hex(4)}11{secrets.token_hex(16)} {secrets.token_hex(33)}",
    lambda: f"JENKINS_SECRET={secrets.token_hex(32).upper()} -secret {secrets.token_hex(31)}ab",
    lambda: f"args: [{secrets.token_hex(32)}, agent-1] <argument>{secrets.token_hex(32)}</argument>",
    # right after an escape ending in a hex digit (runs of 36 and 38), and longer runs after one (no token)
    lambda: f"https%3A%2F%2Fadmin%3A11{secrets.token_hex(16)}%40jenkins.example.com%2Fjob%2Fx%2Fbuild",
    lambda: f"body=json%3d%7b%22apiToken%22%3a%2211{secrets.token_hex(16)}%22%7d password%3d{secrets.token_hex(16)}",
    lambda: f'{{"env":["JENKINS_API_TOKEN\\u003d11{secrets.token_hex(16)}", "JENKINS_PASSWORD\\u003d{secrets.token_hex(16)}"]}}',
    # a token base64-encoded in a Kubernetes Secret's data (a derived pattern over the whole content)
    lambda: "kind: Secret\ndata:\n  token: " + __import__("base64").b64encode(f"11{secrets.token_hex(16)}".encode()).decode(),
    lambda: f"jenkins %2f{secrets.token_hex(20)} \\u0027{secrets.token_hex(18)} %20{secrets.token_hex(17)}",
]


def _content(rng: random.Random, lines: int, joiner: str) -> bytes:
    parts = [rng.choice(PIECES)() for _ in range(lines)]
    return joiner.join(parts).encode()


def _hits(detector: Detector, path: str, data: bytes) -> list[tuple]:
    return sorted((h.rule_id, h.secret, h.line, h.column, h.user, h.jenkins_url, h.confidence)
                  for h in detector.scan_blob(path, data))


def test_dense_candidate_content_gives_the_same_hits() -> None:
    rng = random.Random(11)
    for round_ in range(40):
        joiner = rng.choice(["\n", "\n\n", " ", "\r\n", "\n# jts\n"])
        data = _content(rng, rng.randint(1, 400), joiner)
        for path in ("deploy.sh", "jenkins/config.env", "docs/README.md"):
            assert _hits(FAST, path, data) == _hits(PLAIN, path, data), (round_, path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(range(len(PIECES))), max_size=40),
       st.sampled_from(["\n", " ", "\n\n", "\t", "\n \n"]),
       st.binary(max_size=8))
def test_any_arrangement_gives_the_same_hits(indices: list[int], joiner: str, noise: bytes) -> None:
    data = noise + joiner.join(PIECES[i]() for i in indices).encode() + noise
    assert _hits(FAST, "app/jenkins.env", data) == _hits(PLAIN, "app/jenkins.env", data)


def _seconds_for(tokens: int) -> float:
    import time

    line = " ".join(f"curl -u u{i}:11{secrets.token_hex(16)}" for i in range(tokens)) + " https://jenkins.example.com/\n"
    started = time.perf_counter()
    hits = FAST.scan_blob("a.sh", line.encode())
    elapsed = time.perf_counter() - started
    assert len(hits) == tokens
    return elapsed


def test_many_candidates_on_one_line_cost_linear_time() -> None:
    """Line-level work is shared by a line's candidates: 8x the tokens on one line costs ~8x, not 64x."""
    _seconds_for(200)  # warm up (imports, regex compilation)
    small = min(_seconds_for(500) for _ in range(3))
    large = min(_seconds_for(4000) for _ in range(2))
    assert large / small < 24, f"500 tokens {small:.3f} s, 4000 tokens {large:.3f} s: super-linear"
