"""The OpenAPI 3.1 document of the service, written by hand from SPEC's table.

Field limits are read from `payloads.py` so the document and the validation cannot drift.
"""

from __future__ import annotations

from typing import Any

import msgspec

from target_service.payloads import MAX_PAGE, ProfileCreate, ProfilePatch

JSON = "application/json"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, ref: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        **extra,
    }


# Every /api operation can be rate limited or find the database down.
COMMON_ERRORS = {
    "429": {
        **_error("Rate limit exceeded"),
        "headers": {
            "Retry-After": {
                "required": True,
                "description": "Seconds until the client may try again",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
    "503": _error("The primary database is unreachable"),
}
WRITE_ERRORS = {
    "400": _error("Malformed JSON"),
    "409": _error("Email already in use"),
    "413": _error("Body larger than the limit (100 KB by default)"),
    "415": _error("Content-Type is not application/json"),
    "422": _error("Invalid or unknown fields"),
    **COMMON_ERRORS,
}
ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 1},
}
# What a write tells its client, so that the client's next reads observe it (see
# target_service/read_your_writes.py): with GTIDs the signed position, else the write's time.
RW_HEADERS = {
    "Set-Cookie": {
        "description": "loadcap_rw=<signed GTID position> (MariaDB with GTIDs), else "
        "loadcap_rw=<unix ms>: this client's next reads observe the write",
        "schema": {"type": "string"},
    },
    "X-Loadcap-Read-After": {
        "description": "The write's signed GTID position, when the database gave one: send it "
        "back on reads (from any instance sharing the secret) to read this write",
        "schema": {"type": "string"},
    },
}
READ_AFTER_PARAM = {
    "name": "X-Loadcap-Read-After",
    "in": "header",
    "required": False,
    "description": "A position a write answered with: the read observes that write. Any "
    "other value (malformed, forged, longer than 1,024 characters) is ignored, not refused",
    "schema": {"type": "string"},
}
LOCATION = {"Location": {"required": True, "schema": {"type": "string"}}}


def _schemas() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [ProfileCreate, ProfilePatch], ref_template="#/components/schemas/{name}"
    )
    # decode_profile_changes refuses a PATCH that changes nothing (422).
    components["ProfilePatch"]["minProperties"] = 1
    profile_props = {
        "id": {"type": "integer"},
        **components["ProfileCreate"]["properties"],
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    }
    components["Profile"] = {
        "type": "object",
        "properties": profile_props,
        "required": list(profile_props),
    }
    components["ProfilePage"] = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Profile"}},
            "page": {"type": "integer"},
            "limit": {"type": "integer"},
            "has_more": {"type": "boolean"},
        },
        "required": ["items", "page", "limit", "has_more"],
    }
    components["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                "required": ["code", "message"],
            }
        },
        "required": ["error"],
    }
    components["Health"] = {
        "type": "object",
        "properties": {
            "status": {"enum": ["healthy", "degraded", "unhealthy"]},
            "instance": {
                "type": "string",
                "description": "which instance answered: <hostname>:<pid> (one per worker)",
            },
            "checks": {
                "type": "object",
                "description": "One entry per check (database, each replica, cache, limiter)",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "ok": {"type": "boolean"},
                        "critical": {
                            "type": "boolean",
                            "description": "a failed critical check makes the service unhealthy",
                        },
                        "detail": {"type": "string"},
                    },
                    "required": ["ok", "critical", "detail"],
                },
            },
        },
        "required": ["status", "instance", "checks"],
    }
    return components


def _profile_paths() -> dict[str, Any]:
    paging = [
        {
            "name": "page",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        {
            "name": "limit",
            "in": "query",
            "description": "capped at the configured maximum",
            "schema": {"type": "integer", "minimum": 1, "default": 20},
        },
    ]
    return {
        "/api/profiles": {
            "get": {
                "summary": "A page of profiles, ordered by id",
                "parameters": [*paging, READ_AFTER_PARAM],
                "responses": {
                    "200": _json("A page", "ProfilePage"),
                    "400": _error("Bad paging parameters"),
                    **COMMON_ERRORS,
                },
            },
            "post": {
                "summary": "Create a profile",
                "requestBody": _json("The new profile", "ProfileCreate", required=True),
                "responses": {
                    "201": _json(
                        "Created",
                        "Profile",
                        headers={**LOCATION, **RW_HEADERS},
                    ),
                    **WRITE_ERRORS,
                },
            },
        },
        "/api/profile/{id}": {
            "parameters": [ID_PARAM],
            "get": {
                "summary": "One profile",
                "parameters": [READ_AFTER_PARAM],
                "responses": {
                    "200": _json("The profile", "Profile"),
                    "400": _error("Non-numeric id"),
                    "404": _error("Unknown id"),
                    **COMMON_ERRORS,
                },
            },
            "patch": {
                "summary": "Change some of name, email, bio",
                "requestBody": _json("The changes", "ProfilePatch", required=True),
                "responses": {
                    "200": _json("The updated profile", "Profile", headers=RW_HEADERS),
                    "404": _error("Unknown id"),
                    **WRITE_ERRORS,
                    "400": _error("Malformed JSON or non-numeric id"),
                },
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "loadcap reference profiles service",
            "version": "1.0.0",
            "description": "The system under test: profiles API with cache, replicas, limits.",
        },
        "paths": {
            **_profile_paths(),
            "/health": {
                "get": {
                    "summary": "Health with per-check detail",
                    "responses": {
                        "200": _json("healthy or degraded", "Health"),
                        "503": _json("unhealthy: the primary database is unreachable", "Health"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {
                        "200": {
                            "description": "Prometheus text format",
                            "content": {"text/plain": {}},
                        }
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3 document"}},
                }
            },
        },
        "components": {"schemas": _schemas()},
    }
