"""groot subcommands: one module per command (file name = command name)."""
