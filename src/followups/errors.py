"""Domain errors. No HTTP here: the API maps them to status codes in one place."""

from __future__ import annotations

from dataclasses import dataclass, field


class DomainError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    """A missing record, or one owned by somebody else (they answer alike)."""


class Conflict(DomainError):
    """The request is valid but the record's state does not allow it."""


class Forbidden(DomainError):
    """The request is valid but this server does not allow it (closed registration)."""


class Unavailable(DomainError):
    """A server of the user's own (their mail server) refused or could not be reached; the
    request changed nothing and may be tried again."""


@dataclass
class FieldError:
    field: str
    message: str


class Invalid(DomainError):
    """Bad input, with the fields it concerns."""

    def __init__(self, detail: str, fields: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.fields = fields or []

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        return cls(f"{name}: {message}", [FieldError(name, message)])


class TooManyRequests(DomainError):
    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


@dataclass
class Unauthorized(Exception):
    detail: str = "A valid bearer token is required."
    extra: dict = field(default_factory=dict)
