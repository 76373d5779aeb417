"""Options that `smallagents run` and `smallagents eval` share, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Models = Annotated[list[str], typer.Option(help="ROLE=SPEC, repeatable.")]
Fallback = Annotated[str | None, typer.Option(help="Escalation model for every role.")]
Votes = Annotated[int | None, typer.Option(min=1, help="k of first-to-ahead-by-k for every role.")]
Config = Annotated[Path | None, typer.Option(help="smallagents.toml.")]
Seed = Annotated[int | None, typer.Option(help="Job seed (default 0).")]
Quiet = Annotated[bool, typer.Option(help="No progress display.")]
Report = Annotated[Path | None, typer.Option(help="Write the JSON report here.")]
ExtraRoles = Annotated[list[str], typer.Option(help="Extra roles: module, file or folder.")]
ExtraGraphs = Annotated[list[str], typer.Option(help="Extra graphs: module, file or folder.")]
