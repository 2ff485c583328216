"""Request metrics label every answer with its route template, including answers that
middleware gives before the router runs (429 rate limited, 413 by declared length)."""

from __future__ import annotations

from contextlib import aclosing
from pathlib import Path

from target_service.settings import Settings
from tests.target_service.conftest import prepare, running_api


def count(metrics_text: str, method: str, route: str, status: int) -> float:
    prefix = f'loadcap_http_requests_total{{method="{method}",route="{route}",status="{status}"}} '
    for line in metrics_text.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


async def test_rate_limited_and_oversized_requests_count_under_their_route(
    tmp_path: Path,
) -> None:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'labels.db'}", rate_limit="3/minute")
    await prepare(settings, 5)
    async with aclosing(running_api(settings)) as running:
        api = await anext(running)
        statuses = [(await api.client.get("/api/profile/1")).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 429, 429]
        text = (await api.client.get("/metrics")).text
        assert count(text, "GET", "/api/profile/{id}", 429) == 2
        assert count(text, "GET", "<unmatched>", 429) == 0

    settings = settings.with_changes(rate_limit=None)
    async with aclosing(running_api(settings)) as running:
        api = await anext(running)
        big = b'{"name": "A", "email": "a@example.com", "bio": "' + b"x" * 200_000 + b'"}'
        headers = {"content-type": "application/json"}
        response = await api.client.post("/api/profiles", content=big, headers=headers)
        assert response.status_code == 413
        response = await api.client.patch("/api/profile/2", content=big, headers=headers)
        assert response.status_code == 413
        assert (await api.client.get("/no/such/path")).status_code == 404
        text = (await api.client.get("/metrics")).text
        assert count(text, "POST", "/api/profiles", 413) == 1
        assert count(text, "PATCH", "/api/profile/{id}", 413) == 1
        assert count(text, "POST", "<unmatched>", 413) == 0
        # Paths that match no route still share one label.
        assert count(text, "GET", "<unmatched>", 404) == 1


async def test_the_service_serves_metrics_only_to_its_allowed_networks(tmp_path: Path) -> None:
    settings = Settings(
        db_url=f"sqlite:///{tmp_path / 'allow.db'}", rate_limit=None, metrics_allow=("10.0.0.0/8",)
    )
    await prepare(settings, 1)
    async with aclosing(running_api(settings, client_ip="127.0.0.1")) as running:
        api = await anext(running)
        assert (await api.client.get("/metrics")).status_code == 403
        assert (await api.client.get("/api/profile/1")).status_code == 200
    async with aclosing(running_api(settings, client_ip="10.2.3.4")) as running:
        api = await anext(running)
        assert (await api.client.get("/metrics")).status_code == 200
