"""Which settings file may set which key: the trust model, as data, and the layering it implies.

Settings come in layers: the user's own config file, then either ``--config FILE`` or the scanned
repository's ``.jts.toml`` / ``[tool.jts]``, then flags. The user's file and ``--config`` are the
user's word. A repository file is part of the content under review, so each key it sets is
applied, applied only when stricter, or ignored, per ``POLICY`` and the kind of scan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from scanner.config import FAIL_ON, FIELDS, Config, key_name

# What a setting decides.
SECRETS = "secrets"  # where tokens (and later: admin credentials, proxies, CA bundles) are sent
VERDICT = "verdict"  # what fails the gate, and what is scanned at all
RESOURCES = "resources"  # how hard this machine works

# What a repository file's value does.
APPLY = "apply"  # used as given
TIGHTEN = "tighten"  # used only when stricter than the value from a trusted layer
IGNORE = "ignore"  # dropped, with a warning naming the file and the key

# Kinds of scan, by where the repository settings can be read from.
GATE = "gate"  # --staged, --range, --since-ref: from the trusted side of the change (HEAD, BASE)
HISTORY = "history"  # --history: from HEAD, which may be anyone's branch tip
WORKTREE = "worktree"  # files and --stdin: from the work tree, next to the content
NONE = "none"  # sweep, verify, revoke: repository settings are not read at all

# Origins of a layer.
USER = "user"
CONFIG = "config"
REPOSITORY = "repository"


@dataclass(frozen=True)
class Policy:
    decides: str
    gate: str
    history: str
    worktree: str

    def in_scan(self, kind: str) -> str:
        return {GATE: self.gate, HISTORY: self.history, WORKTREE: self.worktree}.get(kind, IGNORE)


POLICY: dict[str, Policy] = {
    "jenkins_urls": Policy(SECRETS, gate=IGNORE, history=IGNORE, worktree=IGNORE),
    "users": Policy(SECRETS, gate=IGNORE, history=IGNORE, worktree=IGNORE),
    # Read from BASE / HEAD in gates, so the change cannot loosen it; elsewhere only stricter.
    "fail_on": Policy(VERDICT, gate=APPLY, history=TIGHTEN, worktree=TIGHTEN),
    # History has no trusted side: excludes from a branch tip would let that branch hide its tokens.
    "exclude": Policy(VERDICT, gate=APPLY, history=IGNORE, worktree=APPLY),
    # Rule directories only add rules (a duplicate rule id is an error), so they never loosen.
    "rules": Policy(VERDICT, gate=APPLY, history=APPLY, worktree=APPLY),
    "gitignore": Policy(VERDICT, gate=APPLY, history=APPLY, worktree=APPLY),
    "jobs": Policy(RESOURCES, gate=APPLY, history=APPLY, worktree=APPLY),
}

if set(POLICY) != set(FIELDS):  # a new setting must be classified before it can be read at all
    raise AssertionError(f"settings without a trust policy: {sorted(set(FIELDS) ^ set(POLICY))}")
if any(p.decides == SECRETS and {p.gate, p.history, p.worktree} != {IGNORE} for p in POLICY.values()):
    raise AssertionError("a setting that decides where secrets go must never come from a repository")

# Stricter values fail on more findings.
STRICTNESS = {"none": 0, "live": 1, "unknown": 2, "any": 3}
assert set(STRICTNESS) == set(FAIL_ON)
# For each TIGHTEN key: is ``new`` at least as strict as ``old``?
AS_STRICT: dict[str, Callable[[object, object], bool]] = {
    "fail_on": lambda new, old: STRICTNESS[str(new)] >= STRICTNESS[str(old)],
}
if any(TIGHTEN in (p.gate, p.history, p.worktree) and key not in AS_STRICT for key, p in POLICY.items()):
    raise AssertionError("a setting applied 'only when stricter' needs an AS_STRICT comparison")

WHY_IGNORED = {
    SECRETS: "settings that decide where tokens are sent are never read from the scanned content; "
             "use the command line, --config FILE or {user_config}",
    "exclude/history": "a history scan has no trusted side to vouch for the repository's excludes; "
                       "use --exclude or --config FILE to narrow it",
}


@dataclass
class Layer:
    """One settings file's validated values, as written in it."""

    path: str  # as shown to the user: absolute on disk, repository-relative when read from git
    origin: str  # USER | CONFIG | REPOSITORY
    values: dict[str, object]
    revision: str | None = None  # commit a repository file was read from; "index" for staged content
    rule_dirs: list[str] = field(default_factory=list)  # ``rules``, as directories this process can read


