"""groot info: the joint table of one embodiment."""

from __future__ import annotations

import click

from groot_sdk.cli._common import echo_json, embodiment_entry


@click.command("info")
@click.argument("embodiment")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(embodiment: str, as_json: bool) -> None:
    """Show an embodiment's joints, groups, cameras and rates."""
    entry = embodiment_entry(embodiment)
    spec = entry.spec
    group_of = {}
    for g in spec.action_groups:
        for name in spec.joint_names[g.slice]:
            group_of[name] = g.key
    joints = [
        {
            "index": j.index,
            "name": j.name,
            "group": group_of[j.name],
            "lower": j.lower,
            "upper": j.upper,
            "default": j.default,
            "velocity_limit": j.velocity_limit,
            "unit": j.unit.value,
            "mimic": None if j.mimic is None else j.mimic.source,
        }
        for j in spec.joints
    ]
    data = {
        "name": spec.name,
        "plugin": entry.plugin,
        "version": entry.version,
        "description": spec.description,
        "embodiment_tag": spec.embodiment_tag,
        "rates": {
            "policy_hz": spec.rates.policy_hz,
            "low_level_hz": spec.rates.low_level_hz,
            "rl_hz": spec.rates.rl_hz,
        },
        "action_groups": [
            {
                "key": g.key,
                "start": g.start,
                "end": g.end,
                "representation": g.representation.value,
                "kind": g.kind.value,
            }
            for g in spec.action_groups
        ],
        "state": list(spec.state_names),
        "cameras": [
            {
                "name": c.name,
                "native": [c.width, c.height],
                "model": [c.model_width, c.model_height],
                "fps": c.fps,
            }
            for c in spec.cameras
        ],
        "joints": joints,
    }
    if as_json:
        echo_json(data)
        return
    click.echo(f"{spec.name} ({entry.plugin} {entry.version}): {spec.description}")
    click.echo(
        f"  policy {spec.rates.policy_hz:g} Hz, low level {spec.rates.low_level_hz:g} Hz, "
        f"tag {spec.embodiment_tag}"
    )
    click.echo(
        f"  {'#':>3} {'joint':<34} {'group':<12} {'lower':>8} {'upper':>8} {'default':>8} unit"
    )
    for j in joints:
        click.echo(
            f"  {j['index']:>3} {j['name']:<34} {j['group']:<12} {j['lower']:>8.3f} "
            f"{j['upper']:>8.3f} {j['default']:>8.3f} {j['unit']}"
        )
    for c in data["cameras"]:
        click.echo(
            f"  camera {c['name']}: {c['native'][0]}x{c['native'][1]} -> "
            f"{c['model'][0]}x{c['model'][1]} @ {c['fps']:g} fps"
        )
