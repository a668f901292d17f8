"""JENKINS_HOME tarball scan rate: `jts scan --jenkins-home home.tar.gz` vs `tar -xzf home.tar.gz`.

Issue 12 asks for the scan rate of a 1 GB JENKINS_HOME tarball against `tar -xzf` of it. The
home is generated with the test server's writers (real key files, an encrypted credentials.xml,
folders, jobs, builds with console-note-laden logs, a third of them gzip-compressed as
compress-buildlog leaves them, build.xml with password parameters); its uncompressed size is
`--size-mb`. Both are timed in the same run, interleaved, and the medians compared.

    python bench/jenkins_home.py                 # 200 MB: a quick run
    python bench/jenkins_home.py --size-mb 1024  # the 1 GB of the issue
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner.jenkins.testserver.confidential import ConfidentialStore  # noqa: E402
from scanner.jenkins.testserver.home_content import Credential, HomeContent  # noqa: E402

LOG_WORDS = ("Building remote workspace checkout fetching origin upstream revision commit compiling module "
             "test passed failed skipped artifact uploading downloading maven gradle npm docker layer pushed "
             "sha256 digest stage deploy finished success warning INFO DEBUG").split()
LOG_KB = 100


def log_text(rng: random.Random, kb: int, token: str | None) -> str:
    lines, size = [], 0
    while size < kb * 1024:
        words = " ".join(rng.choice(LOG_WORDS) for _ in range(rng.randint(4, 14)))
        line = f"[{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}] {words} {rng.getrandbits(32):08x}\n"
        lines.append(line)
        size += len(line) + 110  # the console note each line gets
    if token:
        lines.insert(len(lines) // 2, f"+ curl -u deploy:{token} https://jenkins.example.com/job/x/build\n")
    return "".join(lines)


def make_home(home: Path, size_mb: int, seed: int = 12) -> tuple[int, int]:
    """A home of about ``size_mb`` MiB; returns (builds, planted tokens)."""
    rng = random.Random(seed)
    content = HomeContent(home, ConfidentialStore(home / "secrets"))
    content.set_root_url("https://jenkins.example.com/")
    content.add_credentials(*[Credential("string", f"token-{i}", secret="11" + secrets.token_hex(16)) for i in range(20)])
    builds = size_mb * 1024 // LOG_KB
    jobs = max(1, builds // 50)
    planted = 20
    for job in range(jobs):
        name = f"team-{job % 3}/service-{job}"
        content.add_job(name, shell="make deploy")
        for number in range(1, 51):
            index = job * 50 + number
            if index > builds:
                break
            token = "11" + secrets.token_hex(16) if index % 200 == 0 else None
            planted += bool(token)
            content.add_build(name, number, log_text(rng, LOG_KB, token), compress=number % 3 == 0,
                              password_parameters={"PW": "pw-" + secrets.token_hex(8)} if number % 10 == 0 else None)
    return builds, planted


def timed(cmd: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if done.returncode not in (0, 1):  # 1: findings (the planted tokens)
        raise SystemExit(f"{' '.join(cmd)}: exit {done.returncode}")
    return time.perf_counter() - start


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200, help="uncompressed size of the home (default 200)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".work" / "jenkins_home")
    args = parser.parse_args()
    work = args.work / f"home-{args.size_mb}"
    home, archive = work / "jenkins_home", work / "home.tar.gz"
    if not archive.is_file():
        shutil.rmtree(work, ignore_errors=True)
        started = time.perf_counter()
        builds, planted = make_home(home, args.size_mb)
        subprocess.run(["tar", "-czf", str(archive), "-C", str(work), "jenkins_home"], check=True)
        print(f"generated {builds} builds, {planted} planted tokens in {time.perf_counter() - started:.1f}s")
    size, packed = tree_bytes(home), archive.stat().st_size
    print(f"home: {size / 2**20:.0f} MiB on disk, tarball {packed / 2**20:.0f} MiB")
    jts = [sys.executable, "-m", "scanner", "scan", "--jenkins-home", str(archive), "--no-progress", "-f", "json",
           "-o", os.devnull]
    jts_dir = [*jts[:5], str(home), *jts[6:]]
    ours, theirs, ours_dir = [], [], []
    for _ in range(args.repeat):  # interleaved, so drift in machine load hits all alike
        with tempfile.TemporaryDirectory(dir=work) as out:
            theirs.append(timed(["tar", "-xzf", str(archive), "-C", out]))
        ours.append(timed(jts))
        ours_dir.append(timed(jts_dir))
    tar_med, ours_med, dir_med = statistics.median(theirs), statistics.median(ours), statistics.median(ours_dir)
    runs = lambda values: ", ".join(f"{v:.2f}" for v in values)  # noqa: E731
    print(f"tar -xzf:                          median {tar_med:.2f}s ({size / 2**20 / tar_med:.0f} MiB/s)  runs {runs(theirs)}")
    print(f"jts scan --jenkins-home tarball:   median {ours_med:.2f}s ({size / 2**20 / ours_med:.0f} MiB/s)  runs {runs(ours)}")
    print(f"jts scan --jenkins-home directory: median {dir_med:.2f}s ({size / 2**20 / dir_med:.0f} MiB/s)  runs {runs(ours_dir)}")
    print(f"ratio tarball scan / tar -xzf: {ours_med / tar_med:.2f} (medians), {min(ours) / min(theirs):.2f} (best runs); "
          f"directory scan / tar -xzf: {dir_med / tar_med:.2f} (medians), {min(ours_dir) / min(theirs):.2f} (best runs)")


if __name__ == "__main__":
    main()
