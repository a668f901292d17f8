"""Settings files: ``.jts.toml``, ``[tool.jts]`` in ``pyproject.toml``, ``--config FILE`` and the
user's own ``config.toml``. This module only finds and validates them; which file may set which
key, and in which scan, is decided in ``settings_trust``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from scanner.errors import JtsError


class ConfigError(JtsError):
    """A bad setting; the message names the file and the key."""


@dataclass
class Config:
    """Effective settings (defaults, then each settings file, then flags)."""

    exclude: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # extra rule directories
    gitignore: bool = True
    jenkins_urls: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)  # user hints for verification
    fail_on: str = "any"
    jobs: int = 0
    source: str | None = None


FIELDS: dict[str, type] = {
    "exclude": list, "rules": list, "gitignore": bool, "jenkins_urls": list, "users": list,
    "fail_on": str, "jobs": int,
}
FAIL_ON = ("any", "live", "unknown", "none")
MAX_JOBS = 64  # same bound as -j: a settings file must not fork hundreds of workers
REPOSITORY_FILES = (".jts.toml", "pyproject.toml")  # per directory, in this order
USER_CONFIG = Path("jts") / "config.toml"


def user_config_path(env: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/jts/config.toml``, else ``~/.config/jts/config.toml`` (XDG base directories)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    root = Path(base) if base and os.path.isabs(base) else Path(env.get("HOME") or Path.home()) / ".config"
    return root / USER_CONFIG


def find_config(start: Path) -> Path | None:
    """Nearest .jts.toml or pyproject.toml with [tool.jts], from ``start`` up to the repo root."""
    directory = start.resolve()
    if not directory.is_dir():
        directory = directory.parent
    for candidate_dir in [directory, *directory.parents]:
        dotfile = candidate_dir / ".jts.toml"
        if dotfile.is_file():
            return dotfile
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file() and _has_tool_jts(pyproject.read_bytes()):
            return pyproject
        if (candidate_dir / ".git").exists():
            break
    return None


def _has_tool_jts(raw: bytes) -> bool:
    try:
        return "jts" in tomllib.loads(raw.decode("utf-8")).get("tool", {})
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return False


def is_settings_file(name: str, raw: bytes) -> bool:
    """Does a file with this name and content hold jts settings (a pyproject needs [tool.jts])?"""
    return name == ".jts.toml" or (name == "pyproject.toml" and _has_tool_jts(raw))


def key_name(path: str, key: str) -> str:
    """How a key is spelled in ``path``: ``tool.jts.fail_on`` in a pyproject, ``fail_on`` elsewhere."""
    return f"tool.jts.{key}" if Path(path).name == "pyproject.toml" else key


def parse_settings(raw: bytes, path: str, label: str | None = None) -> dict[str, object]:
    """The keys the settings file ``path`` sets, validated; ``label`` names it in errors (default: path)."""
    label = label or path
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{label}: invalid TOML: {exc}") from None
    if Path(path).name == "pyproject.toml":
        data = data.get("tool", {}).get("jts", {})
        if not isinstance(data, dict):
            raise ConfigError(f"{label}: tool.jts: expected a table")
    values: dict[str, object] = {}
    for key, value in data.items():
        name = key_name(path, key)
        expected = FIELDS.get(key)
        if expected is None:
            raise ConfigError(f"{label}: {name}: unknown setting (known: {', '.join(FIELDS)})")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{label}: {name}: expected {expected.__name__}, got {type(value).__name__}")
        if expected is list and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{label}: {name}: expected a list of strings")
        values[key] = value
    if values.get("fail_on", "any") not in FAIL_ON:
        raise ConfigError(f"{label}: {key_name(path, 'fail_on')}: must be one of {', '.join(FAIL_ON)}")
    if not 0 <= int(values.get("jobs", 0)) <= MAX_JOBS:  # type: ignore[call-overload]
        raise ConfigError(f"{label}: {key_name(path, 'jobs')}: must be between 0 and {MAX_JOBS}")
    return values


def read_settings_file(path: Path) -> dict[str, object]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_settings(raw, str(path))


def load_config(path: Path | None) -> Config:
    """One file's settings over the defaults (for callers with no trust decision to make: rules only)."""
    if path is None:
        return Config()
    values = read_settings_file(path)
    config = Config(source=str(path), **values)  # type: ignore[arg-type]
    # Rule directories are relative to the file that names them, not to the caller's cwd.
    config.rules = [str((path.parent / d).resolve()) for d in config.rules]
    return config
