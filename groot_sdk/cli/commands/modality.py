"""groot modality: print the configuration GR00T or LeRobot needs for an embodiment."""

from __future__ import annotations

import click

from groot_sdk.cli._common import echo_json, embodiment_entry
from groot_sdk.modality import FORMATS, generate


@click.command("modality")
@click.argument("embodiment")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(FORMATS)),
    default="modality-json",
    show_default=True,
    help="Which configuration to print.",
)
def command(embodiment: str, fmt: str) -> None:
    """Print modality.json, an N1.5 data config, an N1.6 modality config or LeRobot features."""
    echo_json(generate(embodiment_entry(embodiment).spec, fmt))
