"""Which node errors are retried, and how: only those that may go away."""

from __future__ import annotations

from langgraph.types import RetryPolicy

from smallagents.errors import DownloadError, ModelUnavailableError, RoleUnresolvedError

__all__ = ["DEFAULT_RETRY", "RetryPolicy", "is_transient"]


def is_transient(error: BaseException) -> bool:
    """Whether retrying the node may help: the model or endpoint may be back shortly.

    True for `ModelUnavailableError` (an endpoint that
    refused or timed out) but not for a failed download (offline stays offline),
    and for a role left unresolved by such a model error (a role turns model errors
    into an unresolved record rather than raising them). Everything else, a
    ``ValueError`` or a validation error above all, would fail the same way again.
    """
    if isinstance(error, RoleUnresolvedError):
        return error.reason == "model_error"
    return isinstance(error, ModelUnavailableError) and not isinstance(error, DownloadError)


DEFAULT_RETRY = RetryPolicy(
    initial_interval=1.0,
    backoff_factor=2.0,
    max_interval=30.0,
    max_attempts=3,
    retry_on=is_transient,
)
"""Three attempts, 1 s then 2 s apart (jittered), on `is_transient` errors only."""
