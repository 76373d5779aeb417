"""The installed package's version, with no other smallagents import (layer 0)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("smallagents")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
