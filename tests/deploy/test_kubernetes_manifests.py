"""deploy/kubernetes/: every manifest valid against the Kubernetes API schemas (kubernetes-validate
ships them, so this runs offline), and wired the way the service and Locust need: the probe
asks the port the service listens on, the HPA scales this Deployment at the seed's 70 %,
workers find their master, and the image and command are compose's."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from capacity.sizing import DEFAULT_UTILIZATION
from target_service.settings import ENV_PREFIX, Settings
from tests.compose.test_compose_file import COMPOSE_DIR, service

DEPLOY_DIR = Path(__file__).parents[2] / "deploy" / "kubernetes"
BASE, MEASURE = DEPLOY_DIR / "base", DEPLOY_DIR / "measure"
SERVER_PY = Path(__file__).parents[2] / "target_service" / "server.py"
# The oldest Kubernetes still supported upstream when this was written, and the newest schemas
# the pinned kubernetes-validate bundles.
VERSIONS = ("1.30.0", "1.37.0")


def kustomization(directory: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return loaded


def manifest_files(directory: Path) -> list[Path]:
    """The files a kustomization lists as resources (not the folders it builds on)."""
    listed = [directory / name for name in kustomization(directory)["resources"]]
    return [path for path in listed if path.is_file()]


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def resources(directory: Path = BASE) -> list[dict[str, Any]]:
    return [doc for path in manifest_files(directory) for doc in documents(path)]


def resource(kind: str, name: str, directory: Path = BASE) -> dict[str, Any]:
    return next(
        r for r in resources(directory) if r["kind"] == kind and r["metadata"]["name"] == name
    )


def container(deployment: str) -> dict[str, Any]:
    [only] = resource("Deployment", deployment)["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = only
    return found


def shell_words(spec: dict[str, Any]) -> list[str]:
    """A container's command as words, `sh -c '...'` unwrapped."""
    command = list(spec["command"])
    return shlex.split(command[2]) if command[:2] == ["sh", "-c"] else command


