"""The deployment files agree with the code: stages, settings, ports, probes, streams and metric names.

Every YAML and JSON file under deploy/k8s and deploy/monitoring is parsed; a renamed setting,
stage, stream, endpoint or metric makes one of these tests fail.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from newswire.cli.main import RUN_CHOICES
from newswire.ingest.app import create_app
from newswire.runtime.http import HealthServer, Heartbeat, ReadinessProbe
from newswire.runtime.metrics import REGISTRY
from newswire.runtime.settings import Settings, StreamKeys
from newswire.stages import STAGE_NAMES, stage_named
from tests.support import REPO

K8S = REPO / "deploy" / "k8s"
MONITORING = REPO / "deploy" / "monitoring"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
MANIFEST_SUFFIXES = {".yaml", ".yml", ".json"}

SETTING_VARIABLES = {f"NEWSWIRE_{name.upper()}" for name in Settings.model_fields}
DEFAULT_HTTP_PORT = Settings.model_fields["http_port"].default
DEFAULT_SHUTDOWN_TIMEOUT_S = Settings.model_fields["shutdown_timeout_s"].default


def manifest_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if path.suffix in MANIFEST_SUFFIXES)


def parse(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return [json.loads(text)]
    return [document for document in yaml.safe_load_all(text) if document is not None]


def resources(directory: Path) -> list[dict[str, Any]]:
    """Every Kubernetes object in the directory's YAML files (kustomization and JSON excluded)."""
    return [
        document
        for path in manifest_files(directory)
        if path.suffix != ".json" and path.name != "kustomization.yaml"
        for document in parse(path)
    ]


