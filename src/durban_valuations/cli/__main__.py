"""Allow `python -m durban_valuations.cli`, the same as the `durban-valuations` command."""

from durban_valuations.cli.main import app

app(prog_name="durban-valuations")
