"""Read-your-writes across instances: what a client is told after a write, and what its next
reads must observe.

Two modes (`read_your_writes_mode`):
- `gtid` (default, MariaDB with GTIDs): POST and PATCH answer with the write's GTID position,
  HMAC-signed so a client cannot claim another position, in the `loadcap_rw` cookie and the
  `X-Loadcap-Read-After` header. A read that sends either back must observe that position:
  the router serves it from a replica that has applied it (see `replica_router`). Every
  instance with the same key honours it: `read_your_writes_secret` when given, else the key
  kept in the shared database (`signing_key`), which the service passes to `use_key` at
  start.
- `window` (servers without GTIDs): the cookie holds the write's Unix time in ms; while it is
  younger than `read_your_writes_s` the client's reads go to the primary (Rails'
  DatabaseSelector idea). In `gtid` mode a write without a GTID (no binary log) falls back
  to this cookie.

Whatever a client sends, a malformed, forged or oversized value is ignored: the read is then
served as for a client that did not write.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time

from starlette.requests import Request

from target_service.gtid import GtidPosition

COOKIE_NAME = "loadcap_rw"
HEADER_NAME = "x-loadcap-read-after"
# Tolerate clocks of instances that run slightly ahead of this one.
CLOCK_SKEW_MS = 2_000
# A Unix time in ms has 13 digits until the year 2286.
_MAX_TIME_DIGITS = 15
_MAX_TOKEN_CHARS = 1_024
_SIGNATURE_CHARS = 32
# Cookie values may not hold commas: domains are joined with "_" in tokens.
_DOMAIN_SEPARATOR = "_"


class ReadYourWrites:
    def __init__(self, window_s: float, *, mode: str = "window", secret: str = "") -> None:
        self.window_ms = int(window_s * 1000)
        self.max_age = math.ceil(window_s)
        self.causal = mode == "gtid"
        # Unset: random until `use_key` gives the fleet's key (only this process verifies it).
        self._key = secret.encode() if secret else secrets.token_bytes(32)

    def __repr__(self) -> str:  # never shows the key
        return f"ReadYourWrites(window_ms={self.window_ms}, causal={self.causal})"

    def use_key(self, key: str) -> None:
        """Sign and verify with `key` from now on (the fleet's key, read from the database)."""
        self._key = key.encode()

    def route(self, request: Request) -> tuple[bool, GtidPosition | None]:
        """Where a read goes, from one pass over the raw headers (every read request pays
        for this): whether the client wrote within the time window (its reads then go to
        the primary) and the verified position its reads must observe."""
        header, cookie = _sent(request)
        return self._recent(cookie), self._verified(header or cookie)

    def wrote_recently(self, request: Request) -> bool:
        """A time cookie younger than the window: the client's reads go to the primary."""
        return self._recent(_sent(request)[1])

    def position(self, request: Request) -> GtidPosition | None:
        """The verified position the client's reads must observe (header, else cookie)."""
        header, cookie = _sent(request)
        return self._verified(header or cookie)

    def _recent(self, raw: str | None) -> bool:
        if self.window_ms <= 0 or raw is None:
            return False
        if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_TIME_DIGITS:
            return False
        age_ms = time.time_ns() // 1_000_000 - int(raw)
        return -CLOCK_SKEW_MS <= age_ms < self.window_ms

    def _verified(self, token: str | None) -> GtidPosition | None:
        if not self.causal or not token:
            return None
        return self.verify(token)

    def headers(self, written: GtidPosition | None) -> dict[str, str]:
        """Response headers for a write that committed at `written` (None: not known)."""
        if self.causal and written is not None and written.domains:
            token = self.token(written)
            return {"set-cookie": self._set_cookie(token), HEADER_NAME: token}
        return {"set-cookie": self.cookie()}

    def cookie(self) -> str:
        """The Set-Cookie value of the time window, stamped now."""
        return self._set_cookie(str(time.time_ns() // 1_000_000))

    def _set_cookie(self, value: str) -> str:
        return f"{COOKIE_NAME}={value}; Max-Age={self.max_age}; Path=/; HttpOnly; SameSite=Lax"

    def token(self, position: GtidPosition) -> str:
        text = position.format(_DOMAIN_SEPARATOR)
        return f"{text}~{self._sign(text)}"

    def verify(self, token: str) -> GtidPosition | None:
        if len(token) > _MAX_TOKEN_CHARS or not token.isascii():
            return None
        text, _, signature = token.partition("~")
        if len(signature) != _SIGNATURE_CHARS:
            return None
        if not hmac.compare_digest(signature, self._sign(text)):
            return None
        return GtidPosition.parse(text, separator=_DOMAIN_SEPARATOR)

    def _sign(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()
        return digest[:_SIGNATURE_CHARS]


_HEADER_BYTES = HEADER_NAME.encode()
_COOKIE_NAME_BYTES = COOKIE_NAME.encode()


def _sent(request: Request) -> tuple[str | None, str | None]:
    """(the X-Loadcap-Read-After header, the loadcap_rw cookie) from the raw ASGI headers in
    one pass: Starlette's `Headers` and cookie parser cost about 1 and 2.5 us a request."""
    header = cookie = None
    for name, value in request.scope["headers"]:
        if name == b"cookie":
            if _COOKIE_NAME_BYTES in value:  # cheap: most cookie headers have none
                cookie = _cookie_value(value) or cookie
        elif name == _HEADER_BYTES:
            header = value.decode("latin-1")
    return header, cookie


def _cookie_value(raw: bytes) -> str | None:
    """The loadcap_rw value of one Cookie header, as Starlette's parser would read it: pairs
    split on ';', whitespace and double quotes around the value dropped, the last one wins."""
    found = None
    for pair in raw.split(b";"):
        name, equals, value = pair.strip().partition(b"=")
        if equals and name.strip() == _COOKIE_NAME_BYTES:
            found = value.strip().strip(b'"').decode("latin-1")
    return found
