"""The closed-model user: each simulated client loops over the 80/10/5/5 mix.

Its task list is rebuilt from `--mix` at test start (see plugin.on_test_start), so the
weights can be changed from the command line or the web UI's start form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locust import TaskSet, constant
from locust.contrib.fasthttp import FastHttpUser

from loadtests.profile_requests import REQUESTS, Workload, keep_no_cookies
from rundir.mix import Mix

TASK_NAMES = {
    "list": "list_profiles",
    "get": "get_profile",
    "create": "create_profile",
    "patch": "patch_profile",
}
Task = Callable[["ProfilesUser"], None]


def task_for(action: str) -> Task:
    request = REQUESTS[action]

    def run(user: ProfilesUser) -> None:
        request(user.client, user.workload)

    run.__name__ = run.__qualname__ = TASK_NAMES[action]
    return run


_TASKS = {action: task_for(action) for action in TASK_NAMES}


def tasks_for(weights: dict[str, int]) -> list[TaskSet | Callable[..., Any]]:
    """Locust picks uniformly from the list, so a weight is a number of repeats."""
    return [_TASKS[action] for action, weight in weights.items() for _ in range(weight)]


class ProfilesUser(FastHttpUser):
    """Lists, reads, creates and patches profiles with no think time (a saturating client)."""

    wait_time = constant(0)
    tasks = tasks_for(Mix().reduced())
    workload: Workload = Workload()

    def on_start(self) -> None:
        keep_no_cookies(self)
