"""groot doctor: check a robot's connection (ping every motor, read every sensor) and print
a table, for people bringing up a robot. It never enables the actuators."""

from __future__ import annotations

from typing import Any

import click

from groot_sdk.cli.commands.run import _hardware_options


def _summary(component: Any) -> str:
    """One reading, described, for components without a ``diagnose()`` of their own."""
    import numpy as np

    from groot_sdk.hardware import Camera, Imu, JointEncoder, VectorSensor

    if isinstance(component, JointEncoder):
        q = component.read().position
        return f"{len(q)} joints, |q| max {float(np.abs(q).max()):.3f}"
    if isinstance(component, Camera):
        h, w = component.read().image.shape[:2]
        return f"{w}x{h} frame"
    if isinstance(component, Imu):
        return f"quaternion {np.round(component.read().quaternion, 3).tolist()}"
    if isinstance(component, VectorSensor):
        return f"{len(component.read().values)} values"
    return "connected"


def diagnose(robot: Any) -> list[dict[str, Any]]:
    """Connect each component (not enable), then ask it for its checks."""
    rows: list[dict[str, Any]] = []
    for component in robot.components():
        try:
            component.connect()
        except Exception as exc:  # noqa: BLE001 - reported in the table, which goes on
            rows.append({"device": component.name, "ok": False, "detail": f"connect: {exc}"})
            continue
        try:
            checks = getattr(component, "diagnose", None)
            if checks is not None:
                for device, ok, detail in checks():
                    rows.append({"device": device, "ok": bool(ok), "detail": detail})
            else:
                rows.append({"device": component.name, "ok": True, "detail": _summary(component)})
        except Exception as exc:  # noqa: BLE001 - reported in the table
            rows.append({"device": component.name, "ok": False, "detail": str(exc)})
    return rows


@click.command("doctor")
@click.argument("embodiment")
@click.option("--port", default=None, help="Serial port (so101).")
@click.option("--can", default=None, metavar="CAN0,CAN1,...", help="CAN interfaces (bhl).")
@click.option("--network-interface", default=None, help="DDS network interface (g1_inspire).")
@click.option("--hand-address", default=None, help="Hand Modbus addresses (g1_inspire).")
@click.option("--fake-hardware", is_flag=True, help="Check against simulated devices.")
@click.option("--hw", multiple=True, metavar="KEY=VALUE", help="Other hardware option.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(
    embodiment: str,
    port: str | None,
    can: str | None,
    network_interface: str | None,
    hand_address: str | None,
    fake_hardware: bool,
    hw: tuple[str, ...],
    as_json: bool,
) -> None:
    """Ping every motor and read every sensor of EMBODIMENT's hardware; print a table."""
    from groot_sdk.cli._common import echo_json, embodiment_entry, make_robot

    entry = embodiment_entry(embodiment)
    options = _hardware_options(port, can, network_interface, hand_address, fake_hardware, hw)
    robot = make_robot(entry, False, **options)
    try:
        rows = diagnose(robot)
    finally:
        robot.close()
    failed = sum(not r["ok"] for r in rows)
    if as_json:
        echo_json({"embodiment": embodiment, "ok": failed == 0, "checks": rows})
    else:
        width = max([len(r["device"]) for r in rows] + [6])
        click.echo(f"{'device':<{width}}  status  detail")
        for r in rows:
            click.echo(f"{r['device']:<{width}}  {'ok' if r['ok'] else 'FAIL':<6}  {r['detail']}")
        click.echo(f"{len(rows) - failed}/{len(rows)} checks passed")
    if failed:
        if not as_json:  # the one line a script (or a person scrolling) reads
            first = next(r for r in rows if not r["ok"])
            more = f" (and {failed - 1} more)" if failed > 1 else ""
            click.echo(f"error: {first['device']}: {first['detail']}{more}", err=True)
        raise SystemExit(1)