OBJECTS = resources(K8S) + resources(MONITORING)


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [item for item in OBJECTS if item["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    matches = [item for item in of_kind(kind) if item["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} named {name}, found {len(matches)}"
    return matches[0]


INGEST = "ingest"


def deployments() -> dict[str, dict[str, Any]]:
    """Every Deployment by what it runs (the argument of `newswire run`: a stage, or `ingest`)."""
    return {item["spec"]["template"]["spec"]["containers"][0]["args"][1]: item for item in of_kind("Deployment")}


def stage_deployments() -> dict[str, dict[str, Any]]:
    """The stage Deployments by stage name."""
    return {name: item for name, item in deployments().items() if name != INGEST}


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, deployment["metadata"]["name"]
    return containers[0]


def configured(name: str) -> str | None:
    """A setting's value as the ConfigMap sets it, if it does."""
    value = named("ConfigMap", "newswire-config")["data"].get(name)
    return None if value is None else str(value)


def secret_keys(name: str) -> set[str]:
    secret = named("Secret", name)
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


# -- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", [K8S, MONITORING], ids=["k8s", "monitoring"])
def test_every_file_parses_and_the_kustomization_lists_exactly_the_files_present(directory: Path) -> None:
    for path in manifest_files(directory):
        assert parse(path), f"{path.name} is empty"
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = list(kustomization.get("resources", []))
    for generator in kustomization.get("configMapGenerator", []) + kustomization.get("secretGenerator", []):
        listed += generator.get("files", [])
    present = [path.name for path in manifest_files(directory) if path.name != "kustomization.yaml"]
    assert sorted(listed) == sorted(present)
    assert kustomization["namespace"] == "newswire"


def test_every_object_names_its_kind_and_the_namespace_exists() -> None:
    for item in OBJECTS:
        assert {"apiVersion", "kind", "metadata"} <= item.keys(), item
        assert item["metadata"]["name"]
        assert "namespace" not in item["metadata"], "the kustomization sets the namespace"
    assert named("Namespace", "newswire")


# -- Deployments -----------------------------------------------------------------------------


def test_there_is_a_deployment_per_stage_and_for_the_ingest_api_running_a_real_cli_command() -> None:
    stages = deployments()
    assert sorted(stages) == sorted([*STAGE_NAMES, INGEST])
    choices = set(RUN_CHOICES)
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["newswire"]' in dockerfile
    for stage, deployment in stages.items():
        spec = container(deployment)
        assert spec["args"] == ["run", stage]
        assert stage in choices
        assert "command" not in spec, "the image's entrypoint is the newswire command"
        assert spec["image"].split(":")[0] == "newswire"
        assert deployment["metadata"]["name"] == f"newswire-{stage}"
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
        # The ScaledObject (the ingest API: the HorizontalPodAutoscaler) owns the replica count.
        assert "replicas" not in deployment["spec"]


def test_every_environment_variable_is_a_real_setting() -> None:
    config = named("ConfigMap", "newswire-config")["data"]
    assert set(config) <= SETTING_VARIABLES, set(config) - SETTING_VARIABLES
    for stage, deployment in deployments().items():
        spec = container(deployment)
        for source in spec.get("envFrom", []):
            if "configMapRef" in source:
                keys = set(named("ConfigMap", source["configMapRef"]["name"])["data"])
            else:
                keys = secret_keys(source["secretRef"]["name"])
            assert keys <= SETTING_VARIABLES, f"{stage}: {keys - SETTING_VARIABLES} are not settings"
        for variable in spec.get("env", []):
            assert variable["name"] in SETTING_VARIABLES, f"{stage}: {variable['name']} is not a setting"
            reference = variable.get("valueFrom", {})
            if "secretKeyRef" in reference:
                ref = reference["secretKeyRef"]
                assert ref["key"] in secret_keys(ref["name"]), f"{stage}: no key {ref['key']} in {ref['name']}"
            if "configMapKeyRef" in reference:
                ref = reference["configMapKeyRef"]
                assert ref["key"] in named("ConfigMap", ref["name"])["data"]
        names = [variable["name"] for variable in spec.get("env", [])]
        assert "NEWSWIRE_REDIS_URL" in names, f"{stage} has no Redis URL of its own"


def test_the_configured_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [name for name in os.environ if name.startswith("NEWSWIRE_")]:
        monkeypatch.delenv(name)
    config = named("ConfigMap", "newswire-config")["data"]
    settings = Settings(**{name.removeprefix("NEWSWIRE_").lower(): value for name, value in config.items()})
    assert settings.http_port == DEFAULT_HTTP_PORT
    for key in secret_keys("newswire-redis"):
        if key.endswith("-url"):
            value = named("Secret", "newswire-redis")["stringData"][key]
            assert Settings(redis_url=value).redis_url is not None


def test_the_port_and_probes_are_the_ones_the_worker_serves() -> None:
    assert configured("NEWSWIRE_HTTP_PORT") in (None, str(DEFAULT_HTTP_PORT))
    for stage, deployment in stage_deployments().items():
        spec = container(deployment)
        assert {"name": "http", "containerPort": DEFAULT_HTTP_PORT} in spec["ports"], stage
        expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
        for probe, path in expected.items():
            if probe == "startupProbe" and probe not in spec:
                continue
            check = spec[probe]["httpGet"]
            assert check["path"] == path, f"{stage} {probe}"
            assert check["port"] in ("http", DEFAULT_HTTP_PORT), f"{stage} {probe}"


class AlwaysReady(ReadinessProbe):
    """A readiness check that needs no Redis: this test is about the paths, not the checks."""

    def __init__(self) -> None:
        self.groups = []

    def check(self) -> tuple[bool, str]:
        return True, "ready"


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    server = HealthServer("127.0.0.1", 0, Heartbeat(), AlwaysReady())
    server.start()
    yield server
    server.stop()


def status_of(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def test_the_probed_paths_exist_on_the_worker(health_server: HealthServer) -> None:
    probed = {
        probe["httpGet"]["path"]
        for deployment in stage_deployments().values()
        for name, probe in container(deployment).items()
        if name.endswith("Probe")
    }
    probed.add(named("PodMonitor", "newswire")["spec"]["podMetricsEndpoints"][0]["path"])
    assert probed == {"/healthz", "/readyz", "/metrics"}
    for path in probed:
        assert status_of(health_server.port, path) == 200, path
    assert status_of(health_server.port, "/nothing-here") == 404


def test_the_ingest_api_is_probed_served_and_scaled_on_its_own_port() -> None:
    deployment = deployments()[INGEST]
    spec = container(deployment)
    environment = {variable["name"]: variable.get("value") for variable in spec["env"]}
    port = int(environment["NEWSWIRE_INGEST_PORT"] or Settings.model_fields["ingest_port"].default)
    assert spec["ports"] == [{"name": "http", "containerPort": port}]
    # The probed paths are routes of the API itself (`run ingest` serves no worker port).
    routes = {getattr(route, "path", None) for route in create_app(Settings()).routes}
    expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"}
    for probe, path in expected.items():
        assert spec[probe]["httpGet"] == {"path": path, "port": "http"}, probe
        assert path in routes
    assert named("PodMonitor", "newswire")["spec"]["podMetricsEndpoints"][0]["path"] in routes
    assert {"/v1/articles", "/v1/articles:batch"} <= routes
    # The Service sends requests to the API's pods and port.
    service = named("Service", "newswire-ingest")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    # Scaled on CPU by an HPA (not KEDA: requests, not a stream's lag), never below two pods.
    [autoscaler] = of_kind("HorizontalPodAutoscaler")
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert 2 <= autoscaler["spec"]["minReplicas"] <= autoscaler["spec"]["maxReplicas"]
    assert {"cpu", "memory"} <= spec["resources"]["requests"].keys()


def test_the_grace_period_outlasts_the_drain() -> None:
    drain_s = float(configured("NEWSWIRE_SHUTDOWN_TIMEOUT_S") or DEFAULT_SHUTDOWN_TIMEOUT_S)
    for stage, deployment in deployments().items():
        grace_s = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace_s > DEFAULT_SHUTDOWN_TIMEOUT_S, stage
        assert grace_s > drain_s, stage


def test_the_pods_run_locked_down() -> None:
    image_user = int(re.findall(r"^USER (\d+)$", DOCKERFILE.read_text(encoding="utf-8"), flags=re.MULTILINE)[-1])
    for stage, deployment in deployments().items():
        pod = deployment["spec"]["template"]["spec"]
        spec = container(deployment)
        pod_context = pod["securityContext"]
        context = spec["securityContext"]
        assert pod_context["runAsNonRoot"] is True, stage
        assert pod_context["runAsUser"] == image_user == 10001, stage
        seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile")
        assert seccomp == {"type": "RuntimeDefault"}, stage
        assert context["allowPrivilegeEscalation"] is False, stage
        assert context["readOnlyRootFilesystem"] is True, stage
        assert context["capabilities"]["drop"] == ["ALL"], stage
        assert "add" not in context["capabilities"], stage
        assert pod["automountServiceAccountToken"] is False, stage


def memory_mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMG]i)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * units[unit]


