"""Every query of the Grafana dashboard, evaluated by a real Prometheus that scraped the
service (MariaDB master + replica, Redis) and the Locust master during a short load, with
compose's rules loaded: none may error or come back empty. (Grafana itself is not a Debian
package; its JSON is checked structurally in test_observability.py.)"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.prometheus_fleet import PrometheusError
from pipeline.runner import RunSettings, run_load_test
from target_service.process import ServiceProcess, free_port
from tests.compose.test_observability import dashboard, query_panels
from tests.fixtures.mariadb_server import MariaDBPair
from tests.fixtures.prometheus_server import Jobs, PrometheusServer
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.replica_cluster import cluster_settings

PROFILES = 500


def grafana_to_promql(expr: str) -> str:
    """The dashboard's variable at "All" (its `allValue`), and label_values() as PromQL."""
    expr = expr.replace("$instance", dashboard()["templating"]["list"][0]["allValue"])
    values = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", expr)
    return f"count by ({values[2]}) ({values[1]})" if values else expr


def test_every_panel_query_answers_during_a_load(
    tmp_path: Path,
    mariadb_pair: MariaDBPair,
    redis_clean: RedisServer,
    prometheus_server: Callable[[Jobs], PrometheusServer],
) -> None:
    settings = cluster_settings(mariadb_pair, redis_url=redis_clean.url)
    locust_port, gone_port = free_port(), free_port()
    with ServiceProcess(settings, profiles=PROFILES) as service:
        mariadb_pair.wait_synced()
        prometheus = prometheus_server(
            {
                "profiles": [f"127.0.0.1:{service.port}"],
                "locust": [f"127.0.0.1:{locust_port}"],
                # Nothing listens here: InstanceDown goes pending, so ALERTS has a series.
                "gone": [f"127.0.0.1:{gone_port}"],
            }
        )
        prometheus.wait_for_scrape(after=time.time(), jobs=["profiles"])
        outcome = run_load_test(
            RunSettings(
                out_dir=tmp_path / "run",
                host=service.base_url,
                users=4,
                spawn_rate=4.0,
                duration_s=10.0,
                id_count=PROFILES,
                locust_metrics_port=locust_port,
            )
        )
    assert outcome.record.started_at is not None, outcome.message
    # Late in the load: every rate window holds it, and Locust is still up.
    at = datetime.fromisoformat(outcome.record.started_at).timestamp() + 10.0 - 1.0

    empty, failed = [], []
    variable = dashboard()["templating"]["list"][0]["query"]["query"]
    queries = [("$instance variable", variable)] + [
        (f"{panel['title']} [{target['refId']}]", target["expr"])
        for panel in query_panels()
        for target in panel["targets"]
    ]
    for where, expr in queries:
        try:
            result = prometheus.api.query(grafana_to_promql(expr), at=at)
        except PrometheusError as exc:
            failed.append(f"{where}: {exc}")
            continue
        if not result:
            empty.append(f"{where}: {expr}")
    assert not failed, "\n".join(failed)
    assert not empty, "queries that returned nothing:\n" + "\n".join(empty)


@pytest.mark.parametrize(
    ("grafana", "promql"),
    [
        ('rate(x{instance=~"$instance"}[1m])', 'rate(x{instance=~".*"}[1m])'),
        ("label_values(up, instance)", "count by (instance) (up)"),
    ],
)
def test_grafana_syntax_becomes_promql(grafana: str, promql: str) -> None:
    assert grafana_to_promql(grafana) == promql
