"""Where the bundled content (``roles/``, ``graphs/``, ``schemas/``) lives.

The folders sit beside the runtime in a source checkout and are copied into the
wheel as ``smallagents/_content/<kind>``. The runtime reads them as data, the
same way it reads a user's own folders; it never imports them as packages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

ContentKind = Literal["roles", "graphs", "schemas"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def content_dir(kind: ContentKind) -> Path:
    """Return the folder that holds the bundled content of one kind.

    An installed wheel carries it under ``smallagents/_content``; an editable
    install (or a plain checkout on ``sys.path``) has it beside the package.
    """
    for candidate in (_PACKAGE_DIR / "_content" / kind, _PACKAGE_DIR.parent / kind):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"bundled {kind!r} folder not found next to {_PACKAGE_DIR}; reinstall smallagents."
    )