def test_every_stage_has_requests_and_limits_and_the_enricher_the_most_memory() -> None:
    limits = {}
    for stage, deployment in deployments().items():
        spec = container(deployment)["resources"]
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= spec[kind].keys(), f"{stage} {kind}"
        assert memory_mib(spec["requests"]["memory"]) <= memory_mib(spec["limits"]["memory"]), stage
        limits[stage] = memory_mib(spec["limits"]["memory"])
    # The enricher holds the entity and topic models in memory (and the language models for entries that come
    # without the cleaner's language field).
    assert limits["enricher"] >= 512
    assert limits["enricher"] == max(limits.values())


def test_a_disruption_budget_covers_each_stage() -> None:
    budgets = of_kind("PodDisruptionBudget")
    for stage, deployment in deployments().items():
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()]
        assert len(covering) == 1, stage


def test_the_pod_monitor_scrapes_every_stage_on_the_http_port() -> None:
    monitor = named("PodMonitor", "newswire")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    selector = monitor["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "http"
    assert endpoint["path"] == "/metrics"
    for stage, deployment in deployments().items():
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items(), stage


# -- KEDA ------------------------------------------------------------------------------------


def test_each_stage_scales_on_its_own_input_stream_and_group() -> None:
    keys = StreamKeys(configured("NEWSWIRE_PREFIX") or Settings.model_fields["prefix"].default)
    stages = stage_deployments()
    scaled = of_kind("ScaledObject")
    assert len(scaled) == len(stages)
    targets = set()
    for item in scaled:
        assert item["apiVersion"] == "keda.sh/v1alpha1"
        spec = item["spec"]
        target = spec["scaleTargetRef"]
        assert target.get("kind", "Deployment") == "Deployment"
        [stage] = [stage for stage, d in stages.items() if d["metadata"]["name"] == target["name"]]
        targets.add(stage)
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"], stage
        [trigger] = spec["triggers"]
        assert trigger["type"] == "redis-streams"
        metadata = trigger["metadata"]
        assert metadata["stream"] == stage_named(stage).input_stream(keys)
        assert metadata["consumerGroup"] == stage
        assert int(metadata["lagCount"]) > 0
        assert int(metadata["activationLagCount"]) >= 0
        assert "pendingEntriesCount" not in metadata and "streamLength" not in metadata
        # KEDA watches the Redis the stage works on, with TLS when the stage uses it.
        stage_url = urlsplit(named("Secret", "newswire-redis")["stringData"][f"{stage}-url"])
        assert metadata["address"] == f"{stage_url.hostname}:{stage_url.port}", stage
        assert metadata.get("enableTLS", "false") == str(stage_url.scheme == "rediss").lower(), stage
        authentication = named("TriggerAuthentication", trigger["authenticationRef"]["name"])
        parameters = {ref["parameter"] for ref in authentication["spec"]["secretTargetRef"]}
        assert parameters == {"username", "password"}
        for ref in authentication["spec"]["secretTargetRef"]:
            assert ref["key"] in secret_keys(ref["name"])
    assert targets == set(stages)


# -- metrics in the dashboard and the alerts -------------------------------------------------

# Names Prometheus itself provides, not newswire.
PROMETHEUS_SERIES = {"up"}
_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}


