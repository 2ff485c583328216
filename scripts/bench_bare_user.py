"""A bare `FastHttpUser` for `scripts/bench`: the same four requests in the same 80/10/5/5
mix as loadtests/locustfile.py, with no checks, no plugin and no HDR recording. Running both
against the same trivial endpoint measures what the project's locustfile itself costs.

    locust -f scripts/bench_bare_user.py --headless --host http://127.0.0.1:PORT
"""

from __future__ import annotations

import itertools
import os
import random

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

ID_COUNT = int(os.environ.get("BENCH_ID_COUNT", "10000"))
PAGE_LIMIT = 20
PAGES = -(-ID_COUNT // PAGE_LIMIT)
_emails = itertools.count(1)


class BareUser(FastHttpUser):
    wait_time = constant(0)

    @task(80)
    def list_profiles(self) -> None:
        page = random.randint(1, PAGES)
        self.client.get(f"/api/profiles?page={page}&limit={PAGE_LIMIT}", name="/api/profiles")

    @task(10)
    def get_profile(self) -> None:
        self.client.get(f"/api/profile/{random.randint(1, ID_COUNT)}", name="/api/profile/{id}")

    @task(5)
    def create_profile(self) -> None:
        email = f"bare-{os.getpid()}-{next(_emails)}@example.test"
        body = {"name": "Bench User", "email": email, "bio": "benchmark"}
        self.client.post("/api/profiles", json=body, name="/api/profiles")

    @task(5)
    def patch_profile(self) -> None:
        url = f"/api/profile/{random.randint(1, ID_COUNT)}"
        self.client.patch(url, json={"bio": "patched"}, name="/api/profile/{id}")
