"""The ``groot`` command.

Built on click: nested command groups, lazy subcommand loading (so ``groot list`` never imports
torch), and ``CliRunner`` for tests. Each module in ``groot_sdk/cli/commands/`` is one
subcommand (``new_plugin.py`` -> ``groot new-plugin``) exposing ``command``.

:func:`main` is the error boundary: whatever a user types, the answer is one ``error:`` line
on stderr and an exit status from :data:`EXIT_CODES`, never a traceback (``--debug``, or
``GROOT_DEBUG=1``, shows it).
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import sys

import click

from groot_sdk import __version__
from groot_sdk.cli import commands as _commands
from groot_sdk.errors import GrootError, MissingExtraError

EXIT_OK = 0
#: the command ran and found problems (doctor, dataset validate/convert), or failed unexpectedly
EXIT_FAILED = 1
#: bad input: an option, a name, a file, a device, an endpoint, a missing package
EXIT_BAD_INPUT = 2
#: groot run ended in a safety stop (watchdog, device fault, invalid observation)
EXIT_SAFETY_STOP = 3
#: stopped by a signal: 128 + its number (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP)
EXIT_SIGNAL_BASE = 128

#: what docs/running.md documents, checked by tests
EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_FAILED: "checks failed (doctor, dataset validate/convert), or an unexpected error",
    EXIT_BAD_INPUT: "bad input (an option, a name, a file, a device, an endpoint, a package)",
    EXIT_SAFETY_STOP: "a run ended in a safety stop",
    130: "stopped by Ctrl-C (SIGINT)",
    143: "stopped by SIGTERM",
    129: "stopped by SIGHUP",
}

#: longest error line shown (a message quoting a huge input stays one readable line)
MAX_LINE = 600


class LazyGroup(click.Group):
    """Finds subcommands by module name; imports one only when it is run or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [
            m.name for m in pkgutil.iter_modules(_commands.__path__) if not m.name.startswith("_")
        ]
        return sorted(n.replace("_", "-") for n in names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = f"{_commands.__name__}.{name.replace('-', '_')}"
        if name not in self.list_commands(ctx):
            return None
        return importlib.import_module(module_name).command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="groot")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.option(
    "--debug", is_flag=True, help="Show the traceback of an error (anywhere on the line)."
)
def cli(verbose: int, debug: bool) -> None:
    """groot-sdk: run GR00T policies on real and simulated robots."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def error_line(exc: BaseException) -> tuple[str, int]:
    """The one line and the exit status for an exception that reached the boundary."""
    if isinstance(exc, click.UsageError):
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return exc.format_message() + hint, EXIT_BAD_INPUT
    if isinstance(exc, click.ClickException):  # the commands raise these for input only
        status = EXIT_BAD_INPUT if exc.exit_code == 1 else exc.exit_code
        return exc.format_message(), status
    if isinstance(exc, MissingExtraError):
        return str(exc), EXIT_BAD_INPUT
    if isinstance(exc, GrootError):
        return str(exc), EXIT_BAD_INPUT
    if isinstance(exc, ModuleNotFoundError):
        name = exc.name or str(exc)
        line = (
            f"the Python module '{name}' is not installed: pip install the package (or the "
            "groot-sdk extra) that provides it; `groot list` names each backend's extra"
        )
        return line, EXIT_BAD_INPUT
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        where = f"'{exc.filename}'" if exc.filename else "a path"
        return f"{where}: {exc.strerror or exc}: check the path", EXIT_BAD_INPUT
    if isinstance(exc, PermissionError):
        where = f"'{exc.filename}'" if exc.filename else "a device or file"
        return f"{where}: permission denied: check its owner and mode", EXIT_BAD_INPUT
    if isinstance(exc, OSError):  # serial ports, sockets, disks
        return f"{type(exc).__name__}: {exc}", EXIT_BAD_INPUT
    module = type(exc).__module__.split(".")[0]
    if module in {"pyarrow", "zmq", "msgpack", "serial", "can", "mujoco"}:
        return f"{module}: {type(exc).__name__}: {exc}", EXIT_BAD_INPUT
    if isinstance(exc, UnicodeDecodeError):
        return f"cannot decode text: {exc}", EXIT_BAD_INPUT
    line = (
        f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback, "
        "and please report it)"
    )
    return line, EXIT_FAILED


def _split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """``--debug`` anywhere before ``--`` (users add it at the end of the line they ran)."""
    head, sep, tail = argv, [], []
    if "--" in argv:
        i = argv.index("--")
        head, sep, tail = argv[:i], ["--"], argv[i + 1 :]
    debug = "--debug" in head
    return [a for a in head if a != "--debug"] + sep + tail, debug


def main(argv: list[str] | None = None) -> None:
    """The console entry point: errors end in one line and a documented status, never a
    traceback (unless ``--debug``)."""
    args, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    debug = debug or os.environ.get("GROOT_DEBUG", "") not in {"", "0"}
    try:
        cli.main(args, prog_name="groot", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        raise SystemExit(130) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the boundary: one line, a documented status
        if debug:
            import traceback

            traceback.print_exc()
        line, status = error_line(exc)
        click.echo(f"error: {_one_line(line)}", err=True)
        raise SystemExit(status) from None


if __name__ == "__main__":
    main()
