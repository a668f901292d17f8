"""The hardening every git process jts starts runs under: scanned content never makes git run a program.

A scanned repository is hostile. Its own config (``.git/config`` and every file it pulls in with
``include.path`` / ``includeIf``) can name programs for git to run: ``core.fsmonitor`` on any index
read, hooks (``core.hooksPath``), pagers, diff drivers, textconv, clean/smudge filters,
``core.alternateRefsCommand``, and everything a connection starts (``core.sshCommand``,
``core.askPass``, ``credential.helper``, ``remote.*.uploadpack``, ``ext::`` remotes) which a partial
clone opens on its own to fetch a missing object. Three layers keep all of that inert:

1. ``-c`` overrides on the command line: command-line config is read last, so it beats the
   repository's config and whatever that includes, for every single-valued key (and
   ``credential.helper=`` empties that list).
2. No connection from a scan at all: every transport is ``never`` (listed one by one, because a
   repository's ``protocol.<name>.allow`` beats ``protocol.allow``) and ``GIT_NO_LAZY_FETCH``. So
   nothing that only runs when git connects (ssh command, askpass, credential helpers, proxies,
   upload-pack) can be reached. Clones and fetches of sweep URLs allow only file, git, ssh, http
   and https, and read no scanned config (a new mirror's config is written by git, not copied).
3. Only subcommands that never convert content or produce patches (``SUBCOMMANDS``), so filter
   drivers and textconv/external diff drivers, which ``-c`` cannot switch off for names it does
   not know, are never looked up; ``log`` runs with ``--no-ext-diff --no-textconv`` and ``--raw``.

Index settings (``core.untrackedCache``, ``core.splitIndex``, ``index.*``) name no program, and
``GIT_OPTIONAL_LOCKS=0`` keeps git from rewriting the scanned index.

The user's own global and system config stay in effect (credentials and ``url.*.insteadOf`` for
private sweep URLs, ``safe.directory``): they are the user's, not the scanned content's, and the
overrides above beat them too. GitPython, which ``open_repo`` uses to read ``.git`` files, never
starts git (``import_gitpython``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from types import ModuleType

# Output that stays machine-readable (no signatures: they would also run gpg.program; no colour,
# no quoting), and bounds on git's memory: at most 32 MiB of pack mapped, a 32 MiB delta base
# cache. Readers jump around the pack: 1 MiB windows re-map (and re-fault) far less of it than
# 16 MiB ones did under the same kind of limit (a reader's CPU on jenkinsci/jenkins -20%).
OUTPUT_CONFIG: tuple[tuple[str, str], ...] = (
    ("log.showSignature", "false"),
    ("color.ui", "false"),
    ("core.quotePath", "false"),
    ("core.packedGitWindowSize", "1m"),
    ("core.packedGitLimit", "32m"),
    ("core.deltaBaseCacheLimit", "32m"),
)
# History walks (rev-list, log) read only trees, whose delta chains are short: a smaller delta
# cache costs them no time and keeps ~20-90 MiB off the peak, where they run beside the readers.
# 8 MiB of pack is mapped at most: the end of the listing, where rev-list is largest and the
# attribution log may run beside it, is the scan's memory peak (jenkinsci/jenkins: ~11 MiB less
# than 16 MiB for both walks, ~0.4 CPU-s more).
WALK_CONFIG: tuple[tuple[str, str], ...] = (("core.deltaBaseCacheLimit", "8m"), ("core.packedGitLimit", "8m"))
WALKERS = frozenset({"rev-list", "log"})
TUNABLE = frozenset({"core.bigFileThreshold", "core.deltaBaseCacheLimit", "core.packedGitLimit"})

# Keys whose value is a program git runs, set to values that run nothing.
NO_PROGRAMS: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),  # every index read (ls-files) would run it
    ("core.hooksPath", os.devnull),  # no hook (the repository's or a template's) can be found
    ("core.pager", "cat"),
    ("core.alternateRefsCommand", ""),  # empty: list alternates' refs without a command
)

# Keys only a connection uses: a scan opens none (below), this is the second lock.
NO_CREDENTIAL_PROGRAMS: tuple[tuple[str, str], ...] = (
    ("core.sshCommand", ""),
    ("core.askPass", ""),  # empty: no askpass program
    ("credential.helper", ""),  # an empty value resets the list of helpers
)

# Every transport git knows, by the name protocol.<name>.allow uses ("git+ssh" counts as ssh).
TRANSPORTS = ("file", "git", "ssh", "http", "https", "ftp", "ftps", "ext", "fd")
CLONE_TRANSPORTS = frozenset({"file", "git", "ssh", "http", "https"})  # sweep URLs may use these


def _protocols(allowed: frozenset[str]) -> tuple[tuple[str, str], ...]:
    return (("protocol.allow", "never"),
            *((f"protocol.{name}.allow", "always" if name in allowed else "never") for name in TRANSPORTS))


# The commit-graph file is a cache git trusts for parents: a crafted one can make any commit a
# root and hide the history before it (the walks then read commits from their objects).
# The multi-pack-index likewise names, for each id, the pack git reads it from, before any pack's
# own index: git then reads the copy jts's in-process reader reads (git_objects._scan_packs).
NO_HISTORY_CACHES: tuple[tuple[str, str], ...] = (("core.commitGraph", "false"), ("core.multiPackIndex", "false"))
SCAN_CONFIG = OUTPUT_CONFIG + NO_PROGRAMS + NO_CREDENTIAL_PROGRAMS + NO_HISTORY_CACHES + _protocols(frozenset())
# Clones and fetches keep the user's own credential and ssh settings (a private sweep URL needs them).
REMOTE_CONFIG = OUTPUT_CONFIG + NO_PROGRAMS + _protocols(CLONE_TRANSPORTS) + (
    ("submodule.recurse", "false"),
    ("fetch.recurseSubmodules", "false"),
)

# The only git subcommands jts runs: none of them applies filters, textconv or diff drivers.
SUBCOMMANDS = frozenset({
    "cat-file", "clone", "config", "count-objects", "fetch", "for-each-ref", "log", "ls-files", "ls-tree", "merge-base",
    "reflog", "remote", "rev-list", "rev-parse", "show-ref",
})
# Options of those subcommands that would (patches, content conversion).
FORBIDDEN_OPTIONS = frozenset({"--filters", "--textconv", "-p", "-u", "--patch", "--ext-diff", "--word-diff",
                               "--stat", "--numstat", "--recurse-submodules", "--upload-pack"})

ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_OPTIONAL_LOCKS": "0",  # never rewrite the scanned index
    "GIT_NO_LAZY_FETCH": "1",  # a partial clone's missing object stays missing (git 2.39.4+)
    "GIT_PROTOCOL_FROM_USER": "0",  # transports left at the "user" policy count as not asked for
    # The history as its objects say, not as the scanned repository asks git to show it: a replace
    # ref would swap a commit holding a token for a clean one (the replacements are refs, scanned
    # too), and info/grafts (deprecated, still honoured) would cut the history off before it.
    "GIT_NO_REPLACE_OBJECTS": "1",
    "GIT_GRAFT_FILE": os.devnull,
    # a fixed malloc mmap threshold: git's blob buffers go back to the system when freed
    "MALLOC_MMAP_THRESHOLD_": str(1 << 20),  # see workers.fixed_mmap_threshold
    "MALLOC_TRIM_THRESHOLD_": str(2 << 20),
}
REMOTE_ENV = {"GIT_ASKPASS": "true", "SSH_ASKPASS": "true"}  # an empty password: never wait for one


def hardened_argv(git: str, args: Sequence[str], *, remote: bool = False,
                  tuning: Sequence[tuple[str, str]] = ()) -> list[str]:
    """``git`` + the hardening + ``args``; refuses subcommands and options outside the safe set.

    ``tuning``: memory settings of jts's own choosing, applied last (never a program or a transport).
    """
    if not args or args[0] not in SUBCOMMANDS:
        raise ValueError(f"git {args[0] if args else ''} is not a subcommand jts may run on scanned content")
    bad = {arg for arg in args[1:] if arg.split("=", 1)[0] in FORBIDDEN_OPTIONS}
    if args[0] == "log" and not {"--no-ext-diff", "--no-textconv"} <= set(args):
        bad.add("without --no-ext-diff --no-textconv")
    if bad:
        raise ValueError(f"git {args[0]} {' '.join(sorted(bad))} would run content filters or drivers")
    config = REMOTE_CONFIG if remote else SCAN_CONFIG
    if args[0] in WALKERS:
        config += WALK_CONFIG  # later -c wins
    if any(key not in TUNABLE for key, _value in tuning):
        raise ValueError(f"git tuning may set only {', '.join(sorted(TUNABLE))}")
    config += tuple(tuning)
    return [git, "--no-pager", *(part for key, value in config for part in ("-c", f"{key}={value}")), *args]


def hardened_env(*, remote: bool = False) -> dict[str, str]:
    """The caller's environment (hooks set GIT_INDEX_FILE on purpose) with prompts, pagers and lazy fetches off."""
    env = dict(os.environ)
    env.update(ENV)
    if remote:
        env.update(REMOTE_ENV)
    return env


def import_gitpython() -> ModuleType:
    """GitPython, unable to start git: jts uses it only to read ``.git`` files.

    Importing GitPython runs ``git version`` (in the current directory, without the hardening);
    pointing it at a path that cannot be executed makes that, and any later git call of its
    own, fail instead of running git outside this module.
    """
    saved = {name: os.environ.get(name) for name in ("GIT_PYTHON_GIT_EXECUTABLE", "GIT_PYTHON_REFRESH")}
    os.environ.update(GIT_PYTHON_GIT_EXECUTABLE=os.devnull, GIT_PYTHON_REFRESH="quiet")
    try:
        import git
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    git.Git.GIT_PYTHON_GIT_EXECUTABLE = os.devnull  # a failed first refresh resets it to "git"
    return git
