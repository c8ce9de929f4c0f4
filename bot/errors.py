"""Errors that platform code raises and the poller and outbox handle in one place."""

from __future__ import annotations


class PlatformError(Exception):
    """Something went wrong talking to a platform."""


class TransientError(PlatformError):
    """Worth retrying later: rate limit, 5xx, network trouble; retry_after in seconds when the platform says."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class AuthError(PlatformError):
    """The platform refused the credentials (HTTP 401, Graph error 190): a person must re-authorise."""


class PermanentError(PlatformError):
    """The platform rejected the request for good (bad payload, deleted post): do not retry."""


class NotSupported(PermanentError):
    """The platform cannot do this at all (hide a direct message, hide a post it does not let the brand moderate)."""


class UnknownOutcome(PlatformError):
    """The request may or may not have been carried out (timeout after sending): reconcile before retrying."""


class UserError(Exception):
    """A mistake by the person at the CLI or console: shown as a message, never a traceback."""
