"""Settings from ``.jts.toml`` or ``[tool.jts]`` in ``pyproject.toml``; flags override them."""

from __future__ import annotations

from scanner.errors import JtsError

import tomllib
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(JtsError):
    """A bad setting; the message names the file and the key."""


@dataclass
class Config:
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
        if pyproject.is_file() and _has_tool_jts(pyproject):
            return pyproject
        if (candidate_dir / ".git").exists():
            break
    return None


def _has_tool_jts(path: Path) -> bool:
    try:
        return "jts" in tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def load_config(path: Path | None) -> Config:
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    prefix = ""
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("jts", {})
        prefix = "tool.jts."
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: tool.jts: expected a table")
    config = Config(source=str(path))
    for key, value in data.items():
        expected = FIELDS.get(key)
        if expected is None:
            raise ConfigError(f"{path}: {prefix}{key}: unknown setting (known: {', '.join(FIELDS)})")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{path}: {prefix}{key}: expected {expected.__name__}, got {type(value).__name__}")
        if expected is list and not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: {prefix}{key}: expected a list of strings")
        setattr(config, key, value)
    if config.fail_on not in FAIL_ON:
        raise ConfigError(f"{path}: {prefix}fail_on: must be one of {', '.join(FAIL_ON)}")
    # Rule directories are relative to the file that names them, not to the caller's cwd.
    config.rules = [str((path.parent / d).resolve()) for d in config.rules]
    return config
