"""groot serve: serve a policy backend to robots over Isaac-GR00T's ZeroMQ protocol."""

from __future__ import annotations

import click

from groot_sdk.cli._common import FiniteFloat, Text


@click.command("serve")
@click.option(
    "--embodiment",
    "-e",
    required=True,
    type=Text(256, empty=False),
    help="Embodiment the observations come from.",
)
@click.option(
    "--policy",
    "-p",
    required=True,
    type=Text(empty=False),
    help="Backend to serve: zero, hold, scripted, ...",
)
@click.option(
    "--policy-opt",
    "policy_opts",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option for the backend (repeatable).",
)
@click.option(
    "--dialect",
    type=click.Choice(["n1.5", "n1.6", "n1.7"]),
    default="n1.6",
    show_default=True,
    help="Isaac-GR00T protocol version to speak.",
)
@click.option(
    "--host",
    type=Text(255, empty=False),
    default="127.0.0.1",
    show_default=True,
    help="Interface to listen on (0.0.0.0 exposes the server to the network).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=5555,
    show_default=True,
    help="TCP port (0: any free port; the address is printed).",
)
@click.option(
    "--api-token",
    envvar="GROOT_API_TOKEN",
    type=Text(1024),
    default=None,
    help="Require this token in every request (or set GROOT_API_TOKEN); not empty.",
)
@click.option("--allow-kill", is_flag=True, help="Let clients stop the server ('kill' endpoint).")
@click.option(
    "--no-jpeg",
    is_flag=True,
    help="Refuse JPEG camera frames (a groot-sdk extension, accepted when Pillow is installed).",
)
@click.option(
    "--max-message-mb",
    type=FiniteFloat(0.01, 1024),
    default=32.0,
    show_default=True,
    help="Largest request accepted, in MiB.",
)
@click.option(
    "--max-batch",
    type=click.IntRange(1, 65536),
    default=256,
    show_default=True,
    help="Largest batch one request may carry.",
)
def command(
    embodiment: str,
    policy: str,
    policy_opts: tuple[str, ...],
    dialect: str,
    host: str,
    port: int,
    api_token: str | None,
    allow_kill: bool,
    max_message_mb: float,
    no_jpeg: bool,
    max_batch: int,
) -> None:
    """Serve POLICY for EMBODIMENT until Ctrl-C / SIGTERM.

    Official Isaac-GR00T clients (and `groot run --policy remote://HOST:PORT`) connect to it.
    """
    import logging
    import signal

    from groot_sdk.cli._common import embodiment_entry, key_values, make_backend
    from groot_sdk.remote.codec import Limits
    from groot_sdk.remote.server import PolicyServer, unmap_big_buffers

    log = logging.getLogger("groot_sdk.serve")
    if api_token is not None and not api_token.strip():
        raise click.BadParameter(
            "is empty, which would turn authentication off; omit it to serve without a token",
            param_hint="--api-token",
        )
    options = key_values(policy_opts, "--policy-opt")
    spec = embodiment_entry(embodiment).spec
    if host not in ("127.0.0.1", "localhost", "::1") and not api_token:
        log.warning("listening on %s without --api-token: anyone on the network can drive it", host)
    backend = make_backend(policy, spec, options)
    try:
        server = PolicyServer(
            backend,
            spec,
            host=host,
            port=port,
            dialect=dialect,
            api_token=api_token,
            allow_kill=allow_kill,
            limits=Limits.from_mb(max_message_mb),
            jpeg=False if no_jpeg else None,
            max_batch=max_batch,
        )
    except OSError as exc:
        backend.close()
        raise click.ClickException(str(exc)) from None

    def _stop(signum, _frame) -> None:
        log.info("signal %d: stopping", signum)
        server.stop()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    click.echo(
        f"serving '{policy}' for {spec.name} on {server.address} (dialect {dialect}"
        f"{', token required' if api_token else ''})",
        err=True,
    )
    unmap_big_buffers()  # big requests must not leave this process bigger for good
    try:
        server.serve_forever()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        backend.close()
    click.echo(f"stopped after {server.requests} requests ({server.errors} refused)", err=True)
