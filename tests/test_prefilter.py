"""The Hyperscan prefilter (an optional accelerator) answers exactly as the pure-Python one (issue 10)."""

from __future__ import annotations

import base64
import random
import re
import secrets
import sys

import pytest

from scanner.context import BASIC_RE, JENKINS_NAMING_SHAPE, JENKINS_PATHS, LOWERS_TO_ASCII, could_name_jenkins
from scanner.detect import BASIC_SHAPE, Detector
from scanner.prefilter import ACCELERATE_AFTER_BYTES, Facts, Prefilter, Questions, _Answered
from scanner.rulecheck import expand
from scanner.rules import load_rules
from tests.helpers import new_token
from tests.test_detect_equivalence import PIECES

hyperscan = pytest.importorskip("hyperscan", reason="the accelerator is not installed on this machine")

RULES = load_rules()
PLAIN = Detector(RULES, accelerate=False)
FAST = Detector(RULES, accelerate=True)
QUESTIONS = FAST.prefilter.questions


def _answers(facts: Facts) -> tuple:
    return (tuple(facts.has(k) for k in QUESTIONS.literals),
            tuple(facts.hex_run(n) for n in QUESTIONS.hex_runs),
            tuple(facts.hex_window(*runs) for runs in QUESTIONS.hex_windows),
            tuple(facts.base64_run(n) for n in QUESTIONS.base64_runs),
            tuple(facts.has_shape(shape) for shape in QUESTIONS.shapes))


def _contents(rng: random.Random) -> list[bytes]:
    made = [b"", b"\x00" * 10, bytes(range(256)) * 3, b"x" * 5000, secrets.token_hex(17).encode(),
            ("A" * 85 + "=").encode(), ("A" * 86).encode(), "токен Secret\n' '\n".encode()]
    for _ in range(60):
        made.append("\n".join(rng.choice(PIECES)() for _ in range(rng.randint(1, 30))).encode())
    return made


def test_the_accelerated_engine_is_in_use() -> None:
    assert FAST.prefilter.engine == "hyperscan" and PLAIN.prefilter.engine == "python"
    assert QUESTIONS.literals and QUESTIONS.hex_runs and QUESTIONS.hex_windows and QUESTIONS.base64_runs
    assert QUESTIONS.shapes


def test_every_answer_is_the_same() -> None:
    for data in _contents(random.Random(10)):
        assert _answers(FAST.prefilter.facts(data)) == _answers(Facts(data)), data[:80]


def test_runs_at_their_exact_lengths() -> None:
    """A run one character short of a question is a no; exactly the length is a yes; case counts."""
    prefilter = Prefilter(Questions(hex_runs=(16, 34), hex_windows=((16, 33), (34, 34)), base64_runs=(86,)),
                          accelerate=True)
    for length in (15, 16, 33, 34, 35):
        for text in ("-" + "a" * length + "-", "-" + "A" * length + "-", "a" * length, "G" + "a" * length,
                     "a" * length + "\n" + "b" * 40):
            facts = prefilter.facts(text.encode())
            assert _runs(facts) == _runs(Facts(text.encode())), (length, text[:3])
    facts = prefilter.facts(("+" * 86).encode())
    assert facts.base64_run(86) and not facts.hex_run(16)


def _runs(facts: Facts) -> tuple[bool, ...]:
    return (facts.hex_run(16), facts.hex_run(34), facts.hex_window(16, 33), facts.hex_window(34, 34),
            facts.base64_run(86))


def test_both_engines_find_the_same_hits() -> None:
    rng = random.Random(12)
    for _ in range(30):
        data = "\n".join(rng.choice(PIECES)() for _ in range(rng.randint(1, 200))).encode()
        for path in ("deploy.sh", "k8s/secret.yaml", "jenkins/config.env"):
            fast = [(h.rule_id, h.secret, h.line, h.column) for h in FAST.scan_blob(path, data)]
            plain = [(h.rule_id, h.secret, h.line, h.column) for h in PLAIN.scan_blob(path, data)]
            assert fast == plain


def test_both_engines_choose_the_same_rules() -> None:
    """A rule the accelerated pass rules out at once (its trigger questions all said no) is one
    the question-by-question path would not have run either."""
    rng = random.Random(14)
    contents = _contents(rng) + ["\n".join(rng.choice(PIECES)() for _ in range(rng.randint(1, 80))).encode()
                                 for _ in range(40)]
    contents += [expand(example.text)[0].encode() for rule in RULES for example in rule.positive + rule.negative]
    chosen_somewhere = set()
    # the accelerated detector remembers its choice per (what the pass found, path verdicts,
    # binary): contents and paths repeat those here, so a remembered choice is held to PLAIN too
    for data in contents:
        for path in ("deploy.sh", "config.xml", "jenkins/secrets/master.key", "k8s/agent.yaml"):
            for binary in (False, True):
                fast = [r.id for r in FAST.candidate_rules(path, data, binary)]
                assert fast == [r.id for r in PLAIN.candidate_rules(path, data, binary)], (path, binary, data[:80])
                chosen_somewhere.update(fast)
    assert chosen_somewhere == {r.id for r in RULES}  # every rule's trigger was exercised


