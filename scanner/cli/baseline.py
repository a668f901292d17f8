"""``jts baseline``: record accepted findings in a detect-secrets ``.secrets.baseline`` and keep it tidy."""

from __future__ import annotations

import os
from pathlib import Path

import click

from scanner.cli.common import config_option, rules_option

DEFAULT_NAME = ".secrets.baseline"


@click.group()
def baseline() -> None:
    """Create and update a baseline of accepted findings (detect-secrets format).

    `jts scan --baseline FILE` then reports only findings not in FILE. The file is a
    detect-secrets .secrets.baseline: an existing one is merged into, never overwritten.
    """


def _detector(config_file: str | None, start: Path, rule_dirs: tuple[str, ...]):
    from contextlib import ExitStack

    from scanner.detect import DetectorSpec
    from scanner.settings_sources import load_settings, scan_request

    with ExitStack() as stack:  # a work tree's rule directories are on disk: nothing temporary to keep
        loaded = load_settings(scan_request("files", start, config_file=config_file, no_repo_config=False), stack)
    from scanner.terminal import safe

    for message in loaded.warnings:
        click.echo(f"jts: warning: {safe(message)}", err=True)
    settings = loaded.config
    return settings, DetectorSpec(extra_rule_dirs=tuple(settings.rules) + tuple(rule_dirs)).build()


def _version() -> str:
    try:
        from detect_secrets.__version__ import VERSION
    except ImportError:
        from scanner.baseline import DETECT_SECRETS_VERSION as VERSION
    return VERSION


