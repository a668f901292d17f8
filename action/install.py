"""The GitHub Action's install step: make the pinned jts available, and name it in the step output ``jts``.

Runs before jts exists, as a plain script (``python3 action/install.py``): standard library only.
It lives outside the ``scanner`` package on purpose: it starts pip, and no module of the scanner
starts a process but its hardened git runner.
The version wanted is the action's ``version`` input, or else the version of the action's own
source (so ``uses: org/jenkins-token-scanner@<sha>`` runs exactly that code). A ``jts`` already on
PATH at that version is used as it is (a runner image, a job that installed it, the tests);
otherwise a virtualenv under ``$RUNNER_TEMP`` gets ``jenkins-token-scanner==<version>`` from
the package index, or the action's own directory when no version is pinned.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path

PACKAGE = "jenkins-token-scanner"
# PEP 440-shaped, and never an option: the value ends up in a pip argument
VERSION = re.compile(r"[0-9]+(\.[0-9]+)*([a-z]+[0-9]*)?(\.post[0-9]+|\.dev[0-9]+)?")
OWN_VERSION = re.compile(r'^__version__\s*=\s*"([^"]+)"', re.MULTILINE)


class InstallError(Exception):
    pass


def own_version(action_path: Path) -> str:
    """The version of the action's own source tree (``scanner/__init__.py``)."""
    try:
        match = OWN_VERSION.search((action_path / "scanner" / "__init__.py").read_text(encoding="utf-8"))
    except OSError:
        match = None
    if not match:
        raise InstallError(f"{action_path}: not a jenkins-token-scanner source tree (no scanner/__init__.py version)")
    return match.group(1)


def installed_version(jts: str) -> str | None:
    """``jts --version`` prints ``jts, version X``; None when it cannot run."""
    try:
        done = subprocess.run([jts, "--version"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"version (\S+)", done.stdout)
    return match.group(1) if done.returncode == 0 and match else None


def install(environ: Mapping[str, str]) -> tuple[str, str]:
    """Return (path of the jts to use, what was done)."""
    action_path = Path(environ.get("GITHUB_ACTION_PATH") or Path(__file__).resolve().parents[1])
    pinned = environ.get("JTS_VERSION", "").strip()
    if pinned and not VERSION.fullmatch(pinned):
        raise InstallError(f"version: {pinned!r} is not a version number (e.g. 0.1.0)")
    wanted = pinned or own_version(action_path)
    found = shutil.which("jts", path=environ.get("PATH"))
    if found and installed_version(found) == wanted:
        return found, f"using jts {wanted} already installed at {found}"
    python = environ.get("JTS_PYTHON") or sys.executable
    venv = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir()) / f"jts-{wanted}"
    requirement = f"{PACKAGE}=={pinned}" if pinned else str(action_path)
    steps = ([python, "-m", "venv", str(venv)],
             [str(_bin(venv, "python")), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement])
    for step in steps:
        if subprocess.run(step, check=False).returncode != 0:
            raise InstallError(f"could not install {requirement} (see the log above)")
    jts = str(_bin(venv, "jts"))
    got = installed_version(jts)
    if got != wanted:
        raise InstallError(f"installed {requirement} but jts reports version {got or 'nothing'}, not {wanted}")
    return jts, f"installed jts {wanted} in {venv}"


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / (f"{name}.exe" if os.name == "nt" else name)


def main(environ: Mapping[str, str] = os.environ) -> int:
    try:
        jts, done = install(environ)
    except InstallError as exc:
        message = str(exc).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::error title=jts install::{message}", flush=True)
        return 2
    print(done, flush=True)
    output = environ.get("GITHUB_OUTPUT")
    if output:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"jts<<{delimiter}\n{jts}\n{delimiter}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
