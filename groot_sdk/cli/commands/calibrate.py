"""groot calibrate: record a robot's joint calibration and save it as JSON.

The procedure belongs to the plugin: the module of the embodiment's hardware factory exposes
``calibrate(spec, prompt=..., until_done=..., on_sample=..., output=..., robot_id=...,
**hardware_options)`` returning ``(calibration, path)`` (``calibration.to_json()`` is
printed). This command supplies the interaction: ``prompt(message)`` waits for Enter (not
with ``--yes``); ``until_done(message)`` starts a phase and returns its ``done()`` test, true
after Enter or ``--seconds``.
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from typing import Any

import click

from groot_sdk.cli._common import FiniteFloat
from groot_sdk.cli.commands.run import _hardware_options


def _wait_enter(message: str) -> None:
    click.echo(message)
    sys.stdin.readline()


@click.command("calibrate")
@click.argument("embodiment")
@click.option("--port", default=None, help="Serial port (so101).")
@click.option("--can", default=None, metavar="CAN0,CAN1,...", help="CAN interfaces (bhl).")
@click.option("--output", "-o", default=None, help="Where to write the JSON (default: cache).")
@click.option("--robot-id", default="default", show_default=True, help="Name of this robot.")
@click.option(
    "--seconds",
    type=FiniteFloat(0, 3600, min_open=True),
    default=None,
    help="Record the range of motion for this long instead of until Enter.",
)
@click.option("--yes", is_flag=True, help="Do not wait for Enter at the prompts.")
@click.option("--hw", multiple=True, metavar="KEY=VALUE", help="Other hardware option.")
def command(
    embodiment: str,
    port: str | None,
    can: str | None,
    output: str | None,
    robot_id: str,
    seconds: float | None,
    yes: bool,
    hw: tuple[str, ...],
) -> None:
    """Calibrate EMBODIMENT's joints (so101: homing offset and range of each servo)."""
    from groot_sdk.cli._common import embodiment_entry

    entry = embodiment_entry(embodiment)
    factory = entry.hardware
    if factory is None:
        raise click.ClickException(f"embodiment '{embodiment}' has no hardware driver")
    module_name = factory.partition(":")[0] if isinstance(factory, str) else factory.__module__
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise click.ClickException(
            f"embodiment '{embodiment}' has no hardware driver ({module_name} is missing)"
        ) from None
    procedure = getattr(module, "calibrate", None)
    if procedure is None:
        raise click.ClickException(f"embodiment '{embodiment}' has no calibration procedure")
    options: dict[str, Any] = _hardware_options(port, can, None, None, False, hw)

    def prompt(message: str) -> None:
        click.echo(message + ("" if yes else " Press Enter."))
        if not yes:
            sys.stdin.readline()

    def until_done(message: str):
        """Announce a phase that lasts until Enter (or --seconds); returns its done() test."""
        stop = threading.Event()
        if seconds is None:
            click.echo(message + " Press Enter when done.")

            def enter_stops() -> None:
                sys.stdin.readline()
                stop.set()

            threading.Thread(target=enter_stops, daemon=True).start()
        else:
            click.echo(f"{message} ({seconds:g} s)")
            timer = threading.Timer(seconds, stop.set)
            timer.daemon = True
            timer.start()
        return stop.is_set

    live = sys.stdout.isatty()

    def on_sample(sample: dict[str, int]) -> None:
        if live:
            click.echo("\r" + "  ".join(f"{k} {v:5d}" for k, v in sample.items()), nl=False)

    start = time.monotonic()
    calibration, path = procedure(
        entry.spec,
        output=output,
        robot_id=robot_id,
        prompt=prompt,
        until_done=until_done,
        on_sample=on_sample,
        **options,
    )
    if live:
        click.echo()
    click.echo(f"calibrated {embodiment} in {time.monotonic() - start:.1f} s -> {path}")
    for name, entry_json in calibration.to_json().items():
        click.echo(f"  {name:<24} {entry_json}")
