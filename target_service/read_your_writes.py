"""Read-your-writes across instances: a cookie marks a client that wrote recently.

POST and PATCH answer with `loadcap_rw=<unix ms>`; while it is younger than
`read_your_writes_s`, that client's reads go to the primary (Rails' DatabaseSelector idea),
so a PATCH followed by a GET never shows the old value even if a replica lags. The cookie
holds only a time, so any instance behind the load balancer can honour it.
"""

from __future__ import annotations

import math
import time

from starlette.requests import Request

COOKIE_NAME = "loadcap_rw"
# Tolerate clocks of instances that run slightly ahead of this one.
CLOCK_SKEW_MS = 2_000


class ReadYourWrites:
    def __init__(self, window_s: float) -> None:
        self.window_ms = int(window_s * 1000)
        self.max_age = math.ceil(window_s)

    def wrote_recently(self, request: Request) -> bool:
        if self.window_ms <= 0 or b"loadcap_rw=" not in _cookie_header(request):
            return False
        raw = request.cookies.get(COOKIE_NAME, "")
        if not raw.isdigit():
            return False
        age_ms = time.time_ns() // 1_000_000 - int(raw)
        return -CLOCK_SKEW_MS <= age_ms < self.window_ms

    def cookie(self) -> str:
        """The Set-Cookie value for a response to a write, stamped now."""
        now_ms = time.time_ns() // 1_000_000
        return f"{COOKIE_NAME}={now_ms}; Max-Age={self.max_age}; Path=/; HttpOnly; SameSite=Lax"


def _cookie_header(request: Request) -> bytes:
    # Cheap pre-check on the raw header before Starlette parses every cookie.
    for name, value in request.scope["headers"]:
        if name == b"cookie":
            return bytes(value)
    return b""