def exported_names() -> set[str]:
    """Every series name the newswire registry exposes, with the suffixes prometheus_client adds."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
    }
    return {metric.name + suffix for metric in REGISTRY.collect() for suffix in suffixes.get(metric.type, ("",))}


def series_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and labels left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", text):
        if match.group().lower() in _PROMQL_WORDS or text[match.end() :].lstrip().startswith("("):
            continue
        names.add(match.group())
    return names


def test_series_names_are_found_in_promql() -> None:
    expr = 'histogram_quantile(0.95, sum by (stage, le) (rate(newswire_x_bucket{stage=~"$stage"}[5m]))) > 1e3'
    assert series_names(expr) == {"newswire_x_bucket"}
    assert series_names("max by (stage) (a) unless on (stage) (sum(rate(b_total[1m])) > 0) or up") == {
        "a",
        "b_total",
        "up",
    }


def dashboard_expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "definition" and isinstance(value, str):
                # Grafana's label_values(metric, label) in the variables.
                yield from re.findall(r"label_values\(\s*([A-Za-z_:][\w:]*)", value)
            else:
                yield from dashboard_expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_expressions(item)


def alert_rules() -> list[dict[str, Any]]:
    [rules] = of_kind("PrometheusRule")
    return [rule for group in rules["spec"]["groups"] for rule in group["rules"]]


def referenced_series() -> dict[str, set[str]]:
    dashboard = parse(MONITORING / "grafana-dashboard.json")[0]
    return {
        "grafana-dashboard.json": {name for expr in dashboard_expressions(dashboard) for name in series_names(expr)},
        "alerts.yaml": {name for rule in alert_rules() for name in series_names(rule["expr"])},
    }


@pytest.mark.parametrize("source", ["grafana-dashboard.json", "alerts.yaml"])
def test_every_metric_referenced_is_one_newswire_exports(source: str) -> None:
    names = referenced_series()[source]
    assert names, f"{source} references no metric"
    unknown = names - exported_names() - PROMETHEUS_SERIES
    assert not unknown, f"{source} references metrics newswire does not export: {sorted(unknown)}"


def test_the_dashboard_shows_flow_latency_and_dead_letters() -> None:
    names = referenced_series()["grafana-dashboard.json"]
    assert {
        "newswire_articles_processed_total",
        "newswire_group_lag",
        "newswire_group_pending",
        "newswire_processing_seconds_bucket",
        "newswire_article_age_seconds_bucket",
        "newswire_articles_dead_lettered_total",
        "newswire_entries_reclaimed_total",
    } <= names
    dashboard = parse(MONITORING / "grafana-dashboard.json")[0]
    expressions = list(dashboard_expressions(dashboard))
    assert any("histogram_quantile" in expr and "newswire_processing_seconds_bucket" in expr for expr in expressions)
    assert any("error_type" in expr and "newswire_articles_dead_lettered_total" in expr for expr in expressions)


def test_every_alert_tells_the_on_call_engineer_what_to_do() -> None:
    rules = alert_rules()
    assert {
        "NewswireGroupLagGrowing",
        "NewswireDeadLettersGrowing",
        "NewswireStageNotConsuming",
        "NewswireWorkerDown",
    } <= {rule["alert"] for rule in rules}
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), rule["alert"]
        # A runbook: what it means and numbered steps to follow.
        assert re.search(r"^\s*1\. ", annotations["description"], flags=re.MULTILINE), rule["alert"]
        assert len(annotations["description"]) > 200, rule["alert"]


def test_an_alert_fires_when_a_stage_has_no_worker_at_all() -> None:
    [rule] = [rule for rule in alert_rules() if rule["alert"] == "NewswireStageHasNoWorkers"]
    assert {stage for stage in STAGE_NAMES if f'stage="{stage}"' in rule["expr"]} == set(STAGE_NAMES)


# -- partitions on Redis Cluster (deploy/k8s/cluster), memory alerts, ACLs ----------------------

CLUSTER = K8S / "cluster"


def cluster_overlay() -> dict[str, list[dict[str, Any]]]:
    return {path.name: parse(path) for path in manifest_files(CLUSTER)}


def test_the_cluster_overlay_lists_its_files_and_sets_the_partitions() -> None:
    overlay = cluster_overlay()
    [kustomization] = overlay["kustomization.yaml"]
    assert kustomization["resources"] == ["../"]
    assert sorted(patch["path"] for patch in kustomization["patches"]) == sorted(
        name for name in overlay if name != "kustomization.yaml"
    )
    [configmap] = overlay["configmap.yaml"]
    assert int(configmap["data"]["NEWSWIRE_PARTITIONS"]) > 1
    [secret] = overlay["secret.yaml"]
    for stage in STAGE_NAMES:
        url = secret["stringData"][f"{stage}-url"]
        assert url.startswith("redis+cluster://"), stage
        Settings(redis_url=url)  # type: ignore[arg-type]  # a URL the workers accept


def test_in_the_cluster_overlay_each_stage_scales_on_the_sum_of_its_partitions_lag() -> None:
    overlay = cluster_overlay()
    partitions = int(overlay["configmap.yaml"][0]["data"]["NEWSWIRE_PARTITIONS"])
    settings = Settings(partitions=partitions)
    scaled = {item["metadata"]["name"]: item for item in overlay["scaledobjects.yaml"]}
    assert set(scaled) == {f"newswire-{stage}" for stage in STAGE_NAMES}
    for stage in STAGE_NAMES:
        spec = scaled[f"newswire-{stage}"]["spec"]
        triggers = spec["triggers"]
        streams = [trigger["metadata"]["stream"] for trigger in triggers]
        assert streams == [stage_named(stage).input_stream(keys) for keys in settings.partition_keys()], stage
        assert all(trigger["type"] == "redis-cluster-streams" for trigger in triggers)
        assert all(trigger["metadata"]["consumerGroup"] == stage for trigger in triggers)
        assert all(named("TriggerAuthentication", t["authenticationRef"]["name"]) for t in triggers)
        modifiers = spec["advanced"]["scalingModifiers"]
        assert sorted(term.strip() for term in modifiers["formula"].split("+")) == sorted(t["name"] for t in triggers)
        # The same lag per worker as the unpartitioned stage's.
        [base_trigger] = named("ScaledObject", f"newswire-{stage}")["spec"]["triggers"]
        assert modifiers["target"] == base_trigger["metadata"]["lagCount"], stage
        assert all(t["metadata"]["lagCount"] == base_trigger["metadata"]["lagCount"] for t in triggers), stage


def test_an_alert_fires_before_the_high_water_mark() -> None:
    [rule] = [rule for rule in alert_rules() if rule["alert"] == "NewswireRedisMemoryNearHighWater"]
    match = re.search(
        r"max\(newswire_redis_memory_used_bytes\)\s*>\s*([0-9.]+)\s*\*\s*max\(newswire_redis_high_water_bytes\)",
        rule["expr"],
    )
    assert match is not None
    assert 0 < float(match.group(1)) < 1, "the alert must fire below the mark, not at it"
    assert Settings.model_fields["high_water_percent"].default < 100


ACL_FILE = REPO / "deploy" / "redis-acl" / "users.acl"


def acl_key_patterns() -> dict[str, list[str]]:
    users = {}
    for line in ACL_FILE.read_text(encoding="utf-8").splitlines():
        words = line.split()
        users[words[1]] = [word[1:] for word in words if word.startswith("~")]
    return users


@pytest.mark.parametrize("partitions", [1, 3])
def test_each_stage_user_may_touch_its_streams_in_every_partition(partitions: int) -> None:
    import fnmatch

    patterns = acl_key_patterns()
    settings = Settings(partitions=partitions)
    for keys in settings.partition_keys():
        for stage in STAGE_NAMES:
            wanted = [
                stage_named(stage).input_stream(keys),
                stage_named(stage).output_stream(keys),
                keys.dlq,
                keys.rate(stage, 0),
            ]
            for key in wanted:
                assert any(fnmatch.fnmatchcase(key, pattern) for pattern in patterns[stage]), (stage, key)
        assert any(fnmatch.fnmatchcase(keys.raw, pattern) for pattern in patterns["scraper"])
        assert any(fnmatch.fnmatchcase(keys.published, pattern) for pattern in patterns["subscriber"])
        assert any(fnmatch.fnmatchcase(f"{keys.revisions}:x", pattern) for pattern in patterns["publisher"])
    # Other stages' streams stay out of reach, partitioned or not.
    for keys in settings.partition_keys():
        assert not any(fnmatch.fnmatchcase(keys.published, pattern) for pattern in patterns["cleaner"])
        assert not any(fnmatch.fnmatchcase(keys.raw, pattern) for pattern in patterns["publisher"])
