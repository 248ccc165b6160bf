"""The ``groot`` command.

Built on click: nested command groups, lazy subcommand loading (so ``groot list`` never imports
torch), and ``CliRunner`` for tests. Each module in ``groot_sdk/cli/commands/`` is one
subcommand (``new_plugin.py`` -> ``groot new-plugin``) exposing ``command``.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil

import click

from groot_sdk import __version__
from groot_sdk.cli import commands as _commands
from groot_sdk.errors import GrootError


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
def cli(verbose: int) -> None:
    """groot-sdk: run GR00T policies on real and simulated robots."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main(argv: list[str] | None = None) -> None:
    """The console entry point: errors end in one line and a status (2: bad input), never a
    traceback."""
    try:
        cli.main(argv, prog_name="groot", standalone_mode=False)
    except click.exceptions.Abort:
        raise SystemExit(130) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except GrootError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
