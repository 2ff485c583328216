"""Prometheus scrapes every app instance; Grafana's dashboard asks for metrics that exist."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import yaml

from target_service.metrics import ServiceMetrics
from target_service.settings import METRICS_ALLOW_DEFAULT

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


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (GRAFANA / "dashboards" / "loadcap.json").read_text(encoding="utf-8")
    )
    return loaded


def query_panels() -> list[dict[str, Any]]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def dashboard_expressions() -> list[str]:
    return [target["expr"] for panel in query_panels() for target in panel["targets"]]


def recorded_names() -> set[str]:
    return {
        rule["record"]
        for path in (COMPOSE_DIR / "prometheus").glob("*.rules.yml")
        for group in load_yaml(path)["groups"]
        for rule in group["rules"]
        if "record" in rule
    }


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


def test_dashboard_queries_only_metrics_the_service_exports_or_the_rules_record() -> None:
    exported = exported_series()
    expressions = dashboard_expressions()
    # A name after a colon is part of a recording rule's name (level:metric:operations).
    queried = {n for e in expressions for n in re.findall(r"(?<![:\w])(loadcap_[a-z_]+)", e)}
    assert queried, "the dashboard queries no loadcap metric"
    assert queried <= exported, sorted(queried - exported)
    rules = {n for e in expressions for n in re.findall(r"\b([a-z_]+:[a-z_]+:[a-z0-9_]*)", e)}
    assert rules, "the dashboard reads no recording rule"
    assert rules <= recorded_names(), sorted(rules - recorded_names())


def test_dashboard_answers_the_seeds_monitoring_list() -> None:
    titles = " / ".join(panel["title"].lower() for panel in query_panels())
    for topic in (
        "requests/s by route",
        "error ratio",
        "p95",
        "by instance",
        "cpu cores",
        "cpu seconds per request",
        "pool",
        "cache hit ratio",
        "replica lag",
        "locust",
        "alert states",
    ):
        assert topic in titles, topic
    variable = dashboard()["templating"]["list"][0]
    assert variable["name"] == "instance" and variable["includeAll"] is True
    # Every per-instance query follows the variable; fleet-wide (job:) and Locust's do not.
    per_instance = [e for e in dashboard_expressions() if "loadcap_" in e and "job:" not in e]
    assert per_instance and all('instance=~"$instance"' in e for e in per_instance)


def test_dashboard_panels_are_well_formed() -> None:
    panels = dashboard()["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] != "row":
            refs = [target["refId"] for target in panel["targets"]]
            assert refs and len(refs) == len(set(refs)), panel["title"]
            assert all(target["expr"].strip() for target in panel["targets"]), panel["title"]


def test_dashboard_uses_the_provisioned_datasource() -> None:
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    uid = datasources["datasources"][0]["uid"]
    assert datasources["datasources"][0]["url"] == "http://prometheus:9090"
    used = {target["datasource"]["uid"] for p in query_panels() for target in p["targets"]}
    used |= {variable["datasource"]["uid"] for variable in dashboard()["templating"]["list"]}
    assert used == {uid}


def test_dashboard_provider_path_is_where_compose_mounts_the_dashboards() -> None:
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "loadcap.yml")
    path = provider["providers"][0]["options"]["path"]
    mounts = compose_service("grafana")["volumes"]
    assert f"./grafana/dashboards:{path}:ro" in mounts
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in mounts


def test_compose_prometheus_may_read_the_instances_metrics() -> None:
    """The instances serve /metrics to LOADCAP_METRICS_ALLOW only: compose's network (where
    Prometheus and the Locust master scrape from) must be in it."""
    compose = load_yaml(COMPOSE_DIR / "docker-compose.yml")
    subnet = ipaddress.ip_network(compose["networks"]["default"]["ipam"]["config"][0]["subnet"])
    environment = compose_service("app")["environment"]
    allowed = environment.get("LOADCAP_METRICS_ALLOW", ",".join(METRICS_ALLOW_DEFAULT))
    networks = [ipaddress.ip_network(entry.strip()) for entry in allowed.split(",")]
    assert any(
        subnet.version == network.version and subnet.subnet_of(network)  # type: ignore[arg-type]
        for network in networks
    )
