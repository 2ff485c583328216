"""The four profile API requests: named by route template, responses checked for shape.

Shared by the closed-model user (`ProfilesUser`) and the open-model scheduler, so both send
exactly the same traffic. Each function returns the endpoint name (`"GET /api/profiles"`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any

from locust.contrib.fasthttp import FastHttpSession

from loadtests.arguments import LocustOptions
from loadtests.data import EmailMaker, KeyPicker, Skew, new_profile, profile_change
from loadtests.response_shapes import PAGE, PROFILE, judge
from rundir.mix import ENDPOINT_NAMES, LIST_PATH, ONE_PATH


@dataclass(kw_only=True)
class Workload:
    """What the requests draw from: the seeded id range, its skew, page size, unique emails."""

    id_count: int = 1000
    skew: Skew = field(default_factory=Skew)
    page_limit: int = 20
    rng: random.Random = field(default_factory=random.Random)
    emails: EmailMaker = field(default_factory=EmailMaker)

    def __post_init__(self) -> None:
        self.ids = KeyPicker(self.id_count, self.skew, self.rng)
        pages = max(1, -(-self.id_count // self.page_limit))
        self.pages = KeyPicker(pages, self.skew, self.rng)


def list_profiles(client: FastHttpSession, workload: Workload) -> str:
    url = f"{LIST_PATH}?page={workload.pages.pick()}&limit={workload.page_limit}"
    with client.get(url, name=LIST_PATH, catch_response=True) as response:
        judge(response, 200, PAGE)
    return ENDPOINT_NAMES["list"]


def get_profile(client: FastHttpSession, workload: Workload) -> str:
    url = f"/api/profile/{workload.ids.pick()}"
    with client.get(url, name=ONE_PATH, catch_response=True) as response:
        judge(response, 200, PROFILE)
    return ENDPOINT_NAMES["get"]


def create_profile(client: FastHttpSession, workload: Workload) -> str:
    body = new_profile(workload.rng, workload.emails)
    with client.post(LIST_PATH, json=body, name=LIST_PATH, catch_response=True) as response:
        judge(response, 201, PROFILE)
    return ENDPOINT_NAMES["create"]


def patch_profile(client: FastHttpSession, workload: Workload) -> str:
    url = f"/api/profile/{workload.ids.pick()}"
    body = profile_change(workload.rng)
    with client.patch(url, json=body, name=ONE_PATH, catch_response=True) as response:
        judge(response, 200, PROFILE)
    return ENDPOINT_NAMES["patch"]


REQUESTS: dict[str, Callable[[FastHttpSession, Workload], str]] = {
    "list": list_profiles,
    "get": get_profile,
    "create": create_profile,
    "patch": patch_profile,
}


def keep_no_cookies(user: Any) -> None:
    """With `--no-cookies`, the user is a stateless API client: the service's read-your-writes
    cookie is never kept, so its reads are not pinned to the primary after its own writes."""
    options = user.environment.parsed_options
    if options is not None and LocustOptions.from_namespace(options).no_cookies:
        user.client.cookiejar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        # With no jar at all the user agent skips cookie handling (its documented
        # `cookiejar=None`): a jar that refuses everything still costs ~9 % of the
        # generator's CPU per request, parsing and matching for nothing.
        agent = getattr(user.client, "client", None)
        if agent is not None and hasattr(agent, "cookiejar"):
            agent.cookiejar = None
