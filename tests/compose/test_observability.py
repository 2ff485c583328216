"""Prometheus scrapes every app instance; Grafana's dashboard asks for metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from target_service.metrics import ServiceMetrics

COMPOSE_DIR = Path(__file__).parents[2] / "compose"
GRAFANA = COMPOSE_DIR / "grafana"


def load_yaml(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def compose_service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = load_yaml(COMPOSE_DIR / "docker-compose.yml")["services"]
    return services[name]  # type: ignore[no-any-return]


def exported_series() -> set[str]:
    """Every series name the service can export, with the suffixes prometheus_client adds."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names = set()
    for family in ServiceMetrics().registry.collect():
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((GRAFANA / "dashboards" / "loadcap.json").read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_prometheus_discovers_each_app_replica_on_the_serving_port() -> None:
    config = load_yaml(COMPOSE_DIR / "prometheus.yml")
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "loadcap-app")
    sd = job["dns_sd_configs"][0]
    assert sd["names"] == ["app"] and sd["type"] == "A"
    command = compose_service("app")["command"]
    assert str(sd["port"]) == command[command.index("--port") + 1]
    assert job.get("metrics_path", "/metrics") == "/metrics"


def test_prometheus_config_is_mounted_where_its_command_reads_it() -> None:
    prometheus = compose_service("prometheus")
    target = next(v.split(":")[1] for v in prometheus["volumes"] if "prometheus.yml" in v)
    assert f"--config.file={target}" in prometheus["command"]


def test_dashboard_queries_only_metrics_the_service_exports() -> None:
    exported = exported_series()
    queried = {
        name
        for expr in dashboard_expressions()
        for name in re.findall(r"\b(loadcap_[a-z_]+)", expr)
    }
    assert queried, "the dashboard queries no loadcap metric"
    assert queried <= exported, sorted(queried - exported)


def test_dashboard_covers_throughput_latency_errors_cache_and_database() -> None:
    joined = " ".join(dashboard_expressions())
    for series in (
        "loadcap_http_requests_total",
        "loadcap_http_request_duration_seconds_bucket",
        "loadcap_cache_requests_total",
        "loadcap_db_queries_total",
        "loadcap_db_pool_in_use",
        "loadcap_replica_fallbacks_total",
        "loadcap_rate_limited_total",
    ):
        assert series in joined
    assert "sum by (instance)" in joined  # balance across instances is visible


def test_dashboard_uses_the_provisioned_datasource() -> None:
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    uid = datasources["datasources"][0]["uid"]
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    dashboard = json.loads((GRAFANA / "dashboards" / "loadcap.json").read_text(encoding="utf-8"))
    used = {target["datasource"]["uid"] for p in dashboard["panels"] for target in p["targets"]}
    assert used == {uid}


def test_dashboard_provider_path_is_where_compose_mounts_the_dashboards() -> None:
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "loadcap.yml")
    path = provider["providers"][0]["options"]["path"]
    mounts = compose_service("grafana")["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