@dataclass
class SettingsFileUse:
    path: str
    origin: str
    revision: str | None
    applied: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass
class ExcludeUse:
    """Exclude patterns from one place, and how many files (or finding locations) they skipped."""

    source: str  # a settings file's path, or "command line"
    patterns: list[str]
    skipped: int = 0


@dataclass
class SettingsChange:
    """The change under review edits the repository's settings (a gate reports it like a finding)."""

    path: str
    key: str | None  # None: the file as a whole (added, removed, unreadable)
    before: object
    after: object
    loosens: bool
    message: str
    blocking: bool = False  # loosens, under --fail-on any: exit 1


@dataclass
class SettingsSummary:
    """What every report says about settings: which files, from where, and what they skipped."""

    files: list[SettingsFileUse] = field(default_factory=list)
    repository: str = "not read"  # how the scanned repository's settings were read, one phrase
    revision: str | None = None  # the commit they were read from, when read from git
    fail_on: str = "any"
    fail_on_from: str = "default"
    exclude: list[ExcludeUse] = field(default_factory=list)
    skipped_unit: str = "files"  # files (working tree) | locations (git modes: dropped finding places)
    changes: list[SettingsChange] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return sum(e.skipped for e in self.exclude)

    @property
    def blocking(self) -> list[SettingsChange]:
        return [c for c in self.changes if c.blocking]


@dataclass
class Resolved:
    config: Config
    origin: dict[str, str]  # key -> "default" or the path of the layer its value came from
    files: list[SettingsFileUse]
    exclude: list[ExcludeUse]
    warnings: list[str]


def resolve(layers: list[Layer], kind: str, user_config: str) -> Resolved:
    """Apply ``layers`` (lowest precedence first) over the defaults, obeying ``POLICY`` for repository files.

    Lists add up across layers; a scalar takes the last layer's value.
    """
    config = Config()
    origin = {key: "default" for key in FIELDS}
    files: list[SettingsFileUse] = []
    exclude: list[ExcludeUse] = []
    warnings: list[str] = []
    for layer in layers:
        use = SettingsFileUse(path=layer.path, origin=layer.origin, revision=layer.revision)
        files.append(use)
        for key, value in layer.values.items():
            value = layer.rule_dirs if key == "rules" else value
            verdict = APPLY if layer.origin != REPOSITORY else POLICY[key].in_scan(kind)
            if verdict == TIGHTEN and not AS_STRICT[key](value, getattr(config, key)):
                verdict = IGNORE
                why = (f"{value!r} from the scanned content is looser than {getattr(config, key)!r} "
                       f"({origin[key]}); it may only make the gate stricter here")
            else:
                why = _why_ignored(key, kind, user_config)
            if verdict == IGNORE:
                use.ignored.append(key)
                warnings.append(f"{_where(layer)}: {key_name(layer.path, key)}: ignored: {why}")
                continue
            use.applied.append(key)
            if isinstance(value, list):
                setattr(config, key, [*getattr(config, key), *value])
                if key == "exclude" and value:
                    exclude.append(ExcludeUse(source=_where(layer), patterns=list(value)))
                origin[key] = layer.path if origin[key] == "default" else f"{origin[key]}, {layer.path}"
            else:
                setattr(config, key, value)
                origin[key] = layer.path
        config.source = config.source or layer.path
    return Resolved(config=config, origin=origin, files=files, exclude=exclude, warnings=warnings)


def _why_ignored(key: str, kind: str, user_config: str) -> str:
    if POLICY[key].decides == SECRETS:
        return WHY_IGNORED[SECRETS].format(user_config=user_config)
    if key == "exclude" and kind == HISTORY:
        return WHY_IGNORED["exclude/history"]
    return "not read from the scanned content in this kind of scan"


def _where(layer: Layer) -> str:
    if layer.revision == "index":
        return f"{layer.path} (staged)"
    if layer.revision:
        return f"{layer.path} @ {layer.revision[:12]}"
    return layer.path


# --------------------------------------------------------------------------- changes under review


