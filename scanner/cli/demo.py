"""``jts demo``: the main job end to end, offline."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Build the demo repository here and keep it.")
def demo(keep: Path | None) -> None:
    """Run the main job end to end on a throw-away repository with planted tokens (offline)."""
    from scanner.demo import run_demo

    ctx = click.get_current_context()
    ctx.exit(run_demo(keep))