def _write(path: Path, data: dict) -> None:
    from scanner.baseline import BaselineError, dump_baseline

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(dump_baseline(data), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a crash never leaves half a baseline behind
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BaselineError(f"{path}: cannot write baseline: {exc.strerror or exc}") from None


def _count(data: dict) -> tuple[int, int]:
    from scanner.baseline import OUR_TYPES

    entries = [e for items in data["results"].values() for e in items]
    ours = sum(1 for e in entries if e.get("type") in OUR_TYPES)
    return ours, len(entries) - ours


@baseline.command("create")
@click.argument("path", required=False, default=".", type=click.Path(exists=True, path_type=Path))
@click.option("-b", "--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path),
              help=f"Baseline to write (default: {DEFAULT_NAME} in PATH). An existing one is updated in place.")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching this gitignore-style glob.")
@click.option("--no-gitignore", is_flag=True, help="Scan files .gitignore would exclude.")
@rules_option
@config_option
@click.option("--plugin-path", metavar="FILE",
              help="Plugin path to record for detect-secrets (default: this install's plugin file).")
def create(path: Path, baseline_file: Path | None, exclude: tuple[str, ...], no_gitignore: bool,
           rule_dirs: tuple[str, ...], config_file: str | None, plugin_path: str | None) -> None:
    """Scan PATH (default .) and record every current finding in the baseline.

    Entries other tools wrote (detect-secrets plugins) are kept; audit flags of entries that
    are found again are kept too.
    """
    from scanner.aggregate import build_findings
    from scanner.baseline import (
        create_baseline,
        load_baseline,
        occurrences,
        plugin_file,
        recorded_plugin_path,
    )
    from scanner.sources.files import scan_paths

    target = baseline_file or ((path if path.is_dir() else Path(".")) / DEFAULT_NAME)
    existing = load_baseline(target) if target.exists() else None
    settings, detector = _detector(config_file, path, rule_dirs)
    own = os.path.relpath(target.resolve(), Path.cwd())  # never scan the baseline itself
    result = scan_paths(detector, [path], use_gitignore=settings.gitignore and not no_gitignore,
                        excludes=list(settings.exclude) + list(exclude) + [f"/{Path(own).as_posix()}"])
    from scanner.terminal import safe

    for warning in result.warnings:
        click.echo(f"jts: warning: {safe(warning)}", err=True)
    findings = build_findings(result.hits, detector.rules)
    found = occurrences(findings, target.resolve().parent, Path.cwd())
    path_to_record = plugin_path or (existing and recorded_plugin_path(existing)) or plugin_file()
    data = create_baseline(found, existing, plugin_path=path_to_record, version=_version())
    _write(target, data)
    ours, theirs = _count(data)
    verb = "updated" if existing is not None else "wrote"
    click.echo(f"jts: {verb} {target}: {ours} Jenkins entr{'y' if ours == 1 else 'ies'}"
               + (f", {theirs} other entr{'y' if theirs == 1 else 'ies'} kept" if theirs else ""), err=True)


@baseline.command("update")
@click.argument("baseline_file", required=False, default=DEFAULT_NAME, metavar="[FILE]",
                type=click.Path(dir_okay=False, path_type=Path))
@rules_option
@config_option
@click.option("--plugin-path", metavar="FILE", help="Plugin path to record for detect-secrets.")
def update(baseline_file: Path, rule_dirs: tuple[str, ...], config_file: str | None, plugin_path: str | None) -> None:
    """Prune entries of FILE (default .secrets.baseline) that are no longer found; refresh line numbers.

    Adds nothing new (that is what `create` is for) and keeps audit flags.
    """
    from scanner.aggregate import build_findings
    from scanner.baseline import (
        load_baseline,
        normalize_path,
        occurrences,
        our_files,
        update_baseline,
    )
    from scanner.sources.files import scan_paths

    data = load_baseline(baseline_file)
    base = baseline_file.resolve().parent
    present = {normalize_path(name): base / name for name in our_files(data) if (base / name).is_file()}
    _, detector = _detector(config_file, base, rule_dirs)
    result = scan_paths(detector, list(present.values()), use_gitignore=False)
    findings = build_findings(result.hits, detector.rules)
    found = occurrences(findings, base, Path.cwd())
    updated = update_baseline(data, found, existing_files=set(present), plugin_path=plugin_path)
    _write(baseline_file, updated)
    before = sum(len(v) for v in data["results"].values())
    after = sum(len(v) for v in updated["results"].values())
    click.echo(f"jts: updated {baseline_file}: {before - after} entr{'y' if before - after == 1 else 'ies'} pruned, "
               f"{after} kept", err=True)


@baseline.command("plugin-path")
def plugin_path_command() -> None:
    """Print the path of jts' detect-secrets plugin (for `detect-secrets --plugin`)."""
    from scanner.baseline import plugin_file

    click.echo(plugin_file())


@baseline.command("audit", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                              "help_option_names": []})
@click.option("--trust-baseline-plugins", is_flag=True,
              help="Let the baseline load plugins and filters from files or other modules (it runs their code).")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def audit(args: tuple[str, ...], trust_baseline_plugins: bool) -> None:
    """Run `detect-secrets audit ARGS...` on a baseline holding jts entries.

    detect-secrets 1.5 cannot audit entries of plugins loaded from a file (Yelp/detect-secrets#611):
    it maps secret types to plugins before it reads the baseline. This loads the baseline's
    plugin settings first, then hands over to detect-secrets unchanged (e.g. --stats, --report).
    Only jts' plugin (by module name, whatever path the baseline records) and detect-secrets'
    built-ins are loaded: a baseline naming other plugin or filter code is refused unless
    --trust-baseline-plugins is given.
    """
    from detect_secrets.core import baseline as ds_baseline
    from detect_secrets.exceptions import UnableToReadBaselineError
    from detect_secrets.main import main as detect_secrets_main

    from scanner.baseline import BaselineError
    from scanner.baseline_plugins import detect_secrets_loading, read_baseline_code, refuse_foreign

    files = [a for a in args if not a.startswith("-")]
    code = read_baseline_code(Path(f) for f in files)
    if not trust_baseline_plugins:
        refuse_foreign(code)
    with detect_secrets_loading(code, trust=trust_baseline_plugins):
        if files:
            try:
                ds_baseline.load(ds_baseline.load_from_file(files[0]), files[0])
            except (UnableToReadBaselineError, KeyError, ValueError):
                raise BaselineError(f"{files[0]}: not a readable detect-secrets baseline") from None
        status = detect_secrets_main(["audit", *args]) or 0
    click.get_current_context().exit(status)
