"""groot new-plugin: scaffold an embodiment plugin package."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("new-plugin")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the package.",
)
def command(name: str, directory: Path) -> None:
    """Write a working plugin package for a new robot NAME."""
    from groot_sdk.cli.scaffold import new_plugin

    root = new_plugin(name, directory)
    click.echo(
        f"created {root}\nnext: pip install -e {root} && groot info {name} && pytest {root}/tests"
    )
