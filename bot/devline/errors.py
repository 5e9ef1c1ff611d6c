"""LINE-style error answers: `{"message": ..., "details": [{"message", "property"}]}`."""

from __future__ import annotations

from typing import Any

AUTH_FAILED = "Authentication failed. Confirm that the access token in the authorization header is valid."
INVALID_REPLY_TOKEN = "Invalid reply token"
NOT_FOUND = "Not found"
RATE_LIMITED = "The API rate limit has been exceeded. Try again later."


class LineApiError(Exception):
    """Raised by a stand-in route to answer as LINE does; the blueprint renders it as JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        details: list[dict[str, str]] | None = None,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.details = details
        self.extra = extra or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body; `details` only when there are some, as LINE leaves an empty array out."""
        body: dict[str, Any] = {"message": self.message}
        if self.details:
            body["details"] = self.details
        body.update(self.extra)
        return body


def body_errors(details: list[dict[str, str]]) -> LineApiError:
    """A 400 for a request body that breaks the rules: "The request body has N error(s)"."""
    return LineApiError(400, f"The request body has {len(details)} error(s)", details)


def detail(message: str, prop: str) -> dict[str, str]:
    """One entry of `details`."""
    return {"message": message, "property": prop}


# What LINE answers for statuses a test makes it fail with (fail_next).
FAILURE_MESSAGES = {
    400: "The request body has 1 error(s)",
    401: AUTH_FAILED,
    403: "The access token is not authorized to use this API",
    404: NOT_FOUND,
    409: "The retry key is already accepted",
    429: RATE_LIMITED,
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def injected_failure(status: int) -> LineApiError:
    """The error a test asked for with fail_next."""
    return LineApiError(status, FAILURE_MESSAGES.get(status, "Error"))
