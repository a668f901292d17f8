"""Run each rule's inline examples: the engine must find every positive and none of the negatives.

Example texts hold placeholders filled with fresh random values on every run, so no
token-shaped literal is ever committed: {api_token}, {hex32}, {hex64}, {hex256}, {word},
{basic:USER:api_token} / {basic:USER:hex32} for a base64 ``user:secret`` pair, and the fixed
placeholders {zero_token} and {doc_token} (which must never be reported).
"""

from __future__ import annotations

import base64
import re
import secrets
import string
from dataclasses import dataclass

from scanner.detect import Detector
from scanner.rules import Example, Rule

TEMPLATE_RE = re.compile(
    r"\{(api_token|hex32|hex64|hex256|word|zero_token|doc_token|basic:[^:{}]+:(?:api_token|hex32))\}")
# Token-shaped placeholders, built here so no token-shaped literal sits in a committed file.
PLACEHOLDER_VALUES = {"zero_token": "11" + "0" * 32, "doc_token": "11" + "1234567890abcdef" * 2}


def fresh_value(kind: str) -> str:
    if kind in PLACEHOLDER_VALUES:
        return PLACEHOLDER_VALUES[kind]
    if kind == "api_token":
        return "11" + secrets.token_hex(16)
    if kind == "hex32":
        return secrets.token_hex(16)
    if kind == "hex64":
        return secrets.token_hex(32)
    if kind == "hex256":
        return secrets.token_hex(128)
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20))


def expand(template: str) -> tuple[str, str | None]:
    """Fill the placeholders; returns the text and the first secret it planted."""
    planted: list[str] = []

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name.startswith("basic:"):
            _, user, kind = name.split(":")
            value = fresh_value(kind)
            planted.append(value)
            return base64.b64encode(f"{user}:{value}".encode()).decode()
        value = fresh_value(name)
        planted.append(value)
        return value

    text = TEMPLATE_RE.sub(fill, template)
    return text, (planted[0] if planted else None)


@dataclass
class ExampleResult:
    rule_id: str
    kind: str  # positive | negative
    index: int
    ok: bool
    problem: str = ""


def check_example(detector: Detector, rule: Rule, example: Example, kind: str, index: int) -> ExampleResult:
    text, planted = expand(example.text)
    hits = [h for h in detector.scan_blob(example.path, text.encode()) if h.rule_id == rule.id]
    if kind == "negative":
        if hits:
            return ExampleResult(rule.id, kind, index, False, f"matched {len(hits)} time(s) but should not")
        return ExampleResult(rule.id, kind, index, True)
    if planted is None:
        return ExampleResult(rule.id, kind, index, False, "positive example plants no secret placeholder")
    mine = [h for h in hits if h.secret == planted or (len(planted) == 256 and planted in h.secret)]
    if not mine:
        return ExampleResult(rule.id, kind, index, False, "planted secret was not found")
    hit = mine[0]
    if example.user is not None and hit.user != example.user:
        return ExampleResult(rule.id, kind, index, False, f"user: expected {example.user!r}, got {hit.user!r}")
    if example.jenkins_url is not None and hit.jenkins_url != example.jenkins_url:
        return ExampleResult(rule.id, kind, index, False,
                             f"jenkins_url: expected {example.jenkins_url!r}, got {hit.jenkins_url!r}")
    return ExampleResult(rule.id, kind, index, True)


def check_rules(rules: list[Rule]) -> list[ExampleResult]:
    detector = Detector(rules)
    results = []
    for rule in rules:
        if not rule.positive:
            results.append(ExampleResult(rule.id, "positive", 0, False, "rule has no positive example"))
        for i, example in enumerate(rule.positive):
            results.append(check_example(detector, rule, example, "positive", i))
        for i, example in enumerate(rule.negative):
            results.append(check_example(detector, rule, example, "negative", i))
    return results
