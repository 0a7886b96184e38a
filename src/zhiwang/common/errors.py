"""One application error type, turned into an HTTP response in one place (see `zhiwang.api`)."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A refusal by the domain: bad input, a rule broken, a right missing.

    `code` is stable and machine-readable; `message` is for people; `details` carries specifics
    (for example the features that failed validation). `status` is the HTTP status the API answers.
    """

    status = 400

    def __init__(
        self, message: str, *, code: str = "invalid", details: Any = None, status: int | None = None
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details
        if status is not None:
            self.status = status


class ValidationFailed(ApplicationError):
    status = 400


class PermissionDenied(ApplicationError):
    status = 403

    def __init__(
        self, message: str = "You may not do this here.", *, code: str = "forbidden", details: Any = None
    ):
        super().__init__(message, code=code, details=details)


class NotFound(ApplicationError):
    status = 404

    def __init__(self, message: str = "Not found.", *, code: str = "not_found", details: Any = None):
        super().__init__(message, code=code, details=details)


class Conflict(ApplicationError):
    status = 409

    def __init__(self, message: str, *, code: str = "conflict", details: Any = None):
        super().__init__(message, code=code, details=details)