def test_hex_windows_match_a_regex_reference() -> None:
    """Windows are answered by a walk over the runs, or (accelerated) by their own Hyperscan pass:
    both answer what a whole-run regex does, at the edges of the content too."""
    rng = random.Random(16)
    windows = ((32, 32), (34, 34), (16, 33), (1, 1), (5, 5), (34, 38), (32, 36))
    fast = Prefilter(Questions(hex_runs=(1,), hex_windows=windows), accelerate=True)
    assert [later.index for later in fast._later] == [{("window", w): n for n, w in enumerate(windows)}]
    for _ in range(400):
        data = "".join(rng.choice(["a" * rng.randint(1, 40), "-", "\n", "G", "0f" * rng.randint(1, 20)])
                       for _ in range(rng.randint(0, 8))).encode()
        accelerated = fast.facts(data) if data else None
        for shortest, longest in windows:
            expected = re.search(rb"(?<![0-9a-f])[0-9a-f]{%d,%d}(?![0-9a-f])" % (shortest, longest), data) is not None
            assert Facts(data).hex_window(shortest, longest) == expected, (data, shortest, longest)
            if accelerated is not None:
                assert accelerated.hex_window(shortest, longest) == expected, (data, shortest, longest)


def test_rare_questions_are_answered_outside_the_main_pass() -> None:
    """Bounded whole-run expressions made the single pass ~5x slower, base64 runs ~17% slower
    (issue 10): each kind gets a database of its own, run only over content that asks one of
    its questions (once for all of them), and still answers right."""
    prefilter = Prefilter(Questions(hex_runs=(16,), hex_windows=((16, 33), (34, 34)), base64_runs=(86, 20)),
                          accelerate=True)
    assert not {("window", (16, 33)), ("window", (34, 34)), ("base64", 86), ("base64", 20)} & set(prefilter._index)
    assert prefilter.facts(b"x " + b"a" * 20 + b" y").hex_window(16, 33)
    assert not prefilter.facts(b"x " + b"a" * 40 + b" y").hex_window(16, 33)
    assert prefilter.facts(b"-" + b"A/+9" * 22 + b"-").base64_run(86)
    assert not prefilter.facts(b"-" + b"A/+9" * 21 + b"-").base64_run(86)
    scanned: list[tuple[int, bytes]] = []
    for number, later in enumerate(prefilter._later):
        def spy(data: bytes, number: int = number, real=later.matcher.matches) -> set[int] | None:
            scanned.append((number, data))
            return real(data)
        later.matcher.matches = spy
    facts = prefilter.facts(b"no hex run here at all")
    assert facts.hex_run(16) is False and scanned == []  # never asked, never run
    data = b"x " + b"a" * 20 + b" y " + b"b" * 33 + b" " + b"Z" * 21
    facts = prefilter.facts(data)
    assert facts.hex_window(16, 33) and not facts.hex_window(34, 34) and facts.hex_window(16, 33)
    assert scanned == [(0, data)]  # one pass answered both windows
    assert facts.base64_run(20) and not facts.base64_run(86) and scanned == [(0, data), (1, data)]


def test_the_basic_shape_holds_every_basic_header() -> None:
    """BASIC_SHAPE gates the Basic-auth decoding: every text BASIC_RE matches (case folding and
    Unicode whitespace included) must hold it, in both engines."""
    pair = base64.b64encode(f"alice:{new_token()}".encode()).decode()
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(c))] + [" \n\u3000 "]
    words = ["Basic", "basic", "BASIC", "bAsIc", "ba\u017fic", "BA\u017fIC", "bas\u0130c", "bas\u0131c"]
    for word in words:
        for space in spaces:
            text = f"Authorization: {word}{space}{pair}"
            assert BASIC_RE.search(text), text
            data = text.encode()
            assert Facts(data).has_shape(BASIC_SHAPE) and FAST.prefilter.facts(data).has_shape(BASIC_SHAPE), text
    for prose in ("basic auth", "Basic  usage:", "the basic idea", "basic\u4e2d\u6587" * 5000):
        assert not Facts(prose.encode()).has_shape(BASIC_SHAPE)
        assert not FAST.prefilter.facts(prose.encode()).has_shape(BASIC_SHAPE)


def test_lowers_to_ascii_lists_every_code_point_that_lowers_to_an_ascii_letter() -> None:
    """JENKINS_NAMING_SHAPE spells each letter in every way str.lower() accepts: a Python whose
    Unicode tables add one must fail here, not miss a Jenkins word."""
    found: dict[str, list[str]] = {}
    for code in range(0x80, sys.maxunicode + 1):
        for ch in chr(code).lower():
            if ch.isascii() and ch.isalpha():
                found.setdefault(ch, []).append(chr(code))
    assert {k: tuple(v) for k, v in found.items()} == LOWERS_TO_ASCII


