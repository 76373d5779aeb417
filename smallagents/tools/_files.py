"""File tools confined to one folder: ``read_file``, ``list_dir`` and ``write_file``.

A model chooses the paths, so every path is checked before anything is opened: it
must be relative, name no ``..`` and hold no NUL byte, and once symbolic links are
resolved it must still lie inside the folder. A refused path raises inside the tool,
so the model reads one line (``error: PermissionError: '../x' leaves the folder``)
and nothing outside the folder is read or written. ``write_file`` is marked
``requires_confirmation``: a batch job runs it only with ``--allow-tool write_file``.

A hard link inside the folder to a file outside it looks like any other file by
its path, so the checks are made again on the opened descriptor: a file with more
than one hard link is refused (read or written), and so is a descriptor whose real
place (``/proc/self/fd``, on Linux) lies outside the folder. ``write_file`` opens
without truncating, checks, and only then cuts the file to its new content.

What remains: the check and the open are two steps, so a process that swaps a
folder inside the root for a link between them could still make ``write_file``
*create* a new file outside (an existing one is refused by the descriptor check
before a byte is written; reads are refused after the open, before a byte is
read). The root must therefore not be writable by anyone the tools should be
protected from. Files are opened with ``O_NOFOLLOW``, which closes the race for
the last path component.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from smallagents.errors import ToolDefinitionError
from smallagents.tools._tool import DEFAULT_MAX_OUTPUT_CHARS, DEFAULT_TIMEOUT, Tool, tool

MAX_WRITE_CHARS = 100_000
"""Characters ``write_file`` accepts in one call."""

MAX_LISTED = 200
"""Entries ``list_dir`` names before it says how many more there are."""

# Bytes read for an observation of N characters: UTF-8 needs at most 4 per
# character, and reading more only to truncate it would waste memory on a huge file.
_BYTES_PER_CHAR = 4


class ConfinedFolder:
    """Turns a model's relative path into a path inside ``root``, or refuses it.

    Attributes:
        root: the folder, absolute and with its links resolved.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Resolve ``root`` once, links and all.

        Args:
            root: an existing folder.

        Raises:
            ToolDefinitionError: ``root`` is not an existing folder.
        """
        folder = Path(root)
        if not folder.is_dir():
            raise ToolDefinitionError(
                "file_tools",
                f"{str(folder)!r} is not an existing folder",
                fix="create the folder first, or pass another root",
            )
        self.root = folder.resolve(strict=True)

    def path(self, given: str) -> Path:
        """The absolute path that ``given`` names inside the folder.

        Raises:
            PermissionError: ``given`` is absolute, names ``..``, holds a NUL byte, or
                leads outside the folder through a link.
        """
        if "\x00" in given:
            raise PermissionError(f"{given!r} holds a NUL byte")
        text = given.strip() or "."
        # A Windows anchor ("C:", "\\\\server") or a ".." between backslashes is no
        # path on POSIX, but it is refused anyway: it can only be an escape attempt.
        posix, windows = PurePosixPath(text), PureWindowsPath(text)
        if posix.is_absolute() or windows.anchor:
            raise PermissionError(f"{given!r} is absolute; give a path inside the folder")
        if ".." in posix.parts or ".." in windows.parts:
            raise PermissionError(f"{given!r} leaves the folder (..)")
        target = (self.root / posix).resolve(strict=False)
        if not target.is_relative_to(self.root):
            raise PermissionError(f"{given!r} leads outside the folder through a link")
        return target

    def check_opened(self, descriptor: int, given: str) -> None:
        """Refuse an opened file that is not a plain file inside the folder.

        Raises:
            IsADirectoryError: it is not a regular file.
            PermissionError: it has more than one hard link (one of them may be
                outside the folder), or the descriptor leads outside the folder.
        """
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            raise IsADirectoryError(f"{given!r} is not a file")
        if found.st_nlink > 1:
            raise PermissionError(
                f"{given!r} has {found.st_nlink} hard links; a file linked from elsewhere "
                "is refused (it may lie outside the folder)"
            )
        try:
            real = Path(os.readlink(f"/proc/self/fd/{descriptor}"))
        except OSError:  # no /proc (not Linux): the path checks are all there is
            return
        if real.is_absolute() and not real.is_relative_to(self.root):
            raise PermissionError(f"{given!r} leads outside the folder")

    def shown(self, target: Path) -> str:
        """``target`` as the model knows it: relative to the folder."""
        relative = target.relative_to(self.root).as_posix()
        return relative if relative != "." else "."


def file_tools(
    root: str | os.PathLike[str],
    *,
    writable: bool = True,
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Tool]:
    """``read_file`` and ``list_dir`` (and ``write_file`` when ``writable``) over ``root``.

    Args:
        root: the only folder the tools may touch.
        writable: whether to include ``write_file`` (which needs confirmation).
        max_output_chars: characters of a file or listing kept in an observation.
        timeout: seconds one call may run.

    Raises:
        ToolDefinitionError: ``root`` is not an existing folder.
    """
    folder = ConfinedFolder(root)

    @tool(timeout=timeout, max_output_chars=max_output_chars)
    def read_file(path: str) -> str:
        """Read a text file.

        Args:
            path: the file's path, relative to the folder, e.g. notes/todo.txt.
        """
        target = folder.path(path)
        try:
            descriptor = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as error:  # said without the root's absolute path
            raise OSError(f"cannot read {path!r}: {error.strerror}") from None
        with os.fdopen(descriptor, "rb") as handle:
            folder.check_opened(handle.fileno(), path)
            data = handle.read(max_output_chars * _BYTES_PER_CHAR + 1)
        return data.decode("utf-8", errors="replace")

    @tool(timeout=timeout, max_output_chars=max_output_chars)
    def list_dir(path: str = ".") -> str:
        """List a folder's entries, one per line; folders end with /.

        Args:
            path: the folder's path, relative to the tools' folder (. for itself).
        """
        target = folder.path(path)
        try:
            entries = sorted(os.scandir(target), key=lambda entry: entry.name)
        except OSError as error:
            raise OSError(f"cannot list {path!r}: {error.strerror}") from None
        names = [
            entry.name + ("/" if entry.is_dir(follow_symlinks=False) else "") for entry in entries
        ]
        shown = names[:MAX_LISTED]
        if len(names) > MAX_LISTED:
            shown.append(f"... {len(names) - MAX_LISTED} more")
        return "\n".join(shown) if shown else f"{folder.shown(target)} is empty"

    @tool(timeout=timeout, max_output_chars=max_output_chars, requires_confirmation=True)
    def write_file(path: str, content: str) -> str:
        """Write text to a file, replacing it if it exists.

        Args:
            path: the file's path, relative to the folder, e.g. notes/todo.txt.
            content: the text to write.
        """
        if len(content) > MAX_WRITE_CHARS:
            raise ValueError(f"content of {len(content)} characters; at most {MAX_WRITE_CHARS}")
        target = folder.path(path)
        if target == folder.root:
            raise IsADirectoryError(f"{path!r} is the folder itself, not a file")
        # No O_TRUNC: an existing file is checked on its descriptor before it is cut.
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(target, flags, 0o644)
        except OSError as error:
            raise OSError(f"cannot write {path!r}: {error.strerror}") from None
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            folder.check_opened(handle.fileno(), path)
            handle.truncate(0)
            handle.write(content)
        return f"wrote {len(content)} characters to {folder.shown(target)}"

    made = [read_file, list_dir]
    return [*made, write_file] if writable else made
