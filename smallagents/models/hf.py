"""GGUF files from the Hugging Face hub (optional extra ``smallagents[hf]``)."""

from __future__ import annotations

from pathlib import Path

from smallagents.errors import DownloadError


def download_gguf(repo_id: str, filename: str) -> Path:
    """Fetch ``filename`` from ``repo_id`` (or take it from the local hub cache).

    Raises:
        DownloadError: huggingface_hub is missing, the machine is offline, or the
            repository or file does not exist.
    """
    spec = f"hf:{repo_id}/{filename}"
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
        )
    except ImportError:
        raise DownloadError(
            f"{spec} needs the huggingface_hub package, which is not installed.",
            fix="pip install 'smallagents[hf]', or download the file and pass its local path.",
        ) from None
    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename))
    except LocalEntryNotFoundError:
        # Raised both when HF_HUB_OFFLINE is set and when the hub cannot be reached.
        raise DownloadError(
            f"Cannot download {spec}: no network connection to the hub and no cached copy.",
            fix="connect to the network once, or download the file elsewhere and pass its "
            "local .gguf path.",
        ) from None
    except RepositoryNotFoundError:
        raise DownloadError(
            f"Repository {repo_id!r} of {spec} does not exist on the hub (or is private).",
            fix="check OWNER/REPO, or log in with `hf auth login` for a private repository.",
        ) from None
    except EntryNotFoundError:
        raise DownloadError(
            f"File {filename!r} is not in {repo_id!r}.",
            fix="check the file name in the repository's file list.",
        ) from None
    except OSError as error:
        raise DownloadError(
            f"Cannot download {spec}: {type(error).__name__}: {error}.",
            fix="check the network connection, or pass a local .gguf path instead.",
        ) from None
