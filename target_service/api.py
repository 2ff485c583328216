"""The profiles API: list, get, create and patch, per SPEC's table.

Handlers read through `ProfileCache` (which returns encoded JSON bodies, so a cache hit is
served without decoding or re-encoding) and write through the `ProfileStore`, then
invalidate what the write made stale before answering.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from target_service.cache import ProfileCache
from target_service.errors import (
    CLIENT_CLOSED_REQUEST,
    JSON_MEDIA_TYPE,
    ApiError,
    api_error_response,
    error_response,
)
from target_service.gtid import recording, requiring
from target_service.log_throttle import LogThrottle
from target_service.middleware.body_limit import RequestBodyTooLarge
from target_service.payloads import (
    decode_new_profile,
    decode_profile_changes,
    parse_paging,
    parse_profile_id,
)
from target_service.read_your_writes import ReadYourWrites
from target_service.settings import Settings
from target_service.storage import DuplicateEmail, ProfileStore, StorageUnavailable

log = logging.getLogger("target_service.api")
log_throttle = LogThrottle(log)

Endpoint = Callable[[Request], Awaitable[Response]]


def json_errors(handler: Endpoint) -> Endpoint:
    """Every failure becomes the one JSON error shape; nothing internal reaches the client."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return api_error_response(exc)
        except StorageUnavailable as exc:
            log_throttle.warning("database unavailable", exc)
            return error_response(503, "database_unavailable", "the database is unavailable")
        except RequestBodyTooLarge:
            raise  # BodyLimitMiddleware answers 413
        except ClientDisconnect:
            # The client hung up before its body arrived: nobody to answer, nothing failed.
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        except Exception as exc:
            log_throttle.error(f"unhandled error in {request.method} {_route(request)}", exc)
            return error_response(500, "internal_error", "internal server error")

    return endpoint


def by_method(path: str, **handlers: Endpoint) -> Route:
    """A route whose endpoint picks the handler by method (HEAD is answered as GET)."""
    endpoints = {method: json_errors(handler) for method, handler in handlers.items()}
    if "GET" in endpoints:
        endpoints["HEAD"] = endpoints["GET"]

    async def endpoint(request: Request) -> Response:
        return await endpoints[request.method](request)

    return Route(path, endpoint, methods=list(handlers))


class ProfilesApi:
    def __init__(
        self,
        settings: Settings,
        store: ProfileStore,
        cache: ProfileCache,
        read_your_writes: ReadYourWrites,
    ) -> None:
        self.store = store
        self.cache = cache
        self.default_limit = settings.default_page_limit
        self.max_limit = settings.max_page_limit
        self.read_your_writes = read_your_writes

    def routes(self) -> list[Route]:
        # One route per path: a 405's Allow header then lists every method the path has.
        return [
            by_method("/api/profiles", GET=self.list_profiles, POST=self.create_profile),
            by_method("/api/profile/{id}", GET=self.get_profile, PATCH=self.patch_profile),
        ]

    async def list_profiles(self, request: Request) -> Response:
        page, limit = parse_paging(
            request.scope["query_string"],
            default_limit=self.default_limit,
            max_limit=self.max_limit,
        )
        primary, position = self.read_your_writes.route(request)
        with requiring(position):
            body = await self.cache.page_json(page, limit, primary=primary)
        return Response(body, media_type=JSON_MEDIA_TYPE)

    async def get_profile(self, request: Request) -> Response:
        profile_id = parse_profile_id(request.path_params["id"])
        primary, position = self.read_your_writes.route(request)
        with requiring(position):
            body = await self.cache.profile_json(profile_id, primary=primary)
        if body is None:
            raise ApiError(404, "not_found", f"no profile with id {profile_id}")
        return Response(body, media_type=JSON_MEDIA_TYPE)

    async def create_profile(self, request: Request) -> Response:
        new_profile = decode_new_profile(await _json_body(request))
        try:
            with recording() as written:
                profile = await self.store.create_profile(new_profile)
        except DuplicateEmail:
            raise _email_taken(new_profile["email"]) from None
        await self.cache.invalidate_list_tail()
        headers = {
            "location": f"/api/profile/{profile['id']}",
            **self.read_your_writes.headers(written.position),
        }
        return Response(
            msgspec.json.encode(profile), 201, headers=headers, media_type=JSON_MEDIA_TYPE
        )

    async def patch_profile(self, request: Request) -> Response:
        profile_id = parse_profile_id(request.path_params["id"])
        changes = decode_profile_changes(await _json_body(request))
        try:
            with recording() as written:
                profile = await self.store.update_profile(profile_id, changes)
        except DuplicateEmail:
            raise _email_taken(changes.get("email", "")) from None
        if profile is None:
            raise ApiError(404, "not_found", f"no profile with id {profile_id}")
        await self.cache.invalidate_profile(profile_id)  # its entry and the pages showing it
        headers = self.read_your_writes.headers(written.position)
        return Response(msgspec.json.encode(profile), headers=headers, media_type=JSON_MEDIA_TYPE)


def _route(request: Request) -> str:
    """The route template: a per-id path would make every request its own error class."""
    route = request.scope.get("route")
    return str(getattr(route, "path", request.url.path))


async def _json_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != JSON_MEDIA_TYPE:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type must be {JSON_MEDIA_TYPE}, got {content_type or 'none'!r}",
        )
    return await request.body()


def _email_taken(email: str) -> ApiError:
    return ApiError(409, "duplicate_email", f"email {email!r} is already in use")
