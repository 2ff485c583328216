"""The framework's ceiling for `scripts/bench`: bare Starlette answering the four profile
routes with fixed, valid JSON bodies (no middleware, cache or database), served by uvicorn
with the reference service's settings (uvloop + httptools, no access log).

    python -m uvicorn scripts.bench_ceiling:app --loop uvloop --http httptools

The same app is the trivial endpoint against which the locustfile's own cost is measured:
its bodies pass the locustfile's response checks.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PROFILE = {
    "id": 1,
    "name": "Ana García",
    "email": "ana@example.test",
    "bio": "backend engineer coffee cycling databases",
    "created_at": "2026-01-01T00:00:00+00:00",
    "updated_at": "2026-01-01T00:00:00+00:00",
}
# A page the size of the service's (20 profiles): the body size is the same as measured.
PAGE_BODY = json.dumps(
    {"items": [dict(PROFILE, id=n) for n in range(1, 21)], "page": 1, "limit": 20,
     "has_more": True}
).encode()  # fmt: skip
PROFILE_BODY = json.dumps(PROFILE).encode()
JSON = "application/json"


async def list_profiles(request: Request) -> Response:
    return Response(PAGE_BODY, media_type=JSON)


async def create_profile(request: Request) -> Response:
    await request.body()
    return Response(PROFILE_BODY, 201, media_type=JSON)


async def get_profile(request: Request) -> Response:
    return Response(PROFILE_BODY, media_type=JSON)


async def patch_profile(request: Request) -> Response:
    await request.body()
    return Response(PROFILE_BODY, media_type=JSON)


async def health(request: Request) -> Response:
    return Response(b'{"status":"healthy"}', media_type=JSON)


app = Starlette(
    routes=[
        Route("/api/profiles", list_profiles, methods=["GET"]),
        Route("/api/profiles", create_profile, methods=["POST"]),
        Route("/api/profile/{id}", get_profile, methods=["GET"]),
        Route("/api/profile/{id}", patch_profile, methods=["PATCH"]),
        Route("/health", health, methods=["GET"]),
    ]
)
