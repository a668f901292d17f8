"""Which code a baseline may make detect-secrets load: jts' own plugin and detect-secrets' built-ins.

A ``.secrets.baseline`` comes with the repository it describes, so it is scanned content too. Its
``plugins_used`` entries may name a Python file (``{"name": "X", "path": "file://./evil.py"}``) and
its ``filters_used`` a file or any importable module; detect-secrets imports them as soon as it
reads the baseline (settings, audit, ``transient_settings``). jts reads baselines as JSON only
(``scanner.baseline``); where it hands one to detect-secrets (``jts baseline audit``) it first
refuses those entries, and while detect-secrets runs it loads jts' plugin by module name whatever
path an entry of ours records (a path can name any file) and nothing outside detect-secrets.
``--trust-baseline-plugins`` lifts the refusal for baselines the user vouches for.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from scanner.baseline import PLUGIN_CLASSES, PLUGIN_MODULE, BaselineError, plugin_file

BUILTIN_FILTERS = "detect_secrets.filters."
TRUST_HINT = "pass --trust-baseline-plugins to load it anyway"


@dataclass
class BaselineCode:
    """What a set of baselines asks detect-secrets to import."""

    ours: set[str] = field(default_factory=set)  # file paths recorded for jts' plugin classes
    foreign: list[str] = field(default_factory=list)  # human-readable, one per entry


def _file_path(path: str) -> str:
    return path[len("file://"):] if path.startswith("file://") else path


def baseline_code(data: dict[str, Any]) -> BaselineCode:
    """Sort a baseline's plugin and filter entries into jts' own and code from elsewhere."""
    code = BaselineCode()
    theirs: set[str] = set()
    for plugin in data.get("plugins_used") or []:
        if not isinstance(plugin, dict) or "path" not in plugin:
            continue  # by name only: detect-secrets' built-ins (or ours, loaded by module name)
        path = str(plugin["path"])
        if plugin.get("name") in PLUGIN_CLASSES.values():
            code.ours.add(_file_path(path))
        else:
            theirs.add(_file_path(path))
            code.foreign.append(f"plugin {plugin.get('name')!s} from {path}")
    for entry in data.get("filters_used") or []:
        path = str(entry.get("path", "")) if isinstance(entry, dict) else ""
        if not path.startswith(BUILTIN_FILTERS):
            code.foreign.append(f"filter {path}")
    code.ours -= theirs  # a file that also claims another plugin is not ours to stand in for
    return code


def read_baseline_code(paths: Iterable[Path]) -> BaselineCode:
    """``baseline_code`` of several baseline files; an unreadable one is a one-line error."""
    merged = BaselineCode()
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            raise BaselineError(f"{path}: not a readable detect-secrets baseline") from None
        if not isinstance(data, dict):
            raise BaselineError(f"{path}: not a readable detect-secrets baseline")
        code = baseline_code(data)
        merged.ours |= code.ours
        merged.foreign += [f"{path}: {what}" for what in code.foreign]
    return merged


def refuse_foreign(code: BaselineCode) -> None:
    if code.foreign:
        more = f" (and {len(code.foreign) - 1} more)" if len(code.foreign) > 1 else ""
        raise BaselineError(f"{code.foreign[0]}{more}: a baseline may load only jts' plugin and detect-secrets' "
                            f"built-ins, so this code was not loaded; {TRUST_HINT}")


@contextmanager
def detect_secrets_loading(code: BaselineCode, *, trust: bool) -> Iterator[None]:
    """While detect-secrets runs: jts' plugin by module name, nothing else from outside it unless ``trust``.

    detect-secrets has no setting for this: its two import functions are swapped, then restored.
    """
    import detect_secrets.core.plugins.util as plugin_util
    import detect_secrets.settings as settings
    import detect_secrets.util.importlib as ds_importlib

    real_import_file = ds_importlib.import_file_as_module
    ours = {os.path.realpath(p) for p in code.ours} | {os.path.realpath(plugin_file())}

    def import_file(filename: str, name: str | None = None) -> ModuleType:
        if os.path.realpath(filename) in ours:
            return importlib.import_module(PLUGIN_MODULE)  # never the recorded file: it could be anything
        if trust:
            return real_import_file(filename, name)
        raise BaselineError(f"detect-secrets was asked to load {filename}: not jts' plugin; {TRUST_HINT}")

    def import_module(module_path: str, package: str | None = None) -> ModuleType:
        if trust or module_path.startswith(BUILTIN_FILTERS):  # settings imports modules only for filters
            return importlib.import_module(module_path, package)
        raise BaselineError(f"detect-secrets was asked to import {module_path}: not part of detect-secrets; "
                            f"{TRUST_HINT}")

    patched = [(settings, "import_file_as_module", import_file), (plugin_util, "import_file_as_module", import_file),
               (ds_importlib, "import_file_as_module", import_file), (settings, "import_module", import_module)]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patched]
    for module, name, value in patched:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)

