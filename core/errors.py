"""Domain errors. The API maps them to problem+json in one handler; the domain never sees HTTP."""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base for errors a user can cause and should be told about."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "domain-error"
    title: ClassVar[str] = "Request could not be processed"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(DomainError):
    """The object does not exist (or the caller may not know it exists)."""

    status_code = 404
    code = "not-found"
    title = "Not found"


class Conflict(DomainError):
    """The request conflicts with the current state (duplicate, overlap, concurrent change)."""

    status_code = 409
    code = "conflict"
    title = "Conflict"


class InvalidState(DomainError):
    """The object is not in a state that allows this action (e.g. an illegal transition)."""

    status_code = 409
    code = "invalid-state"
    title = "Invalid state for this action"


class Forbidden(DomainError):
    """The caller may not do this."""

    status_code = 403
    code = "forbidden"
    title = "Forbidden"


class Validation(DomainError):
    """The input is well-formed but breaks a business rule."""

    status_code = 422
    code = "validation"
    title = "Invalid input"


class Unauthorized(DomainError):
    """The caller is not signed in, or the credentials or token are not (or no longer) good."""

    status_code = 401
    code = "unauthorized"
    title = "Not signed in"


class TooManyRequests(DomainError):
    """Too many attempts in a short time; ``retry_after`` seconds to wait."""

    status_code = 429
    code = "too-many-requests"
    title = "Too many requests"