def flag(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_against_the_kubernetes_schemas(version: str) -> None:
    checked = []
    for item in resources(BASE) + resources(MEASURE):
        # strict: a misspelled field (`readinesProbe`) is an error, not silently ignored.
        kubernetes_validate.validate(item, version, strict=True)
        checked.append(item["kind"])
    assert sorted(set(checked)) == [
        "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Pod", "Role", "RoleBinding",
        "Secret", "Service", "ServiceAccount", "StatefulSet",
    ]  # fmt: skip


def test_the_validator_rejects_a_broken_manifest() -> None:
    broken = resource("Deployment", "profiles")
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_kustomizations_apply_every_manifest_with_one_image() -> None:
    assert kustomization(DEPLOY_DIR)["resources"] == ["base"]
    assert {p.name for p in manifest_files(BASE)} == _yaml_names(BASE) - {"kustomization.yaml"}
    measure = kustomization(MEASURE)
    assert measure["resources"][0] == "../base"
    patches = {patch["path"] for patch in measure["patches"]}
    listed = {p.name for p in manifest_files(MEASURE)} | patches | {"kustomization.yaml"}
    assert listed == _yaml_names(MEASURE)
    images = [kustomization(d)["images"] for d in (BASE, MEASURE)]
    assert images[0] == images[1]
    used = {c["image"].split(":")[0] for c in _all_containers()}
    runner = resource("Pod", "loadcap-scaleout", MEASURE)["spec"]["containers"]
    assert {c["image"] for c in runner} == {"loadcap:local"}
    assert used == {image["name"] for image in images[0]} == {"loadcap"}


def _yaml_names(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("*.yaml")}


def _all_containers() -> list[dict[str, Any]]:
    return [
        c
        for r in resources()
        if r["kind"] == "Deployment"
        for c in r["spec"]["template"]["spec"]["containers"]
    ]


def test_the_service_runs_composes_image_and_command() -> None:
    profiles = container("profiles")
    dockerfile = (COMPOSE_DIR / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert cmd is not None
    assert profiles["command"] == yaml.safe_load(cmd[1]) == service("app")["command"]
    assert profiles["image"] == service("app")["image"]


def test_readiness_asks_health_on_the_port_the_service_listens_on() -> None:
    profiles = container("profiles")
    port = int(flag(profiles["command"], "--port"))
    ports = {p["name"]: p["containerPort"] for p in profiles["ports"]}
    readiness = profiles["readinessProbe"]["httpGet"]
    assert readiness["path"] == "/health"
    assert ports[readiness["port"]] == port
    assert ports[profiles["livenessProbe"]["tcpSocket"]["port"]] == port
    front = resource("Service", "profiles")
    assert front["spec"]["selector"].items() <= _pod_labels("profiles").items()
    assert {p["targetPort"] for p in front["spec"]["ports"]} <= set(ports)


def _pod_labels(deployment: str) -> dict[str, str]:
    labels: dict[str, str] = resource("Deployment", deployment)["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


def test_the_cpu_is_limited_and_the_hpa_scales_this_deployment_at_the_seeds_70_percent() -> None:
    resources_ = container("profiles")["resources"]
    assert resources_["limits"]["cpu"] and resources_["requests"]["cpu"]
    hpa = resource("HorizontalPodAutoscaler", "profiles")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "profiles"}  # fmt: skip
    [metric] = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["averageUtilization"] == round(DEFAULT_UTILIZATION * 100)


def test_termination_waits_for_the_pre_stop_and_the_services_graceful_shutdown() -> None:
    pod = resource("Deployment", "profiles")["spec"]["template"]["spec"]
    graceful = re.search(r"timeout_graceful_shutdown=(\d+)", SERVER_PY.read_text())
    assert graceful is not None
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + int(graceful[1])


def test_the_environment_names_only_settings_the_service_reads() -> None:
    known = {ENV_PREFIX + name.upper() for name in Settings.__dataclass_fields__}
    config = resource("ConfigMap", "profiles-config")["data"]
    secret = resource("Secret", "profiles-secrets")["stringData"]
    assert set(config) | set(secret) <= known
    assert {"LOADCAP_DB_URL", "LOADCAP_READ_YOUR_WRITES_SECRET"} <= set(secret)
    sources = container("profiles")["envFrom"]
    assert {"profiles-config", "profiles-secrets"} == {
        (s.get("configMapRef") or s.get("secretRef"))["name"] for s in sources
    }


def test_locust_workers_connect_to_the_master_service_and_run_loadcaps_locustfile() -> None:
    master, worker = container("locust-master"), container("locust-worker")
    master_words, worker_words = shell_words(master), shell_words(worker)
    for words in (master_words, worker_words):
        assert words[:3] == ["exec", "locust", "-f"] and words[3] == "$(loadcap locustfile)"
    assert "--master" in master_words and "--worker" in worker_words
    front = resource("Service", flag(worker_words, "--master-host"))
    master_ports = {p["name"]: p["containerPort"] for p in master["ports"]}
    by_port = {p["port"]: p["targetPort"] for p in front["spec"]["ports"]}
    target = by_port[int(flag(worker_words, "--master-port"))]
    assert master_ports[target] == int(flag(master_words, "--master-bind-port"))
    assert front["spec"]["selector"].items() <= _pod_labels("locust-master").items()
    assert 8089 in by_port  # the web UI
    assert (
        flag(master_words, "--host")
        == f"http://{resource('Service', 'profiles')['metadata']['name']}"
    )


def test_the_measured_fleet_has_the_deployments_pods_with_stable_names() -> None:
    fixed = resource("StatefulSet", "profiles-fixed", MEASURE)["spec"]
    deployment = resource("Deployment", "profiles")["spec"]
    assert fixed["template"]["spec"] == deployment["template"]["spec"]
    assert _pod_labels("profiles").items() - fixed["template"]["metadata"]["labels"].items() == {
        ("app.kubernetes.io/component", "deployment")
    }
    # Each controller owns its own pods; the `profiles` Service balances over both kinds.
    assert fixed["selector"]["matchLabels"] != deployment["selector"]["matchLabels"]
    front = resource("Service", "profiles")["spec"]["selector"]
    assert front.items() <= fixed["template"]["metadata"]["labels"].items()
    headless = resource("Service", fixed["serviceName"], MEASURE)["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["selector"].items() <= fixed["template"]["metadata"]["labels"].items()
    port = int(flag(fixed["template"]["spec"]["containers"][0]["command"], "--port"))
    assert [p["port"] for p in headless["ports"]] == [port]


def test_the_measured_fleet_drops_the_hpa_and_the_deployments_pods() -> None:
    patches = [
        doc for p in kustomization(MEASURE)["patches"] for doc in documents(MEASURE / p["path"])
    ]
    targets = {(doc["kind"], doc["metadata"]["name"]): doc for doc in patches}
    assert targets[("HorizontalPodAutoscaler", "profiles")]["$patch"] == "delete"
    assert targets[("Deployment", "profiles")]["spec"] == {"replicas": 0}
    for kind, name in targets:
        assert resource(kind, name)  # each patch names a resource of the base


def test_the_scaleout_pod_may_scale_the_measured_fleet_and_nothing_else() -> None:
    pod = resource("Pod", "loadcap-scaleout", MEASURE)["spec"]
    binding = resource("RoleBinding", "loadcap-scaleout", MEASURE)
    role = resource("Role", binding["roleRef"]["name"], MEASURE)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": pod["serviceAccountName"]}]
    scale = next(r for r in role["rules"] if r["resources"] == ["statefulsets/scale"])
    assert scale["resourceNames"] == ["profiles-fixed"] and "patch" in scale["verbs"]
    assert all(r["resourceNames"] == ["profiles-fixed"] for r in role["rules"])
    [init] = pod["initContainers"]
    tools = {m["mountPath"] for m in init["volumeMounts"]}
    assert init["command"][-1].startswith(tuple(tools))
    [loadcap] = pod["containers"]
    assert any(part in tools for part in loadcap_path(loadcap).split(":"))


def loadcap_path(spec: dict[str, Any]) -> str:
    path: str = next(e["value"] for e in spec["env"] if e["name"] == "PATH")
    return path
