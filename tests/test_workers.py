"""Worker process set-up: malloc settings that keep a history scan's memory and page faults down."""

from __future__ import annotations

import subprocess
import sys

import pytest

# In a fresh interpreter: fix the thresholds as a history worker does, then allocate and free a
# blob-sized buffer again and again, as reading one blob after another does.
PROBE = """
import resource, sys
from scanner.sources.workers import fixed_mmap_threshold
if sys.argv[1] == "worker":
    fixed_mmap_threshold()
blob = 512 * 1024
for _ in range(20):  # warm up: the heap reaches its size
    data = b"x" * blob
    del data
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(200):
    data = b"x" * blob
    del data
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings")
def test_a_worker_keeps_the_heap_pages_of_the_blob_it_just_freed() -> None:
    """With the mmap threshold fixed, glibc trimmed the heap top at 128 KiB: every blob of a few
    hundred KiB was given back when freed and faulted in again for the next one."""
    faults = int(subprocess.run([sys.executable, "-c", PROBE, "worker"], capture_output=True, text=True,
                                check=True).stdout)
    assert faults < 200  # 200 blobs of 128 pages each, were they faulted in every time: 25,600
