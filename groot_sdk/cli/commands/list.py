"""groot list: installed embodiments, backends and plugin failures."""

from __future__ import annotations

import re
from importlib import metadata

import click

from groot_sdk.cli._common import echo_json

_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def missing_for_extra(extra: str, dist: str = "groot-sdk") -> list[str]:
    """The distributions of ``dist[extra]`` that are not installed (an unknown extra, or
    metadata that cannot be read, counts as missing: the hint stays)."""
    try:
        requires = metadata.requires(dist) or []
    except metadata.PackageNotFoundError:
        return [f"{dist}[{extra}]"]
    wanted = []
    for req in requires:
        marker = _EXTRA.search(req.partition(";")[2])
        found = _NAME.match(req)
        if marker and marker.group(1) == extra and found:
            wanted.append(found.group(1))
    if not wanted:
        return [f"{dist}[{extra}]"]
    missing = []
    for name in wanted:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


@click.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def command(as_json: bool) -> None:
    """List embodiments (with plugin, version, DOF) and policy backends."""
    from groot_sdk.plugins import get_registry

    reg = get_registry()
    embodiments = [
        {
            "name": e.name,
            "plugin": e.plugin,
            "version": e.version,
            "dof": e.spec.dof,
            "action_dim": e.spec.action_dim,
            "state_dim": e.spec.state_dim,
            "cameras": ", ".join(c.name for c in e.spec.cameras),
            "sim": e.sim is not None,
            "hardware": e.hardware is not None,
        }
        for e in sorted(reg.embodiments().values(), key=lambda e: e.name)
    ]
    backends = [
        {
            "name": b.name,
            "plugin": b.plugin,
            "extra": b.extra,
            "summary": b.summary,
            "missing": missing_for_extra(b.extra) if b.extra else [],
        }
        for b in sorted(reg.backends().values(), key=lambda b: b.name)
    ]
    failures = [{"plugin": f.plugin, "dist": f.dist, "error": f.error} for f in reg.failures]
    if as_json:
        echo_json({"embodiments": embodiments, "backends": backends, "failures": failures})
        return
    click.echo("Embodiments:")
    for e in embodiments:
        click.echo(
            f"  {e['name']:<12} {e['action_dim']:>3}-D action  {e['plugin']} {e['version']}"
            f"  cameras: {e['cameras'] or '-'}"
        )
    click.echo("Policy backends:")
    for b in backends:
        extra = f" [needs groot-sdk[{b['extra']}]]" if b["missing"] else ""
        click.echo(f"  {b['name']:<12} {b['summary']}{extra}")
    for f in failures:
        click.secho(
            f"plugin '{f['plugin']}' ({f['dist']}) failed to load: {f['error']}", fg="red", err=True
        )
