"""The second corpus (shapes from public code, tests/corpus_public_shapes.py) meets issue 11's targets per kind."""

from __future__ import annotations

import pytest

from tests.corpus_public_shapes import CASES, KINDS, NEGATIVES, POSITIVES, evaluate

RESULT = evaluate()


def test_corpus_is_large_and_covers_every_kind():
    assert len(CASES) >= 300
    assert len(NEGATIVES) >= 90
    assert {case.rule for case in POSITIVES} == set(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_precision_and_recall_per_kind(kind):
    tally = RESULT["tallies"][kind]
    assert tally.precision >= 0.98, RESULT["problems"]
    assert tally.recall >= 0.98, RESULT["problems"]


@pytest.mark.parametrize("kind", KINDS)
def test_user_and_url_accuracy_per_kind(kind):
    tally = RESULT["tallies"][kind]
    assert tally.user_accuracy >= 0.97, RESULT["problems"]
    assert tally.url_accuracy >= 0.97, RESULT["problems"]


def test_never_a_code_fragment_as_a_user():
    assert RESULT["code_users"] == []
