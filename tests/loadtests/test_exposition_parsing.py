"""Every reader of `/metrics` counts every request of the seed mix, on the real service.

The route templates hold braces (`/api/profile/{id}`); a reader that matched labels with a
pattern dropped those samples and overstated the service's CPU per request.
"""

from __future__ import annotations

import uuid

import httpx

from loadtests.live_capacity import parse_service_samples
from reports.prom import parse_exposition
from target_service.process import ServiceProcess

ROUNDS = 5


def _scrape(service: ServiceProcess) -> str:
    return httpx.get(service.base_url + "/metrics", timeout=10).text


def _send_the_mix(service: ServiceProcess) -> int:
    """One of each of the mix's four requests per round; the number sent."""
    with httpx.Client(base_url=service.base_url, timeout=10) as client:
        for n in range(ROUNDS):
            assert client.get("/api/profiles").status_code == 200
            assert client.get(f"/api/profile/{n + 1}").status_code == 200
            body = {"name": "Parser Check", "email": f"parser-{n}-{uuid.uuid4().hex}@example.com"}
            created = client.post("/api/profiles", json=body)
            assert created.status_code == 201
            patched = client.patch(f"/api/profile/{created.json()['id']}", json={"bio": "x"})
            assert patched.status_code == 200
    return 4 * ROUNDS


def _report_count(text: str, route: str | None = None) -> float:
    return sum(
        value
        for name, labels, value in parse_exposition(text)
        if name == "loadcap_http_requests_total"
        and labels["route"] not in ("/metrics", "/health")
        and (route is None or labels["route"] == route)
    )


def test_the_tab_and_the_report_count_every_request_of_the_mix(
    embedded_service: ServiceProcess,
) -> None:
    before = _scrape(embedded_service)
    sent = _send_the_mix(embedded_service)
    after = _scrape(embedded_service)

    tab_before, tab_after = parse_service_samples(before)[""], parse_service_samples(after)[""]
    assert tab_before.requests is not None and tab_after.requests is not None
    assert tab_after.requests - tab_before.requests == sent
    assert _report_count(after) - _report_count(before) == sent
    by_id = "/api/profile/{id}"
    assert _report_count(after, by_id) - _report_count(before, by_id) == 2 * ROUNDS


def test_the_service_exports_no_created_series(embedded_service: ServiceProcess) -> None:
    _send_the_mix(embedded_service)

    assert "_created" not in _scrape(embedded_service)
