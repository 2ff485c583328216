"""compose/docker-compose.yml: valid, and wired the way the seed's topology needs.

No Docker engine runs where the tests do, so the file is checked against the Compose
Specification schema (vendored in check-jsonschema) and by structure; `docker compose config`
runs too when the compose plugin is installed.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from target_service.settings import Settings

COMPOSE_DIR = Path(__file__).parents[2] / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
# `${NAME:-default}` as compose interpolates it when NAME is unset.
INTERPOLATION = re.compile(r"\$\{(\w+):-([^}]*)\}")


def interpolate(node: Any) -> Any:
    """Compose interpolates after parsing: `${X:-off}` stays the string "off", not a YAML bool."""
    if isinstance(node, dict):
        return {key: interpolate(value) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate(item) for item in node]
    if isinstance(node, str):
        return INTERPOLATION.sub(lambda match: match[2], node)
    return node


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = interpolate(yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8")))
    return loaded


def service(name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"][name]
    return found


def validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    result = validate(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    broken.write_text(text.replace("condition: service_healthy", "condition: when_ready", 1))
    assert validate(broken).returncode != 0


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose plugin is not installed",
)
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_topology_has_every_tier_of_the_seed_plan() -> None:
    assert set(compose()["services"]) >= {
        "nginx",
        "app",
        "db-init",
        "mariadb-master",
        "mariadb-replica-1",
        "mariadb-replica-2",
        "mariadb-replica-3",
        "redis",
        "locust-master",
        "locust-worker",
        "prometheus",
        "grafana",
    }
    assert int(service("app")["deploy"]["replicas"]) >= 2
    assert int(service("locust-worker")["deploy"]["replicas"]) >= 1


def test_app_environment_is_a_valid_production_configuration() -> None:
    env = {key: str(value) for key, value in service("app")["environment"].items()}
    settings = Settings.from_env(env)
    assert settings.db_url.startswith("mysql://") and "@mariadb-master:" in settings.db_url
    assert [url.split("@")[1] for url in settings.replica_urls] == [
        f"mariadb-replica-{n}:3306/loadcap" for n in (1, 2, 3)
    ]
    assert settings.read_your_writes_mode == "gtid"
    # No demo key in the repository: every instance reads the one kept in the database.
    assert settings.read_your_writes_secret == ""
    assert settings.redis_url == "redis://redis:6379/0"


def test_apps_trust_exactly_the_compose_network_as_proxy() -> None:
    subnet = compose()["networks"]["default"]["ipam"]["config"][0]["subnet"]
    trusted = Settings.from_env(service("app")["environment"]).trusted_proxies
    assert [ipaddress.ip_network(entry) for entry in trusted] == [ipaddress.ip_network(subnet)]


def test_app_database_user_matches_what_the_master_creates() -> None:
    master = service("mariadb-master")["environment"]
    url = Settings.from_env(service("app")["environment"]).db_url
    assert url == (
        f"mysql://{master['MARIADB_USER']}:{master['MARIADB_PASSWORD']}"
        f"@mariadb-master:3306/{master['MARIADB_DATABASE']}"
    )


def test_nginx_fronts_the_app_and_the_app_waits_for_its_dependencies() -> None:
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in service("nginx")["volumes"]
    assert service("nginx")["depends_on"]["app"]["condition"] == "service_healthy"
    app_deps = service("app")["depends_on"]
    assert app_deps["db-init"]["condition"] == "service_completed_successfully"
    for n in (1, 2, 3):
        assert app_deps[f"mariadb-replica-{n}"]["condition"] == "service_healthy"
    assert app_deps["redis"]["condition"] == "service_healthy"
    assert "/health" in " ".join(service("app")["healthcheck"]["test"])


def test_replication_is_gtid_based_and_set_up_by_init_scripts() -> None:
    master_cmd = " ".join(service("mariadb-master")["command"])
    assert "--server-id=1" in master_cmd and "--log-bin" in master_cmd
    for n, server_id in ((1, 2), (2, 3), (3, 4)):
        replica_cmd = " ".join(service(f"mariadb-replica-{n}")["command"])
        assert f"--server-id={server_id}" in replica_cmd and "--read-only=ON" in replica_cmd
        volumes = service(f"mariadb-replica-{n}")["volumes"]
        assert f"mariadb-replica-{n}-data:/var/lib/mysql" in volumes
    replica_script = (COMPOSE_DIR / "mariadb" / "replica-init.sh").read_text(encoding="utf-8")
    assert "MASTER_USE_GTID = slave_pos" in replica_script
    assert "RESET MASTER" in replica_script  # no local GTIDs before the first connection
    replica_env = service("mariadb-replica-3")["environment"]
    assert replica_env["REPLICATION_MASTER_HOST"] == "mariadb-master"
    master_env = service("mariadb-master")["environment"]
    assert replica_env["REPLICATION_USER"] == master_env["REPLICATION_USER"]
    assert replica_env["REPLICATION_PASSWORD"] == master_env["REPLICATION_PASSWORD"]
    # The replica's health check includes replication running, so apps start on a live pair.
    assert "--replication_io" in service("mariadb-replica-2")["healthcheck"]["test"]


@pytest.mark.parametrize("script", ["master-init.sh", "replica-init.sh"])
def test_init_scripts_are_valid_bash(script: str) -> None:
    path = COMPOSE_DIR / "mariadb" / script
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert path.stat().st_mode & 0o111, f"{script} must be executable for the entrypoint"


def test_every_mounted_file_exists() -> None:
    for name, definition in compose()["services"].items():
        for volume in definition.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (COMPOSE_DIR / source).exists(), f"{name} mounts missing {source}"


def test_locust_drives_the_load_balancer_with_the_projects_locustfile() -> None:
    master = service("locust-master")["command"]
    assert master[master.index("--host") + 1] == "http://nginx"
    worker = service("locust-worker")["command"]
    assert worker[worker.index("--master-host") + 1] == "locust-master"
    for command in (master, worker):
        locustfile = command[command.index("-f") + 1]
        assert locustfile == "/app/loadtests/locustfile.py"
    # Ids are drawn from what db-init seeded, or most GETs and PATCHes would be 404s.
    seeded = re.search(r"--profiles \"(\d+)\"", " ".join(service("db-init")["command"]))
    assert seeded is not None
    assert master[master.index("--id-count") + 1] == seeded[1]


def test_image_contains_every_package_the_project_installs() -> None:
    dockerfile = (COMPOSE_DIR / "Dockerfile").read_text(encoding="utf-8")
    copied = set(re.findall(r"^COPY (\S+)", dockerfile, flags=re.MULTILINE))
    project = tomllib.loads((COMPOSE_DIR.parent / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    modules = {f"{m}.py" for m in project["tool"]["setuptools"].get("py-modules", [])}
    assert packages | modules | {"pyproject.toml"} <= copied
    for source in copied:
        assert (COMPOSE_DIR.parent / source).exists(), source
    assert 'CMD ["loadcap", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile
    # The image runs the versions the tests passed with, as scripts/bootstrap installs them.
    assert "pip install -c constraints.txt ." in dockerfile


def test_each_app_instance_has_a_loopback_port_for_its_metrics() -> None:
    """`loadcap scaleout --metrics-url` reads every instance's /metrics from the host."""
    [published] = service("app")["ports"]
    host, ports, container_port = published.rsplit(":", 2)
    first, last = (int(p) for p in ports.split("-"))
    assert host == "127.0.0.1"  # never on a public interface
    assert container_port == "8000"
    replicas = int(service("app")["deploy"]["replicas"])
    assert last - first + 1 >= replicas
