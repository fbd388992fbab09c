"""The one error a transport raises: the worker retries it, or gives up when permanent."""

from __future__ import annotations


class DeliveryError(Exception):
    """A send that failed.

    ``permanent`` is True when retrying cannot help (an HTTP 4xx other than 408/429, an
    SMTP 5xx such as a refused recipient, a malformed message): the worker marks the
    delivery dead at once. Otherwise it is retried with backoff.

    The message is stored as the delivery's ``last_error``: it never carries a password
    or a signing secret.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent

    def __repr__(self) -> str:
        return f"DeliveryError({str(self)!r}, permanent={self.permanent})"