def _naming_texts(rng: random.Random) -> list[bytes]:
    """Content that could name a Jenkins in every spelling str.lower() folds, between noise and
    invalid UTF-8 (which decodes to U+FFFD beside the ASCII)."""
    words = ["jenkins", "hudson", "//ci", "//build", "@ci.", "@build", "machine ci", "machine build"]
    paths = ["/" + path + rng.choice(["/", "?", "#", ""]) for path in JENKINS_PATHS]  # case-sensitive
    noise = [b"", b"x = 1\n", b"\xff", b"\xe2\x84", b"\xc4", "\u0130".encode(), "токен ".encode()]
    made = []
    for word in words:
        for _ in range(6):
            spelled = "".join(rng.choice([ch, ch.upper(), *LOWERS_TO_ASCII.get(ch, ())]) if ch.isalpha() else ch
                              for ch in word)
            made.append(rng.choice(noise) + spelled.encode() + rng.choice(noise))
    return made + [rng.choice(noise) + path.encode() + rng.choice(noise) for path in paths]


def test_the_jenkins_naming_shape_holds_whenever_content_could_name_jenkins() -> None:
    """The accelerated pass rules out the Jenkins-context gate only where could_name_jenkins is
    false of the decoded text: the shape is a byte-level superset of it."""
    texts = _naming_texts(random.Random(16))
    named = 0
    for data in texts + _contents(random.Random(17)):
        if could_name_jenkins(data.decode("utf-8", "replace")):
            named += 1
            assert Facts(data).has_shape(JENKINS_NAMING_SHAPE), data
            assert FAST.prefilter.facts(data).has_shape(JENKINS_NAMING_SHAPE), data
    assert named >= len(texts) * 0.6  # the generator really spells Jenkins names (U+0130 mid-word does not)
    for prose in (b"int main(void) { return 0; }\n", b"see https://example.org/docs/index.html\n" * 100):
        assert not FAST.prefilter.facts(prose).has_shape(JENKINS_NAMING_SHAPE)


def test_a_kelvin_sign_jenkins_still_gives_a_legacy_token_its_context() -> None:
    token = secrets.token_hex(16)
    for word in ("JEN\u212aINS", "jenkins", "Hudson", "ci"):
        data = f"{word}_URL=https://ci.example.org\napi_token = {token}\n".encode()
        fast = [(h.rule_id, h.secret) for h in FAST.scan_blob("deploy.sh", data)]
        assert fast == [(h.rule_id, h.secret) for h in PLAIN.scan_blob("deploy.sh", data)], word
        assert fast == [(h.rule_id, h.secret) for h in Detector(RULES, shortcuts=False).scan_blob("deploy.sh", data)]
    data = f"MD5_SUM = {token}\n".encode() * 3
    assert FAST.scan_blob("sums.txt", data) == PLAIN.scan_blob("sums.txt", data) == []


def test_an_accelerator_failure_falls_back_to_searches(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan error inside Hyperscan costs speed, never an answer."""
    prefilter = Prefilter(Questions(literals=(b"Secret",)), accelerate=True)

    def broken(*_args, **_kwargs) -> None:
        raise hyperscan.error("scratch in use")

    monkeypatch.setattr(prefilter._matcher, "database", type("Broken", (), {"scan": staticmethod(broken)})())
    prefilter._matcher._local.scratch = object()
    assert prefilter.facts(b"a Secret here").has(b"Secret")
    # the later databases too: the main pass answers, the rare questions fall back to searches
    prefilter = Prefilter(Questions(hex_runs=(16,), hex_windows=((16, 33),), base64_runs=(20,)), accelerate=True)
    for later in prefilter._later:
        monkeypatch.setattr(later.matcher, "database", type("Broken", (), {"scan": staticmethod(broken)})())
        later.matcher._local.scratch = object()
    facts = prefilter.facts(b"x " + b"a" * 20 + b" y")
    assert isinstance(facts, _Answered) and facts.hex_run(16)
    assert facts.hex_window(16, 33) and facts.base64_run(20) and not facts.base64_run(21)


def _after_a_large_scan(detector: Detector) -> str:
    before = detector.prefilter.engine
    detector.scan_blob("big.txt", b"x" * (ACCELERATE_AFTER_BYTES + 1))
    return f"{before} -> {detector.prefilter.engine}"


def test_the_accelerator_is_built_only_for_large_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pre-commit hook over a few files never pays the database's compile time."""
    monkeypatch.delenv("JTS_NO_HYPERSCAN", raising=False)
    detector = Detector(RULES)
    detector.scan_blob("a.txt", b"small")
    assert _after_a_large_scan(detector) == "python -> hyperscan"
    monkeypatch.setenv("JTS_NO_HYPERSCAN", "1")
    assert _after_a_large_scan(Detector(RULES)) == "python -> python"