def compare(trusted: Layer | None, changed: Layer | None, changed_path: str | None, error: str | None,
            side: str, not_applied: str | None = None) -> list[SettingsChange]:
    """How the change under review edits the repository settings (``trusted`` -> ``changed``).

    ``side`` names the trusted side in messages ("BASE", "HEAD"). ``error``: the changed side's
    settings file could not be parsed (it is not used anyway; it is still reported).
    ``not_applied``: what messages say about the changed values (default: the trusted side judges).
    """
    path = (changed.path if changed else changed_path) or (trusted.path if trusted else "")
    not_applied = not_applied or f"not applied: {side}'s settings judge this change"
    if error is not None:
        return [SettingsChange(path=path, key=None, before=None, after=None, loosens=False,
                               message=f"{path}: the change makes the settings file unreadable ({error}); {not_applied}")]
    old = trusted.values if trusted else {}
    new = changed.values if changed else {}
    changes: list[SettingsChange] = []
    if trusted and changed and trusted.path != changed.path:
        changes.append(SettingsChange(path=path, key=None, before=trusted.path, after=changed.path, loosens=False,
                                      message=f"the change replaces {trusted.path} by {changed.path} as the "
                                              f"settings file; {not_applied}"))
    for key in FIELDS:
        if old.get(key) == new.get(key):
            continue
        before, after = old.get(key), new.get(key)
        loosens, what = _loosens(key, before, after)
        name = key_name(path, key)
        message = f"{path}: the change sets {name} = {_toml(after)} (was {_toml(before)})" if after is not None \
            else f"{path}: the change removes {name} (was {_toml(before)})"
        message += f"; {what}" if what else ""
        message += f"; {not_applied}" if POLICY[key].decides != SECRETS else \
            "; ignored: settings that decide where tokens are sent are never read from the scanned content"
        changes.append(SettingsChange(path=path, key=key, before=before, after=after, loosens=loosens, message=message))
    return sorted(changes, key=lambda c: not c.loosens)  # stable: what fails the gate comes first


def _loosens(key: str, before: object, after: object) -> tuple[bool, str]:
    if key == "fail_on":
        old, new = str(before or "any"), str(after or "any")
        if STRICTNESS[new] < STRICTNESS[old]:
            return True, f"this loosens the gate ({old} -> {new})"
    if key == "exclude":
        old_list, new_list = [str(p) for p in before or []], [str(p) for p in after or []]  # type: ignore[union-attr]
        if not only_tightens(old_list, new_list):
            added = [p for p in new_list if p not in old_list]
            unnegated = [p for p in old_list if p.startswith("!") and p not in new_list]
            what = ", ".join(added + unnegated) or "the order decides: the last matching pattern wins"
            return True, f"this narrows the scan ({what})"
    if key == "rules":
        removed = [d for d in (before or []) if d not in (after or [])]  # type: ignore[union-attr]
        if removed:
            return True, f"this drops rule directories ({', '.join(removed)})"
    if key == "gitignore" and before is False and after is not False:
        return True, "this narrows the scan to files .gitignore keeps"
    return False, ""


def only_tightens(before: list[str], after: list[str]) -> bool:
    """Does ``after`` exclude no path that ``before`` keeps, whatever the paths and patterns are?

    Gitignore semantics: the last pattern matching a path decides; ``!`` re-includes. Each pattern
    is treated as an unknown set of paths (``x`` and ``!x`` the same set), so the answer holds for
    any glob. A path ``after`` excludes and ``before`` keeps has a last match in ``after`` that is a
    plain pattern, and in ``before`` a ``!`` pattern or none; such a path can exist exactly when
    the patterns it must match are not among the later ones it must not match.
    """
    def stem(pattern: str) -> str:
        return pattern[1:] if pattern.startswith("!") else pattern

    for j, hides in enumerate(after):
        if hides.startswith("!"):
            continue
        later_after = {stem(p) for p in after[j + 1:]}
        # the path's last match in ``before``: none at all, or a ``!`` pattern at i
        keeps = [(None, {stem(p) for p in before})] + [
            (stem(p), {stem(q) for q in before[i + 1:]}) for i, p in enumerate(before) if p.startswith("!")]
        for kept_by, later_before in keeps:
            must = {hides} | ({kept_by} if kept_by is not None else set())
            if not must & (later_after | later_before):
                return False
    return True


def _toml(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def mark_blocking(changes: list[SettingsChange], fail_on: str) -> None:
    """A change that loosens the settings fails the gate under --fail-on any, like a finding would."""
    for change in changes:
        change.blocking = change.loosens and fail_on == "any"
