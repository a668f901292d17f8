"""The coordinator's backlog: work waiting for a worker, first in first out, kept on disk."""

from __future__ import annotations

import pytest

from scanner.sources.backlog import Backlog


def test_items_come_back_in_order_across_interleaved_pushes_and_pops() -> None:
    with Backlog() as backlog:
        out = []
        for i in range(50):
            backlog.push((i, [(f"{i:040x}", f"dir/{i}.txt")]))
            if i % 3 == 0:
                out.append(backlog.pop())
        while backlog.count:
            out.append(backlog.pop())
    assert [item[0] for item in out] == list(range(50))
    assert out[7] == (7, [(f"{7:040x}", "dir/7.txt")])


def test_a_drained_backlog_starts_its_file_over() -> None:
    with Backlog() as backlog:
        backlog.push("a" * 10_000)
        assert backlog.pop() == "a" * 10_000
        backlog.push("b")
        assert backlog._file.seek(0, 2) < 100  # the 10 kB item is gone from the file
        assert backlog.pop() == "b"


def test_pop_from_an_empty_backlog_raises() -> None:
    backlog = Backlog()
    with pytest.raises(IndexError):
        backlog.pop()
    backlog.close()


def test_a_full_disk_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import tempfile

    from scanner.errors import JtsError

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    with Backlog() as backlog, pytest.raises(JtsError, match="temporary file: No space left on device"):
        backlog.push((0, [("a" * 40, "x.txt")]))
