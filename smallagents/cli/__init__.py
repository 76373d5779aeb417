"""The ``smallagents`` command line: the typer app and its commands (``run``, ``eval``, ...)."""

from smallagents.cli._app import app

__all__ = ["app"]
