"""``python -m smallagents``: the same command as ``smallagents``."""

from smallagents.cli import app

app(prog_name="smallagents")
