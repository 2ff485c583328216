"""The API's one error shape: `{"error": {"code": "...", "message": "..."}}`.

Codes are stable and machine-readable; messages are for humans and never carry SQL or a
traceback.
"""

from __future__ import annotations

import msgspec
from starlette.responses import Response
from starlette.types import Send

JSON_MEDIA_TYPE = "application/json"
# nginx's status for "the client closed the connection before the response": not a 5xx.
CLIENT_CLOSED_REQUEST = 499


class ApiError(Exception):
    """An error the client caused (or a 503 it can retry); handlers turn it into a response."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_body(code: str, message: str) -> bytes:
    return msgspec.json.encode({"error": {"code": code, "message": message}})


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        error_body(code, message), status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE
    )


def api_error_response(error: ApiError) -> Response:
    return error_response(error.status, error.code, error.message, headers=error.headers)


async def send_error(send: Send, status: int, body: bytes, *headers: tuple[bytes, bytes]) -> None:
    """An error that pure-ASGI middleware answers itself; `body` is a prebuilt `error_body`."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", JSON_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# Generic codes for HTTP statuses Starlette raises itself (unknown route, wrong method).
STATUS_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
