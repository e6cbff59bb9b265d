"""Check the settings that the manifests in deploy/k8s must keep.

They cover the schedule, probes, scaling, resources, security context, labels and
Secret references. Each test that takes `manifests` runs on the files as listed by the
kustomizations and on `kubectl kustomize`'s output (see conftest.py).
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from durban_valuations.config.settings import Settings

Manifest = dict[str, Any]

K8S_DIR = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
NAMESPACE = "durban-valuations"
IMAGE = "ghcr.io/durban-valuations/durban-valuations:latest"
CONFIG_MAP = "durban-valuations-config"
SECRET = "durban-valuations-secrets"
SECRET_VARIABLES = {"DATABASE_URL", "EMAIL_PASSWORD", "CELERY_BROKER_URL"}
WORKLOAD_KINDS = {"Deployment", "CronJob"}

API_PORT = 8000
# Gunicorn's graceful timeout in the image's gunicorn config, in seconds.
GUNICORN_GRACEFUL_TIMEOUT = 30
# The scraper's target peak resident memory, in bytes.
SCRAPER_PEAK_MEMORY = 300 * 10**6
# Local hours (Africa/Johannesburg) taken as quiet for the site and the API.
QUIET_HOURS = range(0, 6)
DAY_SECONDS = 24 * 3600

# Variables that the application reads outside Settings, with the module that reads them.
NON_SETTINGS_VARIABLES = {"LOG_FORMAT"}  # durban_valuations.config.log_setup

_QUANTITY = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<suffix>m|k|M|G|Ki|Mi|Gi)?")
_SUFFIXES = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
}
# A URL with a password in it, such as postgresql://user:password@host/db or
# redis://:password@host.
_URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]*:[^/\s@]+@")


def parse_quantity(value: str | int) -> Decimal:
    """Convert a Kubernetes quantity ("250m", "512Mi", "1") to a number of units."""
    match = _QUANTITY.fullmatch(str(value))
    assert match, f"unsupported quantity {value!r}"
    return Decimal(match["number"]) * _SUFFIXES[match["suffix"]]


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    """Return the one object of `kind` named `name`."""
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def pod_template(manifest: Manifest) -> Manifest:
    """Return the pod template of a Deployment or CronJob."""
    if manifest["kind"] == "CronJob":
        template: Manifest = manifest["spec"]["jobTemplate"]["spec"]["template"]
        return template
    template = manifest["spec"]["template"]
    return template


def containers(pod_spec: Manifest) -> list[Manifest]:
    """Return the init containers and the containers of `pod_spec`."""
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]


def container(pod_spec: Manifest, name: str) -> Manifest:
    (found,) = [c for c in containers(pod_spec) if c["name"] == name]
    return found


def workloads(manifests: list[Manifest]) -> list[Manifest]:
    found = [manifest for manifest in manifests if manifest["kind"] in WORKLOAD_KINDS]
    assert len(found) == 3, "expected the API and worker Deployments and the CronJob"
    return found


def resolve_port(container_spec: Manifest, port: int | str) -> int:
    """Resolve a probe's or Service's port, given by number or by name, to a number."""
    if isinstance(port, int):
        return port
    (number,) = [p["containerPort"] for p in container_spec["ports"] if p["name"] == port]
    assert isinstance(number, int)
    return number


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# The scrape CronJob


@pytest.fixture
def cronjob(manifests: list[Manifest]) -> Manifest:
    return find(manifests, "CronJob", "durban-valuations-scrape")


def test_cronjob_forbids_concurrent_runs(cronjob: Manifest) -> None:
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def test_cronjob_runs_daily_in_quiet_hour(cronjob: Manifest) -> None:
    minute, hour, day_of_month, month, day_of_week = cronjob["spec"]["schedule"].split()
    assert minute.isdigit()
    assert int(minute) < 60
    assert hour.isdigit()
    assert int(hour) in QUIET_HOURS
    assert (day_of_month, month, day_of_week) == ("*", "*", "*")


def test_cronjob_time_zone_is_johannesburg(cronjob: Manifest) -> None:
    time_zone = cronjob["spec"]["timeZone"]
    assert time_zone == "Africa/Johannesburg"
    # Raises ZoneInfoNotFoundError for a name that is not in the tz database.
    zoneinfo.ZoneInfo(time_zone)


def test_cronjob_deadlines_fit_in_one_day(cronjob: Manifest) -> None:
    starting_deadline = cronjob["spec"]["startingDeadlineSeconds"]
    active_deadline = cronjob["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
    # The controller checks schedules every 10 s, so a shorter deadline can miss runs.
    assert starting_deadline >= 10
    # A full scrape at one request per second takes several hours (an estimate).
    assert active_deadline >= 8 * 3600
    # Even a run that started late ends before the next day's start, so Forbid does
    # not skip that start.
    assert starting_deadline + active_deadline < DAY_SECONDS


def test_cronjob_retries_and_history(cronjob: Manifest) -> None:
    job_spec = cronjob["spec"]["jobTemplate"]["spec"]
    assert 1 <= job_spec["backoffLimit"] <= 5
    assert cronjob["spec"]["successfulJobsHistoryLimit"] >= 1
    assert cronjob["spec"]["failedJobsHistoryLimit"] >= 1


def test_cronjob_restart_policy(cronjob: Manifest) -> None:
    job_spec = cronjob["spec"]["jobTemplate"]["spec"]
    restart_policy = job_spec["template"]["spec"]["restartPolicy"]
    assert restart_policy in {"Never", "OnFailure"}
    if "podFailurePolicy" in job_spec:
        # The API server rejects a pod failure policy with any other restart policy.
        assert restart_policy == "Never"


def test_cronjob_fails_at_once_on_exit_code_2(cronjob: Manifest) -> None:
    rules = cronjob["spec"]["jobTemplate"]["spec"]["podFailurePolicy"]["rules"]
    fail_job = [rule for rule in rules if rule["action"] == "FailJob"]
    assert len(fail_job) == 1
    exit_codes = fail_job[0]["onExitCodes"]
    assert exit_codes["containerName"] == "scrape"
    assert exit_codes["operator"] == "In"
    assert exit_codes["values"] == [2]


def test_cronjob_commands(cronjob: Manifest) -> None:
    pod_spec = pod_template(cronjob)["spec"]
    assert container(pod_spec, "migrate")["command"] == ["durban-valuations", "db", "upgrade"]
    assert container(pod_spec, "scrape")["command"] == ["durban-valuations", "scrape"]
    assert [c["name"] for c in pod_spec["initContainers"]] == ["migrate"]


def test_scraper_memory_above_peak(cronjob: Manifest) -> None:
    resources = container(pod_template(cronjob)["spec"], "scrape")["resources"]
    assert parse_quantity(resources["requests"]["memory"]) >= SCRAPER_PEAK_MEMORY
    assert parse_quantity(resources["limits"]["memory"]) > SCRAPER_PEAK_MEMORY


# The API: Deployment, Service, HorizontalPodAutoscaler, PodDisruptionBudget


@pytest.fixture
def api(manifests: list[Manifest]) -> Manifest:
    return find(manifests, "Deployment", "durban-valuations-api")


@pytest.fixture
def api_container(api: Manifest) -> Manifest:
    return container(pod_template(api)["spec"], "api")


def test_api_command_and_port(api_container: Manifest) -> None:
    assert api_container["command"] == [
        "gunicorn",
        "--config",
        "python:durban_valuations.api.gunicorn_conf",
        "durban_valuations.api.server:app",
    ]
    assert resolve_port(api_container, "http") == API_PORT


def test_api_replicas_and_rollout(api: Manifest) -> None:
    assert api["spec"]["replicas"] == 2
    strategy = api["spec"]["strategy"]
    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0
    assert strategy["rollingUpdate"]["maxSurge"] >= 1


def test_api_migrates_before_start(api: Manifest) -> None:
    (migrate,) = pod_template(api)["spec"]["initContainers"]
    assert migrate["command"] == ["durban-valuations", "db", "upgrade"]


@pytest.mark.parametrize(
    ("probe", "path"),
    [("livenessProbe", "/health"), ("readinessProbe", "/ready"), ("startupProbe", "/health")],
)
def test_api_probe(api_container: Manifest, probe: str, path: str) -> None:
    http_get = api_container[probe]["httpGet"]
    assert http_get["path"] == path
    assert resolve_port(api_container, http_get["port"]) == API_PORT
    assert http_get.get("scheme", "HTTP") == "HTTP"


def test_api_grace_period_covers_gunicorn(api: Manifest, api_container: Manifest) -> None:
    grace_period = pod_template(api)["spec"]["terminationGracePeriodSeconds"]
    pre_stop = " ".join(api_container["lifecycle"]["preStop"]["exec"]["command"])
    sleep = re.search(r"sleep\((\d+)\)", pre_stop)
    assert sleep, f"preStop {pre_stop!r} has no sleep(SECONDS)"
    # SIGTERM reaches gunicorn after the preStop hook, and its graceful shutdown must
    # end before the kubelet's SIGKILL.
    assert grace_period >= int(sleep[1]) + GUNICORN_GRACEFUL_TIMEOUT


def test_api_spreads_across_nodes(api: Manifest) -> None:
    pod = pod_template(api)
    constraints = pod["spec"].get("topologySpreadConstraints", [])
    by_node = [c for c in constraints if c["topologyKey"] == "kubernetes.io/hostname"]
    assert len(by_node) == 1
    assert by_node[0]["maxSkew"] == 1
    assert selects(by_node[0]["labelSelector"]["matchLabels"], pod["metadata"]["labels"])


def test_service_routes_80_to_api(manifests: list[Manifest], api: Manifest) -> None:
    service = find(manifests, "Service", "durban-valuations-api")
    assert service["spec"]["type"] == "ClusterIP"
    (port,) = service["spec"]["ports"]
    assert port["port"] == 80
    api_container = container(pod_template(api)["spec"], "api")
    assert resolve_port(api_container, port["targetPort"]) == API_PORT


def test_service_selects_only_api_pods(manifests: list[Manifest]) -> None:
    selector = find(manifests, "Service", "durban-valuations-api")["spec"]["selector"]
    selected = [
        workload["metadata"]["name"]
        for workload in workloads(manifests)
        if selects(selector, pod_template(workload)["metadata"]["labels"])
    ]
    assert selected == ["durban-valuations-api"]


def test_hpa_bounds_and_target(manifests: list[Manifest], api: Manifest) -> None:
    hpa = find(manifests, "HorizontalPodAutoscaler", "durban-valuations-api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] == 2
    assert hpa["spec"]["maxReplicas"] == 6
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        "apps/v1",
        "Deployment",
        api["metadata"]["name"],
    )
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource"
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    assert 0 < metric["resource"]["target"]["averageUtilization"] <= 100


def test_hpa_has_cpu_requests(api: Manifest) -> None:
    # Utilization is measured against the CPU requests of the pod's containers.
    for container_spec in pod_template(api)["spec"]["containers"]:
        assert parse_quantity(container_spec["resources"]["requests"]["cpu"]) > 0


def test_pdb_covers_api_pods(manifests: list[Manifest], api: Manifest) -> None:
    pdb = find(manifests, "PodDisruptionBudget", "durban-valuations-api")
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_template(api)["metadata"]["labels"])
    # With 2 replicas, minAvailable 2 or maxUnavailable 0 would block every node drain.
    assert pdb["spec"].get("maxUnavailable") == 1


# Every workload


def test_every_container_has_resources(manifests: list[Manifest]) -> None:
    for workload in workloads(manifests):
        for container_spec in containers(pod_template(workload)["spec"]):
            where = f"{workload['metadata']['name']}/{container_spec['name']}"
            resources = container_spec.get("resources", {})
            for resource in ("cpu", "memory"):
                request = parse_quantity(resources["requests"][resource])
                limit = parse_quantity(resources["limits"][resource])
                assert 0 < request <= limit, f"{where}: {resource} request above its limit"


def test_every_container_uses_one_image(manifests: list[Manifest]) -> None:
    for workload in workloads(manifests):
        for container_spec in containers(pod_template(workload)["spec"]):
            assert container_spec["image"] == IMAGE, container_spec["name"]


def test_every_container_is_restricted(manifests: list[Manifest]) -> None:
    for workload in workloads(manifests):
        pod_spec = pod_template(workload)["spec"]
        pod_context = pod_spec["securityContext"]
        for container_spec in containers(pod_spec):
            where = f"{workload['metadata']['name']}/{container_spec['name']}"
            context = {**pod_context, **container_spec["securityContext"]}
            assert context["runAsNonRoot"] is True, where
            assert context.get("runAsUser", 1) != 0, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in context["capabilities"], where
            assert context["seccompProfile"]["type"] == "RuntimeDefault", where


def test_every_pod_hides_service_account_token(manifests: list[Manifest]) -> None:
    for workload in workloads(manifests):
        pod_spec = pod_template(workload)["spec"]
        assert pod_spec["automountServiceAccountToken"] is False, workload["metadata"]["name"]


def test_every_container_has_writable_tmp(manifests: list[Manifest]) -> None:
    for workload in workloads(manifests):
        pod_spec = pod_template(workload)["spec"]
        volumes = {volume["name"]: volume for volume in pod_spec["volumes"]}
        for container_spec in containers(pod_spec):
            where = f"{workload['metadata']['name']}/{container_spec['name']}"
            mounts = [m for m in container_spec["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert len(mounts) == 1, f"{where} mounts nothing at /tmp"
            empty_dir = volumes[mounts[0]["name"]]["emptyDir"]
            assert "sizeLimit" in empty_dir, f"{where}: /tmp has no size limit"


def test_labels_follow_conventions(manifests: list[Manifest]) -> None:
    for manifest in manifests:
        labels = manifest["metadata"]["labels"]
        where = f"{manifest['kind']}/{manifest['metadata']['name']}"
        assert labels["app.kubernetes.io/name"] == "durban-valuations", where
        assert labels["app.kubernetes.io/part-of"] == "durban-valuations", where
    for workload in workloads(manifests):
        labels = workload["metadata"]["labels"]
        template_labels = pod_template(workload)["metadata"]["labels"]
        assert template_labels == labels, workload["metadata"]["name"]
        assert labels["app.kubernetes.io/component"] in {"api", "scrape", "worker"}
        if workload["kind"] == "Deployment":
            assert selects(workload["spec"]["selector"]["matchLabels"], template_labels)


def test_objects_share_namespace(manifests: list[Manifest]) -> None:
    namespace = find(manifests, "Namespace", NAMESPACE)
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for manifest in manifests:
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"]["namespace"] == NAMESPACE, manifest["metadata"]["name"]


# Configuration and secrets


def test_no_secret_object(manifests: list[Manifest]) -> None:
    assert [m["metadata"]["name"] for m in manifests if m["kind"] == "Secret"] == []


def test_secrets_come_from_secret(manifests: list[Manifest]) -> None:
    for workload in workloads(manifests):
        for container_spec in containers(pod_template(workload)["spec"]):
            where = f"{workload['metadata']['name']}/{container_spec['name']}"
            for variable in container_spec.get("env", []):
                name = variable["name"]
                if name in SECRET_VARIABLES or re.search("PASSWORD|SECRET|TOKEN", name):
                    assert "value" not in variable, f"{where}: {name} has an inline value"
                    reference = variable["valueFrom"]["secretKeyRef"]
                    assert reference["name"] == SECRET, where
                    assert reference["key"] == name, where
                else:
                    value = variable.get("value", "")
                    assert not _URL_WITH_PASSWORD.search(value), f"{where}: {name}"


def test_every_container_reads_database_url(manifests: list[Manifest]) -> None:
    for workload in workloads(manifests):
        for container_spec in containers(pod_template(workload)["spec"]):
            where = f"{workload['metadata']['name']}/{container_spec['name']}"
            env = {variable["name"]: variable for variable in container_spec["env"]}
            reference = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
            # Without DATABASE_URL the app would start an embedded PostgreSQL instead.
            assert reference.get("optional", False) is False, where
            (source,) = container_spec["envFrom"]
            assert source["configMapRef"]["name"] == CONFIG_MAP, where


def test_config_map_has_no_secrets(manifests: list[Manifest]) -> None:
    data = find(manifests, "ConfigMap", CONFIG_MAP)["data"]
    assert not set(data) & SECRET_VARIABLES
    for key, value in data.items():
        assert not _URL_WITH_PASSWORD.search(value), key


def test_config_map_names_known_settings(manifests: list[Manifest]) -> None:
    data = find(manifests, "ConfigMap", CONFIG_MAP)["data"]
    settings = {name.upper() for name in Settings.model_fields}
    # Settings ignores unknown variables, so a misspelled key would go unnoticed.
    assert set(data) - settings - NON_SETTINGS_VARIABLES == set()
    assert data["LOG_FORMAT"] == "json"


def test_config_map_values_are_valid(
    manifests: list[Manifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = find(manifests, "ConfigMap", CONFIG_MAP)["data"]
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DATABASE_URL", "postgresql://valuations@db.example.org/valuations")
    settings = Settings(_env_file=None)
    assert settings.roll_year == int(data["ROLL_YEAR"])
    assert settings.api_port == API_PORT


def test_secret_example_has_referenced_keys(manifests: list[Manifest]) -> None:
    (example,) = yaml.safe_load_all((K8S_DIR / "secret.example.yaml").read_text())
    assert example["kind"] == "Secret"
    assert example["metadata"]["name"] == SECRET
    assert example["metadata"]["namespace"] == NAMESPACE
    referenced = {
        variable["valueFrom"]["secretKeyRef"]["key"]
        for workload in workloads(manifests)
        for container_spec in containers(pod_template(workload)["spec"])
        for variable in container_spec.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    assert referenced == SECRET_VARIABLES
    assert set(example["stringData"]) == SECRET_VARIABLES
