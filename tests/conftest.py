"""Fixtures shared by several test modules."""

from __future__ import annotations

import zlib

import pytest


@pytest.fixture(params=["zlib-ng", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test with zlib-ng inflating pack entries (the test extra installs it) and with zlib;
    set in the environment, so the scans a test starts as subprocesses inflate the same way."""
    from scanner.sources.git_objects import NO_ZLIB_NG_ENV, inflating

    if request.param == "zlib":
        monkeypatch.setenv(NO_ZLIB_NG_ENV, "1")
        assert inflating() is zlib
    else:
        monkeypatch.delenv(NO_ZLIB_NG_ENV, raising=False)
        assert inflating() is not zlib, "the test extra installs zlib-ng: its inflater is tested"
    return str(request.param)
